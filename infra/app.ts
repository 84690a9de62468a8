/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs this with tsx). Synthesizes
 * offline, with no credentials: the stack is environment-agnostic unless CDK_DEFAULT_ACCOUNT and
 * CDK_DEFAULT_REGION are set (the CLI sets them when it has credentials).
 *
 * The protection config comes from `-c ebsCdp.config=<file>`, else `ebs-cdp.config.json` at the
 * repository root, else none (see `config.ts`). `EBS_CDP_TASK_CODE=stub` skips bundling.
 */
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { CONFIG_CONTEXT_KEY, loadProtectionConfig, ProtectionConfigFileError, type ProtectionConfig } from './config';
import { EbsCdpStack, type TaskCode } from './ebs-cdp-stack';

/** The stack's name in CloudFormation. */
export const ENGINE_STACK_NAME = 'EbsCdpEngine';

/** The repository root: relative config paths are resolved from here, as `cdk` runs from here. */
const PROJECT_ROOT = path.resolve(__dirname, '..');

export interface BuildAppOptions {
  readonly taskCode?: TaskCode;
  readonly pollSeconds?: number;
  /** The protection config; read from the app's context (or the default file) when absent. */
  readonly config?: ProtectionConfig;
  /** Context values, as `-c key=value` gives them (tests). */
  readonly context?: Record<string, string>;
  /** Where `synth()` writes the cloud assembly (the local cloud's bundles); a temporary folder when absent. */
  readonly outdir?: string;
}

/** Builds the app with the ebs-cdp stack; `taskCode: 'stub'` for definitions only. */
export function buildApp(options: BuildAppOptions = {}): { app: App; stack: EbsCdpStack } {
  const app = new App({ context: options.context, outdir: options.outdir });
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const config = options.config ?? loadProtectionConfig(app.node.tryGetContext(CONFIG_CONTEXT_KEY), PROJECT_ROOT);
  const stack = new EbsCdpStack(app, ENGINE_STACK_NAME, {
    env: account !== undefined && region !== undefined ? { account, region } : undefined,
    description: 'ebs-cdp: continuous data protection for Amazon EBS volumes',
    config,
    taskCode: options.taskCode,
    pollSeconds: options.pollSeconds,
  });
  return { app, stack };
}

/** Exit code of a synth refused for its input (a bad config), as the CLI's usage errors. */
export const CONFIG_ERROR_EXIT_CODE = 2;

if (require.main === module) {
  const taskCode: TaskCode = process.env.EBS_CDP_TASK_CODE === 'stub' ? 'stub' : 'bundled';
  try {
    buildApp({ taskCode }).app.synth();
  } catch (error) {
    // A config the user wrote is wrong: say what and where, not a Node stack trace.
    if (!(error instanceof ProtectionConfigFileError)) throw error;
    process.stderr.write(`error: ${error.message}\n  next: fix the file (ebs-cdp.config.example.json shows every field), then run cdk synth again\n`);
    process.exitCode = CONFIG_ERROR_EXIT_CODE;
  }
}

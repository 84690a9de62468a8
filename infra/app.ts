/**
 * The CDK app: `npx cdk synth` (cdk.json runs this with tsx). Synthesizes offline, with no
 * credentials: the stack is environment-agnostic unless CDK_DEFAULT_ACCOUNT/REGION are set.
 *
 * `EBS_CDP_TASK_CODE=stub` skips bundling (the definitions alone, in milliseconds).
 */
import { App } from 'aws-cdk-lib';
import { EngineStack, type TaskCode } from './engine-stack';

/** The stack's name in CloudFormation. */
export const ENGINE_STACK_NAME = 'EbsCdpEngine';

/** Builds the app with the engine stack; `taskCode: 'stub'` for definitions only. */
export function buildApp(options: { taskCode?: TaskCode; pollSeconds?: number } = {}): { app: App; stack: EngineStack } {
  const app = new App();
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const stack = new EngineStack(app, ENGINE_STACK_NAME, {
    env: account !== undefined && region !== undefined ? { account, region } : undefined,
    taskCode: options.taskCode,
    pollSeconds: options.pollSeconds,
  });
  return { app, stack };
}

if (require.main === module) {
  const taskCode: TaskCode = process.env.EBS_CDP_TASK_CODE === 'stub' ? 'stub' : 'bundled';
  buildApp({ taskCode }).app.synth();
}

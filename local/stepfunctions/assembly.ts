/**
 * The synthesized cloud assembly as the local cloud reads it: `cdk synth` of the real app with
 * bundling on, so each task's code is the minified esbuild bundle `cdk deploy` uploads, with the
 * handler string, environment and timeout from the template. What ships is what runs: the tests
 * that load these bundles test the artifact, not the TypeScript sources.
 *
 * ```
 *   buildApp({ taskCode: 'bundled' }) ─synth─► <outdir>/EbsCdpEngine.template.json
 *                                              <outdir>/asset.<hash>/index.js   (one per task)
 *   template: AWS::Lambda::Function { Metadata: { ebs-cdp:task, aws:asset:path }, Handler, Environment, Timeout }
 * ```
 */
import * as path from 'node:path';
import { buildApp, ENGINE_STACK_NAME } from '../../infra/app';
import { TASK_METADATA_KEY } from '../../infra/ebs-cdp-stack';
import { TASK_NAMES, type TaskName } from '../../lambdas/task-names';
import { EbsCdpError } from '../../shared/core/errors';

/** The CDK context key that makes synthesis record each asset's folder in the resource's metadata. */
const ASSET_METADATA_CONTEXT = 'aws:cdk:enable-asset-metadata';
/** The metadata key CDK writes it under. */
const ASSET_PATH_METADATA = 'aws:asset:path';

/** The assembly does not hold what the local cloud needs (a task without its function or bundle). */
export class AssemblyError extends EbsCdpError {
  static override readonly errorName: string = 'AssemblyError';
}

/** One task's function as deployed: its bundle file, the export its handler string names, its settings. */
export interface TaskBundle {
  readonly taskName: TaskName;
  /** Absolute path of the bundled module (`index.js` in the asset folder). */
  readonly file: string;
  /** The module's export that is the handler (`handler` of `index.handler`). */
  readonly exportName: string;
  /** Environment variables as the template sets them (values that are CloudFormation tokens stay objects). */
  readonly environment: Readonly<Record<string, unknown>>;
  readonly timeoutSeconds: number;
}

export interface SynthesizedAssembly {
  readonly outdir: string;
  /** The stack's template, as `cdk deploy` submits it. */
  readonly template: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }> };
  readonly bundles: Readonly<Record<TaskName, TaskBundle>>;
}

/**
 * Synthesizes the app with bundled task code into `outdir` and finds each task's bundle.
 *
 * @throws AssemblyError when a task has no function or its function no bundle
 * @example
 * const { bundles } = synthesizeAssembly(fs.mkdtempSync(path.join(os.tmpdir(), 'ebs-cdp-assembly-')));
 * const { handler } = require(bundles.SyncBegin.file);
 */
export function synthesizeAssembly(outdir: string): SynthesizedAssembly {
  const { app } = buildApp({ taskCode: 'bundled', outdir, context: { [ASSET_METADATA_CONTEXT]: 'true' } });
  const assembly = app.synth();
  const template = assembly.getStackByName(ENGINE_STACK_NAME).template as SynthesizedAssembly['template'];
  const bundles: Partial<Record<TaskName, TaskBundle>> = {};
  for (const resource of Object.values(template.Resources)) {
    const taskName = resource.Metadata?.[TASK_METADATA_KEY] as TaskName | undefined;
    if (resource.Type !== 'AWS::Lambda::Function' || taskName === undefined) continue;
    const assetPath = resource.Metadata?.[ASSET_PATH_METADATA];
    const handler = resource.Properties?.Handler;
    if (typeof assetPath !== 'string' || typeof handler !== 'string') {
      throw new AssemblyError(`the ${taskName} function has no bundled asset in ${outdir}: synthesize with taskCode 'bundled'`);
    }
    const [moduleName, exportName] = splitHandler(taskName, handler);
    bundles[taskName] = {
      taskName,
      file: path.join(outdir, assetPath, `${moduleName}.js`),
      exportName,
      environment: ((resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables) ?? {},
      timeoutSeconds: Number(resource.Properties?.Timeout ?? 3),
    };
  }
  const missing = TASK_NAMES.filter((taskName) => bundles[taskName] === undefined);
  if (missing.length > 0) throw new AssemblyError(`the assembly in ${outdir} has no function for ${missing.join(', ')}`);
  return { outdir, template, bundles: bundles as Record<TaskName, TaskBundle> };
}

/** `index.handler` → [`index`, `handler`], as Lambda's Node runtime reads it. */
function splitHandler(taskName: TaskName, handler: string): [string, string] {
  const at = handler.lastIndexOf('.');
  if (at <= 0 || at === handler.length - 1) throw new AssemblyError(`the ${taskName} function's handler "${handler}" is not <module>.<export>`);
  return [handler.slice(0, at), handler.slice(at + 1)];
}

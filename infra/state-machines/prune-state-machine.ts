/**
 * The Prune job as a state machine: input `{ "volumeId": "vol-…" }` (optionally `"seqs": [3, 4]`
 * to prune exactly those restore points); applies the volume's
 * retention policy (merges `D_k` into `D_{k+1}`, deletes `S_k`) in one idempotent, crash-safe
 * task, and returns what it pruned.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { JobBuilder, type JobBuilderProps } from './job-builder';

/** Builds the Prune machine's definition. */
export function pruneDefinition(scope: Construct, props: Omit<JobBuilderProps, 'job'>): sfn.IChainable {
  const job = new JobBuilder(scope, { ...props, job: 'Prune' });
  // The console input may carry `seqs` (prune exactly those): pass it through with the run id.
  const run = new sfn.Pass(scope, 'PruneRun', { parameters: { runId: JobBuilder.runId }, resultPath: '$.run' });
  const request = new sfn.Pass(scope, 'PruneRequest', {
    parameters: { request: sfn.JsonPath.jsonMerge(sfn.JsonPath.objectAt('$$.Execution.Input'), sfn.JsonPath.objectAt('$.run')) },
    resultPath: '$.prune',
  });
  const prune = job.lambda('Prune', 'Prune', undefined, { inputPath: '$.prune.request', resultPath: '$.pruned' });
  return run.next(request).next(prune).next(new sfn.Succeed(scope, 'PruneSucceeded', { outputPath: '$.pruned' }));
}

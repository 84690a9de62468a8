/**
 * The Sync job as a state machine: input `{ "volumeId": "vol-…" }` (EventBridge Scheduler sends
 * it every few minutes); output the commit summary `{ seq, kind, blocks, primarySnapshotId,
 * secondarySnapshotId }`. The pipeline itself is {@link syncPipeline}.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { JobBuilder, type JobBuilderProps } from './job-builder';
import { syncPipeline } from './sync-pipeline';

/** Builds the Sync machine's definition. */
export function syncDefinition(scope: Construct, props: Omit<JobBuilderProps, 'job'>): sfn.IChainable {
  const job = new JobBuilder(scope, { ...props, job: 'Sync' });
  const done = new sfn.Succeed(scope, 'SyncSucceeded', { outputPath: '$.commit' });
  return syncPipeline(scope, job, { next: done });
}

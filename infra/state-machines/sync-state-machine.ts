/**
 * The Sync job as a state machine: input `{ "volumeId": "vol-…" }` (EventBridge Scheduler sends
 * it every few minutes); output the commit summary `{ seq, kind, blocks, primarySnapshotId,
 * secondarySnapshotId }`, or a skip that is not a failure:
 *
 * - `{ "skipped": "busy", "holder", "runId" }`: another run holds the volume's lease (typically
 *   the previous sync, still copying when the schedule fired again). Failing would fire the
 *   failed-executions alarm every time a sync outlasts its interval; the next schedule catches up.
 * - `{ "skipped": "unchanged" }`: nothing changed since the head restore point, so no empty
 *   restore point is committed (SyncPlan released the lease and deleted `P_now`).
 *
 * The pipeline itself is {@link syncPipeline}.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { JobBuilder, type JobBuilderProps } from './job-builder';
import { syncPipeline } from './sync-pipeline';

/** Builds the Sync machine's definition. */
export function syncDefinition(scope: Construct, props: Omit<JobBuilderProps, 'job'>): sfn.IChainable {
  const job = new JobBuilder(scope, { ...props, job: 'Sync' });
  const done = new sfn.Succeed(scope, 'SyncSucceeded', { outputPath: '$.commit' });
  return syncPipeline(scope, job, { next: done, onBusy: busySkip(scope), onUnchanged: unchangedSkip(scope) });
}

/** `$.begin` = `{ action: 'busy', holder, holderRunId }` ─► `{ skipped: 'busy', holder, runId }` ─► Succeed. */
function busySkip(scope: Construct): sfn.IChainable {
  const skipped = new sfn.Pass(scope, 'SyncSkippedBusy', {
    parameters: {
      skipped: 'busy',
      holder: sfn.JsonPath.stringAt('$.begin.holder'),
      runId: sfn.JsonPath.stringAt('$.begin.holderRunId'),
    },
  });
  return skipped.next(new sfn.Succeed(scope, 'SyncSkipped.Busy'));
}

/** `$.plan` = `{ skipped: 'unchanged', … }` ─► `{ skipped: 'unchanged' }` ─► Succeed. */
function unchangedSkip(scope: Construct): sfn.IChainable {
  const skipped = new sfn.Pass(scope, 'SyncSkippedUnchanged', { parameters: { skipped: sfn.JsonPath.stringAt('$.plan.skipped') } });
  return skipped.next(new sfn.Succeed(scope, 'SyncSkipped.Unchanged'));
}

/**
 * The sync pipeline as one reusable chain: the Sync machine runs it on its own, and the Verify
 * machine's repair branch runs it with `extraFromRun` (the fix-up: `F = HC ∪ C'`, kind `fixup`).
 *
 * ```
 *  SyncBegin ─► wait P_now ─► SyncPlan ─► Map CopySegment ─► CompleteSnapshot ─► wait S_n ─► SyncCommit ─► SyncRecovered? ─ no ─► next
 *      ▲                                                                                                          │ yes
 *      └──────────────────────────────────────────────────────────────────────────────────────────────────────────┘
 * ```
 *
 * Lease: SyncBegin takes it; every later task renews it (the waits' SnapshotStatus polls too,
 * and CopySegment every minute while it copies), so its short TTL never lapses in a live run.
 *
 * Recovery (claims 5–6) is SyncBegin's: a crashed run's entry that completed is adopted or
 * discarded there, and the run goes on as a normal sync. Only a crashed run whose secondary is
 * still pending comes back as `action: 'recover'`: the same path resumes its copy (SyncPlan
 * returns the DRL's plan), commits it, and then loops to SyncBegin once more, so the scheduled
 * sync (or the fix-up) with a fresh `P_now` still happens in this execution.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { JobBuilder } from './job-builder';

export interface SyncPipelineProps {
  /**
   * JSONPath of the verify run whose revised compare map `C'` the fix-up must copy too; absent
   * for a plain sync.
   */
  readonly extraFromRunPath?: string;
  /** Where the pipeline goes after the commit. */
  readonly next: sfn.IChainable;
  /**
   * Where a busy volume goes: SyncBegin is asked to answer `action: 'busy'` (with the holder's
   * fields at `$.begin`) instead of throwing `VolumeBusyError`: the Sync machine's skip. Absent
   * (Verify's fix-up): busy throws and fails the job like any other error.
   */
  readonly onBusy?: sfn.IChainable;
  /**
   * Where a SyncPlan that found nothing to copy goes (its answer, `{ skipped: 'unchanged' }`, at
   * `$.plan`): the Sync machine's skip. Absent (Verify's fix-up never skips): straight to the copy.
   */
  readonly onUnchanged?: sfn.IChainable;
}

/**
 * Builds the pipeline's states inside `job`'s machine and returns its first state. Results land
 * at `$.begin` (lease, `P_now`), `$.plan` (seq, segments, `S_n`), `$.commit` (the summary a sync
 * returns).
 */
export function syncPipeline(scope: Construct, job: JobBuilder, props: SyncPipelineProps): sfn.IChainable {
  const volumeId = sfn.JsonPath.stringAt('$.volumeId');
  const runId = JobBuilder.runId;

  const beginPayload: Record<string, unknown> = { volumeId, runId };
  if (props.onBusy !== undefined) beginPayload.onBusy = 'skip';
  const begin = job.lambda('SyncBegin', 'SyncBegin', beginPayload, { resultPath: '$.begin' });

  const commit = job.lambda('SyncCommit', 'SyncCommit', {
    volumeId,
    runId,
    fencingToken: sfn.JsonPath.numberAt('$.plan.fencingToken'),
    seq: sfn.JsonPath.numberAt('$.plan.seq'),
  }, { resultPath: '$.commit' });
  commit.next(
    new sfn.Choice(scope, 'SyncRecovered')
      .when(sfn.Condition.stringEquals('$.begin.action', 'recover'), begin)
      .otherwise(props.next),
  );

  const waitSecondary = job.waitForSnapshot({
    id: 'SecondarySnapshot',
    stateName: 'SnapshotStatus.Secondary',
    snapshotIdPath: '$.plan.secondarySnapshotId',
    side: 'secondary',
    fencingTokenPath: '$.plan.fencingToken',
    next: commit,
  });
  const complete = job.lambda('CompleteSnapshot', 'CompleteSnapshot', {
    volumeId,
    runId,
    snapshotId: sfn.JsonPath.stringAt('$.plan.secondarySnapshotId'),
    expectedBlocks: sfn.JsonPath.numberAt('$.plan.blocks'),
    fencingToken: sfn.JsonPath.numberAt('$.plan.fencingToken'),
    seq: sfn.JsonPath.numberAt('$.plan.seq'),
  });
  complete.next(waitSecondary);

  const copy = job.segmentMap('CopySegments', {
    itemsPath: '$.plan.segments',
    itemSelector: {
      volumeId,
      runId,
      fencingToken: sfn.JsonPath.numberAt('$.plan.fencingToken'),
      seq: sfn.JsonPath.numberAt('$.plan.seq'),
      segment: JobBuilder.mapItem,
      sourceSnapshotId: sfn.JsonPath.stringAt('$.plan.primarySnapshotId'),
      targetSnapshotId: sfn.JsonPath.stringAt('$.plan.secondarySnapshotId'),
    },
    itemTask: job.lambda('CopySegment', 'CopySegment', undefined, { resultPath: '$', catchErrors: false }),
  });
  copy.next(complete);

  const planPayload: Record<string, unknown> = {
    volumeId,
    runId,
    fencingToken: sfn.JsonPath.numberAt('$.begin.fencingToken'),
    primarySnapshotId: sfn.JsonPath.stringAt('$.begin.primarySnapshotId'),
    pointInTime: sfn.JsonPath.stringAt('$.begin.pointInTime'),
  };
  if (props.extraFromRunPath !== undefined) planPayload.extraFromRun = sfn.JsonPath.stringAt(props.extraFromRunPath);
  const plan = job.lambda('SyncPlan', 'SyncPlan', planPayload, { resultPath: '$.plan' });
  if (props.onUnchanged === undefined) {
    plan.next(copy);
  } else {
    // After a recovery's commit the loop's fresh sync may find nothing new: the execution still
    // made a restore point (the recovered one), so it ends with that commit, not as a skip.
    // Likewise a run whose SyncBegin adopted a crashed run's completed secondary: it ends with the
    // commit of that restore point (SyncBegin's `recovery.commit`).
    const skipped = sfn.Condition.isPresent('$.plan.skipped');
    const adopted = new sfn.Succeed(scope, 'SyncSucceeded.Adopted', { outputPath: '$.begin.recovery.commit' });
    plan.next(new sfn.Choice(scope, 'SyncChanged')
      .when(sfn.Condition.and(skipped, sfn.Condition.isPresent('$.commit')), props.next)
      .when(sfn.Condition.and(skipped, sfn.Condition.isPresent('$.begin.recovery.commit')), adopted)
      .when(skipped, props.onUnchanged)
      .otherwise(copy));
  }

  const waitPrimary = job.waitForSnapshot({
    id: 'PrimarySnapshot',
    stateName: 'SnapshotStatus',
    snapshotIdPath: '$.begin.primarySnapshotId',
    side: 'primary',
    fencingTokenPath: '$.begin.fencingToken',
    next: plan,
  });
  if (props.onBusy === undefined) {
    begin.next(waitPrimary);
  } else {
    begin.next(new sfn.Choice(scope, 'SyncBusy')
      .when(sfn.Condition.stringEquals('$.begin.action', 'busy'), props.onBusy)
      .otherwise(waitPrimary));
  }
  return begin;
}

/**
 * The Restore job (claim 12) as a state machine. Started from the console or the CLI with
 *
 * ```json
 * { "volumeId": "vol-0abc", "pointInTime": "2026-11-24T10:00:00Z", "inPlace": false }
 * ```
 * (or `"seq": 12` instead of `pointInTime`; optional `allowSuspect`, `instanceId`, `availabilityZone`).
 *
 * ```
 *  RestoreRun ─► RestoreRequest ─► RestoreBegin ─┬─ refusal ─► RestoreRefused (Fail: error name + message)
 *                                                ├─ delta: wait P_now ─┐
 *                                                └─ full ──────────────┴─► RestorePlan ─► copy? ─┬─ Map CopySegment ─► CompleteSnapshot ─► wait target ─┐
 *                                                                                                 └────────────────────────────────────────────────────┴─► RestoreCreateVolume ─► wait volume ─► RestoreSwap ─► RestoreReport
 * ```
 *
 * The console shows the outcome either way: a restore ends with the report as its output
 * (`newVolumeId`, `blocksWritten`, `planBlocks`, …); a refused one fails with the refusal's error
 * name and message (suspect point without override, unknown seq, nothing before the time, bad input).
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { InvalidTaskInputError } from '../../lambdas/errors';
import { RESTORE_REFUSALS } from '../../shared/engine/errors';
import { ERROR_PATH, JobBuilder, type JobBuilderProps } from './job-builder';

/** Error names that make a restore request refused rather than failed: nothing was changed. */
export const RESTORE_REFUSAL_ERRORS: readonly string[] = [...RESTORE_REFUSALS, InvalidTaskInputError.errorName];

/** Builds the Restore machine's definition. */
export function restoreDefinition(scope: Construct, props: Omit<JobBuilderProps, 'job'>): sfn.IChainable {
  const job = new JobBuilder(scope, { ...props, job: 'Restore', volumeIdPath: '$.request.volumeId' });

  // ── the tail: report, then succeed with it as the output ──
  const report = job.lambda('RestoreReport', 'RestoreReport', undefined, { inputPath: '$.reportInput', resultPath: '$.report' });
  const reportInput = new sfn.Pass(scope, 'RestoreDone', {
    parameters: {
      volumeId: sfn.JsonPath.stringAt('$.request.volumeId'),
      runId: JobBuilder.runId,
      mode: sfn.JsonPath.stringAt('$.plan.mode'),
      restorePoint: sfn.JsonPath.objectAt('$.decision.restorePoint'),
      newVolumeId: sfn.JsonPath.stringAt('$.volume.newVolumeId'),
      snapshotId: sfn.JsonPath.stringAt('$.plan.targetSnapshotId'),
      planBlocks: sfn.JsonPath.numberAt('$.plan.blocks'),
      copied: sfn.JsonPath.listAt('$.copied'),
      swapped: sfn.JsonPath.objectAt('$.swap.swapped'),
    },
    resultPath: '$.reportInput',
  });
  reportInput.next(report).next(new sfn.Succeed(scope, 'RestoreSucceeded', { outputPath: '$.report' }));

  // ── swap (a no-op unless inPlace) ──
  const swapInput = new sfn.Pass(scope, 'RestoreSwapInput', {
    parameters: { input: sfn.JsonPath.jsonMerge(sfn.JsonPath.objectAt('$.decision'), sfn.JsonPath.objectAt('$.volume')) },
    resultPath: '$.swapInput',
  });
  const swap = job.lambda('RestoreSwap', 'RestoreSwap', undefined, { inputPath: '$.swapInput.input', resultPath: '$.swap' });
  swapInput.next(swap).next(reportInput);

  // ── create the volume and wait for it to be available ──
  // The first call creates the volume; the polls name the volume it created.
  const createVolumePayload = {
    volumeId: sfn.JsonPath.stringAt('$.request.volumeId'),
    runId: JobBuilder.runId,
    mode: sfn.JsonPath.stringAt('$.plan.mode'),
    snapshotId: sfn.JsonPath.stringAt('$.plan.targetSnapshotId'),
    restorePoint: sfn.JsonPath.objectAt('$.decision.restorePoint'),
    like: sfn.JsonPath.objectAt('$.decision.like'),
  };
  const createVolume = job.lambda('RestoreCreateVolume', 'RestoreCreateVolume', createVolumePayload, { resultPath: '$.volume' });
  const pollVolume = job.lambda('RestoreCreateVolume.Poll', 'RestoreCreateVolume', {
    ...createVolumePayload,
    newVolumeId: sfn.JsonPath.stringAt('$.volume.newVolumeId'),
  }, { resultPath: '$.volume' });
  createVolume.next(job.pollUntilCompleted({ id: 'RestoredVolume', statusPath: '$.volume.status', poll: pollVolume, next: swapInput }));

  // ── copy R from S_k into the target snapshot (delta restore only) ──
  const completeTarget = job.lambda('CompleteSnapshot', 'CompleteSnapshot', {
    volumeId: sfn.JsonPath.stringAt('$.request.volumeId'),
    runId: JobBuilder.runId,
    // The shared task's restore shape: the target is on the primary side, |R| guards the digests.
    snapshotId: sfn.JsonPath.stringAt('$.plan.targetSnapshotId'),
    expectedBlocks: sfn.JsonPath.numberAt('$.plan.blocks'),
    side: 'primary',
  });
  completeTarget.next(job.waitForSnapshot({
    id: 'TargetSnapshot',
    stateName: 'SnapshotStatus.Target',
    snapshotIdPath: '$.plan.targetSnapshotId',
    side: 'primary',
    next: createVolume,
  }));
  const copy = job.segmentMap('CopySegments', {
    itemsPath: '$.plan.segments',
    itemSelector: {
      volumeId: sfn.JsonPath.stringAt('$.request.volumeId'),
      runId: JobBuilder.runId,
      segment: JobBuilder.mapItem,
      sourceSnapshotId: sfn.JsonPath.stringAt('$.plan.sourceSnapshotId'),
      targetSnapshotId: sfn.JsonPath.stringAt('$.plan.targetSnapshotId'),
    },
    resultPath: '$.copied',
    itemTask: job.lambda('CopySegment', 'CopySegment', undefined, { resultPath: '$', catchErrors: false }),
  });
  copy.next(completeTarget);

  // ── plan ──
  const plan = job.lambda('RestorePlan', 'RestorePlan', undefined, { inputPath: '$.decision', resultPath: '$.plan' });
  plan.next(
    new sfn.Choice(scope, 'RestoreNeedsCopy')
      .when(sfn.Condition.stringEquals('$.plan.mode', 'delta'), copy)
      .otherwise(createVolume),
  );

  // ── begin: validate the request, pick the restore point, take P_now ──
  // Nothing was changed and no lease is held, so no JobFailed: the execution fails with the
  // refusal's name and message, which is what the console shows of a failed execution.
  const refused = new sfn.Fail(scope, 'RestoreRefused', { errorPath: `${ERROR_PATH}.Error`, causePath: `${ERROR_PATH}.Cause` });
  const begin = job.lambda('RestoreBegin', 'RestoreBegin', undefined, { inputPath: '$.request', resultPath: '$.decision', catchErrors: false });
  begin.addCatch(refused, { errors: [...RESTORE_REFUSAL_ERRORS], resultPath: ERROR_PATH });
  job.catchInto(begin);
  begin.next(
    new sfn.Choice(scope, 'RestoreMode')
      .when(
        sfn.Condition.stringEquals('$.decision.mode', 'delta'),
        job.waitForSnapshot({
          id: 'PrimaryNow',
          stateName: 'SnapshotStatus.PrimaryNow',
          snapshotIdPath: '$.decision.primarySnapshotId',
          side: 'primary',
          // A delta restore holds the lease from RestoreBegin to RestorePlan: the polls renew it.
          fencingTokenPath: '$.decision.fencingToken',
          next: plan,
        }),
      )
      .otherwise(plan),
  );

  // ── the console input, plus the execution name as runId; `copied` is empty until a Map fills it ──
  const run = new sfn.Pass(scope, 'RestoreRun', {
    parameters: { runId: JobBuilder.runId },
    resultPath: '$.run',
  });
  const request = new sfn.Pass(scope, 'RestoreRequest', {
    parameters: {
      request: sfn.JsonPath.jsonMerge(sfn.JsonPath.objectAt('$$.Execution.Input'), sfn.JsonPath.objectAt('$.run')),
      copied: [],
      swap: { swapped: false },
    },
  });
  return run.next(request).next(begin);
}

/**
 * The Verify job (claims 1–11) as a state machine. Input `{ "volumeId": "vol-…", "quick": false }`
 * (`quick`: compare only the dirty regions, claims 5–6).
 *
 * ```
 *  VerifyBegin ─► wait P0 ─► VerifyPlan ─► Map VerifyScanSegment ─► VerifyFinishScan ─► VerifyOutcome? ─ clean ──────────────┬─► VerifyReport
 *                                                                                                      └ repair ─► sync pipeline (extraFromRun) ─┘
 * ```
 *
 * The scan needs no lease (it reads immutable snapshots only); `VerifyFinishScan` takes the lease
 * to mark suspects and, on `repair`, keeps it for the fix-up, which presents its fencing token.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { JobBuilder, type JobBuilderProps } from './job-builder';
import { syncPipeline } from './sync-pipeline';

/** Builds the Verify machine's definition. */
export function verifyDefinition(scope: Construct, props: Omit<JobBuilderProps, 'job'>): sfn.IChainable {
  const job = new JobBuilder(scope, { ...props, job: 'Verify' });
  const volumeId = sfn.JsonPath.stringAt('$.volumeId');
  const runId = JobBuilder.runId;

  const report = job.lambda('VerifyReport', 'VerifyReport', { volumeId, runId }, { resultPath: '$.report' });
  report.next(new sfn.Succeed(scope, 'VerifySucceeded', { outputPath: '$.report' }));

  const fixup = syncPipeline(scope, job, {
    extraFromRunPath: '$$.Execution.Name',
    next: report,
  });

  const finish = job.lambda('VerifyFinishScan', 'VerifyFinishScan', { volumeId, runId }, { resultPath: '$.finish' });
  // It takes the volume lease at T1; a sync holding it commits within minutes, so wait for it
  // instead of failing a scan that may have taken hours.
  job.retryWhileBusy(finish);
  finish.next(
    new sfn.Choice(scope, 'VerifyOutcome')
      .when(sfn.Condition.stringEquals('$.finish.outcome', 'repair'), fixup)
      .otherwise(report),
  );

  const scan = job.segmentMap('ScanSegments', {
    itemsPath: '$.plan.segments',
    itemSelector: { volumeId, runId, segment: JobBuilder.mapItem },
    itemTask: job.lambda('VerifyScanSegment', 'VerifyScanSegment', undefined, { resultPath: '$', catchErrors: false }),
  });
  scan.next(finish);

  const plan = job.lambda('VerifyPlan', 'VerifyPlan', { volumeId, runId }, { resultPath: '$.plan' });
  plan.next(scan);

  const begin = job.lambda('VerifyBegin', 'VerifyBegin', {
    volumeId,
    runId,
    quick: sfn.JsonPath.objectAt('$.quick'),
  }, { resultPath: '$.begin' });
  begin.next(job.waitForSnapshot({
    id: 'VerifySnapshot',
    stateName: 'SnapshotStatus.Verify',
    snapshotIdPath: '$.begin.primarySnapshotId',
    side: 'primary',
    next: plan,
  }));

  // `quick` is optional in the console input: default it before any state reads it.
  const defaults = new sfn.Pass(scope, 'VerifyDefaults', {
    parameters: { quick: false },
    resultPath: '$.defaults',
  });
  const input = new sfn.Pass(scope, 'VerifyInput', {
    parameters: { merged: sfn.JsonPath.jsonMerge(sfn.JsonPath.objectAt('$.defaults'), sfn.JsonPath.objectAt('$$.Execution.Input')) },
    outputPath: '$.merged',
  });
  return defaults.next(input).next(begin);
}

/**
 * The Scrub job (ARCHITECTURE.md "Verify": secondary scrub and structural check) as a state
 * machine. Input `{ "volumeId": "vol-…", "scope": "all" }`: `all` (the default) reads every stored
 * version a retained restore point wrote, `new` only those of the points committed since the
 * last succeeded scrub (the read-back of new entries). Output the scrub's report
 * `{ scope, throughSeq, pointsRead, badVersions, suspectPoints, prunedMeanwhile, … }`.
 *
 * ```
 *  ScrubDefaults ─► ScrubInput ─► ScrubBegin ─► Map ScrubSegment over begin.items ({ seq, segment }) ─► ScrubFinish ─► ScrubSucceeded
 *                                                                                                     │ VolumeBusyError: retried (a sync holds the lease)
 *  any error ─► JobFailed (job scrub) ─► ScrubFailed
 * ```
 *
 * Only `ScrubFinish` takes the volume lease (to record bad versions); the begin and the segment
 * reads touch immutable snapshots and the run's own items. The Map's items are small objects
 * `{ seq, segment }`, one per segment a point wrote: ScrubBegin's answer holds them all, so one
 * execution covers up to a few thousand items (Step Functions' 256 KB state and 25,000 history
 * events; see infra/README.md, "Scrub").
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { JobBuilder, type JobBuilderProps } from './job-builder';

/** What an execution input without `scope` means: the full scrub. */
export const DEFAULT_SCRUB_SCOPE = 'all';

/** Builds the Scrub machine's definition. */
export function scrubDefinition(scope: Construct, props: Omit<JobBuilderProps, 'job'>): sfn.IChainable {
  const job = new JobBuilder(scope, { ...props, job: 'Scrub' });
  const volumeId = sfn.JsonPath.stringAt('$.volumeId');
  const runId = JobBuilder.runId;

  const finish = job.lambda('ScrubFinish', 'ScrubFinish', {
    volumeId,
    runId,
    scope: sfn.JsonPath.stringAt('$.begin.scope'),
    throughSeq: sfn.JsonPath.numberAt('$.begin.throughSeq'),
    seqs: sfn.JsonPath.listAt('$.begin.seqs'),
  }, { resultPath: '$.report' });
  // ScrubFinish takes the lease to record what the reads found: wait out a sync that holds it.
  job.retryWhileBusy(finish);
  finish.next(new sfn.Succeed(scope, 'ScrubSucceeded', { outputPath: '$.report' }));

  const segments = job.segmentMap('ScrubSegments', {
    itemsPath: '$.begin.items',
    itemSelector: { volumeId, runId, seq: JobBuilder.mapItemField('seq'), segment: JobBuilder.mapItemField('segment') },
    itemTask: job.lambda('ScrubSegment', 'ScrubSegment', undefined, { resultPath: '$', catchErrors: false }),
  });
  segments.next(finish);

  const begin = job.lambda('ScrubBegin', 'ScrubBegin', { volumeId, runId, scope: sfn.JsonPath.stringAt('$.scope') }, { resultPath: '$.begin' });
  begin.next(segments);

  // `scope` is optional in the console input: default it before any state reads it.
  const defaults = new sfn.Pass(scope, 'ScrubDefaults', {
    parameters: { scope: DEFAULT_SCRUB_SCOPE },
    resultPath: '$.defaults',
  });
  const input = new sfn.Pass(scope, 'ScrubInput', {
    parameters: { merged: sfn.JsonPath.jsonMerge(sfn.JsonPath.objectAt('$.defaults'), sfn.JsonPath.objectAt('$$.Execution.Input')) },
    outputPath: '$.merged',
  });
  return defaults.next(input).next(begin);
}

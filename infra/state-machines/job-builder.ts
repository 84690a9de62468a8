/**
 * The building blocks every job's state machine is made of: a Lambda task with the job's Retry
 * and Catch, the snapshot wait loop, the segment fan-out and the failure tail. One place, so the
 * four machines cannot drift apart in how they retry, wait or fail.
 *
 * State data: every machine keeps `volumeId` and `runId` at the top of its state and puts each
 * task's answer under its own path (`$.begin`, `$.plan`, …), so later tasks pick what they need
 * by JSONPath. Payloads stay small JSON (ids, seqs, segment numbers, counts): block data and delta
 * maps never pass through Step Functions (256 KB state limit).
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { SNAPSHOT_BLOCK_RATE } from '../../shared/core/quotas';
import { DEFAULT_TUNING } from '../../shared/engine/context';
import type { TaskName } from '../../lambdas/task-names';
import { TransientTaskError } from '../../lambdas/errors';
import {
  BatchRetryExhaustedError,
  ConcurrentUpdateError,
  EbsServiceError,
  SnapshotLimitError,
  SnapshotWaitTimeoutError,
  ThrottledError,
  VolumeBusyError,
} from '../../shared/core/ports/errors';
import { WaitTimeoutError } from '../../shared/engine/errors';
import type { JobName } from '../job-names';

/**
 * Segments in flight at once (every Map's MaxConcurrency). All items of one Map read one source
 * snapshot and write one target, and EBS allows 1,000 GetSnapshotBlock and 1,000 PutSnapshotBlock
 * per second per snapshot and per account. Each CopySegment / VerifyScanSegment Lambda holds a
 * rate limiter with `DEFAULT_TUNING.accountRates.GetSnapshotBlock` = 250 requests/s, so
 * 1,000 ÷ 250 = 4 items saturate the quota without exceeding it. (250/s also finishes a full
 * 32 GiB segment, 65,536 blocks, in ≈262 s: well inside Lambda's 900 s, with room for retries.)
 */
export const SEGMENT_MAX_CONCURRENCY = SNAPSHOT_BLOCK_RATE / DEFAULT_TUNING.accountRates.GetSnapshotBlock;

/**
 * Error names worth retrying: throttling and server errors the adapters gave up on after their
 * own retries, optimistic-lock races, a crashed or throttled Lambda, and a task timeout. Every
 * task is idempotent (ARCHITECTURE.md), so running one again is always safe.
 */
export const TRANSIENT_ERRORS: readonly string[] = [
  ThrottledError.errorName,
  EbsServiceError.errorName,
  SnapshotLimitError.errorName,
  ConcurrentUpdateError.errorName,
  BatchRetryExhaustedError.errorName,
  TransientTaskError.errorName,
  'States.Timeout',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.TooManyRequestsException',
  'Lambda.Unknown',
];

/** First retry after 2 s, doubling: the adapters already retried for a few seconds in process. */
const RETRY_INTERVAL = Duration.seconds(2);
const RETRY_BACKOFF_RATE = 2;

/** Six attempts: 2 + 4 + 8 + 16 + 32 + 60 ≈ 2 minutes, the time EBS may take to accept writes to a new snapshot. */
const RETRY_MAX_ATTEMPTS = 6;

/** Caps the doubling so a long throttle is probed once a minute, not once every few minutes. */
const RETRY_MAX_DELAY = Duration.seconds(60);

/** First look after 10 s, doubling up to a minute: a sync's commit is minutes away at most. */
const LEASE_RETRY_INTERVAL = Duration.seconds(10);
const LEASE_RETRY_BACKOFF_RATE = 2;
const LEASE_RETRY_MAX_DELAY = Duration.seconds(60);

/**
 * 10 + 20 + 40 + 12 × 60 s ≈ 13 minutes: longer than a sync usually holds its lease, and than the
 * five-minute expiry of a dead one's (DEFAULT_LEASE_TTL_MS), so only a long live sync makes the
 * waiting task fail busy.
 */
const LEASE_RETRY_MAX_ATTEMPTS = 15;

/**
 * A task runs at most this long before Step Functions raises `States.Timeout` (then retried).
 * Lambda's own maximum: a longer wait means the invocation was lost.
 */
const TASK_TIMEOUT = Duration.minutes(15);

/** Seconds between two polls of a snapshot's state (the local runner shortens every wait). */
export const DEFAULT_SNAPSHOT_POLL_SECONDS = 15;

/**
 * Polls before a wait gives up: 960 × 15 s = 4 hours. An EBS snapshot of changed blocks
 * completes in minutes; a first full snapshot of a large volume can take hours.
 */
export const DEFAULT_SNAPSHOT_MAX_POLLS = 960;

/** A ResultPath that replaces the whole state with the task's answer. */
const WHOLE_STATE = '$';

/** Where a caught error lands in the state (`{ Error, Cause }`), for JobFailed and the Fail state. */
export const ERROR_PATH = '$.error';

export type { JobName } from '../job-names';

export interface JobBuilderProps {
  readonly job: JobName;
  readonly functions: Readonly<Record<TaskName, IFunction>>;
  /** Seconds between snapshot polls. */
  readonly pollSeconds?: number;
  /** Polls before a wait gives up. */
  readonly maxPolls?: number;
  /** Where the state holds the volume id, for JobFailed (`$.volumeId` unless the job keeps it elsewhere). */
  readonly volumeIdPath?: string;
}

/** A poll loop around a task that answers `{ status: 'IN_PROGRESS' | 'COMPLETED' }` itself. */
export interface PollLoopProps {
  /** Unique within the machine: names the loop's states. */
  readonly id: string;
  /** Where the first call (made before the loop) left its status. */
  readonly statusPath: string;
  /** The task that asks again; it must write its answer where `statusPath` points. */
  readonly poll: sfn.TaskStateBase;
  readonly next: sfn.IChainable;
}

/** What a snapshot wait loop needs: the snapshot's id in the state, and its side. */
export interface SnapshotWaitProps {
  /** Unique within the machine: names the loop's states (`Wait<id>`, `<id>Ready`, …). */
  readonly id: string;
  /** The SnapshotStatus state's name: `SnapshotStatus` plus a qualifier when a machine polls twice. */
  readonly stateName: string;
  readonly snapshotIdPath: string;
  readonly side: 'primary' | 'secondary';
  /**
   * JSONPath of the fencing token when the job holds the volume lease while it waits: each poll
   * renews the lease (a snapshot may take longer than the lease's TTL to complete).
   */
  readonly fencingTokenPath?: string;
  /** Where to go once the snapshot is `completed`. */
  readonly next: sfn.IChainable;
}

/**
 * Builds the states of one job's machine. Every task gets the same Retry, and a Catch into the
 * job's failure tail: `JobFailed` (records the failure, releases the lease) then a Fail state
 * carrying the original error name and cause.
 */
export class JobBuilder {
  readonly job: JobName;
  /** The failure tail's head: every Catch goes here. */
  readonly failed: sfn.IChainable;
  private readonly scope: Construct;
  private readonly functions: Readonly<Record<TaskName, IFunction>>;
  private readonly pollSeconds: number;
  private readonly maxPolls: number;
  private readonly volumeIdPath: string;

  constructor(scope: Construct, props: JobBuilderProps) {
    this.scope = scope;
    this.job = props.job;
    this.functions = props.functions;
    this.pollSeconds = props.pollSeconds ?? DEFAULT_SNAPSHOT_POLL_SECONDS;
    this.maxPolls = props.maxPolls ?? DEFAULT_SNAPSHOT_MAX_POLLS;
    this.volumeIdPath = props.volumeIdPath ?? '$.volumeId';
    const fail = new sfn.Fail(scope, `${props.job}Failed`, {
      errorPath: `${ERROR_PATH}.Error`,
      causePath: `${ERROR_PATH}.Cause`,
    });
    // JobFailed must not catch into itself: if it fails too, the execution still fails with the
    // original error (kept at ERROR_PATH; JobFailed's own error goes to $.failure).
    const jobFailed = this.lambda('JobFailed', 'JobFailed', {
      volumeId: sfn.JsonPath.stringAt(props.volumeIdPath ?? '$.volumeId'),
      runId: JobBuilder.runId,
      job: props.job.toLowerCase(),
      error: sfn.JsonPath.objectAt(ERROR_PATH),
    }, { resultPath: '$.failure', catchErrors: false });
    jobFailed.addCatch(fail, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });
    this.failed = jobFailed.next(fail);
  }

  /**
   * A Lambda task state named `stateName` invoking the function of `taskName` with `payload`
   * (or, when undefined, with the part of the state at `inputPath`), its answer stored at
   * `resultPath` (discarded when absent); Retry on {@link TRANSIENT_ERRORS}; Catch of everything
   * into the failure tail unless `catchErrors` is false (a task inside a Map: the Map catches).
   */
  lambda(
    stateName: string,
    taskName: TaskName,
    payload: Record<string, unknown> | undefined,
    options: { inputPath?: string; resultPath?: string; catchErrors?: boolean; comment?: string } = {},
  ): tasks.LambdaInvoke {
    const state = new tasks.LambdaInvoke(this.scope, stateName, {
      lambdaFunction: this.functions[taskName],
      payload: payload === undefined ? undefined : sfn.TaskInput.fromObject(payload),
      inputPath: options.inputPath,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      // `$` (the answer replaces the state) is ASL's default, so it is left out of the definition:
      // aws-local-stepfunctions reads an explicit `"ResultPath": "$"` as a key named `$` and nests
      // the answer under it (a Map of CopySegment then answered `[{ …item, $: { blocksWritten } }]`).
      resultPath: options.resultPath === WHOLE_STATE ? undefined : (options.resultPath ?? sfn.JsonPath.DISCARD),
      taskTimeout: sfn.Timeout.duration(TASK_TIMEOUT),
      comment: options.comment,
    });
    state.addRetry({
      errors: [...TRANSIENT_ERRORS],
      interval: RETRY_INTERVAL,
      backoffRate: RETRY_BACKOFF_RATE,
      maxAttempts: RETRY_MAX_ATTEMPTS,
      maxDelay: RETRY_MAX_DELAY,
      jitterStrategy: sfn.JitterType.FULL,
    });
    if (options.catchErrors !== false) this.catchInto(state);
    return state;
  }

  /**
   * Adds a Retry on {@link VolumeBusyError} (after the transient one): for a task that takes the
   * volume lease at the end of a long read (VerifyFinishScan, ScrubFinish). A sync holding the
   * lease commits within minutes, so the task waits for it (≈13 minutes, beyond a dead lease's
   * five-minute expiry) instead of failing a scan that may have taken hours.
   */
  retryWhileBusy(state: tasks.LambdaInvoke): void {
    state.addRetry({
      errors: [VolumeBusyError.errorName],
      interval: LEASE_RETRY_INTERVAL,
      backoffRate: LEASE_RETRY_BACKOFF_RATE,
      maxAttempts: LEASE_RETRY_MAX_ATTEMPTS,
      maxDelay: LEASE_RETRY_MAX_DELAY,
      jitterStrategy: sfn.JitterType.FULL,
    });
  }

  /** Sends every error of `state` to the failure tail, the error kept at {@link ERROR_PATH}. */
  catchInto(state: sfn.TaskStateBase | sfn.Map | sfn.Parallel): void {
    state.addCatch(this.failed, { errors: [sfn.Errors.ALL], resultPath: ERROR_PATH });
  }

  /**
   * The wait for a snapshot to complete: a Wait, `SnapshotStatus`, a poll counter and a Choice,
   * looping until `COMPLETED` or the bounded number of polls, after which the job fails with
   * `SnapshotWaitTimeoutError` through JobFailed. Nothing sleeps in a Lambda.
   *
   * ```
   *   Start<id>Wait ─► Wait<id> ─► SnapshotStatus… ─► Count<id>Polls ─► <id>Ready? ─ COMPLETED ─► next
   *                       ▲                                                  │ polls ≥ max ─► <id>WaitExhausted ─► JobFailed
   *                       └──────────────────── otherwise ───────────────────┘
   * ```
   */
  waitForSnapshot(props: SnapshotWaitProps): sfn.IChainable {
    const start = new sfn.Pass(this.scope, `Start${props.id}Wait`, {
      result: sfn.Result.fromObject({ count: 0 }),
      resultPath: '$.polls',
    });
    const wait = new sfn.Wait(this.scope, `Wait${props.id}`, {
      time: sfn.WaitTime.duration(Duration.seconds(this.pollSeconds)),
    });
    const statusPayload: Record<string, unknown> = {
      volumeId: sfn.JsonPath.stringAt(this.volumeIdPath),
      runId: JobBuilder.runId,
      snapshotId: sfn.JsonPath.stringAt(props.snapshotIdPath),
      side: props.side,
    };
    if (props.fencingTokenPath !== undefined) statusPayload.fencingToken = sfn.JsonPath.numberAt(props.fencingTokenPath);
    const status = this.lambda(props.stateName, 'SnapshotStatus', statusPayload, { resultPath: '$.snapshotStatus' });
    const count = new sfn.Pass(this.scope, `Count${props.id}Polls`, {
      parameters: { count: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.polls.count'), 1) },
      resultPath: '$.polls',
    });
    const exhausted = new sfn.Pass(this.scope, `${props.id}WaitExhausted`, {
      result: sfn.Result.fromObject({
        Error: SnapshotWaitTimeoutError.errorName,
        Cause: `the ${props.side} snapshot did not complete within ${this.maxPolls} polls ${this.pollSeconds} s apart`,
      }),
      resultPath: ERROR_PATH,
    });
    const ready = new sfn.Choice(this.scope, `${props.id}Ready`)
      .when(sfn.Condition.stringEquals('$.snapshotStatus.status', 'COMPLETED'), props.next)
      .when(sfn.Condition.numberGreaterThanEquals('$.polls.count', this.maxPolls), exhausted.next(this.failed))
      .otherwise(wait);
    start.next(wait);
    wait.next(status);
    status.next(count);
    count.next(ready);
    return start;
  }

  /**
   * Polls a task that reports its own progress (`RestoreCreateVolume` with the volume it created)
   * until its status is `COMPLETED`: the same bounded Wait/Choice loop as {@link waitForSnapshot}.
   */
  pollUntilCompleted(props: PollLoopProps): sfn.IChainable {
    const start = new sfn.Pass(this.scope, `Start${props.id}Wait`, {
      result: sfn.Result.fromObject({ count: 0 }),
      resultPath: '$.polls',
    });
    const wait = new sfn.Wait(this.scope, `Wait${props.id}`, {
      time: sfn.WaitTime.duration(Duration.seconds(this.pollSeconds)),
    });
    const count = new sfn.Pass(this.scope, `Count${props.id}Polls`, {
      parameters: { count: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.polls.count'), 1) },
      resultPath: '$.polls',
    });
    const exhausted = new sfn.Pass(this.scope, `${props.id}WaitExhausted`, {
      result: sfn.Result.fromObject({
        Error: WaitTimeoutError.errorName,
        Cause: `${props.id} did not complete within ${this.maxPolls} polls ${this.pollSeconds} s apart`,
      }),
      resultPath: ERROR_PATH,
    });
    const ready = new sfn.Choice(this.scope, `${props.id}Ready`)
      .when(sfn.Condition.stringEquals(props.statusPath, 'COMPLETED'), props.next)
      .when(sfn.Condition.numberGreaterThanEquals('$.polls.count', this.maxPolls), exhausted.next(this.failed))
      .otherwise(wait);
    const check = new sfn.Choice(this.scope, `${props.id}AlreadyDone`)
      .when(sfn.Condition.stringEquals(props.statusPath, 'COMPLETED'), props.next)
      .otherwise(start);
    start.next(wait);
    wait.next(props.poll);
    props.poll.next(count);
    count.next(ready);
    return check;
  }

  /**
   * Fans `itemTask` out over the items at `itemsPath` (segment numbers, or `{ seq, segment }`
   * objects for the scrub), {@link SEGMENT_MAX_CONCURRENCY} at a time, each item's input built by
   * `itemSelector` ({@link JobBuilder.mapItem} is a segment number, {@link JobBuilder.mapItemField}
   * a field of an object item). The item task retries on its own; the Map catches into the failure tail.
   */
  segmentMap(
    stateName: string,
    props: { itemsPath: string; itemSelector: Record<string, unknown>; resultPath?: string; itemTask: sfn.IChainable },
  ): sfn.Map {
    const map = new sfn.Map(this.scope, stateName, {
      itemsPath: props.itemsPath,
      itemSelector: props.itemSelector,
      maxConcurrency: SEGMENT_MAX_CONCURRENCY,
      resultPath: props.resultPath ?? sfn.JsonPath.DISCARD,
    });
    map.itemProcessor(props.itemTask);
    this.catchInto(map);
    return map;
  }

  /** The Step Functions execution name: every task's `runId`. */
  static readonly runId = sfn.JsonPath.stringAt('$$.Execution.Name');

  /** The item of a segment Map: the segment number. */
  static readonly mapItem = sfn.JsonPath.numberAt('$$.Map.Item.Value');

  /** A numeric field of a Map's object item (`seq`, `segment` of a scrub item). */
  static mapItemField(field: string): number {
    return sfn.JsonPath.numberAt(`$$.Map.Item.Value.${field}`);
  }
}

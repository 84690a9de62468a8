/**
 * What every local job driver shares: the options (stop after a step, inject a crash at one, the
 * Map's contexts, the bounded waits), the step boundaries, the snapshot Wait/Choice loop, the
 * segment Map, and the Catch → JobFailed tail.
 */
import { SnapshotWaitTimeoutError } from '../../shared/core/ports/errors';
import type { EngineContext } from '../../shared/engine/context';
import { jobFailed, snapshotStatus } from '../../shared/engine/tasks';
import type { JobFailedInput, SnapshotStatusInput } from '../../shared/engine/tasks/schemas';
import { InjectedCrashError } from './errors';

/**
 * Looks of a Wait/Choice loop before a driver gives up: the emulator completes snapshots within
 * the call, so one look is the rule; a thousand 5 ms apart cover a slow, loaded machine.
 */
export const DRIVER_MAX_POLLS = 1_000;

/** Pause between two looks of a Wait/Choice loop (the machine's Wait state, shortened locally). */
export const DRIVER_POLL_INTERVAL_MS = 5;

/** Wall time of a job's phases, filled in by the drivers when the caller passes it (the benches). */
export interface JobPhases {
  /** SyncPlan alone. */
  planMs?: number;
  /** The Map of CopySegment items alone. */
  copyMs?: number;
  /** The Map of VerifyScanSegment items alone. */
  scanMs?: number;
}

/** Where and how an injected crash strikes: the step throws {@link InjectedCrashError}. */
export interface StepCrash<Step extends string> {
  readonly step: Step;
  /** `before`: the step's engine call never ran; `after`: it ran and its answer was lost. */
  readonly when: 'before' | 'after';
}

/** Options every driver takes. */
export interface DriveOptions<Step extends string> {
  /**
   * End the run right after the first time this step completes, as if the execution died there:
   * no Catch, the lease left to expire. The run reports `stoppedAfter`.
   */
  readonly stopAfter?: Step;
  /** Make a step throw (before or after its engine call); the Catch then runs as it would. */
  readonly crash?: StepCrash<Step>;
  /** Run the Catch (JobFailed) when a step throws: true by default, as the state machines do. */
  readonly catchFailures?: boolean;
  /** One context per Map slot: items run `length` at a time, each on its own (one Lambda each). Default: the job's context alone. */
  readonly mapContexts?: readonly EngineContext[];
  /** Looks of each Wait/Choice loop before it fails; {@link DRIVER_MAX_POLLS} by default. */
  readonly maxPolls?: number;
  /** Pause between two looks; {@link DRIVER_POLL_INTERVAL_MS} by default. */
  readonly pollIntervalMs?: number;
  /** Filled with the phases' wall time. */
  readonly phases?: JobPhases;
}

/** The step boundaries of one run: where the injected crash strikes and where the run stops. */
export class StepBoundaries<Step extends string> {
  /** The step running or last run: the Catch tells a refusal at the first step from a failure. */
  current: Step | undefined;

  constructor(private readonly options: DriveOptions<Step>) {}

  /** Runs `action` as step `step`, throwing the crash due before or after it. */
  async run<T>(step: Step, action: () => Promise<T>): Promise<T> {
    this.current = step;
    this.crashIf(step, 'before');
    const result = await action();
    this.crashIf(step, 'after');
    return result;
  }

  /** Whether the run ends after `step` (it is the `stopAfter` step). */
  stopsAfter(step: Step): boolean {
    return this.options.stopAfter === step;
  }

  private crashIf(step: Step, when: 'before' | 'after'): void {
    const crash = this.options.crash;
    if (crash?.step === step && crash.when === when) throw new InjectedCrashError(`injected crash ${when} ${step}`);
  }
}

/** Awaits `action`, recording its wall time under `phase` of `phases` when given. */
export async function timed<T>(phases: JobPhases | undefined, phase: keyof JobPhases, action: () => Promise<T>): Promise<T> {
  const began = performance.now();
  const result = await action();
  if (phases !== undefined) phases[phase] = performance.now() - began;
  return result;
}

/** Sleeps `ms` (the Wait state). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The snapshot Wait/Choice loop: SnapshotStatus until `COMPLETED`, at most `maxPolls` looks.
 *
 * @throws SnapshotWaitTimeoutError when the looks run out (the name the machine's `…WaitExhausted` state records)
 * @throws SnapshotFailedError when the snapshot went to `error`
 */
export async function waitForSnapshot(
  ctx: EngineContext,
  input: SnapshotStatusInput,
  options: Pick<DriveOptions<string>, 'maxPolls' | 'pollIntervalMs'>,
): Promise<void> {
  const maxPolls = options.maxPolls ?? DRIVER_MAX_POLLS;
  for (let poll = 0; poll < maxPolls; poll++) {
    if (poll > 0) await pause(options.pollIntervalMs ?? DRIVER_POLL_INTERVAL_MS);
    if ((await snapshotStatus(ctx, input)).status === 'COMPLETED') return;
  }
  throw new SnapshotWaitTimeoutError(`the ${input.side} snapshot ${input.snapshotId} did not complete within ${maxPolls} polls`, {
    volumeId: input.volumeId,
    snapshotId: input.snapshotId,
  });
}

/**
 * A Map state: `task` over `items`, `concurrency` at a time; slot `s` passes its index to `task`
 * (the drivers give each slot its own context: its own clients and rate limiter, as a separate
 * Lambda). Results in item order.
 */
export async function mapItems<T, R>(items: readonly T[], concurrency: number, task: (item: T, slot: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async (_, slot) => {
      for (let at = next++; at < items.length; at = next++) results[at] = await task(items[at], slot);
    }),
  );
  return results;
}

/**
 * The Catch → JobFailed tail: records the failure and releases the lease if the run holds it.
 * As in the machines, a failing JobFailed does not hide the original error (the caller rethrows it).
 */
export async function failJob(ctx: EngineContext, input: Omit<JobFailedInput, 'error'>, error: unknown): Promise<void> {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  try {
    await jobFailed(ctx, { ...input, error: { Error: name, Cause: JSON.stringify({ errorType: name, errorMessage: message }) } });
  } catch (failure) {
    ctx.logger.error('JobFailed failed too; the original error stands', { job: input.job, error: String(failure) });
  }
}

let runs = 0;

/** A fresh execution name: `<label>-<n>-<time>`, unique within the process and across restarts. */
export function nextRunId(label = 'run'): string {
  runs += 1;
  return `${label}-${runs}-${Date.now().toString(36)}`;
}

/**
 * Starts a job (Sync, Verify, Restore, Prune) and follows it to its end. Locally the job is an
 * execution of the same state machine CDK synthesizes, run by `local/runner.ts` against the local
 * cloud; never a direct call of the engine, so what the CLI shows locally is what AWS would do.
 *
 * Progress: the runner has no progress events, so the engine context handed to it is wrapped to
 * count the blocks written (sync, fix-up, restore) or read (verify's scan) as they happen, and to
 * learn a sync's total from the dirty region log it persists before copying.
 */
import type { JobName } from '../infra/state-machines';
import { runStateMachine, type RunStateMachineResult } from '../local/runner';
import type { EngineContext } from '../shared/engine/context';
import type { ProgressBar } from './output';
import { classifyError, CliError, EXIT_CODES } from './errors';

/** A job that ended without succeeding: carries the execution's error name and message. */
export class JobFailedError extends CliError {
  constructor(
    readonly job: JobName,
    readonly result: Pick<RunStateMachineResult, 'runId' | 'error' | 'cause'>,
    volumeId: string,
  ) {
    const name = result.error ?? 'Error';
    const message = causeMessage(result.cause);
    const known = classifyError(Object.assign(new Error(message), { name }));
    const exitCode = known.exitCode === EXIT_CODES.checkFailed ? EXIT_CODES.checkFailed : known.exitCode;
    super(`${job} ${result.runId} of ${volumeId} failed: ${name}: ${message}`, {
      exitCode,
      hint: known.hint ?? `run ebs-cdp status ${volumeId} to see the lease and the last runs`,
      volumeId,
    });
  }
}

/** A Lambda's cause is JSON `{ errorType, errorMessage }`; a plain message otherwise. */
function causeMessage(cause: string | undefined): string {
  if (cause === undefined) return 'no cause given';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}

/**
 * The context with its writers and readers counting blocks into `progress`: writes for every job,
 * reads only for Verify (a sync's reads and writes are the same blocks, counted once).
 */
export function withProgress(context: EngineContext, job: JobName, progress: ProgressBar): EngineContext {
  const countWrites = <W extends EngineContext['secondary']['writer']>(writer: W): W =>
    Object.assign(Object.create(writer) as W, {
      putBlock: async (snapshotId: string, blockIndex: number, data: Uint8Array) => {
        const digest = await writer.putBlock(snapshotId, blockIndex, data);
        progress.tick();
        return digest;
      },
      putZeroBlock: async (snapshotId: string, blockIndex: number) => {
        const digest = await writer.putZeroBlock(snapshotId, blockIndex);
        progress.tick();
        return digest;
      },
    });
  const countReads = <R extends EngineContext['secondary']['reader']>(reader: R): R =>
    Object.assign(Object.create(reader) as R, {
      getBlock: async (snapshotId: string, blockIndex: number, blockToken: string) => {
        const data = await reader.getBlock(snapshotId, blockIndex, blockToken);
        progress.tick();
        return data;
      },
    });
  const store = Object.assign(Object.create(context.store) as EngineContext['store'], {
    writeDirtyRegionLog: async (...args: Parameters<EngineContext['store']['writeDirtyRegionLog']>) => {
      progress.setTotal(args[1].deltaMap.size);
      return context.store.writeDirtyRegionLog(...args);
    },
  });
  const verify = job === 'Verify';
  return {
    ...context,
    store,
    primary: { ...context.primary, writer: countWrites(context.primary.writer), reader: verify ? countReads(context.primary.reader) : context.primary.reader },
    secondary: { ...context.secondary, writer: countWrites(context.secondary.writer) },
  };
}

export interface RunJobOptions {
  readonly context: EngineContext;
  readonly progress?: ProgressBar;
}

/**
 * Runs `job` on the local cloud through the local state-machine runner and returns its output.
 * @throws JobFailedError when the execution fails.
 */
export async function runLocalJob<T>(job: JobName, input: Record<string, unknown>, options: RunJobOptions): Promise<T> {
  const context = options.progress === undefined ? options.context : withProgress(options.context, job, options.progress);
  try {
    const result = await runStateMachine(job, input, { context });
    if (result.status !== 'SUCCEEDED') throw new JobFailedError(job, result, String(input.volumeId));
    return result.output as T;
  } finally {
    options.progress?.finish();
  }
}

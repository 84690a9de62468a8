import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { EbsCdpError } from '../../../shared/core/errors';
import { InternalTaskError, InvalidTaskInputError, TransientTaskError } from '../../../lambdas/errors';
import { createTaskHandler, formatIssues, logKeysOf, onceProvider, toTaskError, type TaskDefinition } from '../../../lambdas/middleware';

/** A typed error of the kind the engine throws. */
class LeaseHeldElsewhereError extends EbsCdpError {}

const inputSchema = z.object({
  volumeId: z.string().startsWith('vol-'),
  runId: z.string().min(1),
  snapshotId: z.string().optional(),
  quick: z.boolean().default(false),
});

interface FakeContext {
  readonly name: string;
}

type Input = z.output<typeof inputSchema>;

function task(run: (input: Input, context: FakeContext) => Promise<unknown>): TaskDefinition<typeof inputSchema, unknown, FakeContext> {
  return { taskName: 'FakeTask', schema: inputSchema, run };
}

/** Keeps the expected failures of these tests out of the test output. */
const silent = (): Logger => new Logger({ serviceName: 'test', logLevel: 'SILENT' });

/** Captures the JSON lines a Powertools logger writes (info to stdout, errors to stderr). */
function captureLogs(): { lines: () => Record<string, unknown>[]; restore: () => void } {
  const written: string[] = [];
  const record = (chunk: string | Uint8Array): boolean => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(record),
    jest.spyOn(process.stderr, 'write').mockImplementation(record),
  ];
  return {
    lines: () =>
      written
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}

describe('middleware', () => {
  describe('createTaskHandler', () => {
    it('passes the parsed input (defaults applied) and the injected context to the task', async () => {
      // Prepare
      const seen: { input?: Input; context?: FakeContext } = {};
      const handler = createTaskHandler(
        task(async (input, context) => {
          seen.input = input;
          seen.context = context;
          return { echoed: input.volumeId };
        }),
        { context: { name: 'local cloud' } },
      );

      // Act
      const result = await handler({ volumeId: 'vol-1', runId: 'run-1' });

      // Assess
      expect(result).toEqual({ echoed: 'vol-1' });
      expect(seen.input).toEqual({ volumeId: 'vol-1', runId: 'run-1', quick: false });
      expect(seen.context?.name).toBe('local cloud');
    });

    it('rejects an invalid input with InvalidTaskInputError listing every issue, without running the task', async () => {
      // Prepare
      const run = jest.fn(async () => ({}));
      const handler = createTaskHandler(task(run), { context: { name: 'x' }, logger: silent() });

      // Act
      const outcome = handler({ volumeId: 'disk-1', quick: 'yes' });

      // Assess
      await expect(outcome).rejects.toBeInstanceOf(InvalidTaskInputError);
      const error = (await outcome.catch((e: unknown) => e)) as InvalidTaskInputError;
      expect(error.name).toBe('InvalidTaskInputError');
      expect(error.issues.map((issue) => issue.split(':')[0])).toEqual(['volumeId', 'runId', 'quick']);
      expect(error.message).toMatch(/^FakeTask input is invalid: volumeId: .*vol-/);
      expect(error.volumeId).toBe('disk-1');
      expect(run).not.toHaveBeenCalled();
    });

    it('lets a typed error through with its name and message, and a stack without frames', async () => {
      // Prepare
      const handler = createTaskHandler(
        task(async () => {
          throw new LeaseHeldElsewhereError('volume vol-1 is held by run r0', { volumeId: 'vol-1' });
        }),
        { context: { name: 'x' }, logger: silent() },
      );

      // Act
      const error = (await handler({ volumeId: 'vol-1', runId: 'r1' }).catch((e: unknown) => e)) as Error;

      // Assess
      expect(error).toBeInstanceOf(LeaseHeldElsewhereError);
      expect(error.name).toBe('LeaseHeldElsewhereError');
      expect(error.message).toBe('volume vol-1 is held by run r0');
      expect(error.stack).toBe('LeaseHeldElsewhereError: volume vol-1 is held by run r0');
    });

    it('turns an untyped error into InternalTaskError and logs the original with its stack', async () => {
      // Prepare
      const logs = captureLogs();
      const handler = createTaskHandler(
        task(async () => {
          throw new TypeError("Cannot read properties of undefined (reading 'seq')");
        }),
        { context: { name: 'x' }, logger: new Logger({ serviceName: 'test' }) },
      );

      // Act
      const error = (await handler({ volumeId: 'vol-1', runId: 'r1' }).catch((e: unknown) => e)) as Error;
      logs.restore();

      // Assess
      expect(error).toBeInstanceOf(InternalTaskError);
      expect(error.name).toBe('InternalTaskError');
      expect(error.message).toContain("TypeError: Cannot read properties of undefined (reading 'seq')");
      expect(error.stack).not.toMatch(/\n\s+at /);
      const failure = logs.lines().find((line) => line.level === 'ERROR');
      expect(failure?.message).toBe('FakeTask failed');
      expect(JSON.stringify(failure?.error)).toMatch(/TypeError[\s\S]*at /);
    });

    it('logs with volumeId, runId and snapshotId keys, and resets them after the invocation', async () => {
      // Prepare
      const logger = new Logger({ serviceName: 'test' });
      const logs = captureLogs();
      const handler = createTaskHandler(
        task(async (input) => {
          logger.info(`working on ${input.volumeId}`);
          return {};
        }),
        { context: { name: 'x' }, logger },
      );

      // Act
      await handler({ volumeId: 'vol-1', runId: 'r1', snapshotId: 'snap-1' });
      await handler({ volumeId: 'vol-2', runId: 'r2' });
      logs.restore();

      // Assess
      const lines = logs.lines().filter((line) => String(line.message).startsWith('working on'));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatchObject({ volumeId: 'vol-1', runId: 'r1', snapshotId: 'snap-1', taskName: 'FakeTask' });
      expect(lines[1]).toMatchObject({ volumeId: 'vol-2', runId: 'r2' });
      expect(lines[1]).not.toHaveProperty('snapshotId');
      expect(lines[0]).toHaveProperty('function_request_id');
    });

    it('builds the context from its provider once, not on every invocation', async () => {
      // Prepare
      const build = jest.fn(async () => ({ name: 'built' }));
      const handler = createTaskHandler(
        task(async (_input, context) => context.name),
        { context: onceProvider(build) },
      );

      // Act
      const first = await handler({ volumeId: 'vol-1', runId: 'r1' });
      const second = await handler({ volumeId: 'vol-1', runId: 'r2' });

      // Assess
      expect([first, second]).toEqual(['built', 'built']);
      expect(build).toHaveBeenCalledTimes(1);
    });
  });

  describe('metrics', () => {
    it('counts each invocation as TaskSucceeded or TaskFailed with the task as dimension, flushed as EMF', async () => {
      // Prepare
      const metrics = new Metrics({ namespace: 'ebs-cdp-test', serviceName: 'test' });
      const ok = createTaskHandler(task(async () => ({ done: true })), { context: { name: 'x' }, logger: silent(), metrics });
      const failing = createTaskHandler(
        task(async () => {
          throw new LeaseHeldElsewhereError('held');
        }),
        { context: { name: 'x' }, logger: silent(), metrics },
      );
      const logs = captureLogs();

      // Act
      try {
        await ok({ volumeId: 'vol-1', runId: 'r' });
        await failing({ volumeId: 'vol-1', runId: 'r' }).catch(() => undefined);
      } finally {
        logs.restore();
      }

      // Assess: one EMF document per invocation, each with its count under the task dimension.
      const emf = logs.lines().filter((line) => '_aws' in line);
      expect(emf.map((line) => [line.task, line.TaskSucceeded, line.TaskFailed])).toEqual([
        ['FakeTask', 1, undefined],
        ['FakeTask', undefined, 1],
      ]);
    });
  });

  describe('onceProvider', () => {
    it('does not cache a failed build, so the next call tries again', async () => {
      // Prepare
      const build = jest
        .fn<Promise<string>, []>()
        .mockRejectedValueOnce(new Error('endpoint not ready'))
        .mockResolvedValueOnce('ready');
      const provide = onceProvider(build);

      // Act
      const first = await provide().catch((e: unknown) => (e as Error).message);
      const second = await provide();
      const third = await provide();

      // Assess
      expect([first, second, third]).toEqual(['endpoint not ready', 'ready', 'ready']);
      expect(build).toHaveBeenCalledTimes(2);
    });
  });

  describe('toTaskError', () => {
    it('maps an SDK error the SDK marks retryable to TransientTaskError', () => {
      // Prepare
      const throttled = Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $retryable: { throttling: true },
      });

      // Act
      const mapped = toTaskError(throttled, 'CopySegment', { volumeId: 'vol-9' });

      // Assess
      expect(mapped).toBeInstanceOf(TransientTaskError);
      expect(mapped.message).toContain('ThrottlingException: Rate exceeded');
      expect(mapped.volumeId).toBe('vol-9');
      expect(mapped.cause).toBe(throttled);
    });

    it('maps a server fault to TransientTaskError and a thrown non-error to InternalTaskError', () => {
      // Prepare
      const serverFault = Object.assign(new Error('boom'), { name: 'InternalServerError', $fault: 'server' });

      // Act
      const fromFault = toTaskError(serverFault, 'SyncPlan');
      const fromString = toTaskError('just a string', 'SyncPlan');

      // Assess
      expect(fromFault.name).toBe('TransientTaskError');
      expect(fromString.name).toBe('InternalTaskError');
      expect(fromString.message).toContain('just a string');
    });

    it('maps the SDK wrapper of a reset connection (a value from another realm) to TransientTaskError', () => {
      // Prepare
      const wrapped = new Error('AWS SDK error wrapper for TimeoutError: read ECONNRESET');
      const foreignRealm = { name: 'TimeoutError', message: 'socket timed out' };

      // Act
      const fromWrapper = toTaskError(wrapped, 'SyncBegin');
      const fromForeign = toTaskError(foreignRealm, 'SyncBegin');

      // Assess
      expect(fromWrapper.name).toBe('TransientTaskError');
      expect(fromForeign.name).toBe('TransientTaskError');
      expect(fromForeign.message).toContain('TimeoutError: socket timed out');
    });
  });

  describe('logKeysOf', () => {
    it('prefers the polled snapshot over the written one, and ignores non-string fields', () => {
      // Act
      const polled = logKeysOf({ volumeId: 'vol-1', snapshotId: 'snap-a', targetSnapshotId: 'snap-b' });
      const written = logKeysOf({ runId: 7, targetSnapshotId: 'snap-b', primarySnapshotId: 'snap-c' });
      const none = logKeysOf('not an object');

      // Assess
      expect(polled).toEqual({ volumeId: 'vol-1', snapshotId: 'snap-a' });
      expect(written).toEqual({ snapshotId: 'snap-b' });
      expect(none).toEqual({});
    });
  });

  describe('formatIssues', () => {
    it('dots nested paths and names the root issue (input)', () => {
      // Prepare
      const schema = z.object({ segments: z.array(z.number().int()) });
      const nested = schema.safeParse({ segments: [1, 2.5] });
      const root = schema.safeParse(null);

      // Act
      const lines = [...formatIssues(nested.error?.issues ?? []), ...formatIssues(root.error?.issues ?? [])];

      // Assess
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^segments\.1: /);
      expect(lines[1]).toMatch(/^\(input\): /);
    });
  });
});

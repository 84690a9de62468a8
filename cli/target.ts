/**
 * Where a command acts: the local cloud (`--local`: the background local cloud's endpoints) or
 * AWS (the default credential chain, `--region`, `--profile`). Both give an engine context over
 * the real SDK clients; only how jobs start differs (see `jobs.ts`).
 */
import * as path from 'node:path';
import { createEngineContext, type EngineContext } from '../shared/engine/context';
import { CliError, EXIT_CODES } from './errors';
import { runLocalJob } from './jobs';
import { LOCAL_CHAIN_TABLE, localEngineContext, requireLocalCloud, type LocalEndpoints } from './local-cloud';
import type { Output } from './output';
import type { JobName } from '../infra/state-machines';

/** The options every command takes (set on the root program). */
export interface GlobalOptions {
  readonly local?: boolean;
  readonly json?: boolean;
  readonly debug?: boolean;
  readonly region?: string;
  readonly profile?: string;
  /** The chain table's name on AWS (the stack's default otherwise). */
  readonly table?: string;
  /** The CLI's home: `./.ebs-cdp` unless `--home` or `EBS_CDP_HOME` says otherwise. */
  readonly home?: string;
}

/** The CLI's home directory. */
export function homeDirectory(options: GlobalOptions): string {
  return path.resolve(options.home ?? process.env.EBS_CDP_HOME ?? '.ebs-cdp');
}

/** The background local cloud's data directory. */
export function localDataDir(options: GlobalOptions): string {
  return path.join(homeDirectory(options), 'local');
}

/** A connected target: its engine context, and how to run a job on it. */
export interface Target {
  readonly kind: 'local' | 'aws';
  readonly context: EngineContext;
  /** Set for the local cloud. */
  readonly endpoints?: LocalEndpoints;
  /** Starts `job` and follows it to its end; returns its output. */
  runJob<T>(job: JobName, input: Record<string, unknown>, output: Output, label: string): Promise<T>;
  close(): void;
}

/**
 * Starting executions of the deployed state machines needs the Step Functions client, which this
 * build does not include yet: say so instead of pretending.
 */
export class AwsJobsUnavailableError extends CliError {
  constructor(job: JobName) {
    super(`starting ${job} on AWS needs the Step Functions client (@aws-sdk/client-sfn), which this build does not include`, {
      exitCode: EXIT_CODES.unreachable,
      hint: 'run it against the local cloud with --local, or start the deployed state machine from the console',
    });
  }
}

/** Opens the target the options name. @throws UnreachableError when `--local` and no local cloud runs. */
export async function openTarget(options: GlobalOptions): Promise<Target> {
  if (options.local === true) {
    const endpoints = await requireLocalCloud(localDataDir(options));
    const context = localEngineContext(endpoints);
    return {
      kind: 'local',
      context,
      endpoints,
      runJob: (job, input, output, label) => runLocalJob(job, input, { context, progress: output.interactive ? output.progress(label) : undefined }),
      close: () => context.close(),
    };
  }
  if (options.profile !== undefined) process.env.AWS_PROFILE = options.profile;
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (region === undefined) {
    throw new CliError('no AWS Region given', { exitCode: EXIT_CODES.usage, hint: 'pass --region (e.g. --region eu-west-1), set AWS_REGION, or use --local' });
  }
  const context = createEngineContext({
    chainTable: options.table ?? LOCAL_CHAIN_TABLE,
    primary: { region },
    secondary: { region },
  });
  return {
    kind: 'aws',
    context,
    runJob: (job) => Promise.reject(new AwsJobsUnavailableError(job)),
    close: () => context.close(),
  };
}

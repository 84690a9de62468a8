/**
 * Where a command acts: the local cloud (`--local`: the background local cloud's endpoints) or
 * AWS (the default credential chain, `--region`, `--profile`, and the SDK's endpoint variables).
 * Both give an engine context over the real SDK clients, and both run jobs the same way: as
 * executions of the stack's state machines, started and followed through Step Functions (see
 * `aws-jobs.ts`); locally, the local cloud's Step Functions endpoint answers.
 */
import * as path from 'node:path';
import { SFNClient } from '@aws-sdk/client-sfn';
import { type EngineContext } from '../shared/engine/context';
import { createEngineContext } from '../shared/wiring/engine-context';
import { DEFAULT_STACK_NAME, findDeployedJobs, findExecution, runJobExecution, type DeployedJobs, type ExecutionLookup } from './aws-jobs';
import { UnreachableError } from './errors';
import { LOCAL_CHAIN_TABLE, localEngineContext, localStepFunctionsClient, requireLocalCloud, type LocalEndpoints } from './local-cloud';
import type { Output } from './output';
import type { JobName } from '../infra/state-machines';

/** The options every command takes (set on the root program). */
export interface GlobalOptions {
  readonly local?: boolean;
  readonly json?: boolean;
  readonly debug?: boolean;
  readonly region?: string;
  readonly profile?: string;
  /** The chain table's name on AWS; the one the stack's machines are tagged with when absent. */
  readonly table?: string;
  /** The deployed stack whose machines run the jobs (`EbsCdpEngine` when absent). */
  readonly stack?: string;
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
  /** The stack's execution that `name` (an execution name or ARN) names; undefined when it has none. */
  findExecution(name: string): Promise<ExecutionLookup | undefined>;
  close(): void;
}

/** The chain table when neither `--table` nor the machines' tags name one (the local cloud's name). */
const FALLBACK_CHAIN_TABLE = LOCAL_CHAIN_TABLE;

/**
 * A target over `sfn`: the machines are looked up once, when first needed (a job, or the chain
 * table when `--table` is absent), so `points --table T` makes no Step Functions call.
 */
function target(kind: Target['kind'], sfn: SFNClient, context: EngineContext, deployed: () => Promise<DeployedJobs>, endpoints?: LocalEndpoints): Target {
  return {
    kind,
    context,
    endpoints,
    runJob: async (job, input, output, label) => runJobExecution(sfn, (await deployed()).machines[job], job, input, { output, label }),
    findExecution: async (name) => findExecution(sfn, Object.values((await deployed()).machines), name),
    close: () => {
      sfn.destroy();
      context.close();
    },
  };
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

/**
 * Opens the target the options name.
 * @throws UnreachableError (exit 5) when `--local` and no local cloud runs, or no Region is given on AWS.
 */
export async function openTarget(options: GlobalOptions): Promise<Target> {
  const stackName = options.stack ?? DEFAULT_STACK_NAME;
  if (options.local === true) {
    const endpoints = await requireLocalCloud(localDataDir(options));
    const sfn = localStepFunctionsClient(endpoints);
    const context = localEngineContext(endpoints);
    return target('local', sfn, context, once(() => findDeployedJobs(sfn, stackName, `the local cloud (${endpoints.stepFunctions ?? ''})`)), endpoints);
  }
  if (options.profile !== undefined) process.env.AWS_PROFILE = options.profile;
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (region === undefined) {
    throw new UnreachableError('no AWS Region given', 'pass --region (e.g. --region eu-west-1), set AWS_REGION, or use --local');
  }
  // No endpoint here: the SDK reads AWS_ENDPOINT_URL_SFN (and _EBS, _EC2, _DYNAMODB) by itself.
  const sfn = new SFNClient({ region });
  const deployed = once(() => findDeployedJobs(sfn, stackName, region));
  let chainTable = options.table;
  if (chainTable === undefined) {
    try {
      chainTable = (await deployed()).chainTable ?? FALLBACK_CHAIN_TABLE;
    } catch (error) {
      sfn.destroy();
      throw error;
    }
  }
  const context = createEngineContext({ chainTable, primary: { region }, secondary: { region } });
  return target('aws', sfn, context, deployed);
}

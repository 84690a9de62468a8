/**
 * The local cloud as the command line runs it: the emulator (EBS direct APIs + EC2), dynalite
 * (the chain table) and a Step Functions endpoint (the job machines, run in process against the
 * other two) on loopback, persisted under a data directory, plus the workload routes that let
 * `ebs-cdp volume write` write a volume as an application would.
 *
 * Two ways to run it:
 * - in process ({@link startLocalCloud}): the tour, and `ebs-cdp local emulator` (foreground);
 * - in the background (`ebs-cdp local start`): a detached `local emulator` process that writes
 *   `local-cloud.json` (pid, endpoints) once it listens; `status` and `stop` read that file.
 *
 * ```
 *  .ebs-cdp/local/
 *    local-cloud.json   pid + endpoints: emulator, dynamoDb, stepFunctions, workload (present while it runs)
 *    local-cloud.log    the background process's output
 *    emulator/          snapshots, block content, volumes (sparse files)
 *    dynamodb/          dynalite's LevelDB (the chain table)
 * ```
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, promises as fsp } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { z } from 'zod';
import { LOOPBACK_HOST, type RunningEmulator } from '../local/emulator';
import {
  LOCAL_CHAIN_TABLE,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  LOCAL_ZONE,
  localEngineConfig,
  LocalCloudStartError,
  startLocalCloudCore,
  type LocalCloudCore,
} from '../local/cloud';
import { Ec2ApiError, type Ec2Model } from '../local/emulator/ec2';
import type { LocalDynamoDb } from '../local/dynamodb';
import { runnerExecutions, startStepFunctions, type RunningStepFunctions } from '../local/stepfunctions';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DEFAULT_STACK_NAME } from './aws-jobs';
import { silentLogger, type EngineContext } from '../shared/engine/context';
import { createEngineContext } from '../shared/wiring/engine-context';
import { EXIT_CODES, CliError, UnreachableError } from './errors';
import { ModelWorkload } from './workload';

// Region, zone and table of the local cloud: defined with its core, re-exported for the commands.
export { LOCAL_CHAIN_TABLE, LOCAL_REGION, LOCAL_ZONE };

/** The state file of a running background local cloud. */
export const STATE_FILE = 'local-cloud.json';
const LOG_FILE = 'local-cloud.log';

/**
 * The adapters poll snapshot and volume states this often locally: the emulator completes
 * snapshots in the call, so the 5 s meant for AWS would only add idle time.
 */
const LOCAL_POLL_INTERVAL_MS = 20;

/**
 * Blocks in flight per CopySegment locally: the emulator, dynalite and the engine share two cores,
 * and 16 already keeps the loopback busy; AWS's 64 only adds contention here.
 */
const LOCAL_BLOCK_WORKERS = 16;

/** How long `local start` waits for the background process to listen (tsx compiles on the way). */
const START_TIMEOUT_MS = 60_000;
/** How long `local stop` waits for it to exit after SIGTERM. */
const STOP_TIMEOUT_MS = 15_000;
/** Tolerance when comparing the background process's start time with ours (same clock, rounding). */
const CLOCK_SLACK_MS = 1_000;
/** Pause between two looks at the state file or the process. */
const WAIT_POLL_MS = 100;

/** What a command needs to reach the local cloud. */
export interface LocalEndpoints {
  /** EBS direct APIs and EC2 (one endpoint). */
  readonly emulator: string;
  readonly dynamoDb: string;
  /**
   * Step Functions (the job machines, tagged as the deployed stack's). Absent only in the
   * state file of a local cloud started by an older build.
   */
  readonly stepFunctions?: string;
  /** `/workload/*` routes (write and read volumes). */
  readonly workload: string;
  readonly chainTable: string;
  readonly region: string;
  readonly zone: string;
  readonly dataDir: string;
}

const stateSchema = z.object({
  pid: z.number().int().positive(),
  startedAt: z.string(),
  emulator: z.string(),
  dynamoDb: z.string(),
  stepFunctions: z.string().optional(),
  workload: z.string(),
  chainTable: z.string(),
  region: z.string(),
  zone: z.string(),
  dataDir: z.string(),
});

/** The content of `local-cloud.json`. */
export type LocalCloudState = z.infer<typeof stateSchema>;

/** A local cloud running in this process. */
export interface LocalCloud {
  readonly endpoints: LocalEndpoints;
  readonly emulator: RunningEmulator;
  readonly model: Ec2Model;
  readonly db: LocalDynamoDb;
  readonly stepFunctions: RunningStepFunctions;
  stop(): Promise<void>;
}

/** The local cloud failed to start or stop (exit 5: the local cloud is unreachable). */
export class LocalCloudError extends CliError {
  static override readonly errorName: string = 'LocalCloudError';

  constructor(message: string, hint: string, cause?: unknown) {
    super(message, { exitCode: EXIT_CODES.unreachable, hint, cause });
  }
}

/** The local cloud is already running (exit 4: busy). */
export class LocalCloudRunningError extends CliError {
  static override readonly errorName: string = 'LocalCloudRunningError';

  constructor(state: LocalCloudState) {
    super(`the local cloud is already running (pid ${state.pid}, emulator ${state.emulator})`, {
      exitCode: EXIT_CODES.busy,
      hint: 'use it as it is, or stop it first: ebs-cdp local stop',
    });
  }
}

/**
 * Starts the emulator, dynalite, the chain table and the workload routes in this process.
 * `dataDir` undefined = everything in memory.
 */
export async function startLocalCloud(options: { dataDir?: string; emulatorPort?: number } = {}): Promise<LocalCloud> {
  const { dataDir } = options;
  let core: LocalCloudCore;
  try {
    core = await startLocalCloudCore({ dataDir, emulatorPort: options.emulatorPort });
  } catch (error) {
    if (error instanceof LocalCloudStartError) throw new LocalCloudError(error.message, 'report this as a bug of ebs-cdp', error);
    throw error;
  }
  const { emulator, model, db } = core;
  const workload = await listenWorkload(model);
  const base: LocalEndpoints = {
    emulator: emulator.endpoint,
    dynamoDb: db.endpoint,
    workload: workload.endpoint,
    chainTable: LOCAL_CHAIN_TABLE,
    region: LOCAL_REGION,
    zone: LOCAL_ZONE,
    dataDir: dataDir ?? '(memory)',
  };
  // The executions' own engine context, as a Lambda has its own clients: closed after they end.
  const jobContext = localEngineContext(base);
  const stepFunctions = await startStepFunctions({ run: runnerExecutions(jobContext), region: LOCAL_REGION, stackName: DEFAULT_STACK_NAME, chainTable: LOCAL_CHAIN_TABLE });
  const endpoints: LocalEndpoints = { ...base, stepFunctions: stepFunctions.endpoint };
  let stopped: Promise<void> | undefined;
  return {
    endpoints,
    emulator,
    model,
    db,
    stepFunctions,
    stop: () => {
      stopped ??= (async () => {
        // Running executions first (they abort at their next task), while the rest still answers.
        await stepFunctions.stop();
        jobContext.close();
        await workload.close();
        await core.stop();
      })();
      return stopped;
    },
  };
}

/** The engine context of the local cloud: real SDK clients over loopback, short polls. */
export function localEngineContext(endpoints: LocalEndpoints): EngineContext {
  return createEngineContext(localEngineConfig(
    { emulatorEndpoint: endpoints.emulator, dynamoDbEndpoint: endpoints.dynamoDb, chainTable: endpoints.chainTable, region: endpoints.region },
    { pollIntervalMs: LOCAL_POLL_INTERVAL_MS, logger: silentLogger, tuning: { blockWorkers: LOCAL_BLOCK_WORKERS } },
  ));
}

/** A Step Functions client of the local cloud's endpoint. @throws UnreachableError when it has none. */
export function localStepFunctionsClient(endpoints: LocalEndpoints): SFNClient {
  if (endpoints.stepFunctions === undefined) {
    throw new UnreachableError('the running local cloud has no Step Functions endpoint (it was started by an older ebs-cdp)', 'restart it: ebs-cdp local stop && ebs-cdp local start');
  }
  return new SFNClient({ region: endpoints.region, endpoint: endpoints.stepFunctions, credentials: LOCAL_CREDENTIALS });
}

// ── workload routes ─────────────────────────────────────────────────────────────────────

/** Largest JSON body of a workload request (a block list of a few GiB volume fits easily). */
const MAX_WORKLOAD_BODY_BYTES = 16 * 1_048_576;

const writeRequest = z.object({ volumeId: z.string(), blocks: z.array(z.number().int().nonnegative()) });
const digestsRequest = z.object({ volumeId: z.string() });

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_WORKLOAD_BODY_BYTES) throw new RangeError('request body too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** HTTP status of a refused workload call. */
const BAD_REQUEST = 400;
const NOT_FOUND = 404;

/** Serves `/workload/write` and `/workload/digests` on loopback, for the background local cloud. */
async function listenWorkload(model: Ec2Model): Promise<{ endpoint: string; close(): Promise<void> }> {
  const workload = new ModelWorkload(model);
  const server: Server = createServer((req, res) => {
    const route = `${req.method ?? 'GET'} ${req.url ?? '/'}`;
    const answer = async (): Promise<unknown> => {
      if (route === 'POST /workload/write') {
        const { volumeId, blocks } = writeRequest.parse(await readJson(req));
        return workload.write(volumeId, blocks);
      }
      if (route === 'POST /workload/digests') {
        const { volumeId } = digestsRequest.parse(await readJson(req));
        return { digests: [...(await workload.digests(volumeId))] };
      }
      if (route === 'GET /workload/health') return { ok: true };
      return undefined;
    };
    answer().then(
      (body) => (body === undefined ? sendJson(res, NOT_FOUND, { message: `no workload route ${route}` }) : sendJson(res, 200, body)),
      (error: unknown) => {
        const code = error instanceof Ec2ApiError ? error.code : undefined;
        const status = code?.endsWith('NotFound') === true ? NOT_FOUND : BAD_REQUEST;
        sendJson(res, status, { message: error instanceof Error ? error.message : String(error), code });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${LOOPBACK_HOST}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ── background process ──────────────────────────────────────────────────────────────────

/**
 * `local-cloud.json` that cannot be read as a local cloud's state (not JSON, or not its shape).
 * Exit 5: the local cloud cannot be reached through it. The file is left as it is: it may be the
 * only record of a running local cloud's pid, and deleting it would orphan that process.
 */
export class LocalCloudStateError extends LocalCloudError {
  static override readonly errorName: string = 'LocalCloudStateError';
}

/** What to do about an unreadable state file; `pid` when the file still names a live one. */
function stateFileHint(file: string, pid: number | undefined): string {
  const running = pid === undefined
    ? 'if a local cloud is still running (a process "ebs-cdp … local emulator"), stop it first (kill <its pid>)'
    : `pid ${pid} is alive: if it is the local cloud, stop it first (kill ${pid})`;
  return `${running}; then delete the file (rm ${file}) and start again: ebs-cdp local start`;
}

/** A live pid the damaged state file still names, if any: the hint says to stop it first. */
function livePidOf(content: unknown): number | undefined {
  if (typeof content !== 'object' || content === null) return undefined;
  const { pid } = content as { pid?: unknown };
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/**
 * The running background local cloud's state, or undefined when none runs. A state file whose
 * process is gone is stale and removed (the process that wrote it cannot need it).
 * @throws LocalCloudStateError (exit 5) when the file is not JSON or not a state: it is kept.
 */
export async function readLocalCloudState(dataDir: string): Promise<LocalCloudState | undefined> {
  const file = path.join(dataDir, STATE_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new LocalCloudStateError(`${file} is not valid JSON (${reason}), so the local cloud it describes cannot be found`, stateFileHint(file, undefined), error);
  }
  const parsed = stateSchema.safeParse(content);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.')))];
    const what = fields.includes('') ? 'not a JSON object' : `missing or wrong: ${fields.join(', ')}`;
    throw new LocalCloudStateError(`${file} is not a local cloud's state (${what})`, stateFileHint(file, livePidOf(content)), parsed.error);
  }
  if (!isAlive(parsed.data.pid)) {
    await fsp.rm(file, { force: true });
    return undefined;
  }
  return parsed.data;
}

/** The endpoints of the running background local cloud. @throws UnreachableError when none runs. */
export async function requireLocalCloud(dataDir: string): Promise<LocalEndpoints> {
  const state = await readLocalCloudState(dataDir);
  if (state === undefined) {
    throw new UnreachableError(`the local cloud is not running (no ${path.join(dataDir, STATE_FILE)})`, 'start it with: ebs-cdp local start');
  }
  return state;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs the local cloud in the foreground until SIGINT/SIGTERM, with its state file written once
 * it listens (what the background process of `local start` runs).
 */
export async function runLocalCloudForeground(dataDir: string, options: { emulatorPort?: number; onReady?: (state: LocalCloudState) => void } = {}): Promise<void> {
  const existing = await readLocalCloudState(dataDir);
  if (existing !== undefined && existing.pid !== process.pid) throw new LocalCloudRunningError(existing);
  const cloud = await startLocalCloud({ dataDir, emulatorPort: options.emulatorPort });
  const state: LocalCloudState = { ...cloud.endpoints, pid: process.pid, startedAt: new Date().toISOString() };
  const file = path.join(dataDir, STATE_FILE);
  await fsp.writeFile(`${file}.tmp`, JSON.stringify(state, null, 2));
  await fsp.rename(`${file}.tmp`, file);
  options.onReady?.(state);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await fsp.rm(file, { force: true });
  await cloud.stop();
}

/** Starts the local cloud as a detached background process and waits until it listens. */
export async function startBackground(dataDir: string, options: { emulatorPort?: number } = {}): Promise<LocalCloudState> {
  const running = await readLocalCloudState(dataDir);
  if (running !== undefined) throw new LocalCloudRunningError(running);
  mkdirSync(dataDir, { recursive: true });
  const log = openSync(path.join(dataDir, LOG_FILE), 'a');
  const args = [require.resolve('tsx/cli'), path.join(__dirname, 'main.ts'), 'local', 'emulator', '--data-dir', dataDir];
  if (options.emulatorPort !== undefined) args.push('--port', String(options.emulatorPort));
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  const childPid = child.pid;
  if (childPid === undefined) throw new LocalCloudError('could not start the local cloud process', `see ${path.join(dataDir, LOG_FILE)}`);
  const spawnedAt = Date.now();
  const deadline = spawnedAt + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const state = await readLocalCloudState(dataDir);
    // tsx runs the program in a child of the process spawned here, so the pid in the file is that
    // child's: recognize our start by its time instead.
    if (state !== undefined && Date.parse(state.startedAt) >= spawnedAt - CLOCK_SLACK_MS) return state;
    if (!isAlive(childPid)) break;
    await sleep(WAIT_POLL_MS);
  }
  if (isAlive(childPid)) process.kill(childPid, 'SIGTERM');
  throw new LocalCloudError('the local cloud did not start', `see ${path.join(dataDir, LOG_FILE)} for why`);
}

/** Stops the background local cloud; false when none was running. */
export async function stopBackground(dataDir: string): Promise<{ stopped: boolean; pid?: number }> {
  const state = await readLocalCloudState(dataDir);
  if (state === undefined) return { stopped: false };
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (Date.now() < deadline && isAlive(state.pid)) await sleep(WAIT_POLL_MS);
  if (isAlive(state.pid)) {
    throw new LocalCloudError(`the local cloud (pid ${state.pid}) did not stop within ${STOP_TIMEOUT_MS / 1_000}s`, `stop it by hand: kill ${state.pid}`);
  }
  await fsp.rm(path.join(dataDir, STATE_FILE), { force: true });
  return { stopped: true, pid: state.pid };
}

/** Whether the emulator of a running local cloud answers its health check. */
export async function isHealthy(state: LocalEndpoints): Promise<boolean> {
  try {
    const response = await fetch(`${state.emulator}/_emulator/health`);
    return response.ok;
  } catch {
    return false;
  }
}

/** Removes a directory this tool owns (the tour's state), after a sanity check of its name. */
export async function wipeDirectory(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  if (!path.resolve(dir).split(path.sep).includes('.ebs-cdp')) {
    throw new LocalCloudError(`refusing to wipe ${dir}: not under a .ebs-cdp directory`, 'pass a data directory under .ebs-cdp/');
  }
  await fsp.rm(dir, { recursive: true, force: true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

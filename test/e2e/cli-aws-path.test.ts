/**
 * The command line's AWS path against the local cloud: no `--local`, a Region, and the SDK's
 * endpoint variables pointing every AWS client (EBS, EC2, DynamoDB, Step Functions) at loopback.
 * The CLI finds the job machines by their tags, starts executions and follows them exactly as it
 * would on AWS; the local cloud's Step Functions endpoint runs the synthesized definitions.
 *
 * ```
 *  volume create (1 GiB) ─► write 0-11 ─► protect --region ─► sync → point 0 (12 blocks)
 *  write 3-4 ─► sync → point 1 (2 blocks) ─► points ─► restore --point 0 → new volume = the volume at point 0
 * ```
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { freshHome, runCli, runCliJson, STACK_LINE, type CliRun } from './cli-harness';

/** Jobs compile the state machines in the local cloud's process: give them room on two shared cores. */
const JOB_TIMEOUT_MS = 120_000;
const BIN = path.resolve(__dirname, '..', '..', 'bin', 'ebs-cdp.js');
const REGION = 'us-east-1';
const NO_FILE = path.join(__dirname, 'no-such-aws-file');

/** The environment of a user with keys and the endpoint variables set (no profile, no config files). */
function awsEnvironment(home: string, endpoints: Record<string, string>, credentials: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, EBS_CDP_HOME: home, AWS_CONFIG_FILE: NO_FILE, AWS_SHARED_CREDENTIALS_FILE: NO_FILE, AWS_EC2_METADATA_DISABLED: 'true' };
  for (const name of ['AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete env[name];
  Object.assign(env, endpoints);
  if (credentials) Object.assign(env, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
  return env;
}

function runWith(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: JOB_TIMEOUT_MS }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

async function json<T>(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<{ run: CliRun; json: T }> {
  const run = await runWith(env, [...args, '--json']);
  try {
    return { run, json: JSON.parse(run.stdout) as T };
  } catch {
    throw new Error(`ebs-cdp ${args.join(' ')} printed no JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
  }
}

describe('ebs-cdp command line (AWS path, endpoints at the local cloud)', () => {
  const home = freshHome();
  let aws: NodeJS.ProcessEnv = {};
  let endpoints: Record<string, string> = {};

  beforeAll(async () => {
    const started = await runCliJson<{ emulator: string; dynamoDb: string; stepFunctions: string }>(home, ['local', 'start']);
    expect(started.run.code).toBe(0);
    expect(started.json.stepFunctions).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    endpoints = {
      AWS_ENDPOINT_URL_EBS: started.json.emulator,
      AWS_ENDPOINT_URL_EC2: started.json.emulator,
      AWS_ENDPOINT_URL_DYNAMODB: started.json.dynamoDb,
      AWS_ENDPOINT_URL_SFN: started.json.stepFunctions,
    };
    aws = awsEnvironment(home, endpoints, true);
  }, JOB_TIMEOUT_MS);

  afterAll(async () => {
    await runCli(home, ['local', 'stop']);
  }, JOB_TIMEOUT_MS);

  describe('protect, sync, points, restore', () => {
    it('runs every job as an execution of the tagged machines and restores the first point byte for byte', async () => {
      // Prepare: the volume is made through the local-only commands; everything after goes the AWS way.
      const created = await runCliJson<{ volumeId: string }>(home, ['volume', 'create', '--size', '1']);
      const { volumeId } = created.json;
      expect((await runCliJson<{ written: number }>(home, ['volume', 'write', volumeId, '--blocks', '0-11'])).json.written).toBe(12);

      // Act
      const protectedVolume = await json<{ volumeSize: number }>(aws, ['protect', volumeId, '--region', REGION]);
      const first = await json<{ seq: number; kind: string; blocks: number }>(aws, ['sync', volumeId, '--region', REGION]);
      const atPointZero = await runCliJson<{ blocks: Record<string, string> }>(home, ['volume', 'digest', volumeId]);
      await runCliJson(home, ['volume', 'write', volumeId, '--blocks', '3-4']);
      const second = await json<{ seq: number; kind: string; blocks: number }>(aws, ['sync', volumeId, '--region', REGION]);
      const points = await json<Array<{ seq: number; kind: string; blocks: number; trust: string }>>(aws, ['points', volumeId, '--region', REGION]);
      const restored = await json<{ newVolumeId: string; blocksWritten: number; restorePoint: { seq: number } }>(aws, ['restore', volumeId, '--region', REGION, '--point', '0']);
      const restoredDigest = await runCliJson<{ blocks: Record<string, string> }>(home, ['volume', 'digest', restored.json.newVolumeId]);

      // Assess
      expect(protectedVolume.run.code).toBe(0);
      expect(protectedVolume.json.volumeSize).toBe(1);
      expect(first.run.code).toBe(0);
      expect(first.json).toMatchObject({ seq: 0, kind: 'baseline', blocks: 12 });
      expect(second.json).toMatchObject({ seq: 1, kind: 'sync', blocks: 2 });
      expect(points.json.map((p) => [p.seq, p.kind, p.blocks, p.trust])).toEqual([[0, 'baseline', 12, 'trusted'], [1, 'sync', 2, 'trusted']]);
      expect(restored.run.code).toBe(0);
      expect(restored.json.restorePoint.seq).toBe(0);
      // A delta restore writes back only what changed since point 0: blocks 3 and 4.
      expect(restored.json.blocksWritten).toBe(2);
      expect(Object.keys(atPointZero.json.blocks)).toHaveLength(12);
      expect(restoredDigest.json.blocks).toEqual(atPointZero.json.blocks);
    }, 6 * JOB_TIMEOUT_MS);
  });

  describe('errors', () => {
    it('reports a job the engine failed with its error and exit code', async () => {
      // Prepare
      const { volumeId } = (await runCliJson<{ volumeId: string }>(home, ['volume', 'create', '--size', '1'])).json;
      await runCliJson(home, ['volume', 'write', volumeId, '--blocks', '0']);
      await json(aws, ['protect', volumeId, '--region', REGION]);

      // Act: a restore of a point that does not exist, before any sync.
      const run = await runWith(aws, ['restore', volumeId, '--region', REGION, '--point', '7']);

      // Assess
      expect(run.code).toBe(3);
      // The execution's name is the run id; the engine's typed error and message come through.
      expect(run.stderr).toMatch(new RegExp(`error: Restore restore-[0-9a-z]+-[0-9a-f]{6} of ${volumeId} failed: RestorePointNotFoundError: restore point 7 does not exist`));
      expect(run.stderr).toContain('next: list the restore points with: ebs-cdp points');
      expect(run.stderr).not.toMatch(STACK_LINE);
    }, 2 * JOB_TIMEOUT_MS);

    it('answers a missing Region with exit 5 and how to give one', async () => {
      // Act
      const run = await runWith(aws, ['points', 'vol-0000000000000dead']);

      // Assess
      expect(run.code).toBe(5);
      expect(run.stderr).toContain('no AWS Region given');
      expect(run.stderr).toContain('next: pass --region');
    });

    it('answers missing credentials with exit 5 and how to configure them', async () => {
      // Prepare
      const noCredentials = awsEnvironment(home, endpoints, false);

      // Act
      const run = await runWith(noCredentials, ['sync', 'vol-0000000000000dead', '--region', REGION]);

      // Assess
      expect(run.code).toBe(5);
      expect(run.stderr).toContain('next: configure AWS credentials');
      expect(run.stderr).not.toMatch(STACK_LINE);
    });

    it('answers a stack that is not deployed in the Region with exit 3', async () => {
      // Act
      const run = await runWith(aws, ['points', 'vol-0000000000000dead', '--region', REGION, '--stack', 'NotDeployed']);

      // Assess
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('state machines of stack NotDeployed');
      expect(run.stderr).toContain('next: deploy the stack');
    });
  });
});

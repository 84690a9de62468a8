import { EC2Client } from '@aws-sdk/client-ec2';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../../local/emulator';
import { Ec2Model, handleEc2Request } from '../../../local/emulator/ec2';
import { ebsClient } from './ebs-helpers';

/** The Region every test client uses: the emulator's default Region (it keeps one store per Region). */
export const REGION = 'us-east-1';
export const ZONE = 'us-east-1a';
export const OTHER_ZONE = 'us-east-1b';

/** The emulator with the EC2 model in reach, so tests can write volumes like a workload. */
export interface Ec2Harness {
  emulator: RunningEmulator;
  model: Ec2Model;
  ec2: EC2Client;
  ebs: ReturnType<typeof ebsClient>;
  dataDir?: string;
}

/** EC2 client on the emulator; retries off so every error surfaces at once. */
export function ec2Client(endpoint: string): EC2Client {
  return new EC2Client({ endpoint, region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
}

/** Starts the emulator (in memory unless `dataDir`) with our EC2 model injected. */
export async function startEc2Harness(options: { dataDir?: string } = {}): Promise<Ec2Harness> {
  let model: Ec2Model | undefined;
  const emulator = await startEmulator({
    dataDir: options.dataDir,
    ec2: async (args) => {
      const opened = await Ec2Model.open(args);
      // The EC2 half of the Region the clients use; other Regions (none here) get their own.
      if (args.region === REGION) model = opened;
      return (params) => handleEc2Request({ model: opened }, params);
    },
  });
  if (model === undefined) throw new Error('the emulator did not build the EC2 half');
  return { emulator, model, ec2: ec2Client(emulator.endpoint), ebs: ebsClient(emulator.endpoint), dataDir: options.dataDir };
}

export async function stopEc2Harness(harness: Ec2Harness | undefined): Promise<void> {
  if (harness === undefined) return;
  harness.ec2.destroy();
  harness.ebs.destroy();
  await harness.emulator.stop();
  await harness.model.close();
}

/** A fresh data directory under the OS temp dir. */
export async function tempDataDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'ebs-cdp-ec2-'));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

/** The rejection of `promise` (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

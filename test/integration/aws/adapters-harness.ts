/**
 * The local cloud for the EBS and EC2 adapter tests: the emulator on loopback with its EC2 model
 * in reach (to write volumes as a workload would), and one side's SDK clients pointed at it with
 * the SDK's retries off, as production builds them (`createSideClients`).
 */
import { createHash } from 'node:crypto';
import { createSideClients, type SideClients } from '../../../shared/aws/clients';
import { BLOCK_SIZE } from '../../../shared/core/constants';
import { startEmulator, type FaultConfig, type RunningEmulator } from '../../../local/emulator';
import { Ec2Model, handleEc2Request } from '../../../local/emulator/ec2';

export const REGION = 'us-east-1';
export const ZONE = 'us-east-1a';

export interface AdaptersHarness {
  emulator: RunningEmulator;
  model: Ec2Model;
  clients: SideClients;
}

/** Starts the emulator (in memory) with the EC2 half, and one side's clients on it. */
export async function startAdaptersHarness(faults: Partial<FaultConfig> = {}): Promise<AdaptersHarness> {
  let model: Ec2Model | undefined;
  const emulator = await startEmulator({
    faults,
    ec2: async (args) => {
      const opened = await Ec2Model.open(args);
      model = opened;
      return { handle: (params) => handleEc2Request({ model: opened }, params), close: () => opened.close() };
    },
  });
  if (model === undefined) throw new Error('the emulator did not build its EC2 half');
  const clients = createSideClients({ region: REGION, endpoint: emulator.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  return { emulator, model, clients };
}

export async function stopAdaptersHarness(harness: AdaptersHarness | undefined): Promise<void> {
  if (harness === undefined) return;
  harness.clients.destroy();
  // Stopping the emulator closes its EC2 model too.
  await harness.emulator.stop();
}

/** A block whose bytes depend on `seed`: different seeds, different content. */
export function patternBlock(seed: number): Buffer {
  const data = Buffer.alloc(BLOCK_SIZE);
  for (let at = 0; at < BLOCK_SIZE; at += 4) data.writeUInt32LE((seed * 2_654_435_761 + at) >>> 0, at);
  return data;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A completed primary-like snapshot holding `blocks`, made through the store's EC2 seam (no HTTP):
 * test setup for listings of thousands of blocks, where writing them over the API would cost
 * gigabytes of traffic. Blocks sharing a Buffer are stored once.
 */
export async function seedSnapshot(
  harness: AdaptersHarness,
  args: { volumeId: string; volumeSize: number; blocks: Map<number, Buffer | null>; parentSnapshotId?: string; encrypted?: boolean },
): Promise<string> {
  const info = await harness.emulator.store.createSnapshotFromVolume({
    volumeId: args.volumeId,
    volumeSize: args.volumeSize,
    parentSnapshotId: args.parentSnapshotId,
    changed: args.blocks,
    tags: [],
    encrypted: args.encrypted ?? false,
  });
  return info.snapshotId;
}

/** The rejection of `promise` (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`, { cause: error });
  }
  throw new Error('expected the call to fail, but it succeeded');
}

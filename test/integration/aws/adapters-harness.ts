/**
 * The local cloud for the EBS and EC2 adapter tests: the emulator on loopback with its EC2 model
 * in reach (to write volumes as a workload would), and one side's SDK clients pointed at it with
 * the SDK's retries off, as production builds them (`createSideClients`).
 */
import { createSideClients, type SideClients } from '../../../shared/aws/clients';
import { LOCAL_CREDENTIALS, LOCAL_REGION, LOCAL_ZONE, startLocalEmulator } from '../../../local/cloud';
import type { FaultConfig, RunningEmulator } from '../../../local/emulator';
import type { Ec2Model } from '../../../local/emulator/ec2';

export { patternBlock, sha256Hex } from '../../../local/block-content';

export const REGION = LOCAL_REGION;
export const ZONE = LOCAL_ZONE;

export interface AdaptersHarness {
  emulator: RunningEmulator;
  model: Ec2Model;
  clients: SideClients;
}

/** Starts the emulator (in memory) with the EC2 half, and one side's clients on it. */
export async function startAdaptersHarness(faults: Partial<FaultConfig> = {}): Promise<AdaptersHarness> {
  const { emulator, model } = await startLocalEmulator({ faults });
  return { emulator, model, clients: sideClients(emulator) };
}

/** One side's SDK clients on the emulator, retries off, as production builds them. */
export function sideClients(emulator: RunningEmulator): SideClients {
  return createSideClients({ region: REGION, endpoint: emulator.endpoint, credentials: LOCAL_CREDENTIALS });
}

export async function stopAdaptersHarness(harness: AdaptersHarness | undefined): Promise<void> {
  if (harness === undefined) return;
  harness.clients.destroy();
  // Stopping the emulator closes its EC2 model too.
  await harness.emulator.stop();
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

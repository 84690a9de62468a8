/**
 * The local cloud for the engine suites: the emulator (EBS + EC2 with its workload API) and
 * dynalite on loopback, the chain table, an engine context over real HTTP with the real SDK
 * clients, a clock tests can move (to step over a lease's expiry), and helpers to create and
 * write a primary volume and to read a snapshot's image back. The emulator, dynalite and the
 * engine configuration are the local cloud's own (`local/cloud.ts`), as the CLI and the benches run it.
 *
 * Every engine suite (sync, verify, restore, prune) and the e2e suites start from it.
 */
import type { Timer } from '../../../shared/core/ports/timer';
import type { ProtectionConfig } from '../../../shared/core/ports/chain-store';
import { silentLogger, type EngineContext } from '../../../shared/engine/context';
import { createEngineContext, type EngineConfig } from '../../../shared/wiring/engine-context';
import { LOCAL_CHAIN_TABLE, LOCAL_ZONE, startLocalCloudCore } from '../../../local/cloud';
import type { LocalDynamoDb } from '../../../local/dynamodb';
import type { RunningEmulator } from '../../../local/emulator';
import type { Ec2Model } from '../../../local/emulator/ec2';
import { patternBlock, sha256Hex, ZERO_BLOCK_HEX } from '../../../local/block-content';
import { sideClients, type AdaptersHarness } from '../aws/adapters-harness';

export { patternBlock, sha256Hex, ZERO_BLOCK_HEX };

export const ZONE = LOCAL_ZONE;
export const TABLE_NAME = LOCAL_CHAIN_TABLE;

/** The adapters' bounded waits poll this often: the emulator answers at once. */
const POLL_INTERVAL_MS = 5;

/** Small pools keep two cores free for the emulator and dynalite; the volumes are tiny. */
const TEST_BLOCK_WORKERS = 8;

/** A snapshot's image: block index → SHA-256 hex of every block that does not read as zeros. */
export type Image = Map<number, string>;

/** Real time plus an offset tests advance (lease expiry), with sleeps that do not wait. */
export class MovableTimer implements Timer {
  offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  async sleep(ms: number): Promise<void> {
    // Backoff and poll intervals are a few ms here: yield instead of waiting.
    if (ms > 0) await new Promise((resolve) => setImmediate(resolve));
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface EngineHarness {
  readonly cloud: AdaptersHarness;
  readonly emulator: RunningEmulator;
  /** The emulator's EC2 model: the workload API (write, trim, read blocks). */
  readonly model: Ec2Model;
  readonly db: LocalDynamoDb;
  readonly timer: MovableTimer;
  readonly config: EngineConfig;
  /** The context every step gets unless a test wraps a port. */
  readonly context: EngineContext;
  /** A new primary volume in the harness's zone. */
  createPrimaryVolume(sizeGiB: number, options?: { encrypted?: boolean }): Promise<string>;
  /** Writes `patternBlock(seed)` at each block (seed given per block); `null` clears the block. */
  writeBlocks(volumeId: string, blocks: ReadonlyMap<number, number | null>): Promise<void>;
  /** Grows a volume as ModifyVolume would (the emulator has no ModifyVolume). */
  growVolume(volumeId: string, sizeGiB: number): void;
  /** Registers the volume with the chain store. */
  protect(volumeId: string, sizeGiB: number, config?: ProtectionConfig): Promise<void>;
  /** The image of a completed snapshot, read back over the EBS direct APIs. */
  readImage(snapshotId: string): Promise<Image>;
  /** The blocks a snapshot lists (allocated, zeros included), ascending. */
  listedBlocks(snapshotId: string): Promise<number[]>;
  /** The image the primary volume holds now (workload view). */
  volumeImage(volumeId: string, sizeGiB: number, candidates: Iterable<number>): Promise<Image>;
  stop(): Promise<void>;
}

/** Starts the local cloud's core (emulator, dynalite, the chain table) and builds the engine context on it. */
export async function startEngineHarness(): Promise<EngineHarness> {
  const core = await startLocalCloudCore();
  const { emulator, model, db } = core;
  const cloud: AdaptersHarness = { emulator, model, clients: sideClients(emulator) };
  const timer = new MovableTimer();
  const config = core.engineConfig({ pollIntervalMs: POLL_INTERVAL_MS, timer, logger: silentLogger, tuning: { blockWorkers: TEST_BLOCK_WORKERS } });
  const context = createEngineContext(config);

  const readImage = async (snapshotId: string): Promise<Image> => {
    const image: Image = new Map();
    for await (const block of context.secondary.reader.listBlocks(snapshotId)) {
      const hex = sha256Hex(await context.secondary.reader.getBlock(snapshotId, block.blockIndex, block.blockToken));
      if (hex !== ZERO_BLOCK_HEX) image.set(block.blockIndex, hex);
    }
    return image;
  };

  return {
    cloud,
    emulator: cloud.emulator,
    model,
    db,
    timer,
    config,
    context,
    async createPrimaryVolume(sizeGiB, options = {}) {
      return (await model.createVolume({ availabilityZone: ZONE, size: sizeGiB, encrypted: options.encrypted })).volumeId;
    },
    async writeBlocks(volumeId, blocks) {
      for (const [blockIndex, seed] of blocks) {
        if (seed === null) await model.trimBlock(volumeId, blockIndex);
        else await model.writeBlock(volumeId, blockIndex, patternBlock(seed));
      }
    },
    growVolume(volumeId, sizeGiB) {
      // In memory a volume is a map of blocks and its size only a bound on indexes: raising the
      // record's size is exactly what ModifyVolume does to what the workload and snapshots see.
      const volumes = (model as unknown as { volumes: Map<string, { record: { size: number } }> }).volumes;
      const entry = volumes.get(volumeId);
      if (entry === undefined || sizeGiB < entry.record.size) throw new Error(`cannot grow ${volumeId} to ${sizeGiB} GiB`);
      entry.record.size = sizeGiB;
    },
    async protect(volumeId, sizeGiB, protectionConfig = {}) {
      await context.store.protectVolume(volumeId, { volumeSize: sizeGiB, config: protectionConfig });
    },
    readImage,
    async listedBlocks(snapshotId) {
      const listed: number[] = [];
      for await (const block of context.secondary.reader.listBlocks(snapshotId)) listed.push(block.blockIndex);
      return listed;
    },
    async volumeImage(volumeId, _sizeGiB, candidates) {
      const image: Image = new Map();
      for (const blockIndex of candidates) {
        const hex = sha256Hex(await model.readBlock(volumeId, blockIndex));
        if (hex !== ZERO_BLOCK_HEX) image.set(blockIndex, hex);
      }
      return image;
    },
    async stop() {
      context.close();
      cloud.clients.destroy();
      await core.stop();
    },
  };
}

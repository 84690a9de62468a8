/**
 * Fixtures of the end-to-end suites: the engine harness (emulator + dynalite on loopback, the
 * engine context over real HTTP), a workload that writes the primary volume and keeps the image
 * every restore point must hold, and helpers to run the real state machines (synthesized from
 * CDK, run by `local/stepfunctions/runner.ts`) and to read back what they left: chain entries, secondary
 * images, restored volumes.
 *
 * ```
 *  Workload ─writes─► primary volume (emulator EC2 model) ─► runStateMachine('Sync' | 'Verify' | 'Restore' | 'Prune')
 *      │ expected image per restore point                          │
 *      └──────────────── compared block by block ◄─────────────────┴─ S_n read back over the EBS direct APIs
 * ```
 */
import { localDefinitions, runStateMachine, type RunStateMachineOptions, type RunStateMachineResult } from '../../local/stepfunctions/runner';
import type { JobName } from '../../infra/state-machines';
import type { ProtectionConfig } from '../../shared/core/ports/chain-store';
import { patternBlock, sha256Hex, ZERO_BLOCK_HEX } from '../../local/block-content';
import { startEngineHarness, ZONE, type EngineHarness, type Image } from '../integration/engine/engine-harness';

export { ZERO_BLOCK_HEX, type EngineHarness, type Image };

/** Polls of a Wait state take this long locally: enough to yield to the emulator, no more. */
export const E2E_WAIT_MS = 2;

/** A committed sync's output (the Sync machine's, and the fix-up's commit). */
export interface SyncOutput {
  readonly seq: number;
  readonly kind: string;
  readonly blocks: number;
  readonly volumeSize: number;
  readonly primarySnapshotId: string;
  readonly secondarySnapshotId: string;
}

/** An entry of the chain as the assertions compare it. */
export interface EntryView {
  readonly seq: number;
  readonly kind: string;
  readonly trust: string;
  readonly suspectBlocks: number;
  /** The entry's delta map, ascending. */
  readonly blocks: number[];
}

/** The states of a history in the order each was first entered (polls repeat a SnapshotStatus). */
export function firstOccurrences(history: readonly string[]): string[] {
  return [...new Set(history)];
}

/** Runs one of the machines against the harness's local cloud with short waits. */
export function runJob(
  harness: EngineHarness,
  name: JobName,
  input: Record<string, unknown>,
  options: Partial<RunStateMachineOptions> = {},
): Promise<RunStateMachineResult> {
  return runStateMachine(name, input, { context: harness.context, waitMs: E2E_WAIT_MS, retryMs: E2E_WAIT_MS, ...options });
}

/** The failure of a run that was expected to succeed, readable in a Jest diff. */
export function outcomeOf(run: RunStateMachineResult): { status: string; error?: string; cause?: string } {
  return run.status === 'SUCCEEDED' ? { status: run.status } : { status: run.status, error: run.error, cause: run.cause };
}

/** The committed chain, ascending, with each entry's delta map. */
export async function chainView(harness: EngineHarness, volumeId: string): Promise<EntryView[]> {
  const view: EntryView[] = [];
  for await (const entry of harness.context.store.readChain(volumeId)) {
    view.push({ seq: entry.seq, kind: entry.kind, trust: entry.trust, suspectBlocks: entry.suspectBlocks, blocks: entry.deltaMap.toArray() });
  }
  return view;
}

/**
 * A protected primary volume and the image it holds (block → SHA-256 hex of every block that
 * does not read as zeros), with the image each committed restore point must equal.
 */
export class Workload {
  /** The primary's image now. */
  readonly image: Image = new Map();
  /** Every block ever written or cleared: outside it, every image reads zeros. */
  readonly touched = new Set<number>();
  /** Restore point seq → the primary's image when its `P_n` was taken. */
  readonly points = new Map<number, Image>();

  private constructor(
    private readonly harness: EngineHarness,
    readonly volumeId: string,
    /** The instance the primary is attached to (what an in-place restore swaps on). */
    readonly instanceId: string,
    public sizeGiB: number,
  ) {}

  /** Creates a primary volume attached to an instance (for in-place swaps) and protects it. */
  static async start(harness: EngineHarness, sizeGiB: number, config: ProtectionConfig = {}): Promise<Workload> {
    const { volumeId } = await harness.model.createVolume({ availabilityZone: ZONE, size: sizeGiB, volumeType: 'gp3' });
    const instanceId = await harness.model.createInstance({ availabilityZone: ZONE, rootVolume: volumeId });
    await harness.protect(volumeId, sizeGiB, config);
    return new Workload(harness, volumeId, instanceId, sizeGiB);
  }

  /** Writes `patternBlock(seed)` at each block (seed per block); `null` clears the block. */
  async write(blocks: ReadonlyMap<number, number | null>): Promise<void> {
    await this.harness.writeBlocks(this.volumeId, blocks);
    for (const [blockIndex, seed] of blocks) {
      this.touched.add(blockIndex);
      if (seed === null) this.image.delete(blockIndex);
      else this.image.set(blockIndex, sha256Hex(patternBlock(seed)));
    }
  }

  /** Grows the primary volume (ModifyVolume). */
  grow(sizeGiB: number): void {
    this.harness.growVolume(this.volumeId, sizeGiB);
    this.sizeGiB = sizeGiB;
  }

  /** Remembers the current image as restore point `seq`'s (call right after its sync). */
  commit(seq: number): void {
    this.points.set(seq, new Map(this.image));
  }

  /** The image restore point `seq` must hold. */
  pointImage(seq: number): Image {
    const image = this.points.get(seq);
    if (image === undefined) throw new Error(`the workload recorded no restore point ${seq}`);
    return image;
  }

  /** The primary volume's image now, read through the workload API over every touched block. */
  async volumeImage(): Promise<Image> {
    return this.harness.volumeImage(this.volumeId, this.sizeGiB, this.touched);
  }

  /** Another volume's image (a restored one) over every touched block. */
  async imageOfVolume(volumeId: string): Promise<Image> {
    return this.harness.volumeImage(volumeId, this.sizeGiB, this.touched);
  }

  /** Runs the Sync machine; when it committed, records the restore point's expected image (a skip commits nothing). */
  async sync(options: Partial<RunStateMachineOptions> = {}): Promise<RunStateMachineResult> {
    const run = await runJob(this.harness, 'Sync', { volumeId: this.volumeId }, options);
    const output = run.output as Partial<SyncOutput> & { skipped?: string };
    if (run.status === 'SUCCEEDED' && output.skipped === undefined && output.seq !== undefined) this.commit(output.seq);
    return run;
  }
}

/**
 * Silently corrupts `blocks` of restore point `seq` as damage at rest shows on EBS: the emulator
 * damages the stored version `S_seq`'s image resolves to, so the bad version is in the snapshot
 * that wrote it and in every later `S_n` that did not rewrite the block. Returns the seqs whose
 * images now hold a bad block.
 */
export async function corruptFrom(harness: EngineHarness, volumeId: string, seq: number, blocks: readonly number[]): Promise<number[]> {
  const seqBySnapshot = new Map<string, number>();
  for await (const entry of harness.context.store.readChain(volumeId)) seqBySnapshot.set(entry.secondarySnapshotId, entry.seq);
  const snapshotId = [...seqBySnapshot].find(([, s]) => s === seq)?.[0];
  if (snapshotId === undefined) throw new Error(`${volumeId} has no restore point ${seq}`);
  const affected = new Set<number>();
  for (const blockIndex of blocks) {
    const result = await harness.emulator.store.corruptBlock(snapshotId, blockIndex);
    for (const id of result.affectedSnapshotIds) {
      const affectedSeq = seqBySnapshot.get(id);
      if (affectedSeq !== undefined) affected.add(affectedSeq);
    }
  }
  return [...affected].sort((a, b) => a - b);
}

/** A restore's output (the Restore machine's). */
export interface RestoreOutput {
  readonly mode: 'delta' | 'full';
  readonly newVolumeId: string;
  readonly restorePoint: { seq: number; pointInTime: string; trust: string };
  readonly blocksWritten: number;
  readonly planBlocks: number;
  readonly volumeBlocksAllocated: number;
  readonly swapped: boolean;
}

/** The Task states of a delta restore that went straight through (volume polls left out). */
export const RESTORE_PATH = [
  'RestoreBegin', 'SnapshotStatus.PrimaryNow', 'RestorePlan', 'CopySegment', 'CompleteSnapshot', 'SnapshotStatus.Target',
  'RestoreCreateVolume', 'RestoreSwap', 'RestoreReport',
];

/** A restore's history in first-entered order, without the volume's poll (taken only while it is `creating`). */
export function restorePathOf(run: RunStateMachineResult): string[] {
  return firstOccurrences(run.history).filter((state) => state !== 'RestoreCreateVolume.Poll');
}

/** The images of two snapshots or volumes agree: the blocks where they differ, ascending. */
export function differences(actual: Image, expected: Image): number[] {
  const blocks = new Set([...actual.keys(), ...expected.keys()]);
  return [...blocks].filter((blockIndex) => (actual.get(blockIndex) ?? ZERO_BLOCK_HEX) !== (expected.get(blockIndex) ?? ZERO_BLOCK_HEX)).sort((a, b) => a - b);
}

/**
 * Starts the local cloud for one suite. The definitions are synthesized first: synthesis blocks
 * the event loop for seconds, long enough for dynalite to drop the SDK's idle keep-alive socket,
 * which made the first task of the first execution fail with ECONNRESET and be retried.
 */
export function startE2eHarness(): Promise<EngineHarness> {
  localDefinitions();
  return startEngineHarness();
}

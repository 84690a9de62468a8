/**
 * The `RunState` family of the chain store: what one sync, verify or restore run keeps between
 * its steps (each step a Lambda of its own): verify runs and their compare maps, the block
 * digests a copy persists for the snapshot's completion, and named per-run maps.
 */
import type { DeltaMap } from '../../delta-map';
import type { JsonValue } from './json-value';

export type VerifyRunStatus = 'scanning' | 'fixing' | 'walking' | 'clean' | 'repaired' | 'failed';

/** The state of one verify run (steps 1–5 of ARCHITECTURE.md). */
export interface VerifyRun {
  readonly runId: string;
  /** When `P0` was taken (ISO 8601). */
  readonly t0: string;
  /** `P0`: the primary snapshot the scan compares. */
  readonly p0: string;
  /** The head restore point at `T0`, whose secondary snapshot the scan compares. */
  readonly headSeqAtT0: number;
  /** `--quick`: only the DRL's regions are scanned. */
  readonly quick: boolean;
  readonly status: VerifyRunStatus;
  /** Tallies worth showing (blocks scanned, mismatches, fix-up blocks, suspect points…). */
  readonly counts: Readonly<Record<string, number>>;
  /** The final report, when the run ended. */
  readonly result?: JsonValue;
}

/** The compare delta map `C` of a verify run, as far as its scan got. */
export interface CompareMapState {
  readonly deltaMap: DeltaMap;
  /** Segments whose compare shard was written, ascending (a resumed scan skips them). */
  readonly scannedSegments: number[];
}

/** The SHA-256 digests of one segment's written blocks, as `putBlockDigests` stored them. */
export interface SegmentDigests {
  readonly segment: number;
  /** Raw 32-byte digests concatenated, in ascending block order of the blocks written. */
  readonly digests: Uint8Array;
}

/**
 * One segment of a digest-manifest layer: the blocks a run wrote there (ascending) and their
 * SHA-256 digests in the same order (32 bytes each).
 */
export interface DigestLayerSegment {
  readonly blocks: DeltaMap;
  readonly digests: Uint8Array;
}

/** A per-run segment map (e.g. a restore plan `R` or a verify's revised compare map), as far as written. */
export interface RunMapState {
  readonly deltaMap: DeltaMap;
  /** Segments written, ascending (an empty segment written counts). */
  readonly segments: number[];
}

/**
 * Per-run working state, keyed by run id. Verify runs and compare shards are kept until the volume
 * is unprotected; digests and run maps are removed by `deleteRunItems` once the run ended.
 * None of it is fenced: a run id belongs to one run, and only the chain's mutations need the lease.
 */
export interface RunState {
  /** Creates or replaces a verify run's record. */
  putVerifyRun(volumeId: string, run: VerifyRun): Promise<void>;

  /** @throws VerifyRunNotFoundError */
  getVerifyRun(volumeId: string, runId: string): Promise<VerifyRun>;

  /** Records the compare map of one scanned segment (only its blocks are kept). Idempotent. */
  putCompareSegment(volumeId: string, runId: string, segment: number, compareMap: DeltaMap): Promise<void>;

  /** The compare map `C` so far, sized to `volumeBlocks`. */
  readCompareMap(volumeId: string, runId: string, volumeBlocks: number): Promise<CompareMapState>;

  /**
   * Persists the digests of the blocks a run wrote to one segment of a snapshot (for the LINEAR
   * aggregate at completion), replacing what an earlier attempt of the same segment stored.
   * `blocks` (the segment's blocks, one per digest) makes them a digest-manifest layer.
   */
  putBlockDigests(volumeId: string, runId: string, segment: number, digests: Uint8Array, blocks?: DeltaMap): Promise<void>;

  /**
   * Every segment's digests of a run, in ascending segment order.
   * @throws ChainStoreCorruptError when a segment's chunks are incomplete
   */
  readBlockDigests(volumeId: string, runId: string): AsyncIterable<SegmentDigests>;

  /** Stores one segment of a run's named map (only that segment's blocks are kept). Idempotent. */
  putRunMap(volumeId: string, runId: string, name: string, segment: number, deltaMap: DeltaMap): Promise<void>;

  /** One segment of a run's named map, sized to `volumeBlocks`; empty when never written. */
  readRunMap(volumeId: string, runId: string, name: string, segment: number, volumeBlocks: number): Promise<DeltaMap>;

  /** Every written segment of a run's named map, joined. */
  readRunMapSegments(volumeId: string, runId: string, name: string, volumeBlocks: number): Promise<RunMapState>;

  /**
   * One segment of the digests a run persisted, with the blocks they belong to: the layer of a
   * committed entry's digest manifest (ARCHITECTURE.md "Verify"). Undefined when the run wrote
   * nothing there.
   * @throws ChainStoreCorruptError when the chunks are incomplete or lack their block list
   */
  readDigestLayerSegment(volumeId: string, runId: string, segment: number, volumeBlocks: number): Promise<DigestLayerSegment | undefined>;

  /**
   * Deletes a run's digests and maps once it ended (idempotent; compare shards are kept). With
   * `keepDigests` the digests stay: they are a committed entry's digest-manifest layer.
   */
  deleteRunItems(volumeId: string, runId: string, options?: { readonly keepDigests?: boolean }): Promise<void>;
}

/**
 * Builders for small chains in tests. Entry `i` gets `pointInTime` at minute `10·i` and is
 * committed at minute `10·i + 1` unless told otherwise, so verify times can sit between entries.
 */
import type { ChainEntry, EntryKind, EntryStatus } from '../../../shared/core/chain-entry';
import { volumeBlocks } from '../../../shared/core/constants';
import { DeltaMap } from '../../../shared/core/delta-map';

/** Minutes between two consecutive entries' points in time. */
export const ENTRY_SPACING_MINUTES = 10;

const EPOCH = Date.parse('2026-01-01T00:00:00.000Z');
const MS_PER_MINUTE = 60_000;

/** The ISO time `minute` minutes after the test epoch. */
export function at(minute: number): string {
  return new Date(EPOCH + minute * MS_PER_MINUTE).toISOString();
}

export interface EntrySpec {
  readonly delta: readonly number[];
  readonly seq?: number;
  readonly volumeSize?: number;
  readonly kind?: EntryKind;
  readonly status?: EntryStatus;
  readonly suspectBlocks?: number;
  /** Minute of `pointInTime`; default `10·position`. */
  readonly pointMinute?: number;
  /** Minute of `committedAt`; default `pointMinute + 1`. */
  readonly commitMinute?: number;
}

/** Builds a chain: position 0 is the baseline, the rest syncs (1 GiB volume by default). */
export function buildChain(specs: readonly EntrySpec[]): ChainEntry[] {
  return specs.map((spec, position) => {
    const seq = spec.seq ?? position;
    const volumeSize = spec.volumeSize ?? 1;
    const pointMinute = spec.pointMinute ?? position * ENTRY_SPACING_MINUTES;
    const status = spec.status ?? 'committed';
    const suspectBlocks = spec.suspectBlocks ?? 0;
    return {
      seq,
      kind: spec.kind ?? (position === 0 ? 'baseline' : 'sync'),
      deltaMap: DeltaMap.of(volumeBlocks(volumeSize), spec.delta),
      primarySnapshotId: `snap-p${seq}`,
      secondarySnapshotId: `snap-s${seq}`,
      volumeSize,
      status,
      trust: suspectBlocks > 0 ? 'suspect' : 'trusted',
      suspectBlocks,
      pointInTime: at(pointMinute),
      ...(status === 'committed' ? { committedAt: at(spec.commitMinute ?? pointMinute + 1) } : {}),
    };
  });
}

/** A delta map of a 1 GiB volume (or `volumeSize` GiB). */
export function blocks(list: readonly number[], volumeSize = 1): DeltaMap {
  return DeltaMap.of(volumeBlocks(volumeSize), list);
}

/**
 * What the chain store holds after recording each set of bad versions in turn: their union per
 * writer (recording is idempotent and never drops what an earlier check found).
 */
export function recorded(...sets: ReadonlyArray<ReadonlyMap<number, DeltaMap>>): Map<number, DeltaMap> {
  const result = new Map<number, DeltaMap>();
  for (const set of sets) {
    for (const [writer, blocks] of set) result.set(writer, result.get(writer)?.union(blocks) ?? blocks.clone());
  }
  return result;
}

/** Seq → number of bad blocks, for every image that holds one (what `suspect (n bad)` shows). */
export function badCounts(badBlocks: ReadonlyMap<number, DeltaMap>): Record<number, number> {
  return Object.fromEntries([...badBlocks].map(([seq, blocks]) => [seq, blocks.size]));
}

/** Seq → bad blocks as arrays, for exact comparison. */
export function badArrays(badBlocks: ReadonlyMap<number, DeltaMap>): Record<number, number[]> {
  return Object.fromEntries([...badBlocks].map(([seq, blocks]) => [seq, blocks.toArray()]));
}

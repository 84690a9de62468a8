/**
 * How the command line shows a volume's restore points (`ebs-cdp points`, the tour's table): one
 * row per chain entry with what a person picks a restore point by — when, what kind, how much
 * changed, whether it can be trusted — and the snapshot ids behind it.
 */
import type { ChainEntry } from '../shared/core/chain-entry';
import { formatTable, type Column } from './output';

/** One restore point as `points` prints it (and `--json` returns it). */
export interface PointRow {
  readonly seq: number;
  readonly pointInTime: string;
  readonly kind: ChainEntry['kind'];
  readonly status: ChainEntry['status'];
  /** `|D_seq|`: blocks changed since the previous restore point. */
  readonly blocks: number;
  readonly trust: ChainEntry['trust'];
  readonly suspectBlocks: number;
  readonly primarySnapshotId: string;
  readonly secondarySnapshotId: string;
  /**
   * The rules of the volume's retention policy that keep the point (`head`, `last`, `within`,
   * `all`, `hourly`, `daily`, `weekly`, `monthly`); `[]`: the next prune removes it; `null`: the
   * volume has no policy (nothing is pruned) or the entry is pending. Present only when asked for.
   */
  readonly keptBy?: readonly string[] | null;
}

/**
 * The rows of `entries`, ascending by seq.
 *
 * @param keptBy - the retention policy's reasons per seq (`keptBy` of `shared/core/retention.ts`),
 *   `null` for a volume without a policy; when omitted, rows carry no `keptBy`
 */
export function pointRows(entries: Iterable<ChainEntry>, keptBy?: ReadonlyMap<number, readonly string[]> | null): PointRow[] {
  return [...entries]
    .map((entry) => ({
      ...(keptBy === undefined ? {} : { keptBy: keptBy?.get(entry.seq) ?? null }),
      seq: entry.seq,
      pointInTime: entry.pointInTime,
      kind: entry.kind,
      status: entry.status,
      blocks: entry.deltaMap.size,
      trust: entry.trust,
      suspectBlocks: entry.suspectBlocks,
      primarySnapshotId: entry.primarySnapshotId,
      secondarySnapshotId: entry.secondarySnapshotId,
    }))
    .sort((a, b) => a.seq - b.seq);
}

/** `trusted`, or `suspect (3 bad)`; a pending entry says so instead. */
export function trustLabel(row: Pick<PointRow, 'status' | 'trust' | 'suspectBlocks'>): string {
  if (row.status === 'pending') return 'pending';
  return row.trust === 'suspect' ? `suspect (${row.suspectBlocks} bad)` : 'trusted';
}

const POINT_COLUMNS: readonly Column<PointRow>[] = [
  { header: 'seq', value: (row) => row.seq, align: 'right' },
  { header: 'time', value: (row) => row.pointInTime },
  { header: 'kind', value: (row) => row.kind },
  { header: 'blocks', value: (row) => row.blocks, align: 'right' },
  { header: 'trust', value: trustLabel },
  { header: 'kept by', value: keptByLabel },
  { header: 'secondary snapshot', value: (row) => row.secondarySnapshotId },
  { header: 'primary snapshot', value: (row) => row.primarySnapshotId },
];

/** `hourly, daily`; `prune` when no rule keeps the point; `-` without a policy. */
export function keptByLabel(row: Pick<PointRow, 'keptBy'>): string {
  if (row.keptBy === undefined || row.keptBy === null) return '-';
  return row.keptBy.length === 0 ? 'prune' : row.keptBy.join(', ');
}

/** The restore points as a table (the `kept by` column only when the rows carry `keptBy`). */
export function renderPoints(rows: readonly PointRow[]): string {
  if (rows.length === 0) return 'no restore points yet: run ebs-cdp sync <volume>';
  const columns = rows.some((row) => row.keptBy !== undefined) ? POINT_COLUMNS : POINT_COLUMNS.filter((column) => column.header !== 'kept by');
  return formatTable(columns, rows);
}

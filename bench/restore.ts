/**
 * Restore: blocks a delta restore writes against the volume's allocated blocks (what a volume
 * created from the full snapshot would have to hydrate), for restore points 1, 10 and 100 syncs
 * back, on the local cloud through the Restore job's steps.
 *
 *   npx tsx bench/restore.ts          # BENCH_RESTORE_SYNCS=20 for a quicker look
 */
import { markdownTable, writeResults, xorshift32 } from './harness';
import { CONTEXT, recordFigures, type MeasuredFigure } from './summary';
import { createProtectedVolume, driveRestore, driveSync, startLocalCloud, writeBlocks } from './local-cloud';

/** 101 syncs after the baseline, so that a point 100 syncs back exists. */
const SYNCS = Number(process.env.BENCH_RESTORE_SYNCS ?? 101);
const RESTORE_DISTANCES = [1, 10, 100];
/** 2 GiB volume with 1,024 allocated blocks (half of it): the baseline copies 512 MiB. */
const VOLUME_GIB = 2;
const ALLOCATED_BLOCKS = Number(process.env.BENCH_RESTORE_ALLOCATED ?? 1_024);
/** Blocks each sync rewrites, chosen at random among the allocated ones (rewrites overlap, as a workload's do). */
const CHANGED_PER_SYNC = 8;
const SEED = 0x5e5_7012;

export interface RestoreRow {
  readonly syncsBack: number;
  readonly seq: number;
  readonly blocksWritten: number;
  readonly allocatedBlocks: number;
  readonly fraction: number;
  readonly getCalls: number;
  readonly putCalls: number;
}

/** Runs the benchmark: prints the table and writes bench/results/restore.{json,md}. */
export async function runRestoreBench(): Promise<RestoreRow[]> {
  const cloud = await startLocalCloud({ mapConcurrency: 1 });
  try {
    const random = xorshift32(SEED);
    const volumeId = await createProtectedVolume(cloud, VOLUME_GIB);
    const allocated = Array.from({ length: ALLOCATED_BLOCKS }, (_, i) => i * 2);
    await writeBlocks(cloud, volumeId, allocated, 0);
    let head = (await driveSync(cloud, volumeId)).seq;
    for (let sync = 1; sync <= SYNCS; sync++) {
      const changed = Array.from({ length: CHANGED_PER_SYNC }, () => allocated[Math.floor(random() * allocated.length)]);
      await writeBlocks(cloud, volumeId, changed, sync);
      head = (await driveSync(cloud, volumeId)).seq;
    }
    const rows: RestoreRow[] = [];
    for (const distance of RESTORE_DISTANCES.filter((d) => d <= head)) {
      cloud.emulator.stats.reset();
      const report = await driveRestore(cloud, volumeId, head - distance);
      const calls = cloud.emulator.stats.calls;
      rows.push({
        syncsBack: distance,
        seq: head - distance,
        blocksWritten: report.blocksWritten,
        allocatedBlocks: report.volumeBlocksAllocated,
        fraction: report.blocksWritten / report.volumeBlocksAllocated,
        getCalls: calls.GetSnapshotBlock ?? 0,
        putCalls: calls.PutSnapshotBlock ?? 0,
      });
    }
    const table = markdownTable(rows.map((row) => ({
      'syncs back': row.syncsBack,
      'restore point': row.seq,
      'blocks written (delta)': row.blocksWritten,
      'allocated blocks (full)': row.allocatedBlocks,
      'delta / full': `${(row.fraction * 100).toFixed(1)} %`,
      GetSnapshotBlock: row.getCalls,
      PutSnapshotBlock: row.putCalls,
    })));
    const markdown = `# Delta restore vs full hydration\n\n${VOLUME_GIB} GiB volume, ${ALLOCATED_BLOCKS} allocated blocks, ${SYNCS} syncs after the baseline, ` +
      `each rewriting ${CHANGED_PER_SYNC} random allocated blocks (overlapping). The delta restore writes ` +
      '`R = D_{k+1} ∪ … ∪ D_head ∪ changes(P_head → P_now)` into a snapshot whose parent is `P_now`; a volume created from `S_k` ' +
      `would hydrate every allocated block.\n\n${table}`;
    console.log(markdown);
    writeResults('restore', { volumeGiB: VOLUME_GIB, allocatedBlocks: ALLOCATED_BLOCKS, syncs: SYNCS, changedPerSync: CHANGED_PER_SYNC, rows }, markdown);
    const figures: Record<string, MeasuredFigure> = {};
    for (const row of rows) figures[`restore.delta_vs_full.back_${row.syncsBack}`] = { value: row.fraction, goal: CONTEXT };
    recordFigures(figures);
    return rows;
  } finally {
    await cloud.stop();
  }
}

if (require.main === module) {
  runRestoreBench().then(
    () => undefined,
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

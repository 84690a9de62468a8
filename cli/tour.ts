/**
 * `npm start`: the two-minute tour of ebs-cdp on the local cloud, with no AWS account. It tells
 * the story and proves every claim it makes with a check; it exits 0 only if every check held.
 *
 * ```
 *  fill ─► protect ─► sync 0 (baseline) ─► syncs 1…4 while the workload writes ─► sync 5 (quiet)
 *        ─► corrupt stored blocks S_5 reads (3 of D_5; 2 of D_4 only, shared with S_4) ─► verify:
 *           finds exactly those 5, appends fix-up 6, marks 5 and 4 suspect (5 and 2 bad, what
 *           each really holds) ─► verify again: clean
 *        ─► restore 4 refused (suspect) ─► restore 3 (newest trusted before the damage)
 *        ─► read the new volume back block by block: identical to P_3, the primary at point 3
 * ```
 *
 * Every job is an execution of the synthesized state machine, started and followed through the
 * local cloud's Step Functions endpoint, as `ebs-cdp sync --local` (and, on AWS, `ebs-cdp sync`) runs it. The truth the checks compare against never comes from ebs-cdp:
 * images of the primary snapshots are read from the emulator's store, the corrupted blocks are
 * chosen here, and the suspect walk is recomputed here with plain sets.
 */
import * as path from 'node:path';
import { volumeBlocks } from '../shared/core/constants';
import type { ChainEntry } from '../shared/core/chain-entry';
import { SuspectRestorePointError } from '../shared/core/errors';
import type { SuspectMark } from '../shared/core/verify-plan';
import type { EngineContext } from '../shared/engine/context';
import type { JobName } from '../infra/state-machines';
import type { VerifyReport } from '../shared/engine/verify';
import type { RestoreReport } from '../shared/engine/restore';
import type { SyncSummary } from '../shared/engine/sync';
import { pointRows, renderPoints } from './chain-view';
import { CheckFailedError } from './errors';
import { DEFAULT_STACK_NAME, findDeployedJobs, JobFailedError, runJobExecution } from './aws-jobs';
import { LOCAL_ZONE, localEngineContext, localStepFunctionsClient, startLocalCloud, wipeDirectory, type LocalCloud } from './local-cloud';
import { formatBlocks, formatDuration, type Output } from './output';
import { sha256Hex as blockDigest, seededRandom } from '../local/block-content';
import { extent, ModelWorkload, randomBlocks } from './workload';

/** A few GiB: big enough that copying only what changed visibly matters, small enough for two minutes. */
export const TOUR_VOLUME_GIB = 4;

/** The application's first data before protection: one 160 MiB sequential extent… */
const INITIAL_EXTENT_BLOCKS = 320;
/** …and scattered blocks (metadata, logs). */
const INITIAL_RANDOM_BLOCKS = 64;

/** Incremental syncs after the baseline: enough for a chain with a past worth restoring. */
const SYNC_ROUNDS = 4;
/** Per round the workload appends a sequential extent (24 MiB)… */
const ROUND_EXTENT_BLOCKS = 48;
/** …and rewrites random blocks anywhere (16 MiB). */
const ROUND_RANDOM_BLOCKS = 32;
/** Pause between workload bursts, so writes keep landing while a sync runs. */
const WORKLOAD_BURST_MS = 20;
/** Blocks per workload burst. */
const WORKLOAD_BURST_BLOCKS = 8;

/** Corrupted blocks the head restore point copied itself (in `D_head`). */
const CORRUPT_HEAD_BLOCKS = 3;
/** Corrupted blocks the head holds from the point before it (in `D_{head-1}`, not rewritten since). */
const CORRUPT_EARLIER_BLOCKS = 2;

/** The workload's random blocks are the same on every run (a fixed seed), so runs compare. */
const WORKLOAD_SEED = 7;

/** One claim of the story and whether it held. */
export interface TourCheck {
  readonly claim: string;
  readonly ok: boolean;
  readonly detail?: string;
}

/** What `npm start` prints at the end (and `--json` returns). */
export interface TourSummary {
  readonly ok: boolean;
  readonly volumeId: string;
  readonly volumeSize: number;
  readonly restoredVolumeId?: string;
  readonly elapsedMs: number;
  readonly blocksWritten: number;
  readonly blocksCopied: number;
  readonly apiCalls: Readonly<Record<string, number>>;
  readonly corrupted: number[];
  readonly found: number[];
  readonly suspectPoints: SuspectMark[];
  readonly checks: TourCheck[];
  readonly dataDir: string;
}

export interface TourOptions {
  /** The tour's own directory (wiped first): `<home>/tour`. */
  readonly dataDir: string;
  readonly output: Output;
}

/** The image of a completed snapshot as the emulator stores it: block → SHA-256 of every block that is not zeros. */
async function storedImage(cloud: LocalCloud, snapshotId: string): Promise<Map<number, string>> {
  const image = new Map<number, string>();
  for (const blockIndex of cloud.emulator.store.listBlockIndexes(snapshotId)) {
    const data = await cloud.emulator.store.readBlock(snapshotId, blockIndex);
    if (data === undefined) continue;
    const digest = blockDigest(data);
    if (data.some((byte) => byte !== 0)) image.set(blockIndex, digest);
  }
  return image;
}

/** The suspect walk, recomputed with plain sets (ARCHITECTURE.md, verify step 5). */
export function naiveSuspectWalk(entriesNewestFirst: readonly Pick<ChainEntry, 'seq' | 'deltaMap'>[], compare: readonly number[]): SuspectMark[] {
  const remaining = new Set(compare);
  const marks: SuspectMark[] = [];
  for (const entry of entriesNewestFirst) {
    if (remaining.size === 0) break;
    marks.push({ seq: entry.seq, suspectBlocks: remaining.size });
    for (const blockIndex of entry.deltaMap.toArray()) remaining.delete(blockIndex);
  }
  return marks;
}

/** Differences between two images, for a check's detail (the first few). */
function imageDifferences(expected: Map<number, string>, actual: Map<number, string>): number[] {
  const differing = new Set<number>();
  for (const [blockIndex, digest] of expected) if (actual.get(blockIndex) !== digest) differing.add(blockIndex);
  for (const blockIndex of actual.keys()) if (!expected.has(blockIndex)) differing.add(blockIndex);
  return [...differing].sort((a, b) => a - b);
}

/**
 * The error name a refused restore gives: a refusal either fails the execution (RestoreBegin's
 * error) or succeeds with a `refused` report; both count.
 */
async function refusalOf(run: Promise<RestoreReport>): Promise<string | undefined> {
  try {
    return (await run).refused?.error;
  } catch (error) {
    if (error instanceof JobFailedError) return error.result.error;
    throw error;
  }
}

/** Blocks of a differences list worth printing. */
const DETAIL_BLOCKS = 5;

async function readChain(context: EngineContext, volumeId: string): Promise<ChainEntry[]> {
  const entries: ChainEntry[] = [];
  for await (const entry of context.store.readChain(volumeId)) entries.push(entry);
  return entries;
}

/**
 * Runs the tour. Returns its summary; `summary.ok` is true only if every check held.
 * @throws CheckFailedError only when the story cannot go on (a job failed).
 */
export async function runTour(options: TourOptions): Promise<TourSummary> {
  const { output } = options;
  const started = Date.now();
  const checks: TourCheck[] = [];
  const check = (claim: string, ok: boolean, detail?: string): void => {
    checks.push({ claim, ok, detail });
    output.say(`  ${ok ? 'ok  ' : 'FAIL'} ${claim}${detail === undefined ? '' : ` (${detail})`}`);
  };
  const step = (text: string): void => output.say(`\n${text}  [${formatDuration(Date.now() - started)}]`);

  output.say(`ebs-cdp tour: protect a volume, catch a silent corruption, repair it, restore a point in time.`);
  output.say(`Starting fresh: wiping the tour's own state in ${options.dataDir}`);
  await wipeDirectory(options.dataDir);
  const cloud = await startLocalCloud({ dataDir: options.dataDir });
  const context = localEngineContext(cloud.endpoints);
  // Jobs go the one way the CLI runs them: executions of the tagged machines, through Step Functions.
  const sfn = localStepFunctionsClient(cloud.endpoints);
  let deployed: ReturnType<typeof findDeployedJobs> | undefined;
  const runJob = async <T>(job: JobName, input: Record<string, unknown>): Promise<T> => {
    deployed ??= findDeployedJobs(sfn, DEFAULT_STACK_NAME, 'the local cloud');
    return runJobExecution<T>(sfn, (await deployed).machines[job], job, input);
  };
  const workload = new ModelWorkload(cloud.model);
  const random = seededRandom(WORKLOAD_SEED);
  const blocks = volumeBlocks(TOUR_VOLUME_GIB);
  let blocksWritten = 0;
  let blocksCopied = 0;
  try {
    output.say(`Local cloud up: emulator ${cloud.endpoints.emulator}, DynamoDB ${cloud.endpoints.dynamoDb}`);

    step(`1. A ${TOUR_VOLUME_GIB} GiB primary volume and an application writing to it`);
    const volume = await cloud.model.createVolume({ availabilityZone: LOCAL_ZONE, size: TOUR_VOLUME_GIB, volumeType: 'gp3' });
    const { volumeId } = volume;
    const initial = [...new Set([...extent(0, INITIAL_EXTENT_BLOCKS), ...randomBlocks(random, INITIAL_RANDOM_BLOCKS, INITIAL_EXTENT_BLOCKS, blocks)])];
    blocksWritten += (await workload.write(volumeId, initial)).written;
    output.say(`   ${volumeId}: wrote ${formatBlocks(initial.length)} (a sequential extent and scattered blocks)`);

    step(`2. Protect it and take the baseline`);
    await context.store.protectVolume(volumeId, { volumeSize: TOUR_VOLUME_GIB, config: {} });
    const syncs: SyncSummary[] = [];
    const images = new Map<number, Map<number, string>>();
    const sync = async (): Promise<SyncSummary> => {
      const result = await runJob<SyncSummary | { skipped: string }>('Sync', { volumeId });
      const head = syncs.at(-1);
      if ('skipped' in result) {
        // Nothing changed since the head (the writes all landed before the previous sync's
        // snapshot): no empty restore point is made, and the head still is the volume's image.
        if (head === undefined) throw new Error(`the baseline sync was skipped (${result.skipped}): the tour cannot go on`);
        output.say(`   nothing changed since restore point ${head.seq}: the sync made no new restore point`);
        return head;
      }
      const summary = result;
      // P_seq is kept until the next sync replaces it: read its image now, from the emulator's store.
      images.set(summary.seq, await storedImage(cloud, summary.primarySnapshotId));
      syncs.push(summary);
      blocksCopied += summary.blocks;
      return summary;
    };
    const baseline = await sync();
    output.say(`   restore point ${baseline.seq} (${baseline.kind}): copied ${baseline.blocks} blocks of ${blocks}, only the allocated ones`);
    check('the baseline copied exactly the allocated blocks', baseline.blocks === images.get(baseline.seq)?.size, `${baseline.blocks} blocks`);

    step(`3. ${SYNC_ROUNDS} syncs while the application keeps writing`);
    let appendAt = INITIAL_EXTENT_BLOCKS;
    for (let round = 1; round <= SYNC_ROUNDS; round++) {
      const burst = [...new Set([...extent(appendAt, ROUND_EXTENT_BLOCKS), ...randomBlocks(random, ROUND_RANDOM_BLOCKS, 0, blocks)])];
      appendAt += ROUND_EXTENT_BLOCKS;
      // The writer runs while the sync does: the point in time falls somewhere inside the burst.
      const writer = (async () => {
        for (let at = 0; at < burst.length; at += WORKLOAD_BURST_BLOCKS) {
          blocksWritten += (await workload.write(volumeId, burst.slice(at, at + WORKLOAD_BURST_BLOCKS))).written;
          await new Promise((resolve) => setTimeout(resolve, WORKLOAD_BURST_MS));
        }
      })();
      const [summary] = await Promise.all([sync(), writer]);
      output.say(`   restore point ${summary.seq} (${summary.kind}): copied ${summary.blocks} changed blocks while ${burst.length} were being written`);
    }
    // The last burst may have landed after the last sync's point in time: one more sync, with the
    // application quiet, so the verify below compares a volume nothing is changing.
    const settle = await sync();
    output.say(`   restore point ${settle.seq} (${settle.kind}): ${settle.blocks} blocks, the application now quiet`);
    const secondaryMatches = await Promise.all(syncs.map(async (s) => imageDifferences(images.get(s.seq) ?? new Map(), await storedImage(cloud, s.secondarySnapshotId))));
    check(
      'every restore point equals the primary snapshot it was copied from, block for block',
      secondaryMatches.every((differences) => differences.length === 0),
      `${syncs.length} points`,
    );

    step(`4. Silent corruption: bad bytes in stored blocks of the head restore point`);
    const chain = await readChain(context, volumeId);
    const head = chain[chain.length - 1];
    const previous = chain[chain.length - 2];
    const fromHead = head.deltaMap.toArray().slice(0, CORRUPT_HEAD_BLOCKS);
    const fromPrevious = previous.deltaMap.subtract(head.deltaMap).toArray().slice(0, CORRUPT_EARLIER_BLOCKS);
    const corrupted = [...fromHead, ...fromPrevious].sort((a, b) => a - b);
    // Damage at rest, as on EBS: the stored version the head reads, shared with the point that wrote it.
    for (const blockIndex of corrupted) await cloud.emulator.store.corruptBlock(head.secondarySnapshotId, blockIndex);
    output.say(`   corrupted blocks ${corrupted.join(', ')} as stored for ${head.secondarySnapshotId} (restore point ${head.seq}); listings and checksums still look fine`);
    output.say(`   ${fromHead.length} of them restore point ${head.seq} wrote itself; ${fromPrevious.length} it shares with point ${previous.seq}, which now reads them bad too`);

    step(`5. Verify: compare the secondary with the primary, repair, walk back the chain`);
    const expectedWalk = naiveSuspectWalk([...chain].reverse(), corrupted);
    const report = await runJob<VerifyReport>('Verify', { volumeId, quick: false });
    blocksCopied += report.fixed;
    output.say(`   scanned ${report.blocksScanned} blocks: ${report.mismatches} mismatched, fix-up restore point ${report.fixupSeq ?? '?'} repaired ${report.fixed}`);
    output.say(`   suspect: ${report.suspectPoints.map((mark) => `point ${mark.seq} (${mark.suspectBlocks} bad)`).join(', ') || 'none'}`);
    check('verify found exactly the corrupted blocks', JSON.stringify(report.mismatchedBlocks) === JSON.stringify(corrupted), `found ${report.mismatchedBlocks.join(', ')}`);
    check('verify repaired them with a fix-up restore point', report.outcome === 'repaired' && report.fixed === corrupted.length && report.fixupSeq !== undefined);
    const bySeq = (marks: readonly SuspectMark[]): SuspectMark[] => [...marks].sort((a, b) => a.seq - b.seq);
    check('the suspect points are the ones the walk back the chain names', JSON.stringify(bySeq(report.suspectPoints)) === JSON.stringify(bySeq(expectedWalk)), expectedWalk.map((mark) => mark.seq).join(', '));
    const marked = pointRows(await readChain(context, volumeId)).filter((row) => row.trust === 'suspect');
    check('the chain records those marks', JSON.stringify(marked.map((row) => ({ seq: row.seq, suspectBlocks: row.suspectBlocks }))) === JSON.stringify(bySeq(expectedWalk)));
    const held = await Promise.all(
      bySeq(expectedWalk).map(async ({ seq }) => {
        const entry = chain.find((e) => e.seq === seq);
        const bad = entry === undefined ? [] : imageDifferences(images.get(seq) ?? new Map(), await storedImage(cloud, entry.secondarySnapshotId));
        return { seq, suspectBlocks: bad.length };
      }),
    );
    check(
      'each suspect point really holds as many bad blocks as its mark says',
      JSON.stringify(held) === JSON.stringify(bySeq(expectedWalk)),
      held.map((mark) => `point ${mark.seq}: ${mark.suspectBlocks}`).join(', '),
    );
    const again = await runJob<VerifyReport>('Verify', { volumeId, quick: false });
    check('a second verify finds the secondary whole again', again.outcome === 'clean' && again.mismatches === 0, `${again.blocksScanned} blocks scanned`);

    step(`6. Restore the newest trusted point before the damage to a new volume`);
    const suspectSeqs = new Set(expectedWalk.map((mark) => mark.seq));
    const target = [...chain].reverse().find((entry) => !suspectSeqs.has(entry.seq) && entry.seq < Math.min(...suspectSeqs));
    if (target === undefined) throw new CheckFailedError('no trusted restore point before the damage', 'report this as a bug of the tour');
    const refusal = await refusalOf(runJob<RestoreReport>('Restore', { volumeId, seq: previous.seq }));
    check(`a suspect point (${previous.seq}) is refused without --allow-suspect`, refusal === SuspectRestorePointError.errorName, refusal);
    const restored = await runJob<RestoreReport>('Restore', { volumeId, seq: target.seq });
    const restoredVolumeId = restored.newVolumeId;
    if (restoredVolumeId === undefined) throw new CheckFailedError(`the restore of point ${target.seq} made no volume: ${restored.refused?.message ?? ''}`);
    blocksCopied += restored.blocksWritten;
    output.say(`   ${restoredVolumeId} from restore point ${target.seq}: wrote ${restored.blocksWritten} blocks (${restored.mode} restore), not the whole volume`);
    const restoredImage = await workload.digests(restoredVolumeId);
    const differences = imageDifferences(images.get(target.seq) ?? new Map(), restoredImage);
    check(
      `the restored volume is byte-identical to the primary at point ${target.seq}, read back block by block`,
      differences.length === 0 && restoredImage.size > 0,
      differences.length === 0 ? `${restoredImage.size} data blocks of ${blocks} compared` : `differs at ${differences.slice(0, DETAIL_BLOCKS).join(', ')}`,
    );

    step('The chain of restore points');
    output.say(renderPoints(pointRows(await readChain(context, volumeId))));

    const apiCalls = cloud.emulator.stats.toJSON().calls;
    const summary: TourSummary = {
      ok: checks.every((c) => c.ok),
      volumeId,
      volumeSize: TOUR_VOLUME_GIB,
      restoredVolumeId,
      elapsedMs: Date.now() - started,
      blocksWritten,
      blocksCopied,
      apiCalls,
      corrupted,
      found: report.mismatchedBlocks,
      suspectPoints: report.suspectPoints,
      checks,
      dataDir: options.dataDir,
    };
    return summary;
  } finally {
    sfn.destroy();
    context.close();
    await cloud.stop();
  }
}

/** Widths of the API-call lines of the summary (the longest name is EC2:DescribeSnapshots). */
const API_NAME_WIDTH = 22;
const API_COUNT_WIDTH = 6;

/** The summary as text: what happened, what it cost, whether every check held. */
export function renderTourSummary(summary: TourSummary): string {
  const calls = Object.entries(summary.apiCalls).sort(([a], [b]) => a.localeCompare(b));
  const total = calls.reduce((sum, [, count]) => sum + count, 0);
  const held = summary.checks.filter((c) => c.ok).length;
  const lines = [
    '',
    'Summary',
    `  volume            ${summary.volumeId} (${summary.volumeSize} GiB), restored as ${summary.restoredVolumeId ?? '-'}`,
    `  written by app    ${summary.blocksWritten} blocks (${formatBlocks(summary.blocksWritten)})`,
    `  copied by ebs-cdp ${summary.blocksCopied} blocks (${formatBlocks(summary.blocksCopied)})`,
    `  corrupted         ${summary.corrupted.join(', ')}`,
    `  found by verify   ${summary.found.join(', ')}`,
    `  suspect points    ${summary.suspectPoints.map((mark) => `${mark.seq} (${mark.suspectBlocks} bad)`).join(', ') || 'none'}`,
    `  API calls         ${total}`,
    ...calls.map(([api, count]) => `    ${api.padEnd(API_NAME_WIDTH)} ${String(count).padStart(API_COUNT_WIDTH)}`),
    `  time              ${formatDuration(summary.elapsedMs)}`,
    `  checks            ${held}/${summary.checks.length} held`,
    summary.ok ? '\nEvery check held. Next: ebs-cdp local start, then ebs-cdp --help (see cli/README.md).' : '\nSome checks FAILED (see above).',
  ];
  return lines.join('\n');
}

/** The tour's directory under the CLI's home (`./.ebs-cdp` by default). */
export function tourDirectory(home: string): string {
  return path.join(home, 'tour');
}

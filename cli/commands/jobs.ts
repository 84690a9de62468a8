/** `ebs-cdp sync|verify|restore|prune|scrub <volume>`: start a job and follow it to its end. */
import { Command, Option } from 'commander';
import type { PruneOutput } from '../../shared/engine/prune';
import type { RestoreReport } from '../../shared/engine/restore';
import type { ScrubReport } from '../../shared/engine/scrub';
import type { SyncSummary } from '../../shared/engine/sync';
import type { VerifyReport } from '../../shared/engine/verify';
import { parseRestoreTime, parseSeq, parseVolumeId } from '../arguments';
import type { ErrorContext } from '../../shared/core/errors';
import { CliError, EXIT_CODES, NotFoundError, UsageError } from '../errors';
import type { Target } from '../target';
import { formatBlocks } from '../output';
import { requireProtected, withTarget } from './common';

/**
 * Exit 1 when a verify or a scrub found damage, even repaired: a script must hear about it. The
 * report is printed first, and under `--json` it stays stdout's one document (the error goes to stderr).
 */
export class DamageFoundError extends CliError {
  static override readonly errorName: string = 'DamageFoundError';

  constructor(message: string, hint: string, context: ErrorContext = {}) {
    super(message, { ...context, exitCode: EXIT_CODES.checkFailed, hint, resultPrinted: true });
  }
}

export function renderVerify(report: VerifyReport): string {
  const lines = [
    `verify ${report.runId} of ${report.volumeId}${report.quick ? ' (quick: dirty regions only)' : ''}: ${report.outcome}`,
    `  compared ${report.blocksScanned} blocks against restore point ${report.headSeqAtT0}; ${report.pendingBlocks} pending for the next sync`,
  ];
  if (report.outcome === 'repaired') {
    lines.push(`  mismatched ${report.mismatches} blocks (${report.mismatchedBlocks.slice(0, 10).join(', ')}${report.mismatches > 10 ? ', …' : ''})`);
    lines.push(`  repaired ${report.fixed} blocks in fix-up restore point ${report.fixupSeq ?? '?'}`);
    lines.push(`  suspect: ${report.suspectPoints.map((m) => `point ${m.seq} (${m.suspectBlocks} bad)`).join(', ') || 'none'}`);
  }
  return lines.join('\n');
}

/** How many of `items` to name before `…`. */
const LISTED_AT_MOST = 10;

export function renderScrub(report: ScrubReport): string {
  const what = report.scope === 'new' ? 'the restore points committed since the last scrub' : 'every retained restore point';
  const lines = [
    `scrub ${report.runId} of ${report.volumeId} (${what}): ${report.badVersions === 0 ? 'clean' : `found ${report.badVersions} bad stored versions`}`,
    `  read ${report.pointsRead} restore points, through point ${report.throughSeq}`,
  ];
  if (report.badVersions > 0 || report.suspectPoints.length > 0) {
    const suspects = report.suspectPoints.map((m) => `point ${m.seq} (${m.suspectBlocks} bad)`);
    lines.push(`  suspect: ${suspects.slice(0, LISTED_AT_MOST).join(', ') || 'none'}${suspects.length > LISTED_AT_MOST ? ', …' : ''}`);
  }
  if (report.prunedMeanwhile.length > 0) lines.push(`  pruned while it ran (their successors are read next time): ${report.prunedMeanwhile.join(', ')}`);
  return lines.join('\n');
}

/**
 * A sync that found the volume's lease held (the Sync machine ends `{ skipped: 'busy' }`, not
 * failed, so the schedule's alarm stays quiet): for whoever asked for this sync it is busy (exit 4).
 */
export class SyncBusyError extends CliError {
  static override readonly errorName: string = 'SyncBusyError';

  constructor(volumeId: string, holder: string | undefined, runId: string | undefined, where: string) {
    super(`no new restore point of ${volumeId}: run ${runId ?? '?'} of ${holder ?? '?'} holds the volume's lease`, {
      exitCode: EXIT_CODES.busy,
      volumeId,
      hint: `wait for that run to finish (ebs-cdp status ${volumeId}${where} shows the lease), then sync again; a scheduled sync catches up by itself`,
    });
  }
}

/** What the Sync machine ends with when it commits nothing (see infra/state-machines/sync-state-machine.ts). */
interface SyncSkipped {
  readonly skipped: 'busy' | 'unchanged';
  readonly holder?: string;
  readonly runId?: string;
}

function describeCommit(s: SyncSummary): string {
  return `restore point ${s.seq} (${s.kind}) of ${s.volumeId}: copied ${s.blocks} blocks (${formatBlocks(s.blocks)})\n  secondary ${s.secondarySnapshotId}, from primary ${s.primarySnapshotId}`;
}

function describeSkip(volumeId: string): string {
  return `no new restore point of ${volumeId}: nothing changed since the head restore point`;
}

/**
 * The restore points `seqs` of the volume, checked before a prune starts.
 * @throws NotFoundError (exit 3) naming those the chain does not have: nothing is pruned then.
 */
async function requirePoints(target: Target, volumeId: string, seqs: readonly number[]): Promise<void> {
  const present = new Set<number>();
  for await (const entry of target.context.store.readChain(volumeId)) present.add(entry.seq);
  const missing = [...new Set(seqs)].filter((seq) => !present.has(seq)).sort((a, b) => a - b);
  if (missing.length === 0) return;
  const where = target.kind === 'local' ? ' --local' : '';
  throw new NotFoundError(
    `${volumeId} has no restore point ${missing.join(', ')}${present.size === 0 ? ' (it has none yet)' : ` (it has ${[...present].sort((a, b) => a - b).join(', ')})`}; nothing was pruned`,
    `list the restore points with: ebs-cdp points ${volumeId}${where}`,
    { volumeId },
  );
}

/** The job commands. */
export function jobCommands(): Command[] {
  const sync = new Command('sync')
    .description('copy what changed on the volume since the last restore point into a new one')
    .argument('<volume>', 'the primary volume id', parseVolumeId)
    .action(async (volumeId: string, _options: unknown, command: Command) =>
      withTarget(command, async (target, output) => {
        await requireProtected(target, volumeId);
        const summary = await target.runJob<SyncSummary | SyncSkipped>('Sync', { volumeId }, output, 'sync');
        if ('skipped' in summary && summary.skipped === 'busy') throw new SyncBusyError(volumeId, summary.holder, summary.runId, target.kind === 'local' ? ' --local' : '');
        output.result(summary, (s) => ('skipped' in s ? describeSkip(volumeId) : describeCommit(s)));
      }),
    );

  const verify = new Command('verify')
    .description('compare the secondary with the primary, repair what differs, mark suspect restore points (exit 1 if damage was found)')
    .argument('<volume>', 'the primary volume id', parseVolumeId)
    .option('--quick', 'compare only the dirty regions of the last syncs')
    .action(async (volumeId: string, options: { quick?: boolean }, command: Command) =>
      withTarget(command, async (target, output) => {
        await requireProtected(target, volumeId);
        const report = await target.runJob<VerifyReport>('Verify', { volumeId, quick: options.quick === true }, output, 'verify');
        output.result(report, renderVerify);
        if (report.outcome !== 'clean') {
          throw new DamageFoundError(`verify found ${report.mismatches} bad blocks in the secondary of ${volumeId}; they are repaired now`, `see which restore points are suspect: ebs-cdp points ${volumeId}`, { volumeId });
        }
      }),
    );

  const restore = new Command('restore')
    .description('restore a point in time to a new volume (or in place)')
    .argument('<volume>', 'the primary volume id', parseVolumeId)
    .addOption(new Option('--point <seq>', 'restore point number (see ebs-cdp points)').argParser(parseSeq).conflicts('time'))
    .addOption(new Option('--time <iso>', 'the newest trusted restore point at or before this time (not in the future)').argParser((value: string) => parseRestoreTime(value)))
    .option('--in-place', 'swap the restored volume onto the instance the primary is attached to')
    .option('--allow-suspect', 'restore a suspect point anyway')
    .action(async (volumeId: string, options: { point?: number; time?: string; inPlace?: boolean; allowSuspect?: boolean }, command: Command) => {
      if ((options.point === undefined) === (options.time === undefined)) {
        throw new UsageError('give exactly one of --point or --time', `e.g. ebs-cdp restore ${volumeId} --point 3`);
      }
      await withTarget(command, async (target, output) => {
        await requireProtected(target, volumeId);
        const input: Record<string, unknown> = { volumeId };
        if (options.point !== undefined) input.seq = options.point;
        if (options.time !== undefined) input.pointInTime = options.time;
        if (options.inPlace === true) input.inPlace = true;
        if (options.allowSuspect === true) input.allowSuspect = true;
        const report = await target.runJob<RestoreReport>('Restore', input, output, 'restore');
        if (report.refused !== undefined) {
          const refusal = Object.assign(new Error(report.refused.message), { name: report.refused.error });
          throw refusal;
        }
        output.result(report, (r) =>
          [
            `restored point ${r.restorePoint?.seq ?? '?'} (${r.restorePoint?.pointInTime ?? ''}, ${r.restorePoint?.trust ?? ''}) of ${r.volumeId} to ${r.newVolumeId ?? '?'}${r.swapped ? ', swapped in place' : ''}`,
            `  ${r.mode ?? ''} restore: wrote ${r.blocksWritten} blocks (${formatBlocks(r.blocksWritten)}) of ${r.volumeBlocksAllocated} allocated`,
          ].join('\n'),
        );
      });
    });

  const prune = new Command('prune')
    .description('apply the retention policy (or prune the given restore points)')
    .argument('<volume>', 'the primary volume id', parseVolumeId)
    .option('--point <seq...>', 'prune exactly these restore points', (value: string, previous: number[] = []) => [...previous, parseSeq(value)])
    .action(async (volumeId: string, options: { point?: number[] }, command: Command) =>
      withTarget(command, async (target, output) => {
        await requireProtected(target, volumeId);
        const input: Record<string, unknown> = { volumeId };
        if (options.point !== undefined) {
          await requirePoints(target, volumeId, options.point);
          input.seqs = options.point;
        }
        const result = await target.runJob<PruneOutput>('Prune', input, output, 'prune');
        output.result(result, (r) => `pruned ${r.pruned.length === 0 ? 'nothing' : `restore points ${r.pruned.join(', ')}`}; ${r.remaining.length} remain`);
      }),
    );

  const scrub = new Command('scrub')
    .description('read the stored block versions of the retained restore points back against their digests, and mark the points holding a bad one suspect (exit 1 if any)')
    .argument('<volume>', 'the primary volume id', parseVolumeId)
    .option('--new', 'read only the restore points committed since the last scrub (the read-back)')
    .action(async (volumeId: string, options: { new?: boolean }, command: Command) =>
      withTarget(command, async (target, output) => {
        await requireProtected(target, volumeId);
        const report = await target.runJob<ScrubReport>('Scrub', { volumeId, scope: options.new === true ? 'new' : 'all' }, output, 'scrub');
        output.result(report, renderScrub);
        if (report.badVersions > 0) {
          throw new DamageFoundError(
            `scrub found ${report.badVersions} bad stored versions in the secondary of ${volumeId}; the ${report.suspectPoints.length} restore points holding them are suspect`,
            `see which restore points are suspect: ebs-cdp points ${volumeId}${target.kind === 'local' ? ' --local' : ''} (the next sync rewrites the head's)`,
            { volumeId },
          );
        }
      }),
    );
  return [sync, verify, restore, prune, scrub];
}


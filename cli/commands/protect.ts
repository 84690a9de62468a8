/** `ebs-cdp protect` / `unprotect`: register a volume with ebs-cdp, or forget it (optionally with its restore points). */
import { Command } from 'commander';
import type { JsonValue, UnprotectResult } from '../../shared/core/ports/chain-store';
import { SyncInFlightError } from '../../shared/core/ports/errors';
import { InvalidVolumeError } from '../../shared/core/ports/errors';
import type { EngineContext } from '../../shared/engine/context';
import { PURPOSE_TAG, RESTORE_POINT_PURPOSE, VOLUME_ID_TAG } from '../../shared/core/tags';
import { parsePositive, parseRetention, parseSchedule, parseVolumeId, type RetentionPolicy } from '../arguments';
import { CheckFailedError, CliError, EXIT_CODES, NotFoundError } from '../errors';
import { projectRetention, renderProjection } from '../retention-projection';
import { withTarget } from './common';

/** Syncs every 5 minutes unless told otherwise: the RPO most people ask for first. */
const DEFAULT_SCHEDULE = 'rate(5 minutes)';
/** A full verify once a week: reading both sides of every block costs (EBS-FACTS.md, prices). */
const DEFAULT_VERIFY_SCHEDULE = 'rate(7 days)';

interface ProtectOptions {
  schedule: string;
  verifySchedule: string;
  retention?: RetentionPolicy;
  secondaryRegion?: string;
  kmsKey?: string;
  /** Volumes protected with a policy like this one, for the snapshot quota check. */
  expectedVolumes: number;
}

/** The protection config as the chain store keeps it (only what was set). */
export function protectionConfig(options: ProtectOptions): Record<string, JsonValue> {
  const config: Record<string, JsonValue> = { schedule: options.schedule, verifySchedule: options.verifySchedule };
  if (options.retention !== undefined) config.retention = { ...options.retention } as Record<string, JsonValue>;
  if (options.secondaryRegion !== undefined) config.secondaryRegion = options.secondaryRegion;
  if (options.kmsKey !== undefined) config.secondaryKmsKeyId = options.kmsKey;
  return config;
}

/** The `protect` and `unprotect` commands. */
export function protectCommands(): Command[] {
  const protect = new Command('protect')
    .description('protect a volume: ebs-cdp keeps a secondary lineage of restore points for it')
    .argument('<volume>', 'the primary volume id', parseVolumeId)
    .option('--schedule <rate>', 'how often to sync (rate(5 minutes), cron(…), or 5m / 1h)', parseSchedule, DEFAULT_SCHEDULE)
    .option('--verify-schedule <rate>', 'how often to verify', parseSchedule, DEFAULT_VERIFY_SCHEDULE)
    .option('--retention <policy>', 'which restore points to keep: last=10, within=7d, tiers all=6h,hourly=3d,daily=30d,weekly=12w,monthly=12m, or a mix (kept if any keeps it)', parseRetention)
    .option('--secondary-region <region>', 'Region of the secondary lineage (default: the primary\'s)')
    .option('--kms-key <key>', 'KMS key id or ARN to encrypt the secondary lineage with')
    .option('--expected-volumes <count>', 'how many volumes you protect with a policy like this one: the snapshot quota check counts them', parsePositive, 1)
    .action(async (volumeId: string, options: ProtectOptions, command: Command) => {
      // Before anything is stored: a policy that would run the Region out of snapshots is refused.
      const projection = options.retention === undefined ? null : projectRetention(options.retention, options.schedule, options.expectedVolumes);
      await withTarget(command, async (target, output) => {
        let volumeSize: number;
        try {
          volumeSize = (await target.context.primary.volumes.describeVolume(volumeId)).size;
        } catch (error) {
          if (error instanceof InvalidVolumeError) {
            throw new NotFoundError(`volume ${volumeId} does not exist`, target.kind === 'local' ? 'list the volumes with: ebs-cdp volume list' : 'check the id and --region', { volumeId, cause: error });
          }
          throw error;
        }
        const protectedVolume = await target.context.store.protectVolume(volumeId, { volumeSize, config: protectionConfig(options) });
        const where = target.kind === 'local' ? ' --local' : '';
        output.result(
          { volumeId, volumeSize, config: protectedVolume.config, headSeq: protectedVolume.headSeq ?? null, projection },
          (r) => `${r.volumeId} (${r.volumeSize} GiB) is protected: ${JSON.stringify(r.config)}\n${renderProjection(r.projection)}\nnext: ebs-cdp sync ${r.volumeId}${where} takes the baseline`,
        );
      });
    });

  const unprotect = new Command('unprotect')
    .description('stop protecting a volume: forget its chain (its restore points stay unless --delete-restore-points)')
    .argument('<volume>', 'the primary volume id', parseVolumeId)
    .option('--delete-restore-points', 'also delete the secondary snapshots of its restore points and the last primary snapshot')
    .action(async (volumeId: string, options: UnprotectOptions, command: Command) =>
      withTarget(command, async (target, output) => {
        const where = target.kind === 'local' ? ' --local' : '';
        const deleteRestorePoints = options.deleteRestorePoints === true;
        const removal = await unprotectOrExplain(target.context, volumeId, deleteRestorePoints, where);
        const report = deleteRestorePoints ? await deleteSnapshots(target.context, removal) : keptReport(removal);
        output.result({ volumeId, ...report }, (r) => renderUnprotect(r, volumeId));
        if (report.failed.length > 0) {
          throw new CheckFailedError(
            `${volumeId} is no longer protected, but ${report.failed.length} snapshot(s) could not be deleted: ${report.failed.map((f) => f.snapshotId).join(', ')}`,
            'delete them yourself (aws ec2 delete-snapshot --snapshot-id <id>); ebs-cdp no longer tracks them',
            { volumeId });
        }
      }),
    );
  return [protect, unprotect];
}

interface UnprotectOptions {
  deleteRestorePoints?: boolean;
}

/** What `unprotect` did with the snapshots, for `--json` and the text report. */
interface UnprotectReport {
  readonly restorePoints: number;
  readonly deleted: string[];
  readonly kept: string[];
  readonly failed: Array<{ snapshotId: string; error: string }>;
}

/** The store's removal; a volume with a job in flight or not protected becomes a CLI error saying what to do. */
async function unprotectOrExplain(context: EngineContext, volumeId: string, deleteRestorePoints: boolean, where: string): Promise<UnprotectResult> {
  let removal: UnprotectResult;
  try {
    removal = await context.store.unprotectVolume(volumeId, { deleteRestorePoints, now: context.clock.now() });
  } catch (error) {
    if (error instanceof SyncInFlightError) {
      throw new CliError(error.message, {
        exitCode: EXIT_CODES.busy, volumeId, cause: error,
        hint: `run ebs-cdp sync ${volumeId}${where} once, then ebs-cdp unprotect ${volumeId}${where} again`,
      });
    }
    throw error;
  }
  if (!removal.removed) {
    throw new NotFoundError(`volume ${volumeId} is not protected by ebs-cdp`, `check the id: ebs-cdp volume list${where}`, { volumeId });
  }
  return removal;
}

/**
 * Deletes the restore points' secondary snapshots and the last primary snapshot. The chain is
 * already gone, so one failure must not stop the others: each is tried, failures are reported.
 */
async function deleteSnapshots(context: EngineContext, removal: UnprotectResult): Promise<UnprotectReport> {
  const deleted: string[] = [];
  const failed: Array<{ snapshotId: string; error: string }> = [];
  const attempt = async (snapshotId: string, remove: (id: string) => Promise<void>): Promise<void> => {
    try {
      await remove(snapshotId);
      deleted.push(snapshotId);
    } catch (error) {
      failed.push({ snapshotId, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    }
  };
  for (const snapshotId of removal.secondarySnapshotIds) await attempt(snapshotId, (id) => context.secondary.snapshots.deleteSnapshot(id));
  if (removal.basePrimarySnapshotId !== undefined) await attempt(removal.basePrimarySnapshotId, (id) => context.primary.snapshots.deleteSnapshot(id));
  return { restorePoints: removal.restorePoints, deleted, kept: [], failed };
}

function keptReport(removal: UnprotectResult): UnprotectReport {
  const kept = [...removal.secondarySnapshotIds];
  if (removal.basePrimarySnapshotId !== undefined) kept.push(removal.basePrimarySnapshotId);
  return { restorePoints: removal.restorePoints, deleted: [], kept, failed: [] };
}

function renderUnprotect(report: UnprotectReport & { volumeId: string }, volumeId: string): string {
  const lines = [`${volumeId} is no longer protected: its chain of ${report.restorePoints} restore point(s) is forgotten`];
  if (report.deleted.length > 0) lines.push(`deleted ${report.deleted.length} snapshot(s): ${report.deleted.join(', ')}`);
  if (report.kept.length > 0 || (report.deleted.length === 0 && report.failed.length === 0)) {
    lines.push(
      `kept ${report.kept.length} snapshot(s)${report.kept.length > 0 ? `: ${report.kept.join(', ')}` : ''}; each can still become a volume ` +
        '(aws ec2 create-volume --snapshot-id <id>)',
      `delete them when no longer needed: aws ec2 describe-snapshots --owner-ids self --filters Name=tag:${VOLUME_ID_TAG},Values=${volumeId} ` +
        `Name=tag:${PURPOSE_TAG},Values=${RESTORE_POINT_PURPOSE}, then aws ec2 delete-snapshot --snapshot-id <id>`,
    );
  }
  return lines.join('\n');
}

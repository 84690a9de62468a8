/** `ebs-cdp points <volume>` and `ebs-cdp status <volume>`: what is protected, and how well. */
import { Command } from 'commander';
import type { ChainEntry } from '../../shared/core/chain-entry';
import type { JobRecord } from '../../shared/core/ports/chain-store';
import { keptBy } from '../../shared/core/retention';
import { retentionConfigSchema } from '../../shared/engine/sync/schemas';
import { parseVolumeId } from '../arguments';
import { pointRows, renderPoints } from '../chain-view';
import { formatDuration } from '../output';
import { requireProtected, withTarget } from './common';

/** What `status` shows. */
export interface VolumeStatus {
  readonly volumeId: string;
  readonly volumeSize: number;
  readonly headSeq: number | null;
  readonly restorePoints: number;
  readonly suspectPoints: number;
  readonly lease: { holder: string; runId: string; expiresAt: string } | null;
  /** Blocks of the sync in flight (its dirty region log), 0 when none. */
  readonly dirtyRegionBlocks: number;
  readonly lastSync: JobRecord | null;
  readonly lastVerify: JobRecord | null;
  /** The newest scrub (full or read-back: its summary says which, and through which point it read). */
  readonly lastScrub: JobRecord | null;
  /** How far the newest restore point lags behind now (ms): the RPO as it stands. */
  readonly rpoLagMs: number | null;
  readonly config: unknown;
}

export function renderStatus(s: VolumeStatus): string {
  const job = (record: JobRecord | null): string => (record === null ? 'never' : `${record.status} at ${record.at}${record.errorName === undefined ? '' : ` (${record.errorName}: ${record.message ?? ''})`}`);
  return [
    `${s.volumeId} (${s.volumeSize} GiB)`,
    `  restore points  ${s.restorePoints} (head ${s.headSeq ?? '-'}, ${s.suspectPoints} suspect)`,
    `  RPO lag         ${s.rpoLagMs === null ? '-' : formatDuration(s.rpoLagMs)}`,
    `  lease           ${s.lease === null ? 'free' : `held by ${s.lease.runId} until ${s.lease.expiresAt}`}`,
    `  DRL             ${s.dirtyRegionBlocks} blocks in flight`,
    `  last sync       ${job(s.lastSync)}`,
    `  last verify     ${job(s.lastVerify)}`,
    `  last scrub      ${job(s.lastScrub)}${scrubDetail(s.lastScrub)}`,
  ].join('\n');
}

/** ` (all, through point 4, 0 bad versions)` from a succeeded scrub's summary; empty otherwise. */
function scrubDetail(record: JobRecord | null): string {
  const summary = record?.summary;
  if (record?.status !== 'succeeded' || typeof summary !== 'object' || summary === null || Array.isArray(summary)) return '';
  const { scope, throughSeq, badVersions } = summary as Record<string, unknown>;
  if (typeof scope !== 'string' || typeof throughSeq !== 'number' || typeof badVersions !== 'number') return '';
  return ` (${scope}, through point ${throughSeq}, ${badVersions} bad versions)`;
}

/**
 * Why each committed point survives the volume's retention policy now; `null` without a policy.
 * A malformed policy is the prune's to report (it refuses it): here the column is left empty.
 */
function retentionReasons(config: unknown, entries: readonly ChainEntry[], now: number): Map<number, string[]> | null {
  const retention = retentionConfigSchema.safeParse((config as { retention?: unknown } | undefined)?.retention);
  if (!retention.success || entries.length === 0) return null;
  return keptBy(entries, retention.data, new Date(now).toISOString());
}

/** The `points` and `status` commands. */
export function pointCommands(): Command[] {
  const points = new Command('points')
    .description('list the restore points: seq, time, kind, blocks, trust, the retention rules keeping each, snapshot ids')
    .argument('<volume>', 'the primary volume id', parseVolumeId)
    .action(async (volumeId: string, _options: unknown, command: Command) =>
      withTarget(command, async (target, output) => {
        const volume = await requireProtected(target, volumeId);
        const entries: ChainEntry[] = [];
        for await (const entry of target.context.store.readChain(volumeId)) entries.push(entry);
        output.result(pointRows(entries, retentionReasons(volume.config, entries, target.context.clock.now())), renderPoints);
      }),
    );

  const status = new Command('status')
    .description('the lease, the sync in flight, the last sync, verify and scrub, the RPO lag')
    .argument('<volume>', 'the primary volume id', parseVolumeId)
    .action(async (volumeId: string, _options: unknown, command: Command) =>
      withTarget(command, async (target, output) => {
        const volume = await requireProtected(target, volumeId);
        const store = target.context.store;
        const entries: ChainEntry[] = [];
        for await (const entry of store.readChain(volumeId)) entries.push(entry);
        const drl = await store.readDirtyRegionLog(volumeId);
        const records = await store.listJobRecords(volumeId);
        const head = entries.at(-1);
        const now = target.context.clock.now();
        const lease = volume.lease !== undefined && volume.lease.expiresAt > now ? volume.lease : undefined;
        const result: VolumeStatus = {
          volumeId,
          volumeSize: volume.volumeSize,
          headSeq: volume.headSeq ?? null,
          restorePoints: entries.length,
          suspectPoints: entries.filter((entry) => entry.trust === 'suspect').length,
          lease: lease === undefined ? null : { holder: lease.holder, runId: lease.runId, expiresAt: new Date(lease.expiresAt).toISOString() },
          dirtyRegionBlocks: drl?.deltaMap.size ?? 0,
          lastSync: records.find((record) => record.job === 'sync') ?? null,
          lastVerify: records.find((record) => record.job === 'verify') ?? null,
          lastScrub: records.find((record) => record.job === 'scrub') ?? null,
          rpoLagMs: head === undefined ? null : now - Date.parse(head.pointInTime),
          config: volume.config,
        };
        output.result(result, renderStatus);
      }),
    );
  return [points, status];
}

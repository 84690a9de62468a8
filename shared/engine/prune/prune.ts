/**
 * The Prune job: one task that applies the volume's retention policy (`shared/core/retention.ts`)
 * under the volume lease.
 *
 * ```
 * before:  … ── k-1 ── D_k ──▶ k ── D_{k+1} ──▶ k+1 ── …
 * prune k: … ── k-1 ── D_k ∪ D_{k+1} ──────────▶ k+1 ── …      (S_k deleted)
 * ```
 * For each doomed point, oldest first: the store merges `D_k` into `D_{k+1}` and removes entry
 * `k` (crash-safe, idempotent), then `S_k` is deleted. A crash between the two leaves `S_k`
 * referenced by nothing: every run ends with a sweep that deletes such restore-point snapshots,
 * so a re-run (or the next prune) collects it.
 */
import type { ChainEntry } from '../../core/chain-entry';
import { restorePointsToPrune, type RetentionPolicy } from '../../core/retention';
import type { Fence } from '../../core/ports/chain-store';
import type { EngineContext } from '../context';
import { ProtectionConfigError } from '../errors';
import { syncProtectionConfigSchema } from '../sync/schemas';
import type { PruneInput } from './schemas';
import { PURPOSE_TAG, RESTORE_POINT_PURPOSE, VOLUME_ID_TAG } from '../../core/tags';

export interface PruneOutput {
  readonly volumeId: string;
  /** Restore points pruned by this run, ascending. */
  readonly pruned: number[];
  /** Secondary snapshots deleted (the pruned points' and any a crashed prune left behind). */
  readonly deletedSnapshotIds: string[];
  /** Restore points remaining. */
  readonly remaining: number[];
}

/**
 * Prunes the restore points the volume's retention policy (`config.retention`) no longer keeps,
 * or exactly `seqs` when given. A volume without a policy keeps everything.
 *
 * @throws VolumeBusyError when a sync, verify or restore holds the lease
 * @throws RetentionError for the head, a pending entry, or an unknown seq in `seqs`
 * @throws ProtectionConfigError for a malformed retention policy
 */
export async function prune(ctx: EngineContext, input: PruneInput): Promise<PruneOutput> {
  const { volumeId, runId } = input;
  const grant = await ctx.store.acquireLease(volumeId, { holder: input.holder ?? runId, runId, ttlMs: ctx.tuning.leaseTtlMs, now: ctx.clock.now() });
  const fence: Fence = { fencingToken: grant.fencingToken };
  const volume = await ctx.store.getVolume(volumeId);
  const chain: ChainEntry[] = [];
  for await (const entry of ctx.store.readChain(volumeId)) chain.push(entry);
  const doomed = input.seqs === undefined ? policyTargets(volumeId, volume.config, chain, ctx.clock.now()) : [...new Set(input.seqs)].sort((a, b) => a - b);
  const pruned: number[] = [];
  const deleted: string[] = [];
  for (const seq of doomed) {
    const result = await ctx.store.pruneEntry(volumeId, seq, fence);
    if (result.pruned) pruned.push(seq);
    if (result.secondarySnapshotId !== undefined) {
      await ctx.secondary.snapshots.deleteSnapshot(result.secondarySnapshotId);
      deleted.push(result.secondarySnapshotId);
    }
    ctx.logger.info('restore point pruned', { seq, successorSeq: result.successorSeq, snapshotId: result.secondarySnapshotId });
  }
  deleted.push(...await sweepUnreferencedRestorePoints(ctx, volumeId, new Set(deleted)));
  const remaining: number[] = [];
  for await (const entry of ctx.store.readChain(volumeId)) remaining.push(entry.seq);
  const output: PruneOutput = { volumeId, pruned, deletedSnapshotIds: deleted, remaining };
  await ctx.store.putJobRecord(volumeId, {
    runId, job: 'prune', status: 'succeeded', at: new Date(ctx.clock.now()).toISOString(), summary: { ...output },
  });
  await ctx.store.releaseLease(volumeId, fence);
  return output;
}

/** The seqs the volume's retention policy prunes now; none without a policy. */
function policyTargets(volumeId: string, config: unknown, chain: readonly ChainEntry[], now: number): number[] {
  const parsed = syncProtectionConfigSchema.safeParse(config);
  if (!parsed.success) {
    throw new ProtectionConfigError(`volume ${volumeId}: its retention policy is malformed (${parsed.error.message}); fix it with ebs-cdp protect`, { volumeId });
  }
  const retention = parsed.data.retention;
  if (retention === undefined || chain.length === 0) return [];
  const policy: RetentionPolicy = { keepLast: retention.keepLast, keepWithinMs: retention.keepWithinMs, tiers: retention.tiers };
  return restorePointsToPrune(chain, policy, new Date(now).toISOString());
}

/**
 * Deletes this volume's completed or failed restore-point snapshots that no entry (nor the entry
 * in flight) references: what a prune that crashed after merging but before deleting left.
 * Pending ones are left alone: under the lease nobody writes one, but a crashed sync's pending
 * secondary is the next sync's to resume or discard.
 */
async function sweepUnreferencedRestorePoints(ctx: EngineContext, volumeId: string, alreadyDeleted: ReadonlySet<string>): Promise<string[]> {
  const referenced = new Set<string>();
  for await (const entry of ctx.store.readChain(volumeId, { includePending: true })) referenced.add(entry.secondarySnapshotId);
  const deleted: string[] = [];
  const owned = await ctx.secondary.lookup.findOwned([{ key: VOLUME_ID_TAG, value: volumeId }, { key: PURPOSE_TAG, value: RESTORE_POINT_PURPOSE }]);
  for (const snapshot of owned) {
    if (referenced.has(snapshot.snapshotId) || alreadyDeleted.has(snapshot.snapshotId) || snapshot.state === 'pending') continue;
    await ctx.secondary.snapshots.deleteSnapshot(snapshot.snapshotId);
    deleted.push(snapshot.snapshotId);
  }
  return deleted;
}

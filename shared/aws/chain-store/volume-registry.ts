/**
 * The `VolumeRegistry` family on the chain table: a volume's META record (config, size, head,
 * base primary snapshot, lease, in-flight entry, version, unprotect mark) and the removal of
 * everything under its partition when it is unprotected.
 *
 * ```
 *  protectVolume ──► META (put if absent)        acquire / release / break ──► META{lease} (version-conditional)
 *                                                 renew (heartbeat)        ──► META{lease.expiresAt, version+1} (token-conditional)
 * ```
 */
import { isDeepStrictEqual } from 'node:util';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { MAX_VOLUME_SIZE_GIB } from '../../core/constants';
import type { EbsCdpError } from '../../core/errors';
import type {
  BreakLeaseRequest,
  BreakLeaseResult,
  Fence,
  InFlightEntry,
  LeaseGrant,
  LeaseRequest,
  ProtectedVolume,
  ProtectRequest,
  RenewRequest,
  UnprotectRequest,
  UnprotectResult,
  VolumeRegistry,
} from '../../core/ports/chain-store';
import { META_SORT_KEY, SORT_KEY_PREFIX } from '../../core/table-keys';
import {
  ChainStoreCorruptError,
  ChainStoreInputError,
  ConcurrentUpdateError,
  SyncInFlightError,
  TooManyRestorePointsError,
  VolumeAlreadyProtectedError,
  VolumeBusyError,
  VolumeNotProtectedError,
} from '../../core/ports/errors';
import { checkFence, checkId, checkTtl } from './checks';
import { type EntryItem, entrySchema, type Key, type MetaItem, parseItem, withoutUndefined } from './items';
import { type ChainTableClient, itemKey, metaKey } from './table';

/**
 * Most snapshot ids `unprotectVolume` records in META for the caller to delete: ≈25 bytes each
 * (`snap-` + 17 hex digits, list overhead), so 12,000 take ≈300 KB of DynamoDB's 400 KB item.
 */
export const UNPROTECT_MAX_RECORDED_SNAPSHOTS = 12_000;

/** Protected volumes and their lease, on the chain table's META items. */
export class DynamoDbVolumeRegistry implements VolumeRegistry {
  private readonly table: ChainTableClient;

  constructor(table: ChainTableClient) {
    this.table = table;
  }

  async protectVolume(volumeId: string, request: ProtectRequest): Promise<ProtectedVolume> {
    checkId(volumeId, 'volumeId');
    if (!Number.isInteger(request.volumeSize) || request.volumeSize < 1 || request.volumeSize > MAX_VOLUME_SIZE_GIB) {
      throw new ChainStoreInputError(
        `volume ${volumeId}: size ${request.volumeSize} GiB is not a whole number from 1 to ${MAX_VOLUME_SIZE_GIB}`,
        { volumeId },
      );
    }
    const meta: MetaItem = {
      volumeId, volumeSize: request.volumeSize, config: { ...request.config }, fencingCounter: 0, version: 0,
    };
    try {
      await this.table.doc.send(new PutCommand({
        TableName: this.table.name,
        Item: withoutUndefined({ ...metaKey(volumeId), ...meta }),
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
      return toVolume(meta);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const existing = await this.table.readMeta(volumeId);
    if (existing.unprotecting !== undefined) {
      throw new VolumeAlreadyProtectedError(
        `volume ${volumeId} is being unprotected (started ${existing.unprotecting.at}): finish it with ` +
          `ebs-cdp unprotect ${volumeId}, then protect it again`, { volumeId });
    }
    if (existing.volumeSize === request.volumeSize && isDeepStrictEqual(existing.config, request.config)) {
      return toVolume(existing);
    }
    throw new VolumeAlreadyProtectedError(
      `volume ${volumeId} is already protected (${existing.volumeSize} GiB) with other settings: ` +
        'change its settings instead of protecting it again',
      { volumeId },
    );
  }

  async getVolume(volumeId: string): Promise<ProtectedVolume> {
    return toVolume(await this.table.readMeta(volumeId));
  }

  // ── lease ──────────────────────────────────────────────────────────────────────────────

  async acquireLease(volumeId: string, request: LeaseRequest): Promise<LeaseGrant> {
    checkId(request.runId, 'runId');
    checkTtl(request.ttlMs);
    const now = request.now ?? this.table.timer.now();
    const meta = await this.table.updateMeta(volumeId, (current) => {
      if (current.unprotecting !== undefined) throw beingUnprotected(volumeId);
      const lease = current.lease;
      const ours = lease?.runId === request.runId;
      if (lease !== undefined && !ours && lease.expiresAt > now) throw new VolumeBusyError(volumeId, lease);
      // Re-acquiring our own lease keeps its token: nobody took it over in between, or it would not be ours.
      const fencingToken = ours ? lease.fencingToken : current.fencingCounter + 1;
      return {
        ...current,
        fencingCounter: Math.max(current.fencingCounter, fencingToken),
        lease: { holder: request.holder, runId: request.runId, expiresAt: now + request.ttlMs, fencingToken },
      };
    });
    return grantOf(meta);
  }

  /**
   * One UpdateItem conditional on the fencing token, not on the version: heartbeats of a job's
   * parallel tasks never conflict with each other, and need no read. It still bumps the version,
   * so a commit that read META before the renewal re-reads it and retries (it never overwrites
   * the new expiry with the old one).
   */
  async renewLease(volumeId: string, request: RenewRequest): Promise<LeaseGrant> {
    checkTtl(request.ttlMs);
    const now = request.now ?? this.table.timer.now();
    const expiresAt = now + request.ttlMs;
    try {
      await this.table.doc.send(new UpdateCommand({
        TableName: this.table.name,
        Key: metaKey(volumeId),
        UpdateExpression: 'SET #lease.#expiresAt = :expiresAt, #version = #version + :one',
        ConditionExpression: 'attribute_exists(pk) AND #lease.#token = :token',
        ExpressionAttributeNames: { '#lease': 'lease', '#expiresAt': 'expiresAt', '#token': 'fencingToken', '#version': 'version' },
        ExpressionAttributeValues: { ':expiresAt': expiresAt, ':one': 1, ':token': request.fencingToken },
      }));
      return { fencingToken: request.fencingToken, expiresAt };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // Not ours any more (or not protected): read why, for the error's message.
    const current = await this.table.readMeta(volumeId);
    checkFence(current, request);
    throw new ConcurrentUpdateError(
      `volume ${volumeId}: renewing the lease failed although fencing token ${request.fencingToken} holds it; retry`, { volumeId });
  }

  async releaseLease(volumeId: string, fence: Fence): Promise<void> {
    // Released already, or taken over: either way it is not ours to free (breakLease leaves it).
    await this.breakLease(volumeId, { expectedFencingToken: fence.fencingToken });
  }

  async breakLease(volumeId: string, request: BreakLeaseRequest): Promise<BreakLeaseResult> {
    let broken = false;
    const meta = await this.table.updateMeta(volumeId, (current) => {
      broken = false;
      // Gone already, or another run took the volume since the lease was judged dead: leave it be.
      if (current.lease?.fencingToken !== request.expectedFencingToken) return undefined;
      broken = true;
      return { ...current, lease: undefined };
    });
    return broken ? { broken } : { broken, lease: meta.lease };
  }

  // ── unprotect ──────────────────────────────────────────────────────────────────────────

  /**
   * ```
   *  META{unprotecting, lease: none} ──► delete every other item (batches) ──► delete META
   *  commit point: jobs refused,         a crash here leaves a protected      the volume is gone
   *  snapshot ids recorded               volume a re-run finishes removing
   * ```
   * The mark clears an expired lease, so a holder still running past its expiry fails its next
   * fenced write with LeaseLostError instead of committing into a half-removed chain.
   */
  async unprotectVolume(volumeId: string, request: UnprotectRequest = {}): Promise<UnprotectResult> {
    checkId(volumeId, 'volumeId');
    const now = request.now ?? this.table.timer.now();
    const deleting = request.deleteRestorePoints === true;
    let meta: MetaItem;
    try {
      meta = await this.table.readMeta(volumeId);
    } catch (error) {
      if (error instanceof VolumeNotProtectedError) return { removed: false, restorePoints: 0, secondarySnapshotIds: [] };
      throw error;
    }
    // Read before anything is removed: a re-run whose mark recorded no ids only finds what is left.
    const secondarySnapshotIds = (await this.committedEntryItems(volumeId, meta)).map((entry) => entry.secondarySnapshotId);
    if (meta.unprotecting === undefined) {
      const refusal = unprotectRefusal(meta, now);
      if (refusal !== undefined) throw refusal;
      if (deleting && secondarySnapshotIds.length > UNPROTECT_MAX_RECORDED_SNAPSHOTS) {
        throw new TooManyRestorePointsError(
          `volume ${volumeId} has ${secondarySnapshotIds.length} restore points, more than the ${UNPROTECT_MAX_RECORDED_SNAPSHOTS} ` +
            'whose snapshots unprotect can track for deletion: prune it first (ebs-cdp prune, or a tighter --retention), ' +
            'or unprotect without deleting the restore points', { volumeId });
      }
      const headSeq = meta.headSeq;
      meta = await this.table.updateMeta(volumeId, (current) => {
        if (current.unprotecting !== undefined) return undefined; // a concurrent unprotect marked it first
        const raced = unprotectRefusal(current, now);
        if (raced !== undefined) throw raced;
        if (current.headSeq !== headSeq) {
          throw new ConcurrentUpdateError(
            `volume ${volumeId}: a restore point was committed while unprotect read the chain; run unprotect again`, { volumeId });
        }
        return {
          ...current,
          lease: undefined,
          unprotecting: {
            at: new Date(now).toISOString(),
            restorePoints: secondarySnapshotIds.length,
            secondarySnapshotIds: deleting ? secondarySnapshotIds : undefined,
            basePrimarySnapshotId: current.basePrimarySnapshotId,
          },
        };
      }, meta);
    }
    const mark = meta.unprotecting;
    if (mark === undefined) {
      throw new ChainStoreCorruptError(`volume ${volumeId}: the unprotect mark vanished while writing it; run unprotect again`, { volumeId });
    }
    const garbage: Key[] = [];
    for await (const item of this.table.queryVolumeKeys(volumeId)) {
      const sk = String(item.sk);
      if (sk !== META_SORT_KEY) garbage.push(itemKey(volumeId, sk));
    }
    await this.table.batchWrite([], garbage);
    try {
      await this.table.doc.send(new DeleteCommand({
        TableName: this.table.name,
        Key: metaKey(volumeId),
        ConditionExpression: 'version = :version',
        ExpressionAttributeValues: { ':version': meta.version },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      throw new ConcurrentUpdateError(
        `volume ${volumeId}: its record changed while unprotect removed it; run unprotect again to finish`, { volumeId, cause: error });
    }
    return {
      removed: true,
      restorePoints: mark.restorePoints,
      secondarySnapshotIds: mark.secondarySnapshotIds ?? secondarySnapshotIds,
      basePrimarySnapshotId: mark.basePrimarySnapshotId,
    };
  }

  /** Every committed entry item (seq ≤ head), ascending, without its map. */
  private async committedEntryItems(volumeId: string, meta: MetaItem): Promise<EntryItem[]> {
    const headSeq = meta.headSeq;
    if (headSeq === undefined) return [];
    const entries: EntryItem[] = [];
    for await (const item of this.table.queryPrefix(volumeId, SORT_KEY_PREFIX.entry)) {
      const entry = parseItem(entrySchema, item, volumeId);
      // An ENTRY above the head is a crashed commit's, never visible: not a restore point.
      if (entry.seq <= headSeq) entries.push(entry);
    }
    return entries;
  }
}

function beingUnprotected(volumeId: string): VolumeNotProtectedError {
  return new VolumeNotProtectedError(
    `volume ${volumeId} is being unprotected: no job may start; finish it with ebs-cdp unprotect ${volumeId} ` +
      '(then protect it again if that was a mistake)', { volumeId });
}

/** Why `unprotectVolume` must not remove the volume now, or undefined when it may. */
function unprotectRefusal(meta: MetaItem, now: number): EbsCdpError | undefined {
  const lease = meta.lease;
  if (lease !== undefined && lease.expiresAt > now) return new VolumeBusyError(meta.volumeId, lease);
  const inFlight = meta.inFlight;
  if (inFlight !== undefined) {
    return new SyncInFlightError(
      `volume ${meta.volumeId}: run ${inFlight.runId} left restore point ${inFlight.seq} in flight; run ` +
        `ebs-cdp sync ${meta.volumeId} once (it adopts or discards that snapshot), then unprotect again`,
      { volumeId: meta.volumeId, seq: inFlight.seq });
  }
  return undefined;
}

function toVolume(meta: MetaItem): ProtectedVolume {
  let inFlight: InFlightEntry | undefined;
  if (meta.inFlight !== undefined) {
    const { segments: _segments, checksum: _checksum, ...entry } = meta.inFlight;
    inFlight = entry;
  }
  return {
    volumeId: meta.volumeId,
    volumeSize: meta.volumeSize,
    config: meta.config as ProtectedVolume['config'],
    headSeq: meta.headSeq,
    basePrimarySnapshotId: meta.basePrimarySnapshotId,
    lease: meta.lease,
    inFlight,
    version: meta.version,
    unprotecting: meta.unprotecting === undefined ? undefined : true,
  };
}

function grantOf(meta: MetaItem): LeaseGrant {
  if (meta.lease === undefined) {
    throw new ChainStoreCorruptError(`volume ${meta.volumeId}: lease vanished while granting it; retry`, { volumeId: meta.volumeId });
  }
  return { fencingToken: meta.lease.fencingToken, expiresAt: meta.lease.expiresAt };
}

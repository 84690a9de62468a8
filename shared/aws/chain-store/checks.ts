/**
 * Input and state checks shared by the chain store's families: ids that become key parts, seqs
 * and segments in range, the next entry of a chain, and the lease's fence.
 */
import type { EntryKind } from '../../core/chain-entry';
import { segmentCount, volumeBlocks } from '../../core/constants';
import type { DeltaMap } from '../../core/delta-map';
import { ChainInvariantError } from '../../core/errors';
import type { Fence } from '../../core/ports/chain-store';
import { MAX_SEQ } from '../../core/table-keys';
import { ChainStoreInputError, LeaseLostError } from '../../core/ports/errors';
import type { LeaseItem, MetaItem } from './items';

/** Ids become key parts joined by `#`, so they must not hold one. */
const ID_PATTERN = /^[A-Za-z0-9._:@/+=-]{1,256}$/;

/** Run-map names become key parts; `#` would let one name's prefix cover another's. */
const MAP_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** @throws ChainStoreInputError unless `id` (named `what` in the message) can be a key part */
export function checkId(id: string, what: string): void {
  if (!ID_PATTERN.test(id)) {
    throw new ChainStoreInputError(`${what} '${id}' must be 1 to 256 letters, digits or ._:@/+=- (no '#')`);
  }
}

/** @throws ChainStoreInputError unless `name` can be a run-map key part */
export function checkMapName(name: string): void {
  if (!MAP_NAME_PATTERN.test(name)) {
    throw new ChainStoreInputError(`run map name '${name}' must be 1 to 64 letters, digits or ._- (no '#')`);
  }
}

/** @throws ChainStoreInputError unless `ttlMs` is a positive whole number of milliseconds */
export function checkTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new ChainStoreInputError(`a lease lasts a positive whole number of milliseconds; got ${ttlMs}`);
  }
}

/** @throws ChainStoreInputError unless `seq` fits a sort key (0 to `MAX_SEQ`) */
export function checkSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > MAX_SEQ) {
    throw new ChainStoreInputError(`seq ${seq} must be a whole number from 0 to ${MAX_SEQ}`, { seq });
  }
}

/** @throws ChainStoreInputError unless `segment` exists in a volume of `blocks` blocks */
export function checkSegment(segment: number, blocks: number): void {
  if (!Number.isInteger(segment) || segment < 0 || segment >= segmentCount(blocks)) {
    throw new ChainStoreInputError(
      `segment ${segment} does not exist in a volume of ${blocks} blocks (${segmentCount(blocks)} segments)`, { segment });
  }
}

/** @throws ChainInvariantError unless the delta map of entry `seq` covers exactly its volume size */
export function checkMapSize(volumeId: string, seq: number, deltaMap: DeltaMap, volumeSize: number): void {
  checkSeq(seq);
  if (deltaMap.volumeBlocks !== volumeBlocks(volumeSize)) {
    throw new ChainInvariantError(
      `volume ${volumeId}: entry ${seq} is ${volumeSize} GiB but its delta map covers ${deltaMap.volumeBlocks} blocks; ` +
        'resize the map to the entry\'s volume size', { volumeId, seq });
  }
}

/** The entry `seq` may follow META's head: the next seq, baseline first, volumes only grow. */
export function checkNextEntry(meta: MetaItem, volumeId: string, seq: number, kind: EntryKind, volumeSize: number): void {
  const expected = (meta.headSeq ?? -1) + 1;
  if (seq !== expected) {
    throw new ChainInvariantError(
      `volume ${volumeId}: the next restore point is ${expected}, not ${seq}; reread the chain and start over`,
      { volumeId, seq });
  }
  if ((meta.headSeq === undefined) !== (kind === 'baseline')) {
    throw new ChainInvariantError(
      `volume ${volumeId}: entry ${seq} is a ${kind}, but the chain's first entry, and only it, must be the baseline`,
      { volumeId, seq });
  }
  if (meta.headSeq !== undefined && volumeSize < meta.volumeSize) {
    throw new ChainInvariantError(
      `volume ${volumeId}: entry ${seq} is ${volumeSize} GiB but the volume was ${meta.volumeSize} GiB; volumes only grow`,
      { volumeId, seq });
  }
}

/** The live lease if `fence` holds it; otherwise the caller was superseded. */
export function checkFence(meta: MetaItem, fence: Fence): LeaseItem {
  const lease = meta.lease;
  if (lease === undefined || lease.fencingToken !== fence.fencingToken) {
    const holder = lease === undefined ? 'nobody holds it now' : `run ${lease.runId} of ${lease.holder} holds it now`;
    throw new LeaseLostError(
      `volume ${meta.volumeId}: this run's lease (fencing token ${fence.fencingToken}) expired or was released and ` +
        `${holder}; stop this run without committing: the next run recovers from the dirty region log`,
      { volumeId: meta.volumeId });
  }
  return lease;
}

/** `meta` itself once `fence` holds its lease: for a META update that only proves the lease is still held. */
export function checkedFence(meta: MetaItem, fence: Fence): MetaItem {
  checkFence(meta, fence);
  return meta;
}

/** What every Restore task shares: its context, its tags and names, the committed chain. */
import type { Chain } from '../../core/chain';
import type { ChainEntry } from '../../core/chain-entry';
import type { ChainStore } from '../../core/ports/chain-store';
import type { SnapshotWriter, Tag, Volumes } from '../../core/ports/snapshots';
import { PURPOSE_TAG, RUN_ID_TAG, VOLUME_ID_TAG } from '../../core/tags';
import type { EngineContext, PrimarySide, SecondarySide } from '../context';

/** Volume type of a restored volume when the primary is gone and there is nothing to copy. */
export const DEFAULT_RESTORE_VOLUME_TYPE = 'gp3';

/** The restore point a restore's snapshots and volume were made for. */
export const RESTORE_POINT_TAG = 'ebs-cdp:restore-point';

/** `purpose` tag of `P_now`: how a rerun of `RestoreBegin` finds the snapshot it already took. */
export const PURPOSE_PRIMARY_NOW = 'restore-p-now';

/** `purpose` tag of the target snapshot, and the root of its ClientToken job. */
export const PURPOSE_TARGET = 'restore-target';

/** `purpose` tag of the restored volume. */
export const PURPOSE_VOLUME = 'restore-volume';

/**
 * Name of the run map holding the restore plan `R`, per segment, so each `CopySegment` Map item
 * reads only its own segment.
 */
export const RESTORE_PLAN_MAP = 'restore-plan';

/**
 * The engine context as the Restore job needs it. Beyond the sync's ports, a delta restore writes
 * on the primary side (the target's parent `P_now` lives there), and a full restore creates its
 * volume where `S_k` lives: `secondary.volumes`, or the primary's EC2 when both sides share a
 * Region (the local cloud, a same-Region deployment). A cross-Region full restore would first
 * have to copy `S_k` into the primary's Region: not done here.
 */
export interface RestoreContext extends Pick<EngineContext, 'clock' | 'logger' | 'tuning'> {
  readonly store: ChainStore;
  readonly primary: PrimarySide & { readonly writer: SnapshotWriter };
  readonly secondary: SecondarySide & { readonly volumes?: Volumes };
}

export async function readCommittedChain(store: ChainStore, volumeId: string, toSeq?: number): Promise<Chain> {
  const chain: ChainEntry[] = [];
  for await (const entry of store.readChain(volumeId, { toSeq })) chain.push(entry);
  return chain;
}

export function restoreTags(runId: string, seq: number, volumeId: string, purpose: string): Tag[] {
  return [
    // The Sync job's keys: its sweep of primary snapshots matches purpose `sync` only, so it never
    // deletes a restore's P_now, and a rerun finds what an earlier attempt made by run and purpose.
    { key: VOLUME_ID_TAG, value: volumeId },
    { key: RUN_ID_TAG, value: runId },
    { key: PURPOSE_TAG, value: purpose },
    { key: RESTORE_POINT_TAG, value: String(seq) },
  ];
}

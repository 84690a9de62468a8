/**
 * The EBS direct APIs' default quotas per account and Region (EBS-FACTS.md, Quotas): facts the
 * rate limiters, the engine's tuning and the state machines' fan-out are all derived from.
 */

/** The EBS direct APIs, by their command names. */
export type EbsApi =
  | 'GetSnapshotBlock'
  | 'PutSnapshotBlock'
  | 'ListSnapshotBlocks'
  | 'ListChangedBlocks'
  | 'StartSnapshot'
  | 'CompleteSnapshot';

/** AWS's default account quotas per Region, requests per second (EBS-FACTS.md). */
export const DEFAULT_ACCOUNT_RATES: Readonly<Record<EbsApi, number>> = {
  GetSnapshotBlock: 1_000,
  PutSnapshotBlock: 1_000,
  ListSnapshotBlocks: 50,
  ListChangedBlocks: 50,
  StartSnapshot: 10,
  CompleteSnapshot: 10,
};

/** Per-snapshot quota of GetSnapshotBlock and PutSnapshotBlock (EBS-FACTS.md). */
export const SNAPSHOT_BLOCK_RATE = 1_000;

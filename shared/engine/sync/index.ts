/**
 * The Sync job's steps (ARCHITECTURE.md, "Sync"; claims 5–6 for the DRL), one plain async
 * function per Task state, each idempotent, one file per step (`begin.ts`, `recovery.ts`,
 * `plan.ts`, `commit.ts`); the shared tasks are in `../tasks/`:
 *
 * ```
 *  SyncBegin ─► SnapshotStatus(P_now) ⟲ ─► SyncPlan ─► Map CopySegment ─► CompleteSnapshot ─► SnapshotStatus(S) ⟲ ─► SyncCommit
 *      │ lease; a live DRL → recover                └ DRL persisted, then StartSnapshot(parent S_head)
 *  any failure ─► JobFailed (records it, releases the lease; the DRL stays for the next run)
 * ```
 *
 * Recovery of a crashed run (a DRL of another run is live when `SyncBegin` takes the lease):
 * - its secondary snapshot is still `pending`: resume — `SyncPlan` returns the DRL's plan and the
 *   copy runs again into the same snapshot (re-putting a block overwrites it);
 * - it `completed` but was never committed: compare only the DRL's blocks of `P_seq` and `S_seq`
 *   (scan only dirty regions) and commit it when equal, else delete it;
 * - it is missing, failed, or was never started: discard it and clear the DRL.
 * After adopting or discarding, the run goes on as a normal sync with a fresh `P_now`:
 * `changes(P_head → P_now)` covers everything the crashed run meant to copy, so nothing is lost.
 */
export { syncBegin, syncBeginTask } from './begin';
export { syncCommit } from './commit';
export type { RecoveryOutcome, SyncBeginOutput, SyncBusyOutput, SyncPlanOutput, SyncSummary } from './outputs';
export { syncPlan } from './plan';

/**
 * The Restore job (claim 12): one exported function per Task state, plain JSON in and out; one
 * file per step (`begin.ts`, `plan.ts`, `copy.ts`, `volume.ts` for create volume and swap,
 * `report.ts`), what they share in `context.ts`.
 *
 * ```
 *  RestoreBegin ─┬─ refusal (nothing changed) ─► the execution fails with its name and message
 *                ├─ delta: lease, P_now ─► SnapshotStatus(P_now) ⟲ ─┐
 *                └─ full (lineage gone) ──────────────────────────┴─► RestorePlan (R persisted, target started, lease released)
 *      ┌─────────────────────────────────────────────────────────────────┘
 *      ├─ delta: Map restoreCopySegment(S_k → target) ─► restoreCompleteTarget ─► SnapshotStatus(target) ⟲ ─┐
 *      └─ full ───────────────────────────────────────────────────────────────────────────────────────────┴─►
 *  RestoreCreateVolume ⟲ IN_PROGRESS ─► RestoreSwap (a no-op unless inPlace) ─► RestoreReport
 * ```
 *
 * Delta restore: `R = D_{k+1} ∪ … ∪ D_head ∪ changes(P_head → P_now)`; every block of `R` is read
 * from `S_k` (zeros if unlisted or beyond its size) into a new snapshot whose parent is `P_now`,
 * so the cost grows with what changed since `k`, not with the volume size. Full restore (the
 * primary volume or its base snapshot `P_head` is gone): the volume is created from `S_k`.
 *
 * Lease: a restore only reads the chain, but the present delta map needs `P_head`, which a
 * committing sync deletes, and the copy needs `S_k`, which a prune deletes. The lease is held from
 * `RestoreBegin` (before `P_now` is taken) until `RestorePlan` has persisted `R` and started the
 * target, so neither can move under the plan; it is released before the copy, so syncs go on
 * while blocks are written. A prune of `S_k` during the copy then makes `CopySegment` fail
 * loudly (SnapshotNotFoundError), never restore a wrong image. Holding the lease through the copy
 * would stall protection of the primary for the whole restore.
 */
export { restoreBegin, type RestoreBeginOutput } from './begin';
export { DEFAULT_RESTORE_VOLUME_TYPE, RESTORE_PLAN_MAP, RESTORE_POINT_TAG, type RestoreContext } from './context';
export { restoreCompleteTarget, restoreCopySegment } from './copy';
export { restorePlanStep, type RestorePlanOutput } from './plan';
export { refusalOf, restoreReport, type RestoreReport } from './report';
export { restoreCreateVolume, restoreSwap, type RestoreCreateVolumeOutput, type RestoreSwapOutput } from './volume';

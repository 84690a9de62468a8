/**
 * The Verify job (claims 1–11; ARCHITECTURE.md "Verify"): one exported function per task of the
 * state machine, each taking the engine context and a small JSON input, each idempotent; one
 * file per step (`begin-plan.ts`, `scan-segment.ts` over `scan.ts`, `finish-scan.ts`,
 * `report.ts`), the run's per-segment maps in `maps.ts`. The
 * chain algebra (PIT map, `C`, `SD`, `C'`, suspect walk) is in `shared/core`; this module does
 * the I/O around it.
 *
 * ```
 * VerifyBegin ─► wait(P0) ─► VerifyPlan ─► Map(VerifyScanSegment) ─► VerifyFinishScan ─┬─ clean ──► VerifyReport
 *   T0: P0        completed   D0, PIT map    C per segment            T1: SD, C', walk  └─ repair ─► fix-up (sync
 *                                                                     marks (lease)          pipeline, extraFromRun)
 *                                                                                             ─► VerifyReport
 * ├─────────────────────── scan interval (T0, T1]: syncs keep committing ───────────┤
 * ```
 *
 * Quick verify (`quick: true`, claims 5–6 and 17–18) limits the scan to the dirty regions:
 * the delta map of the head restore point (the blocks the last sync wrote into the secondary,
 * i.e. the newest and so the least verified copies), united with the live dirty region log when a
 * sync crashed (the regions modified but not yet committed, the claims' literal reading). In this
 * snapshot model the DRL's blocks are nearly always pending in `D0` (they changed since `P_head`),
 * so what a quick verify reads in practice is `D_head − D0`; the crashed sync's own snapshot is
 * checked against the DRL by the sync's recovery (adopt or discard), not here.
 */
export { verifyBegin, verifyPlan } from './begin-plan';
export { verifyFinishScan } from './finish-scan';
export type { VerifyBeginOutput, VerifyFinishScanOutput, VerifyPlanOutput, VerifyReport, VerifyScanSegmentOutput } from './outputs';
export { verifyReport } from './report';
export { verifyScanSegment } from './scan-segment';

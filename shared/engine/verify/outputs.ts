/** What the Verify job's tasks answer (plain JSON, the next state's input). */
import type { SuspectMark } from '../../core/verify-plan';

/** `VerifyBegin`'s answer: wait for `primarySnapshotId` (side `primary`) before the plan. */
export interface VerifyBeginOutput {
  readonly volumeId: string;
  readonly runId: string;
  readonly quick: boolean;
  /** `P0`. */
  readonly primarySnapshotId: string;
  readonly t0: string;
  /** The head restore point at `T0`, whose secondary snapshot is compared. */
  readonly headSeq: number;
}

/** `VerifyPlan`'s answer: the Map state's items. */
export interface VerifyPlanOutput {
  readonly volumeId: string;
  readonly runId: string;
  readonly segments: number[];
  /** `|D0|`: blocks pending at `T0`, not compared. */
  readonly pendingBlocks: number;
}

/** One Map item's answer. */
export interface VerifyScanSegmentOutput {
  readonly segment: number;
  /** Blocks compared. */
  readonly scanned: number;
  /** Blocks whose two versions differed. */
  readonly mismatches: number;
}

/** `VerifyFinishScan`'s answer: `repair` sends the state machine into the fix-up. */
export interface VerifyFinishScanOutput {
  readonly volumeId: string;
  readonly runId: string;
  readonly outcome: 'clean' | 'repair';
  /** `|C|`. */
  readonly mismatches: number;
  /** `|C'|`: what the fix-up copies besides `HC`. */
  readonly revised: number;
  /** `|C ∩ SD|`: bad blocks a sync already rewrote during the scan (not copied again). */
  readonly rewrittenDuringScan: number;
  /** Restore points marked suspect, ascending seq, with their bad-block counts. */
  readonly suspectPoints: SuspectMark[];
  /** Blocks bad back to the baseline that no entry wrote: damage outside the method's model. */
  readonly residual: number;
  readonly t1: string;
  /** When `repair`: the lease this run holds, for the fix-up to present (it stays held so no sync commits before the fix-up). */
  readonly fencingToken?: number;
}

/** The final result of a verify run. */
export interface VerifyReport {
  readonly volumeId: string;
  readonly runId: string;
  readonly quick: boolean;
  readonly outcome: 'clean' | 'repaired';
  readonly t0: string;
  readonly t1: string;
  readonly headSeqAtT0: number;
  /** Blocks compared across all segments. */
  readonly blocksScanned: number;
  /** `|D0|`: pending at `T0`, left to the next sync. */
  readonly pendingBlocks: number;
  readonly mismatches: number;
  readonly rewrittenDuringScan: number;
  /** Blocks the fix-up repaired (`|C'|`). */
  readonly fixed: number;
  readonly fixupSeq?: number;
  readonly suspectPoints: SuspectMark[];
  readonly residual: number;
  /** The first mismatched block indexes, ascending. */
  readonly mismatchedBlocks: number[];
}

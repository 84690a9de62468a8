/** What the Scrub job's tasks answer (plain JSON, the next state's input). */
import type { SuspectMark } from '../../core/verify-plan';
import type { ScrubScope } from './schemas';

/** One Map item: restore point `seq`, segment `segment`. */
export interface ScrubItem {
  readonly seq: number;
  readonly segment: number;
}

/** `ScrubBegin`'s answer: the Map's items and what `ScrubFinish` needs. */
export interface ScrubBeginOutput {
  readonly volumeId: string;
  readonly runId: string;
  readonly scope: ScrubScope;
  /** The head seq when the scrub began: a later `new` scrub starts after it. */
  readonly throughSeq: number;
  /** Restore points read, ascending. */
  readonly seqs: number[];
  readonly items: ScrubItem[];
}

/** `ScrubSegment`'s answer. */
export interface ScrubSegmentOutput {
  readonly seq: number;
  readonly segment: number;
  /** Stored versions read and compared with their manifest digest. */
  readonly read: number;
  /** Versions found bad: digest mismatch, unreadable, or a structural difference. */
  readonly bad: number;
  /** Blocks `ListChangedBlocks(S_prev, S_seq)` listed that `D_seq` lacks, or the reverse. */
  readonly structural: number;
  /** Versions without a manifest digest (entries committed before manifests existed): not judged. */
  readonly unchecked: number;
  /** Set when the point was pruned before its item ran: nothing read. */
  readonly skipped?: 'pruned';
}

/** `ScrubFinish`'s answer: the job's output. */
export interface ScrubReport {
  readonly volumeId: string;
  readonly runId: string;
  readonly scope: ScrubScope;
  readonly throughSeq: number;
  readonly pointsRead: number;
  /** Bad versions recorded by this scrub (new or already known). */
  readonly badVersions: number;
  /** The restore points whose images hold one of them, with their bad-block counts. */
  readonly suspectPoints: SuspectMark[];
  /** Points pruned while the scrub ran: what it found in them is dropped (the next scrub reads their successor). */
  readonly prunedMeanwhile: number[];
}

/**
 * The Scrub job (ARCHITECTURE.md "Verify": secondary scrub and structural check): every stored
 * version a retained restore point wrote (`scope: 'all'`), or only those of the points committed
 * since the last scrub (`scope: 'new'`, the read-back of new entries), read back in the
 * secondary's Region and compared with its digest-manifest digest; `ListChangedBlocks(S_prev,
 * S_n)` must list exactly `D_n`. What it finds is recorded as bad versions.
 *
 * ```
 *  ScrubBegin ─► Map(ScrubSegment: one point, one segment) ─► ScrubFinish (lease: record bad versions, job record)
 * ```
 */
export { SCRUB_JOB, scrubBegin } from './begin';
export { scrubFinish } from './finish';
export type { ScrubBeginOutput, ScrubItem, ScrubReport, ScrubSegmentOutput } from './outputs';
export { scrubSegment } from './segment';
export { scrubBeginInputSchema, scrubFinishInputSchema, scrubScopeSchema, scrubSegmentInputSchema, type ScrubScope } from './schemas';

/**
 * The tasks every job shares: SnapshotStatus (every Wait/Choice loop), the sync's CopySegment and
 * CompleteSnapshot, JobFailed (every Catch), the block copy and completion they and the restore's
 * copy run on, and the present delta map `changes(P_head → P_now)`.
 */
export { checkLease, LeaseHeartbeat, renewFence } from './lease';
export { completeSnapshot, type CompleteSnapshotOutput } from './complete-snapshot';
export { completeSnapshotFromDigests, copySegmentBlocks, type CompleteFromDigestsRequest, type CompletePorts, type CopyPorts, type CopySegmentRequest, type CopySegmentResult } from './copy-blocks';
export { copySegment, type CopySegmentOutput } from './copy-segment';
export { causeMessage, jobFailed, type JobFailedOutput } from './job-failed';
export { presentDeltaMap, type PresentDeltaMap, type PresentDeltaMapOptions } from './present-delta-map';
export { snapshotStatus, type SnapshotStatusOutput } from './snapshot-status';

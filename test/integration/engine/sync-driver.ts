/**
 * The Sync driver moved to `local/drivers` (one driver per job, shared by tests and benches);
 * this path stays for suites written against it.
 */
export { driveSync, nextRunId, SYNC_STEPS, type SyncDriveOptions as DriveOptions, type SyncRun as DriveResult, type SyncStep } from '../../../local/drivers';

/**
 * The local job drivers: each runs one job's engine steps in its state machine's order, in
 * process, for the tests and the benchmarks (the CLI runs the machines themselves). The order of
 * a job's steps exists in its state machine and here, nowhere else.
 *
 * | driver         | machine                                        |
 * |----------------|------------------------------------------------|
 * | `driveSync`    | `infra/state-machines/sync-pipeline.ts`        |
 * | `driveVerify`  | `infra/state-machines/verify-state-machine.ts` |
 * | `driveRestore` | `infra/state-machines/restore-state-machine.ts`|
 * | `drivePrune`   | `infra/state-machines/prune-state-machine.ts`  |
 * | `driveScrub`   | the Scrub machine (to come in `infra/`)         |
 */
export { InjectedCrashError, SyncLoopError } from './errors';
export { DRIVER_MAX_POLLS, DRIVER_POLL_INTERVAL_MS, mapItems, nextRunId, type DriveOptions, type JobPhases, type StepCrash } from './job';
export { drivePrune, PRUNE_STEPS, type PruneDriveOptions, type PruneRun, type PruneStep } from './prune';
export { driveRestore, RESTORE_STEPS, type CopiedSegments, type RestoreDriveOptions, type RestoreRun, type RestoreStep } from './restore';
export { driveSync, SYNC_STEPS, type SyncDriveOptions, type SyncPass, type SyncRun, type SyncStep } from './sync';
export { driveScrub, SCRUB_STEPS, type ScrubDriveOptions, type ScrubRun, type ScrubStep } from './scrub';
export { driveVerify, VERIFY_STEPS, type VerifyDriveOptions, type VerifyRun, type VerifyStep } from './verify';

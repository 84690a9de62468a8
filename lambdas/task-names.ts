/**
 * The names of the state-machine tasks: one engine function = one Lambda handler = one Task
 * state. They are stable API (Step Functions state names, log keys, the local runner's
 * overrides): written once here, read everywhere else.
 */
export const TASK_NAMES = [
  'SyncBegin',
  'SnapshotStatus',
  'SyncPlan',
  'CopySegment',
  'CompleteSnapshot',
  'SyncCommit',
  'JobFailed',
  'VerifyBegin',
  'VerifyPlan',
  'VerifyScanSegment',
  'VerifyFinishScan',
  'VerifyReport',
  'RestoreBegin',
  'RestorePlan',
  'RestoreCreateVolume',
  'RestoreSwap',
  'RestoreReport',
  'Prune',
  'ScrubBegin',
  'ScrubSegment',
  'ScrubFinish',
] as const;

export type TaskName = (typeof TASK_NAMES)[number];

/** `SyncBegin` → `sync-begin`: the handler's file name (kebab-case) and the function's id stem. */
export function taskFileName(taskName: TaskName): string {
  return taskName.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
}

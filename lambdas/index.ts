/**
 * The task registry: for every task name, the handler module's path (what CDK bundles) and its
 * input schema, and the task itself (what the local runner calls in process). The CDK
 * stack and the runner both read this, so a task name is written once (`task-names.ts`).
 */
import * as path from 'node:path';
import type { z } from 'zod';
import type { EngineTask } from './engine-task';
import * as syncBegin from './sync-begin';
import * as snapshotStatus from './snapshot-status';
import * as syncPlan from './sync-plan';
import * as copySegment from './copy-segment';
import * as completeSnapshot from './complete-snapshot';
import * as syncCommit from './sync-commit';
import * as jobFailed from './job-failed';
import * as verifyBegin from './verify-begin';
import * as verifyPlan from './verify-plan';
import * as verifyScanSegment from './verify-scan-segment';
import * as verifyFinishScan from './verify-finish-scan';
import * as verifyReport from './verify-report';
import * as restoreBegin from './restore-begin';
import * as restorePlan from './restore-plan';
import * as restoreCreateVolume from './restore-create-volume';
import * as restoreSwap from './restore-swap';
import * as restoreReport from './restore-report';
import * as prune from './prune';
import * as scrubBegin from './scrub-begin';
import * as scrubSegment from './scrub-segment';
import * as scrubFinish from './scrub-finish';
import { TASK_NAMES, taskFileName, type TaskName } from './task-names';

export { TASK_NAMES, type TaskName } from './task-names';

/** What a handler module exports. */
export interface TaskModule {
  readonly task: EngineTask;
}

export interface TaskEntry {
  readonly taskName: TaskName;
  /** Path of the handler module from the repository root (`lambdas/sync-begin.ts`). */
  readonly entry: string;
  /** The handler module's task: what the local runner wraps in process. */
  readonly task: EngineTask;
}

/** The repository root, which `entry` is relative to. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

const MODULES: Readonly<Record<TaskName, TaskModule>> = {
  SyncBegin: syncBegin,
  SnapshotStatus: snapshotStatus,
  SyncPlan: syncPlan,
  CopySegment: copySegment,
  CompleteSnapshot: completeSnapshot,
  SyncCommit: syncCommit,
  JobFailed: jobFailed,
  VerifyBegin: verifyBegin,
  VerifyPlan: verifyPlan,
  VerifyScanSegment: verifyScanSegment,
  VerifyFinishScan: verifyFinishScan,
  VerifyReport: verifyReport,
  RestoreBegin: restoreBegin,
  RestorePlan: restorePlan,
  RestoreCreateVolume: restoreCreateVolume,
  RestoreSwap: restoreSwap,
  RestoreReport: restoreReport,
  Prune: prune,
  ScrubBegin: scrubBegin,
  ScrubSegment: scrubSegment,
  ScrubFinish: scrubFinish,
};

/** Every task, by name. */
export const TASKS: Readonly<Record<TaskName, TaskEntry>> = Object.fromEntries(
  TASK_NAMES.map((taskName) => [taskName, { taskName, entry: `lambdas/${taskFileName(taskName)}.ts`, task: MODULES[taskName].task }]),
) as Record<TaskName, TaskEntry>;

/** The input schema of a task. */
export function taskSchema(taskName: TaskName): z.ZodType {
  return TASKS[taskName].task.schema;
}

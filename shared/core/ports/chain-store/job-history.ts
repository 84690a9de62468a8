/** The `JobHistory` family of the chain store: the outcome of every job run, for `status` and the console. */
import type { JsonValue } from './json-value';

/** The outcome of one job run, for `status` and the console. */
export interface JobRecord {
  readonly runId: string;
  readonly job: 'sync' | 'verify' | 'restore' | 'prune' | 'scrub';
  readonly status: 'succeeded' | 'failed';
  /** ISO 8601. */
  readonly at: string;
  /** The typed error's name when failed (what Step Functions matched on). */
  readonly errorName?: string;
  readonly message?: string;
  readonly summary?: JsonValue;
}

/** The job records of a protected volume: one per run, kept until the volume is unprotected. */
export interface JobHistory {
  /** Records the outcome of a job run (replaces an earlier record of the same run). */
  putJobRecord(volumeId: string, record: JobRecord): Promise<void>;

  /** The volume's job records, newest first. */
  listJobRecords(volumeId: string): Promise<JobRecord[]>;
}

/**
 * How the CLI runs a job (Sync, Verify, Restore, Prune): as an execution of the stack's state
 * machine, started and followed through Step Functions, on AWS and on the local cloud alike (see
 * `aws-jobs.ts`; locally, the local cloud's Step Functions endpoint runs the synthesized
 * definitions). Never a direct call of the engine, so what the CLI shows locally is what AWS does.
 *
 * This module keeps the job-failed error under its old import path.
 */
export { JobFailedError } from './aws-jobs';

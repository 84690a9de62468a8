/**
 * The jobs, each one state machine: written once here and read by the stack, the local runner,
 * the local Step Functions endpoint and the CLI. No CDK import: the CLI and the local endpoint
 * read this at startup, and aws-cdk-lib takes seconds to load.
 */
export const JOB_NAMES = ['Sync', 'Verify', 'Restore', 'Prune', 'Scrub'] as const;

/** Which job a machine runs; JobFailed records it (in lower case) with the failure. */
export type JobName = (typeof JOB_NAMES)[number];

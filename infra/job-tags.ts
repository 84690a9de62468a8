/**
 * The tags the stack puts on each job state machine, so the CLI finds the deployed machines (and
 * the chain table they work on) with Step Functions calls alone, without the user pasting ARNs.
 * CloudFormation names the machines itself (`JobsSync3F29567E-…`), so their names are no contract;
 * these tags are. No CDK import here: the CLI reads these keys at startup.
 */

/** `Sync` | `Verify` | `Restore` | `Prune` | `Scrub` (`job-names.ts`): which job this machine runs. */
export const JOB_TAG_KEY = 'ebs-cdp:job';

/** The CloudFormation stack the machine belongs to: tells two deployments in one Region apart. */
export const STACK_TAG_KEY = 'ebs-cdp:stack';

/** The physical name of the chain table the machine's tasks read and write. */
export const CHAIN_TABLE_TAG_KEY = 'ebs-cdp:chain-table';

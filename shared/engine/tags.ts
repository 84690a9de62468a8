/**
 * The tags ebs-cdp puts on the snapshots it creates: how a re-run finds what an earlier attempt
 * created, and how a sweep tells a job's temporary snapshots from restore points. One module for
 * every job, so that sync, verify and restore cannot drift apart on a key.
 */
/** The protected volume a snapshot belongs to. */
export const VOLUME_ID_TAG = 'ebs-cdp:volume-id';
/** The run (execution name) that created it: a re-run of SyncBegin finds its `P_now` by it. */
export const RUN_ID_TAG = 'ebs-cdp:run-id';
/**
 * What a snapshot is for. Primary and secondary may share an account and Region, so the sweep
 * after a commit must tell the Sync job's primary snapshots from restore points by this tag.
 */
export const PURPOSE_TAG = 'ebs-cdp:purpose';
/** The restore point a secondary snapshot holds. */
export const SEQ_TAG = 'ebs-cdp:seq';
/** The entry kind (baseline, sync, fixup) of a secondary snapshot. */
export const KIND_TAG = 'ebs-cdp:kind';
/** Tag on a verify's `P0` naming the run that took it: a rerun of VerifyBegin finds it instead of taking another. */
export const VERIFY_RUN_TAG = 'ebs-cdp:verify-run';

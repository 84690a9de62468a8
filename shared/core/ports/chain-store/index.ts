/**
 * The `ChainStore` port: where the engine keeps what it knows about a protected volume. It is
 * the union of one port per item family, so a caller may depend on just the family it uses:
 *
 * | port             | holds                                                                       |
 * |------------------|-----------------------------------------------------------------------------|
 * | `VolumeRegistry` | protected volumes (config, size, head), the volume lease, unprotecting      |
 * | `DeltaMapChain`  | chain entries with their delta maps, the dirty region log, bad versions, pruning |
 * | `RunState`       | a run's working state: verify runs, compare maps, block digests, run maps   |
 * | `JobHistory`     | the outcome of every job run                                                |
 *
 * `shared/aws/chain-store/` implements them on one DynamoDB table; tests may implement them in
 * memory.
 *
 * Contract every implementation keeps:
 * - A crash between any two writes leaves either the old state or the new one visible, never a
 *   mix; repeating the interrupted call converges to the new state (every call is idempotent).
 * - Every chain mutation (`commitEntry`, `appendFixup`, `recordBadVersions`, `pruneEntry`, the DRL
 *   writes) carries the fencing token of the volume lease and fails with `LeaseLostError` once
 *   another run took the lease over, so two jobs on one volume never both commit.
 */
import type { DeltaMapChain } from './delta-map-chain';
import type { JobHistory } from './job-history';
import type { RunState } from './run-state';
import type { VolumeRegistry } from './volume-registry';

export type * from './delta-map-chain';
export type * from './job-history';
export type * from './json-value';
export type * from './run-state';
export type * from './volume-registry';

/** Every family of the chain store: what the engine context hands to the jobs. */
export interface ChainStore extends VolumeRegistry, DeltaMapChain, RunState, JobHistory {}

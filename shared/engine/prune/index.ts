/** The Prune job (`prune.ts`): one task applying the volume's retention policy under the lease. */
export { prune, type PruneOutput } from './prune';

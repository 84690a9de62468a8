/**
 * The key a sync's copy persists its digests under: the run and the entry it writes. One
 * execution may commit two entries (a resumed one, then its own: the SyncRecovered loop), and
 * each entry's digests are its digest manifest, so they must not share a key. A restore's copy,
 * which commits no entry, keys them by its run alone.
 */
export function entryDigestKey(runId: string, seq: number): string {
  return `${runId}+${seq}`;
}

/**
 * The chain table's key names and the formats of its sort keys (ARCHITECTURE.md, "Data"). Pure
 * so that the CDK table, the local DynamoDB and Dispatch's direct META update name the same
 * attributes and keys as the chain store's adapter without importing it.
 *
 * Numbers inside keys are zero-padded, so that the lexical order DynamoDB sorts by is numeric
 * order: a Query over a prefix returns entries by seq, shards by segment, digest chunks by chunk.
 */

/** Key attribute names; the CDK table and `local/dynamodb.ts` create exactly these (both S). */
export const CHAIN_TABLE_KEY = { partitionKey: 'pk', sortKey: 'sk' } as const;

/** Every item of a protected volume has `pk = VOL#<volumeId>`. */
export const VOLUME_PARTITION_PREFIX = 'VOL#';

/** The sort key of a volume's META record (config, head, lease, in-flight entry, version). */
export const META_SORT_KEY = 'META';

/** The sort-key prefix of each item family under a volume's partition (besides `META`). */
export const SORT_KEY_PREFIX = {
  /** `ENTRY#<seq>`: a committed chain entry without its delta map. */
  entry: 'ENTRY#',
  /** `MAP#<seq>#<segment>[#g<n>]`: one delta-map shard of an entry. */
  deltaMap: 'MAP#',
  /** `DRL#<segment>`: one dirty-region-log shard of the entry in flight. */
  dirtyRegion: 'DRL#',
  /** `RUN#<runId>`: a verify run. */
  verifyRun: 'RUN#',
  /** `CMP#<runId>#<segment>`: one shard of a verify run's compare map (or a derived verify map). */
  compare: 'CMP#',
  /** `DIG#<runId>#<segment>#<chunk>`: block digests a run wrote to one segment. */
  digest: 'DIG#',
  /** `RMAP#<runId>#<name>#<segment>`: one segment of a run's named map. */
  runMap: 'RMAP#',
  /** `JOB#<runId>`: the outcome of a job run. */
  job: 'JOB#',
  /** `BAD#<writerSeq>#<segment>`: the bad versions entry `writerSeq` wrote in one segment. */
  badVersion: 'BAD#',
} as const;

/** Seqs are zero-padded to 10 digits: that outlasts any chain. */
export const SEQ_DIGITS = 10;

/** The largest seq a key can hold. */
export const MAX_SEQ = 10 ** SEQ_DIGITS - 1;

/** A 65,536 GiB volume has 2,048 segments: 4 digits keep shard keys in numeric order. */
export const SEGMENT_DIGITS = 4;

/** A segment has at most 65,536 blocks, so at most 7 digest chunks: 3 digits keep them in order. */
export const DIGEST_CHUNK_DIGITS = 3;

/** `value` zero-padded to `digits`, so that key order is numeric order. */
export function padKeyNumber(value: number, digits: number): string {
  return String(value).padStart(digits, '0');
}

/** The partition key of every item of `volumeId`. */
export function volumePk(volumeId: string): string {
  return `${VOLUME_PARTITION_PREFIX}${volumeId}`;
}

/** The sort key of chain entry `seq`. */
export function entrySk(seq: number): string {
  return `${SORT_KEY_PREFIX.entry}${padKeyNumber(seq, SEQ_DIGITS)}`;
}

/** The prefix of every delta-map shard of entry `seq`, whatever its generation. */
export function mapSkPrefix(seq: number): string {
  return `${SORT_KEY_PREFIX.deltaMap}${padKeyNumber(seq, SEQ_DIGITS)}#`;
}

/**
 * The sort key of one delta-map shard. Generation 0 (absent) is the key every commit writes; a
 * prune's merge writes generation n under new keys so that the entry's old shards stay intact
 * until the entry points at the new ones.
 */
export function mapSk(seq: number, segment: number, generation?: number): string {
  const base = `${mapSkPrefix(seq)}${padKeyNumber(segment, SEGMENT_DIGITS)}`;
  return generation === undefined ? base : `${base}#g${generation}`;
}

/** The sort key of one dirty-region-log shard. */
export function drlSk(segment: number): string {
  return `${SORT_KEY_PREFIX.dirtyRegion}${padKeyNumber(segment, SEGMENT_DIGITS)}`;
}

/** The sort key of a verify run's record. */
export function runSk(runId: string): string {
  return `${SORT_KEY_PREFIX.verifyRun}${runId}`;
}

/** The prefix of every compare shard of `runId`. */
export function cmpSkPrefix(runId: string): string {
  return `${SORT_KEY_PREFIX.compare}${runId}#`;
}

/** The sort key of one compare shard. */
export function cmpSk(runId: string, segment: number): string {
  return `${cmpSkPrefix(runId)}${padKeyNumber(segment, SEGMENT_DIGITS)}`;
}

/** The prefix of the digest chunks of `runId`: all of them, or those of one segment. */
export function digestSkPrefix(runId: string, segment?: number): string {
  const run = `${SORT_KEY_PREFIX.digest}${runId}#`;
  return segment === undefined ? run : `${run}${padKeyNumber(segment, SEGMENT_DIGITS)}#`;
}

/** The sort key of one chunk of a segment's block digests. */
export function digestSk(runId: string, segment: number, chunk: number): string {
  return `${digestSkPrefix(runId, segment)}${padKeyNumber(chunk, DIGEST_CHUNK_DIGITS)}`;
}

/** The prefix of the run maps of `runId`: all of them, or the segments of the map `name`. */
export function runMapSkPrefix(runId: string, name?: string): string {
  const run = `${SORT_KEY_PREFIX.runMap}${runId}#`;
  return name === undefined ? run : `${run}${name}#`;
}

/** The sort key of one segment of a run's named map. */
export function runMapSk(runId: string, name: string, segment: number): string {
  return `${runMapSkPrefix(runId, name)}${padKeyNumber(segment, SEGMENT_DIGITS)}`;
}

/** The sort key of a job run's record. */
/** Sort-key prefix of the bad versions written by entry `writer` (every writer when absent). */
export function badVersionSkPrefix(writer?: number): string {
  return writer === undefined ? SORT_KEY_PREFIX.badVersion : `${SORT_KEY_PREFIX.badVersion}${padKeyNumber(writer, SEQ_DIGITS)}#`;
}

/** `BAD#<writer:10>#<segment:4>`: the bad versions entry `writer` wrote in `segment`. */
export function badVersionSk(writer: number, segment: number): string {
  return `${badVersionSkPrefix(writer)}${padKeyNumber(segment, SEGMENT_DIGITS)}`;
}

export function jobSk(runId: string): string {
  return `${SORT_KEY_PREFIX.job}${runId}`;
}

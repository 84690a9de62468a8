/**
 * The chain table's stored item shapes and their codecs. Every read is validated against its zod
 * schema, so a missing or mistyped field is a typed `ChainStoreCorruptError`, never a crash later.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ChainEntry } from '../../core/chain-entry';
import { volumeBlocks } from '../../core/constants';
import { DeltaMap } from '../../core/delta-map';
import { mapSk } from '../../core/table-keys';
import { ChainStoreCorruptError } from '../../core/ports/errors';

// ── stored item shapes (validated on every read: a missing field is a typed error) ─────────

export const leaseSchema = z.object({
  holder: z.string(),
  runId: z.string(),
  expiresAt: z.number(),
  fencingToken: z.number().int(),
});

export const inFlightSchema = z.object({
  runId: z.string(),
  seq: z.number().int().nonnegative(),
  kind: z.enum(['baseline', 'sync', 'fixup']),
  primarySnapshotId: z.string(),
  secondarySnapshotId: z.string().optional(),
  volumeSize: z.number().int().positive(),
  pointInTime: z.string(),
  segments: z.array(z.number().int().nonnegative()),
  checksum: z.string(),
});

const jsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]));

export const metaSchema = z.object({
  volumeId: z.string(),
  volumeSize: z.number().int().positive(),
  config: z.record(z.string(), jsonValue),
  headSeq: z.number().int().nonnegative().optional(),
  basePrimarySnapshotId: z.string().optional(),
  lease: leaseSchema.optional(),
  /** Last fencing token granted; survives release so tokens never repeat. */
  fencingCounter: z.number().int().nonnegative(),
  inFlight: inFlightSchema.optional(),
  version: z.number().int().nonnegative(),
  unprotecting: z.object({
    at: z.string(),
    restorePoints: z.number().int().nonnegative(),
    /** Recorded only when the caller deletes them: a re-run after a crash must hand every one back. */
    secondarySnapshotIds: z.array(z.string()).optional(),
    basePrimarySnapshotId: z.string().optional(),
  }).optional(),
});

export const entrySchema = z.object({
  seq: z.number().int().nonnegative(),
  kind: z.enum(['baseline', 'sync', 'fixup']),
  primarySnapshotId: z.string(),
  secondarySnapshotId: z.string(),
  volumeSize: z.number().int().positive(),
  /** Written before bad versions existed; ignored on read (trust is derived from BAD# items). */
  trust: z.enum(['trusted', 'suspect']).optional(),
  suspectBlocks: z.number().int().nonnegative().optional(),
  pointInTime: z.string(),
  committedAt: z.string().optional(),
  segments: z.array(z.number().int().nonnegative()),
  shardCount: z.number().int().nonnegative(),
  checksum: z.string(),
  /** Bumped when pruning merges a predecessor's map in: the merged shards live under new keys. */
  mapGeneration: z.number().int().positive().optional(),
  /** The digest manifest's layers: run ids whose DIG# items hold it, own first (pruning appends the pruned entry's). */
  manifest: z.array(z.string()).optional(),
});

/** `BAD#<writer>#<segment>`: the bad versions one entry wrote in one segment, and a version for conditional updates. */
export const badVersionSchema = z.object({
  sk: z.string(),
  writer: z.number().int().nonnegative(),
  segment: z.number().int().nonnegative(),
  bytes: z.instanceof(Uint8Array),
  version: z.number().int().nonnegative(),
});

export const shardSchema = z.object({
  sk: z.string(),
  segment: z.number().int().nonnegative(),
  bytes: z.instanceof(Uint8Array),
  runId: z.string().optional(),
  seq: z.number().int().nonnegative().optional(),
});

export const verifyRunSchema = z.object({
  runId: z.string(),
  t0: z.string(),
  p0: z.string(),
  headSeqAtT0: z.number().int(),
  quick: z.boolean(),
  status: z.enum(['scanning', 'fixing', 'walking', 'clean', 'repaired', 'failed']),
  counts: z.record(z.string(), z.number()),
  result: jsonValue.optional(),
});

export const digestSchema = z.object({
  segment: z.number().int().nonnegative(),
  chunk: z.number().int().nonnegative(),
  chunks: z.number().int().positive(),
  checksum: z.string(),
  bytes: z.instanceof(Uint8Array),
  /** On chunk 0 when the digests are a manifest layer: the segment's blocks (`encodeSegment`). */
  blocks: z.instanceof(Uint8Array).optional(),
});

export const jobRecordSchema = z.object({
  runId: z.string(),
  job: z.enum(['sync', 'verify', 'restore', 'prune', 'scrub']),
  status: z.enum(['succeeded', 'failed']),
  at: z.string(),
  errorName: z.string().optional(),
  message: z.string().optional(),
  summary: jsonValue.optional(),
});

export type LeaseItem = z.infer<typeof leaseSchema>;
export type MetaItem = z.infer<typeof metaSchema>;
export type EntryItem = z.infer<typeof entrySchema>;
export type InFlightItem = z.infer<typeof inFlightSchema>;
export type ShardItem = z.infer<typeof shardSchema>;
export type Key = Record<string, string>;
export type Item = Record<string, unknown>;

// ── encoding ─────────────────────────────────────────────────────────────────────────────

/** SHA-256 over (segment, length, bytes) in ascending segment order: detects a lost or stray shard. */
export function shardChecksum(shards: ReadonlyMap<number, Uint8Array>): string {
  const hash = createHash('sha256');
  const header = Buffer.alloc(8);
  for (const segment of [...shards.keys()].sort((a, b) => a - b)) {
    const bytes = shards.get(segment) ?? new Uint8Array();
    header.writeUInt32BE(segment, 0);
    header.writeUInt32BE(bytes.length, 4);
    hash.update(header).update(bytes);
  }
  return hash.digest('base64');
}

/** @throws ChainStoreCorruptError when `shards` do not hash to the `expected` checksum their entry or DRL recorded */
export function checkChecksum(
  volumeId: string, seq: number, shards: ReadonlyMap<number, Uint8Array>, expected: string, what: string,
): void {
  if (shardChecksum(shards) !== expected) {
    throw new ChainStoreCorruptError(
      `volume ${volumeId}: the ${what} of entry ${seq} does not match its checksum; the table was changed ` +
        'outside ebs-cdp: restore it from a DynamoDB backup or re-protect the volume', { volumeId, seq });
  }
}

/** `item` validated against `schema`. @throws ChainStoreCorruptError naming the item and the fields that are wrong */
export function parseItem<T>(schema: z.ZodType<T>, item: Item, volumeId: string | undefined): T {
  const parsed = schema.safeParse(item);
  if (!parsed.success) {
    throw new ChainStoreCorruptError(
      `item ${String(item.pk)} / ${String(item.sk)} is malformed (${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}); ` +
        'the table was changed outside ebs-cdp or by a newer version: upgrade ebs-cdp or restore the table',
      { volumeId, cause: parsed.error });
  }
  return parsed.data;
}

/** A copy without undefined properties (at any depth), which DynamoDB cannot store. */
export function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => withoutUndefined(item)) as T;
  if (value === null || typeof value !== 'object') return value;
  // Only plain objects are copied; binary shards (Uint8Array) and other classes pass through.
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== null && (prototype as { constructor?: { name?: string } }).constructor?.name !== 'Object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field !== undefined) copy[key] = withoutUndefined(field);
  }
  return copy as T;
}

/** A committed entry item with its delta map joined from the shards it lists (found by `sk`). */
export function toChainEntry(volumeId: string, item: EntryItem, found: ReadonlyMap<string, ShardItem>): ChainEntry {
  const shards = new Map<number, Uint8Array>();
  for (const segment of item.segments) {
    const shard = found.get(mapSk(item.seq, segment, item.mapGeneration));
    if (shard === undefined) {
      throw new ChainStoreCorruptError(
        `volume ${volumeId}: restore point ${item.seq} lacks its delta-map shard for segment ${segment}; the table ` +
          'was changed outside ebs-cdp: restore it from a DynamoDB backup', { volumeId, seq: item.seq, segment });
    }
    shards.set(segment, shard.bytes);
  }
  checkChecksum(volumeId, item.seq, shards, item.checksum, 'delta map');
  return {
    seq: item.seq,
    kind: item.kind,
    deltaMap: DeltaMap.join(volumeBlocks(item.volumeSize), shards),
    primarySnapshotId: item.primarySnapshotId,
    secondarySnapshotId: item.secondarySnapshotId,
    volumeSize: item.volumeSize,
    status: 'committed',
    // Derived from the bad versions by the reader (`DynamoDbDeltaMapChain.readChain`).
    trust: 'trusted',
    suspectBlocks: 0,
    pointInTime: item.pointInTime,
    committedAt: item.committedAt,
    ...(item.manifest === undefined ? {} : { manifestLayers: item.manifest }),
  };
}

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { BLOCK_SIZE } from '../../../shared/core/constants';
import type { SnapshotInfo } from '../contracts';
import { EbsApiError, validationError } from '../errors';
import type { EbsApiName, Faults } from '../faults';
import { IN_FIRST, IN_SECOND, SnapshotStore, type BlockListing } from '../store';
import type { TokenSigner } from '../tokens';

/** BlockToken lifetime (EBS-FACTS.md: 7 days). */
export const BLOCK_TOKEN_TTL_MS = 7 * 24 * 60 * 60 * 1_000;
/** NextToken lifetime (EBS-FACTS.md: 60 minutes). */
export const PAGE_TOKEN_TTL_MS = 60 * 60 * 1_000;
/** MaxResults bounds of the List APIs; AWS's default is the maximum. */
export const MIN_MAX_RESULTS = 100;
export const MAX_MAX_RESULTS = 10_000;
/** Largest JSON request body accepted (StartSnapshot with 50 tags is a few KiB). */
const MAX_JSON_BODY_BYTES = 1_048_576;
const MS_PER_SECOND = 1_000;
/** Success statuses of the service model's HTTP bindings. */
const HTTP_OK = 200;
const HTTP_CREATED = 201;
const HTTP_ACCEPTED = 202;

/** Fields sealed in a BlockToken: kind, snapshot, block, expiry. */
const BLOCK_TOKEN_FIELDS = 4;
/** Fields sealed in a NextToken: kind, API, listing scope, next block index, expiry. */
const PAGE_TOKEN_FIELDS = 5;

/** What a handler answers; the server writes it out. */
export interface EbsResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

/** Everything the EBS handlers work with. */
export interface EbsContext {
  store: SnapshotStore;
  faults: Faults;
  tokens: TokenSigner;
}

/** One routed EBS request: which API, on which snapshot (and block), with the raw request. */
export interface EbsRoute {
  api: EbsApiName;
  snapshotId?: string;
  blockIndex?: string;
}

/**
 * Maps a method and path onto an EBS direct API (the HTTP bindings of the `ebs` service model),
 * or `undefined` when the request is not one of them.
 */
export function routeEbs(method: string, pathname: string): EbsRoute | undefined {
  const parts = pathname.split('/').filter((p) => p.length > 0).map(decodeURIComponent);
  if (parts[0] !== 'snapshots') return undefined;
  if (method === 'POST' && parts.length === 1) return { api: 'StartSnapshot' };
  if (method === 'POST' && parts.length === 3 && parts[1] === 'completion') return { api: 'CompleteSnapshot', snapshotId: parts[2] };
  if (method === 'GET' && parts.length === 3 && parts[2] === 'blocks') return { api: 'ListSnapshotBlocks', snapshotId: parts[1] };
  if (method === 'GET' && parts.length === 3 && parts[2] === 'changedblocks') return { api: 'ListChangedBlocks', snapshotId: parts[1] };
  if (parts.length === 4 && parts[2] === 'blocks') {
    if (method === 'GET') return { api: 'GetSnapshotBlock', snapshotId: parts[1], blockIndex: parts[3] };
    if (method === 'PUT') return { api: 'PutSnapshotBlock', snapshotId: parts[1], blockIndex: parts[3] };
  }
  return undefined;
}

function json(status: number, body: unknown): EbsResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The error response AWS sends: the SDK picks the exception class from `x-amzn-ErrorType`. */
export function errorResponse(error: EbsApiError): EbsResponse {
  const body: Record<string, string> = { message: error.message };
  if (error.reason !== undefined) body.Reason = error.reason;
  return { status: error.status, headers: { 'content-type': 'application/json', 'x-amzn-ErrorType': error.type }, body: JSON.stringify(body) };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function parseInteger(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw validationError('INVALID_PARAMETER_VALUE', `${what} must be an integer, got '${value}'.`);
  return Number(value);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_JSON_BODY_BYTES) throw validationError('INVALID_PARAMETER_VALUE', 'The request body is too large.');
    chunks.push(buf);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (cause) {
    throw validationError('INVALID_PARAMETER_VALUE', 'The request body is not valid JSON.', { cause });
  }
}

const startSnapshotBody = z.object({
  VolumeSize: z.number(),
  ParentSnapshotId: z.string().optional(),
  Tags: z.array(z.object({ Key: z.string(), Value: z.string() })).optional(),
  Description: z.string().optional(),
  ClientToken: z.string().optional(),
  Encrypted: z.boolean().optional(),
  KmsKeyArn: z.string().optional(),
  Timeout: z.number().optional(),
});

function snapshotResponse(info: SnapshotInfo): Record<string, unknown> {
  return {
    Description: info.description,
    SnapshotId: info.snapshotId,
    OwnerId: info.ownerId,
    Status: info.state,
    StartTime: Date.parse(info.startTime) / MS_PER_SECOND,
    VolumeSize: info.volumeSize,
    BlockSize: BLOCK_SIZE,
    Tags: info.tags,
    ParentSnapshotId: info.parentSnapshotId,
    KmsKeyArn: info.kmsKeyId,
    SseType: info.encrypted ? 'sse-kms' : 'none',
  };
}

async function startSnapshot(ctx: EbsContext, req: IncomingMessage): Promise<EbsResponse> {
  const parsed = startSnapshotBody.safeParse(await readJson(req));
  if (!parsed.success) throw validationError('INVALID_PARAMETER_VALUE', `Invalid StartSnapshot request: ${parsed.error.message}`);
  const body = parsed.data;
  const info = await ctx.store.startSnapshot(
    {
      volumeSize: body.VolumeSize,
      parentSnapshotId: body.ParentSnapshotId,
      tags: body.Tags ?? [],
      description: body.Description,
      clientToken: body.ClientToken,
      encrypted: body.Encrypted ?? false,
      kmsKeyArn: body.KmsKeyArn,
      timeoutMinutes: body.Timeout,
    },
    { notFoundWindowMs: ctx.faults.config.notFoundWindowMs, pendingSnapshotLimit: ctx.faults.pendingSnapshotLimit() },
  );
  return json(HTTP_CREATED, snapshotResponse(info));
}

/**
 * Reads a PutSnapshotBlock body into one block-sized buffer while hashing it: no growing
 * buffers, and a body longer than a block is refused without holding more than a block.
 */
async function readBlockBody(req: IncomingMessage, snapshotId: string, blockIndex: number): Promise<{ data: Buffer; hash: string }> {
  const data = Buffer.allocUnsafe(BLOCK_SIZE);
  const hasher = createHash('sha256');
  let size = 0;
  let overflow = false;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    if (overflow || size + buf.length > BLOCK_SIZE) {
      overflow = true;
      size += buf.length;
      continue;
    }
    buf.copy(data, size);
    hasher.update(buf);
    size += buf.length;
  }
  if (size !== BLOCK_SIZE) {
    throw validationError('INVALID_PARAMETER_VALUE', `Block data is ${size} bytes; it must be ${BLOCK_SIZE}.`, { snapshotId, blockIndex });
  }
  return { data, hash: hasher.digest('hex') };
}

async function putSnapshotBlock(ctx: EbsContext, req: IncomingMessage, snapshotId: string, blockIndex: number): Promise<EbsResponse> {
  const dataLength = parseInteger(header(req, 'x-amz-Data-Length'), 'DataLength');
  const checksum = header(req, 'x-amz-Checksum');
  const algorithm = header(req, 'x-amz-Checksum-Algorithm');
  const progress = parseInteger(header(req, 'x-amz-Progress'), 'Progress');
  if (dataLength !== BLOCK_SIZE) {
    throw validationError('INVALID_PARAMETER_VALUE', `DataLength must be ${BLOCK_SIZE}, got ${dataLength}.`, { snapshotId, blockIndex });
  }
  if (checksum === undefined || algorithm !== 'SHA256') {
    throw validationError('INVALID_PARAMETER_VALUE', 'Checksum and ChecksumAlgorithm SHA256 are required.', { snapshotId, blockIndex });
  }
  if (progress !== undefined && (progress < 0 || progress > 100)) {
    throw validationError('INVALID_PARAMETER_VALUE', 'Progress must be 0–100.', { snapshotId, blockIndex });
  }
  const { data, hash } = await readBlockBody(req, snapshotId, blockIndex);
  const computed = Buffer.from(hash, 'hex').toString('base64');
  if (computed !== checksum) {
    throw validationError('INVALID_PARAMETER_VALUE', 'The checksum does not match the block data.', { snapshotId, blockIndex });
  }
  await ctx.store.putSnapshotBlock(snapshotId, blockIndex, data, hash, progress);
  return { status: HTTP_CREATED, headers: { 'x-amz-Checksum': computed, 'x-amz-Checksum-Algorithm': 'SHA256' }, body: '' };
}

async function completeSnapshot(ctx: EbsContext, req: IncomingMessage, snapshotId: string): Promise<EbsResponse> {
  const changedBlocksCount = parseInteger(header(req, 'x-amz-ChangedBlocksCount'), 'ChangedBlocksCount');
  if (changedBlocksCount === undefined || changedBlocksCount < 0) {
    throw validationError('INVALID_PARAMETER_VALUE', 'ChangedBlocksCount is required.', { snapshotId });
  }
  const checksum = header(req, 'x-amz-Checksum');
  if (checksum !== undefined) {
    if (header(req, 'x-amz-Checksum-Algorithm') !== 'SHA256' || header(req, 'x-amz-Checksum-Aggregation-Method') !== 'LINEAR') {
      throw validationError('INVALID_PARAMETER_VALUE', 'A checksum needs ChecksumAlgorithm SHA256 and ChecksumAggregationMethod LINEAR.', {
        snapshotId,
      });
    }
  }
  const status = await ctx.store.completeSnapshot(snapshotId, {
    changedBlocksCount,
    checksum,
    completionDelayMs: ctx.faults.config.completionDelayMs,
  });
  return json(HTTP_ACCEPTED, { Status: status });
}

/** Where a listing starts: the NextToken's position (it overrides StartingBlockIndex), else StartingBlockIndex. */
function listStart(ctx: EbsContext, query: URLSearchParams, api: EbsApiName, scope: string): { start: number; maxResults: number } {
  const maxResults = parseInteger(query.get('maxResults') ?? undefined, 'MaxResults') ?? MAX_MAX_RESULTS;
  if (maxResults < MIN_MAX_RESULTS || maxResults > MAX_MAX_RESULTS) {
    throw validationError('INVALID_PARAMETER_VALUE', `MaxResults must be ${MIN_MAX_RESULTS}–${MAX_MAX_RESULTS}.`);
  }
  const pageToken = query.get('pageToken');
  if (pageToken !== null) {
    const page = openPageToken(ctx, pageToken);
    if (page === undefined || page.api !== api || page.scope !== scope) {
      throw validationError('INVALID_PAGE_TOKEN', 'The NextToken is not valid for this request.');
    }
    if (page.expiry <= ctx.store.clock.now()) throw validationError('INVALID_PAGE_TOKEN', 'The NextToken has expired.');
    return { start: page.nextBlockIndex, maxResults };
  }
  const start = parseInteger(query.get('startingBlockIndex') ?? undefined, 'StartingBlockIndex') ?? 0;
  if (start < 0) throw validationError('INVALID_PARAMETER_VALUE', 'StartingBlockIndex must be ≥ 0.');
  return { start, maxResults };
}

function blockToken(ctx: EbsContext, snapshotId: string, blockIndex: number, expiry: number): string {
  return ctx.tokens.seal(['block', snapshotId, blockIndex, expiry]);
}

/** The fields of a BlockToken this emulator issued, or `undefined`. */
function openBlockToken(ctx: EbsContext, token: string | null): { snapshotId: string; blockIndex: number; expiry: number } | undefined {
  const fields = token === null ? undefined : ctx.tokens.open(token);
  if (fields === undefined) return undefined;
  const [kind, snapshotId, blockIndex, expiry] = fields;
  if (kind !== 'block' || expiry === undefined || fields.length !== BLOCK_TOKEN_FIELDS) return undefined;
  return { snapshotId, blockIndex: Number(blockIndex), expiry: Number(expiry) };
}

/** The fields of a NextToken this emulator issued, or `undefined`. */
function openPageToken(ctx: EbsContext, token: string): { api: string; scope: string; nextBlockIndex: number; expiry: number } | undefined {
  const fields = ctx.tokens.open(token);
  if (fields === undefined) return undefined;
  const [kind, api, scope, nextBlockIndex, expiry] = fields;
  if (kind !== 'page' || expiry === undefined || fields.length !== PAGE_TOKEN_FIELDS) return undefined;
  return { api, scope, nextBlockIndex: Number(nextBlockIndex), expiry: Number(expiry) };
}

function listPage(
  ctx: EbsContext,
  api: EbsApiName,
  scope: string,
  listing: BlockListing,
  query: URLSearchParams,
): { page: ReturnType<typeof SnapshotStore.page>; nextToken?: string; expiry: number } {
  const { start, maxResults } = listStart(ctx, query, api, scope);
  const now = ctx.store.clock.now();
  const page = ctx.faults.emptyPage()
    ? { indexes: [], flags: [], nextBlockIndex: SnapshotStore.page(listing, start, 1).indexes[0] }
    : SnapshotStore.page(listing, start, maxResults);
  const nextToken =
    page.nextBlockIndex === undefined ? undefined : ctx.tokens.seal(['page', api, scope, page.nextBlockIndex, now + PAGE_TOKEN_TTL_MS]);
  return { page, nextToken, expiry: now + BLOCK_TOKEN_TTL_MS };
}

function listSnapshotBlocks(ctx: EbsContext, snapshotId: string, query: URLSearchParams): EbsResponse {
  const { listing, volumeSize } = ctx.store.snapshotBlocks(snapshotId);
  const { page, nextToken, expiry } = listPage(ctx, 'ListSnapshotBlocks', snapshotId, listing, query);
  return json(HTTP_OK, {
    Blocks: page.indexes.map((blockIndex) => ({ BlockIndex: blockIndex, BlockToken: blockToken(ctx, snapshotId, blockIndex, expiry) })),
    ExpiryTime: expiry / MS_PER_SECOND,
    VolumeSize: volumeSize,
    BlockSize: BLOCK_SIZE,
    NextToken: nextToken,
  });
}

function listChangedBlocks(ctx: EbsContext, secondSnapshotId: string, query: URLSearchParams): EbsResponse {
  const firstSnapshotId = query.get('firstSnapshotId') ?? undefined;
  const { listing, volumeSize } = ctx.store.changedBlocks(firstSnapshotId, secondSnapshotId);
  const scope = `${firstSnapshotId ?? ''}>${secondSnapshotId}`;
  const { page, nextToken, expiry } = listPage(ctx, 'ListChangedBlocks', scope, listing, query);
  return json(HTTP_OK, {
    ChangedBlocks: page.indexes.map((blockIndex, i) => ({
      BlockIndex: blockIndex,
      FirstBlockToken:
        firstSnapshotId !== undefined && (page.flags[i] & IN_FIRST) !== 0 ? blockToken(ctx, firstSnapshotId, blockIndex, expiry) : undefined,
      SecondBlockToken: (page.flags[i] & IN_SECOND) !== 0 ? blockToken(ctx, secondSnapshotId, blockIndex, expiry) : undefined,
    })),
    ExpiryTime: expiry / MS_PER_SECOND,
    VolumeSize: volumeSize,
    BlockSize: BLOCK_SIZE,
    NextToken: nextToken,
  });
}

async function getSnapshotBlock(ctx: EbsContext, snapshotId: string, blockIndex: number, query: URLSearchParams): Promise<EbsResponse> {
  ctx.store.requireCompleted(snapshotId);
  const token = openBlockToken(ctx, query.get('blockToken'));
  if (token === undefined || token.snapshotId !== snapshotId || token.blockIndex !== blockIndex) {
    throw validationError('INVALID_BLOCK_TOKEN', 'The BlockToken is not valid for this snapshot and block.', { snapshotId, blockIndex });
  }
  if (token.expiry <= ctx.store.clock.now()) {
    throw validationError('INVALID_BLOCK_TOKEN', 'The BlockToken has expired.', { snapshotId, blockIndex });
  }
  const { data, checksum } = await ctx.store.getSnapshotBlock(snapshotId, blockIndex);
  return {
    status: HTTP_OK,
    headers: {
      'content-type': 'application/octet-stream',
      'x-amz-Data-Length': String(data.length),
      'x-amz-Checksum': checksum,
      'x-amz-Checksum-Algorithm': 'SHA256',
    },
    body: data,
  };
}

/**
 * Runs one EBS direct API request (already routed and admitted by the fault switches) and
 * returns the response; an EbsApiError thrown here becomes the AWS error response.
 */
export async function handleEbs(ctx: EbsContext, route: EbsRoute, req: IncomingMessage, query: URLSearchParams): Promise<EbsResponse> {
  const blockIndex = route.blockIndex === undefined ? undefined : parseInteger(route.blockIndex, 'BlockIndex');
  const snapshotId = route.snapshotId ?? '';
  switch (route.api) {
    case 'StartSnapshot':
      return startSnapshot(ctx, req);
    case 'PutSnapshotBlock':
      return putSnapshotBlock(ctx, req, snapshotId, blockIndex ?? -1);
    case 'CompleteSnapshot':
      return completeSnapshot(ctx, req, snapshotId);
    case 'ListSnapshotBlocks':
      return listSnapshotBlocks(ctx, snapshotId, query);
    case 'ListChangedBlocks':
      return listChangedBlocks(ctx, snapshotId, query);
    case 'GetSnapshotBlock':
      return getSnapshotBlock(ctx, snapshotId, blockIndex ?? -1, query);
  }
}


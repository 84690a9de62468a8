import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { EmulatorClock } from './clock';
import { errorResponse, handleEbs, routeEbs, type EbsContext, type EbsResponse } from './ebs/api';
import { EbsApiError } from './errors';
import type { EmulatorStats, FaultConfig, Faults } from './faults';
import { isRegionName, regionOfRequest, type EmulatedRegion, type Regions } from './regions';
import { CORRUPTION_SCOPES } from './store';

/** Answers one EC2 Query API request (form-encoded parameters) with its XML. */
export type Ec2Handler = (params: URLSearchParams) => Promise<{ status: number; body: string }>;

/** Everything the HTTP server dispatches to: the Regions, and what they share (time, faults, counters). */
export interface ServerContext {
  clock: EmulatorClock;
  stats: EmulatorStats;
  faults: Faults;
  regions: Regions;
}

/** Status for a request the EC2 half cannot answer because it is not built in. */
const NOT_IMPLEMENTED = 501;
/** Largest control-API or EC2 form body accepted. */
const MAX_SMALL_BODY_BYTES = 1_048_576;

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_SMALL_BODY_BYTES) throw new RangeError('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, response: EbsResponse): void {
  res.writeHead(response.status, { 'x-amzn-RequestId': randomUUID(), ...response.headers });
  res.end(response.body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** A Region named in a control request; the default Region when absent. */
const regionField = z.string().refine(isRegionName, { message: 'not a Region name (like us-east-1)' }).optional();

const corruptRequest = z.object({
  snapshotId: z.string(),
  region: regionField,
  blockIndex: z.number().int().nonnegative(),
  scope: z.enum(CORRUPTION_SCOPES).default('stored'),
});
const advanceRequest = z.object({ ms: z.number().nonnegative() });

/**
 * The control API under `/_emulator/`: switch faults, read or reset call counts, move the
 * clock, corrupt a block. Plain JSON, so `curl` drives it as easily as a test.
 */
async function handleControl(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
  const method = req.method ?? 'GET';
  const body = method === 'GET' || method === 'DELETE' ? undefined : await readText(req);
  const parsed: unknown = body === undefined || body.length === 0 ? {} : JSON.parse(body);
  switch (`${method} ${path}`) {
    case 'GET /_emulator/health':
      return sendJson(res, 200, { ok: true, now: new Date(ctx.clock.now()).toISOString() });
    case 'GET /_emulator/faults':
      return sendJson(res, 200, ctx.faults.config);
    case 'PUT /_emulator/faults':
    case 'POST /_emulator/faults':
      return sendJson(res, 200, ctx.faults.update(parsed as Partial<FaultConfig>));
    case 'DELETE /_emulator/faults':
      return sendJson(res, 200, ctx.faults.reset());
    case 'GET /_emulator/stats':
      return sendJson(res, 200, ctx.stats.toJSON());
    case 'DELETE /_emulator/stats':
      ctx.stats.reset();
      return sendJson(res, 200, ctx.stats.toJSON());
    case 'POST /_emulator/clock/advance':
      ctx.clock.advance(advanceRequest.parse(parsed).ms);
      return sendJson(res, 200, { now: new Date(ctx.clock.now()).toISOString() });
    case 'POST /_emulator/corrupt': {
      const { snapshotId, blockIndex, scope, region } = corruptRequest.parse(parsed);
      return sendJson(res, 200, await (await ctx.regions.get(region)).store.corruptBlock(snapshotId, blockIndex, scope));
    }
    case 'GET /_emulator/snapshots': {
      const region = regionField.parse(query.get('region') ?? undefined);
      return sendJson(res, 200, (await ctx.regions.get(region)).store.listSnapshots());
    }
    case 'GET /_emulator/regions':
      return sendJson(res, 200, { defaultRegion: ctx.regions.defaultRegion, regions: ctx.regions.names() });
    default:
      return sendJson(res, 404, { message: `no control endpoint ${method} ${path}` });
  }
}

async function handleEc2(ctx: ServerContext, region: EmulatedRegion, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const params = new URLSearchParams(await readText(req));
  if (region.ec2 === undefined) {
    const body = '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>NotImplemented</Code>' +
      '<Message>The EC2 half of the emulator is not built in.</Message></Error></Errors></Response>';
    return send(res, { status: NOT_IMPLEMENTED, headers: { 'content-type': 'text/xml' }, body });
  }
  ctx.stats.count(`EC2:${params.get('Action') ?? 'unknown'}`);
  const answer = await region.ec2(params);
  send(res, { status: answer.status, headers: { 'content-type': 'text/xml' }, body: answer.body });
}

async function handle(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname.startsWith('/_emulator/')) {
    try {
      await handleControl(ctx, req, res, url.pathname, url.searchParams);
    } catch (error) {
      const status = error instanceof EbsApiError ? error.status : 400;
      sendJson(res, status, { message: error instanceof Error ? error.message : String(error) });
    }
    return;
  }
  // EBS and EC2 are Regional services: the credential scope picks the Region's store and EC2 half.
  const region = await ctx.regions.get(regionOfRequest(req.headers, url.searchParams));
  const contentType = req.headers['content-type'] ?? '';
  if (req.method === 'POST' && url.pathname === '/' && contentType.startsWith('application/x-www-form-urlencoded')) {
    return handleEc2(ctx, region, req, res);
  }
  const route = routeEbs(req.method ?? 'GET', url.pathname);
  if (route === undefined) {
    return send(res, {
      status: 404,
      headers: { 'content-type': 'application/json', 'x-amzn-ErrorType': 'UnknownOperationException' },
      body: JSON.stringify({ message: `No operation ${req.method} ${url.pathname}` }),
    });
  }
  ctx.stats.count(route.api);
  let response: EbsResponse;
  try {
    await ctx.faults.delay();
    ctx.faults.admit(route.api, route.snapshotId, region.name);
    const ebs: EbsContext = { store: region.store, faults: ctx.faults, tokens: region.tokens };
    response = await handleEbs(ebs, route, req, url.searchParams);
    if (route.api === 'PutSnapshotBlock') ctx.stats.countBlockBytesIn(region.name, Number(req.headers['content-length'] ?? 0));
    if (route.api === 'GetSnapshotBlock') ctx.stats.countBlockBytesOut(region.name, response.body.length);
  } catch (error) {
    const apiError =
      error instanceof EbsApiError
        ? error
        : new EbsApiError('InternalServerException', undefined, `Internal error: ${error instanceof Error ? error.message : String(error)}`, {
            cause: error,
          });
    if (!(error instanceof EbsApiError)) console.error('ebs-cdp emulator: unexpected error', error);
    ctx.stats.countError(apiError.reason === undefined ? apiError.type : `${apiError.type}:${apiError.reason}`);
    response = errorResponse(apiError);
  }
  send(res, response);
}

/** A listening HTTP server and how to stop it. */
export interface RunningServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** Starts the HTTP server on `host:port` (0 = a free port chosen by the OS). */
export async function listen(ctx: ServerContext, host: string, port: number): Promise<RunningServer> {
  const server = createServer((req, res) => {
    handle(ctx, req, res).catch((error: unknown) => {
      console.error('ebs-cdp emulator: request failed', error);
      if (!res.headersSent) sendJson(res, 500, { message: 'internal error' });
      else res.destroy();
    });
  });
  // Many SDK clients keep sockets alive between requests; do not let Node's defaults cut them mid-run.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}

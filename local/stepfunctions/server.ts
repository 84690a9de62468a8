/**
 * The local cloud's Step Functions endpoint: a `node:http` server on loopback speaking the
 * awsJson1_0 protocol `@aws-sdk/client-sfn` uses (`POST /`, `X-Amz-Target:
 * AWSStepFunctions.<Operation>`, JSON both ways, timestamps as epoch seconds, errors as
 * `{ __type, message }` with status 400). It serves what the CLI needs to run a job as on AWS:
 * ListStateMachines, ListTagsForResource, StartExecution, DescribeExecution,
 * GetExecutionHistory and StopExecution. Executions run the synthesized definitions in process
 * (see `executions.ts`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { LOOPBACK_HOST } from '../emulator';
import { CLIENT_ERROR_STATUS, StepFunctionsApiError } from './errors';
import { ExecutionRegistry, type ExecutionRecord, type HistoryEvent, type RunExecution } from './executions';

/** The prefix of every operation's `X-Amz-Target`. */
const TARGET_PREFIX = 'AWSStepFunctions.';
/** The protocol's content type. */
const CONTENT_TYPE = 'application/x-amz-json-1.0';
/** The namespace AWS puts before an error's name in `__type`. */
const ERROR_NAMESPACE = 'com.amazonaws.states#';
/** Largest request body: an execution's input is at most 256 KB on AWS; a little room on top. */
const MAX_BODY_BYTES = 512 * 1_024;
/** A response of an unexpected failure (a bug here, not a refused call). */
const INTERNAL_ERROR_STATUS = 500;
/** Events per GetExecutionHistory page when the caller gives no maxResults (AWS's default). */
const DEFAULT_PAGE_SIZE = 100;
/** Items per ListStateMachines page when the caller gives no maxResults (AWS's default). */
const DEFAULT_LIST_PAGE_SIZE = 100;
/** AWS's upper bound on maxResults of both list calls. */
const MAX_PAGE_SIZE = 1_000;

/** The local account the ARNs name (the same as the runner's). */
export const LOCAL_ACCOUNT = '123456789012';

export interface StepFunctionsOptions {
  readonly run: RunExecution;
  readonly region: string;
  /** What the machines' tags name, as a deployed stack's tags would. */
  readonly stackName: string;
  readonly chainTable: string;
  readonly port?: number;
}

/** The endpoint, listening. */
export interface RunningStepFunctions {
  readonly endpoint: string;
  readonly registry: ExecutionRegistry;
  /** Stops running executions (ABORTED), waits for them, then closes the server. */
  stop(): Promise<void>;
}

const pageRequest = { maxResults: z.number().int().min(0).max(MAX_PAGE_SIZE).optional(), nextToken: z.string().optional() };
const requests = {
  ListStateMachines: z.object(pageRequest),
  ListTagsForResource: z.object({ resourceArn: z.string() }),
  StartExecution: z.object({ stateMachineArn: z.string(), name: z.string().optional(), input: z.string().optional(), traceHeader: z.string().optional() }),
  DescribeExecution: z.object({ executionArn: z.string(), includedData: z.string().optional() }),
  GetExecutionHistory: z.object({ executionArn: z.string(), reverseOrder: z.boolean().optional(), includeExecutionData: z.boolean().optional(), ...pageRequest }),
  StopExecution: z.object({ executionArn: z.string(), error: z.string().optional(), cause: z.string().optional() }),
};
type Operation = keyof typeof requests;

/** The API's timestamps: epoch seconds, fractional. */
function epoch(date: Date | undefined): number | undefined {
  const MS_PER_SECOND = 1_000;
  return date === undefined ? undefined : date.getTime() / MS_PER_SECOND;
}

/** A page token is the offset of the next item, opaque to the caller. */
function page<T>(items: readonly T[], maxResults: number | undefined, nextToken: string | undefined, defaultSize: number): { items: T[]; nextToken?: string } {
  const start = nextToken === undefined ? 0 : Number.parseInt(Buffer.from(nextToken, 'base64').toString('utf8'), 10);
  if (!Number.isInteger(start) || start < 0 || start > items.length) throw new StepFunctionsApiError('InvalidToken', `Invalid Token: '${nextToken ?? ''}'`);
  const size = maxResults === undefined || maxResults === 0 ? defaultSize : maxResults;
  const end = start + size;
  return { items: items.slice(start, end), nextToken: end < items.length ? Buffer.from(String(end)).toString('base64') : undefined };
}

function describe(record: ExecutionRecord): Record<string, unknown> {
  return {
    executionArn: record.arn,
    stateMachineArn: record.machine.arn,
    name: record.name,
    status: record.status,
    startDate: epoch(record.startDate),
    stopDate: epoch(record.stopDate),
    input: record.input,
    inputDetails: { included: true },
    output: record.output,
    outputDetails: record.output === undefined ? undefined : { included: true },
    error: record.error,
    cause: record.cause,
  };
}

function event(entry: HistoryEvent): Record<string, unknown> {
  return { ...entry, timestamp: epoch(entry.timestamp) };
}

/** Answers one operation. */
function answer(registry: ExecutionRegistry, operation: Operation, body: unknown): Record<string, unknown> {
  switch (operation) {
    case 'ListStateMachines': {
      const request = requests.ListStateMachines.parse(body);
      const { items, nextToken } = page(registry.machines, request.maxResults, request.nextToken, DEFAULT_LIST_PAGE_SIZE);
      return {
        stateMachines: items.map((machine) => ({ stateMachineArn: machine.arn, name: machine.name, type: 'STANDARD', creationDate: epoch(machine.creationDate) })),
        nextToken,
      };
    }
    case 'ListTagsForResource': {
      const request = requests.ListTagsForResource.parse(body);
      const machine = registry.machines.find((candidate) => candidate.arn === request.resourceArn);
      if (machine === undefined) throw new StepFunctionsApiError('ResourceNotFound', `Resource not found: '${request.resourceArn}'`);
      return { tags: machine.tags };
    }
    case 'StartExecution': {
      const request = requests.StartExecution.parse(body);
      const record = registry.start(request.stateMachineArn, request.name, request.input);
      return { executionArn: record.arn, startDate: epoch(record.startDate) };
    }
    case 'DescribeExecution':
      return describe(registry.execution(requests.DescribeExecution.parse(body).executionArn));
    case 'GetExecutionHistory': {
      const request = requests.GetExecutionHistory.parse(body);
      const record = registry.execution(request.executionArn);
      const ordered = request.reverseOrder === true ? [...record.events].reverse() : record.events;
      const { items, nextToken } = page(ordered, request.maxResults, request.nextToken, DEFAULT_PAGE_SIZE);
      return { events: items.map(event), nextToken };
    }
    case 'StopExecution': {
      const request = requests.StopExecution.parse(body);
      const record = registry.stop(request.executionArn, request.error, request.cause);
      return { stopDate: epoch(record.stopDate ?? new Date()) };
    }
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new StepFunctionsApiError('ValidationException', 'request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const headers: Record<string, string> = { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID() };
  if (errorType !== undefined) headers['x-amzn-errortype'] = errorType;
  // Fields left undefined (an execution's output while it runs) are absent on the wire, as on AWS.
  res.writeHead(status, headers);
  res.end(JSON.stringify(body));
}

async function handle(registry: ExecutionRegistry, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const target = String(req.headers['x-amz-target'] ?? '');
  const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  if (req.method !== 'POST' || !(operation in requests)) {
    throw new StepFunctionsApiError('UnknownOperationException', `the local Step Functions endpoint does not serve '${target}'`);
  }
  const text = await readBody(req);
  let body: unknown;
  try {
    body = text.length === 0 ? {} : JSON.parse(text);
  } catch {
    throw new StepFunctionsApiError('SerializationException', 'the request body is not JSON');
  }
  send(res, 200, answer(registry, operation as Operation, body));
}

function sendError(res: ServerResponse, error: unknown): void {
  if (error instanceof StepFunctionsApiError) {
    send(res, error.status, { __type: `${ERROR_NAMESPACE}${error.code}`, message: error.message }, error.code);
    return;
  }
  if (error instanceof z.ZodError) {
    send(res, CLIENT_ERROR_STATUS, { __type: `${ERROR_NAMESPACE}ValidationException`, message: error.message }, 'ValidationException');
    return;
  }
  send(res, INTERNAL_ERROR_STATUS, { __type: `${ERROR_NAMESPACE}InternalFailure`, message: error instanceof Error ? error.message : String(error) }, 'InternalFailure');
}

/**
 * Starts the endpoint on 127.0.0.1 (`port` 0 or absent: any free port).
 *
 * @example
 * const sfn = await startStepFunctions({ run, region: 'us-east-1', stackName: 'EbsCdpEngine', chainTable: 'ebs-cdp-chain' });
 * const client = new SFNClient({ endpoint: sfn.endpoint, region: 'us-east-1', credentials });
 */
export async function startStepFunctions(options: StepFunctionsOptions): Promise<RunningStepFunctions> {
  const registry = new ExecutionRegistry({ run: options.run, region: options.region, account: LOCAL_ACCOUNT, stackName: options.stackName, chainTable: options.chainTable });
  const server: Server = createServer((req, res) => {
    handle(registry, req, res).catch((error: unknown) => sendError(res, error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOOPBACK_HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${LOOPBACK_HOST}:${port}`,
    registry,
    stop: () => {
      stopped ??= (async () => {
        await registry.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return stopped;
    },
  };
}

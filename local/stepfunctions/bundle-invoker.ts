/**
 * Invokes one task's Lambda bundle (from the synthesized assembly, see `assembly.ts`) the way
 * Lambda's Node runtime does: a fresh Node process with the function's environment, `require` of
 * the bundled module, its handler called with the event and a Lambda context. A thrown error comes
 * back as Lambda reports it to Step Functions: `{ errorType: error.name, errorMessage }`, so a
 * test sees exactly the name a Retry or Catch would match on.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { AssemblyError, type TaskBundle } from './assembly';

/**
 * Where the child resolves `@aws-sdk/*`: the bundles leave the SDK out (NodejsFunction's default
 * for Node 18+, whose Lambda runtime provides AWS SDK v3), so the repository's own installation
 * stands in for the runtime's.
 */
const RUNTIME_PROVIDED_MODULES = path.resolve(__dirname, '../../node_modules');

/** Marks the invoker's answer among the function's own log lines on stdout. */
const RESULT_MARKER = 'EBS_CDP_BUNDLE_RESULT ';

/** What the child runs: plain JavaScript, since it loads the deployed CommonJS bundle as Lambda does. */
const INVOKER_SCRIPT = `
const [file, exportName, eventJson, functionName, timeoutMs] = process.argv.slice(1);
const deadline = Date.now() + Number(timeoutMs);
const context = {
  functionName, functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:' + functionName,
  memoryLimitInMB: '512', awsRequestId: 'local-' + process.pid, logGroupName: '/aws/lambda/' + functionName,
  logStreamName: 'local', callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
};
const answer = (result) => { process.stdout.write('\\n${RESULT_MARKER}' + JSON.stringify(result) + '\\n'); process.exit(0); };
Promise.resolve()
  .then(() => require(file)[exportName](JSON.parse(eventJson), context))
  .then((output) => answer({ output: output === undefined ? null : output }),
        (error) => answer({ errorType: error && error.name, errorMessage: error && error.message }));
`;

/** How one invocation ended: the handler's output, or the error Lambda would report. */
export interface BundleInvocation {
  readonly output?: unknown;
  readonly errorType?: string;
  readonly errorMessage?: string;
  /** The function's own log lines (Powertools JSON), for a test that looks at them. */
  readonly logs: string;
}

/**
 * Runs `bundle`'s handler once on `event` with `environment` (the template's variables with
 * their tokens resolved by the caller).
 *
 * @example
 * const { errorType } = await invokeBundle(bundles.SyncBegin, {}, env); // 'InvalidTaskInputError'
 */
export function invokeBundle(bundle: TaskBundle, event: unknown, environment: Readonly<Record<string, string>>): Promise<BundleInvocation> {
  const timeoutMs = bundle.timeoutSeconds * 1_000;
  const args = ['-e', INVOKER_SCRIPT, bundle.file, bundle.exportName, JSON.stringify(event), bundle.taskName, String(timeoutMs)];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env: { PATH: process.env.PATH, NODE_PATH: RUNTIME_PROVIDED_MODULES, ...environment }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const at = stdout.lastIndexOf(RESULT_MARKER);
      if (at < 0) {
        reject(new AssemblyError(`the ${bundle.taskName} bundle ended without an answer (${error?.message ?? 'no error'}): ${stderr.slice(-2_000)}`));
        return;
      }
      const result = JSON.parse(stdout.slice(at + RESULT_MARKER.length).split('\n')[0] ?? '{}') as Omit<BundleInvocation, 'logs'>;
      resolve({ ...result, logs: stdout.slice(0, at) });
    });
  });
}

/**
 * Exit codes and error reporting of the `ebs-cdp` command line. Scripts branch on the exit code,
 * people read the message: every error says what happened and what to do next, and a stack trace
 * is printed only with `--debug` (a stack is for whoever debugs ebs-cdp, not for whoever uses it).
 *
 * | code | meaning |
 * |---|---|
 * | 0 | ok: the command did what it was asked, every check held |
 * | 1 | a check failed or a job failed (verify or scrub found damage, a tour check, a failed execution) |
 * | 2 | bad usage or input (unknown option, malformed argument, a suspect point without `--allow-suspect`) |
 * | 3 | not found (unknown volume, volume not protected, no such restore point) |
 * | 4 | busy (another job holds the volume's lease; the local cloud is already running) |
 * | 5 | unreachable (AWS credentials or endpoint, the local cloud not running or not answering) |
 */
import { CommanderError } from 'commander';
import { EbsCdpError, type ErrorContext, InvalidTimeError, RestorePointNotFoundError, RetentionError, SuspectRestorePointError } from '../shared/core/errors';
import {
  InvalidVolumeError,
  SnapshotNotFoundError,
  SyncInFlightError,
  VolumeAlreadyProtectedError,
  VolumeBusyError,
  VolumeNotProtectedError,
} from '../shared/core/ports/errors';
import { NothingToVerifyError, RestoreRequestError } from '../shared/engine/errors';
import { InvalidTaskInputError } from '../lambdas/errors';
import { LocalDynamoDbError } from '../local/dynamodb';

export const EXIT_CODES = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  notFound: 3,
  busy: 4,
  unreachable: 5,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** An error of the command line itself: carries its exit code and the hint printed under it. */
export class CliError extends EbsCdpError {
  static override readonly errorName: string = 'CliError';

  readonly exitCode: ExitCode;
  /** What to do next, one sentence. */
  readonly hint?: string;
  /**
   * The command printed its result before failing (a verify or scrub that found damage): under
   * `--json` that result is stdout's one document, and the error goes to stderr only.
   */
  readonly resultPrinted: boolean;

  constructor(message: string, options: ErrorContext & { exitCode: ExitCode; hint?: string; resultPrinted?: boolean }) {
    super(message, options);
    this.exitCode = options.exitCode;
    this.hint = options.hint;
    this.resultPrinted = options.resultPrinted ?? false;
  }
}

/** Bad arguments or options (exit 2). */
export class UsageError extends CliError {
  static override readonly errorName: string = 'UsageError';

  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT_CODES.usage, hint });
  }
}

/** A volume, restore point or file that does not exist (exit 3). */
export class NotFoundError extends CliError {
  static override readonly errorName: string = 'NotFoundError';

  constructor(message: string, hint?: string, context: ErrorContext = {}) {
    super(message, { ...context, exitCode: EXIT_CODES.notFound, hint });
  }
}

/** The local cloud is not running, or AWS is not reachable with these credentials (exit 5). */
export class UnreachableError extends CliError {
  static override readonly errorName: string = 'UnreachableError';

  constructor(message: string, hint?: string, context: ErrorContext = {}) {
    super(message, { ...context, exitCode: EXIT_CODES.unreachable, hint });
  }
}

/** A job failed or a check did not hold (exit 1). */
export class CheckFailedError extends CliError {
  static override readonly errorName: string = 'CheckFailedError';

  constructor(message: string, hint?: string, context: ErrorContext = {}) {
    super(message, { ...context, exitCode: EXIT_CODES.checkFailed, hint });
  }
}

/** What to do when AWS refuses the credentials it was given. */
const REFRESH_CREDENTIALS = 'refresh the AWS credentials (aws sso login, or new keys), check --profile, or use --local';

/**
 * Exit code and hint of the typed errors raised below the CLI, by their stable `name`: ours keyed
 * by `X.errorName` (never retyped), the SDK's and AWS's by the names they throw.
 */
const KNOWN_ERRORS: Readonly<Record<string, { exitCode: ExitCode; hint: string }>> = {
  [VolumeNotProtectedError.errorName]: { exitCode: EXIT_CODES.notFound, hint: 'protect it first: ebs-cdp protect <volume>' },
  [RestorePointNotFoundError.errorName]: { exitCode: EXIT_CODES.notFound, hint: 'list the restore points with: ebs-cdp points <volume>' },
  [InvalidVolumeError.errorName]: { exitCode: EXIT_CODES.notFound, hint: 'check the volume id (ebs-cdp volume list --local lists local volumes)' },
  [SnapshotNotFoundError.errorName]: { exitCode: EXIT_CODES.notFound, hint: 'the snapshot is gone: list the restore points with ebs-cdp points <volume>' },
  [NothingToVerifyError.errorName]: { exitCode: EXIT_CODES.notFound, hint: 'run a sync first: ebs-cdp sync <volume>' },
  [VolumeBusyError.errorName]: { exitCode: EXIT_CODES.busy, hint: 'wait for the running job to finish (ebs-cdp status <volume> shows the lease), then retry' },
  [SyncInFlightError.errorName]: { exitCode: EXIT_CODES.busy, hint: 'a crashed sync left its entry in flight: run ebs-cdp sync <volume> once (it recovers it), then retry' },
  [VolumeAlreadyProtectedError.errorName]: { exitCode: EXIT_CODES.usage, hint: 'unprotect it first, or protect it with the same settings' },
  [SuspectRestorePointError.errorName]: { exitCode: EXIT_CODES.usage, hint: 'pick a trusted point (ebs-cdp points <volume>), or pass --allow-suspect' },
  [InvalidTimeError.errorName]: { exitCode: EXIT_CODES.usage, hint: 'give a time like 2026-01-02T03:04:05Z' },
  [RetentionError.errorName]: { exitCode: EXIT_CODES.usage, hint: 'the head restore point is never pruned; check the retention settings of ebs-cdp protect' },
  [RestoreRequestError.errorName]: { exitCode: EXIT_CODES.usage, hint: 'check the restore options (ebs-cdp restore --help)' },
  [InvalidTaskInputError.errorName]: { exitCode: EXIT_CODES.usage, hint: 'check the arguments (ebs-cdp <command> --help)' },
  CredentialsProviderError: { exitCode: EXIT_CODES.unreachable, hint: 'configure AWS credentials (--profile, or aws configure), or use --local' },
  // The credentials were found but AWS refused them (wrong keys, expired session, SSO not logged in).
  UnrecognizedClientException: { exitCode: EXIT_CODES.unreachable, hint: REFRESH_CREDENTIALS },
  InvalidClientTokenId: { exitCode: EXIT_CODES.unreachable, hint: REFRESH_CREDENTIALS },
  InvalidSignatureException: { exitCode: EXIT_CODES.unreachable, hint: REFRESH_CREDENTIALS },
  ExpiredTokenException: { exitCode: EXIT_CODES.unreachable, hint: REFRESH_CREDENTIALS },
  ExpiredToken: { exitCode: EXIT_CODES.unreachable, hint: REFRESH_CREDENTIALS },
  AuthFailure: { exitCode: EXIT_CODES.unreachable, hint: REFRESH_CREDENTIALS },
  TokenProviderError: { exitCode: EXIT_CODES.unreachable, hint: REFRESH_CREDENTIALS },
  AccessDeniedException: { exitCode: EXIT_CODES.unreachable, hint: 'these credentials lack a permission the command needs: see "Against AWS" in cli/README.md for the calls it makes' },
  StateMachineDoesNotExist: { exitCode: EXIT_CODES.notFound, hint: 'deploy the stack (npx cdk deploy) in this Region, or pass the --region and --stack it is deployed in' },
  [LocalDynamoDbError.errorName]: { exitCode: EXIT_CODES.unreachable, hint: 'restart the local cloud: ebs-cdp local stop && ebs-cdp local start' },
};

/** Node's socket errors: the endpoint is not there. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'ETIMEDOUT']);

export interface ErrorReport {
  readonly exitCode: ExitCode;
  /** The error's stable name (what `--json` prints as `error`). */
  readonly name: string;
  readonly message: string;
  readonly hint?: string;
}

function socketCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return code;
    const nested = (current as { errors?: unknown }).errors;
    if (Array.isArray(nested)) {
      const inner = nested.map(socketCode).find((found) => found !== undefined);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

/**
 * What the CLI prints and exits with for `error`: its own errors as they are, the engine's typed
 * errors by name, a dead socket as "unreachable", anything else as a failed check (exit 1).
 */
export function classifyError(error: unknown): ErrorReport {
  if (error instanceof CliError) return { exitCode: error.exitCode, name: error.name, message: error.message, hint: error.hint };
  // A parser's InvalidArgumentError thrown from inside an action (not while commander parses).
  if (error instanceof CommanderError) {
    return { exitCode: EXIT_CODES.usage, name: UsageError.errorName, message: error.message.replace(/^error: /, ''), hint: 'see ebs-cdp <command> --help' };
  }
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  const known = KNOWN_ERRORS[name];
  if (known !== undefined) return { exitCode: known.exitCode, name, message, hint: known.hint };
  const code = socketCode(error);
  if (code !== undefined) {
    return {
      exitCode: EXIT_CODES.unreachable,
      name: UnreachableError.errorName,
      message: `${message || code}: the endpoint did not answer`,
      hint: 'start the local cloud (ebs-cdp local start) when using --local, or check your network and --region',
    };
  }
  return { exitCode: EXIT_CODES.checkFailed, name, message, hint: 'run again with --debug to see where it failed' };
}

/** The one JSON document `--json` prints on stdout for an error (cli/README.md, "Exit codes"). */
export interface ErrorDocument {
  /** The error's stable name: `UsageError`, `NotFoundError`, `JobFailedError`, an engine error's name, … */
  readonly error: string;
  readonly message: string;
  /** What to do next; absent only for an error nobody typed. */
  readonly hint?: string;
  readonly exitCode: ExitCode;
}

/** {@link ErrorDocument} of a classified error. */
export function errorDocument(report: ErrorReport): ErrorDocument {
  return { error: report.name, message: report.message, hint: report.hint, exitCode: report.exitCode };
}

/** The lines printed on stderr for `error` (the stack too with `debug`). */
export function formatError(error: unknown, debug: boolean): string {
  const report = classifyError(error);
  const lines = [`error: ${report.message}`];
  if (report.hint !== undefined) lines.push(`  next: ${report.hint}`);
  if (debug && error instanceof Error && error.stack !== undefined) lines.push('', error.stack);
  return lines.join('\n');
}

/**
 * Runs the `ebs-cdp` command as a user would (`bin/ebs-cdp.js`, a child process), with its home in
 * a temporary `.ebs-cdp` directory so tests never touch the repository's.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'ebs-cdp.js');

/** A CLI run's outcome. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A fresh home for one suite: `<tmp>/ebs-cdp-e2e-XXXX/.ebs-cdp`. */
export function freshHome(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'ebs-cdp-e2e-')), '.ebs-cdp');
}

/** Runs `ebs-cdp <args>` with `home`; never rejects (the exit code is part of the result). */
export function runCli(home: string, args: readonly string[], timeoutMs = 120_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, EBS_CDP_HOME: home }, timeout: timeoutMs, maxBuffer: 64 * 1_048_576 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs with `--json` and parses stdout. */
export async function runCliJson<T>(home: string, args: readonly string[]): Promise<{ run: CliRun; json: T }> {
  const run = await runCli(home, [...args, '--json']);
  let json: T;
  try {
    json = JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`ebs-cdp ${args.join(' ')} printed no JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
  }
  return { run, json };
}

/** A stack trace line as Node prints it. */
export const STACK_LINE = /^\s+at .+\(.+:\d+:\d+\)$/m;

/**
 * `ebs-cdp`: the command line of ebs-cdp. One command group per file under `commands/`; exit codes
 * and error reporting in `errors.ts`; `--json` and progress in `output.ts`. See cli/README.md.
 */
import { Command, CommanderError, Option } from 'commander';
import { CliError, errorDocument, EXIT_CODES, formatError, classifyError, UsageError } from './errors';
import { jobCommands } from './commands/jobs';
import { localCommand } from './commands/local';
import { pointCommands } from './commands/points';
import { protectCommands } from './commands/protect';
import { tourCommand } from './commands/tour';
import { unlockCommand } from './commands/unlock';
import { volumeCommand } from './commands/volume';

/** The program with every command, exiting through `exitOverride` so main decides the code. */
export function buildProgram(): Command {
  const program = new Command('ebs-cdp')
    .description('Continuous data protection for Amazon EBS volumes: restore points every few minutes, verified and repaired.')
    .option('--local', 'act on the local cloud (ebs-cdp local start) instead of AWS')
    .option('--json', 'print one JSON document on stdout, for scripts')
    .option('--debug', 'print stack traces of errors')
    .option('--region <region>', 'AWS Region (default: AWS_REGION)')
    .option('--profile <profile>', 'AWS profile (default: the default credential chain)')
    .option('--table <name>', 'chain table of the deployed stack (default: the one its state machines are tagged with)')
    .option('--stack <name>', 'the deployed stack whose state machines run the jobs', 'EbsCdpEngine')
    .addOption(new Option('--home <dir>', 'where the local cloud and the tour keep their data').env('EBS_CDP_HOME').default('.ebs-cdp'));
  const commands = [tourCommand(), localCommand(), volumeCommand(), ...protectCommands(), ...jobCommands(), ...pointCommands(), unlockCommand()];
  for (const command of commands) program.addCommand(command);
  markExitOverride(program);
  return program;
}

/** `ebs-cdp volume write`: the command's full name, for the hint of its usage errors. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current !== null; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}

/**
 * Commander's usage error as ours: the same message (it names the option and the bad value),
 * with the `next:` hint every error has, so it prints (and, under `--json`, serializes) like any
 * other error. Help and version (exit code 0) stay commander's.
 */
export function usageErrorOf(error: CommanderError, path: string): UsageError | CommanderError {
  if (error.exitCode === 0) return error;
  const hint = `see ${path} --help`;
  // Commander prints the help itself for a group without its command (`ebs-cdp volume`).
  if (error.code === 'commander.help') return new UsageError(`${path} needs a command`, hint);
  return new UsageError(error.message.replace(/^error: /, ''), hint);
}

/**
 * Subcommands do not inherit `exitOverride`: set it everywhere so usage errors reach main as
 * `UsageError`s, and silence commander's own error line (main prints every error one way).
 */
function markExitOverride(command: Command): void {
  const path = commandPath(command);
  command
    .exitOverride((error) => {
      throw usageErrorOf(error, path);
    })
    .configureOutput({ outputError: () => undefined });
  for (const sub of command.commands) markExitOverride(sub);
}

/** Whether `--json` was asked for, also when commander stopped before it parsed the options. */
function wantsJson(program: Command, argv: readonly string[]): boolean {
  if (program.opts<{ json?: boolean }>().json === true) return true;
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** Runs the CLI with `argv` (user arguments only); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_CODES.ok;
  } catch (error) {
    // Help and version are not errors (commander printed them).
    if (error instanceof CommanderError && error.exitCode === 0) return EXIT_CODES.ok;
    const debug = program.opts<{ debug?: boolean }>().debug === true || argv.includes('--debug');
    const report = classifyError(error);
    if (wantsJson(program, argv) && error instanceof CliError && error.resultPrinted) {
      // stdout already holds the command's one JSON document (the report that found damage).
      process.stderr.write(`${formatError(error, debug)}\n`);
    } else if (wantsJson(program, argv)) {
      process.stdout.write(`${JSON.stringify(errorDocument(report), null, 2)}\n`);
      if (debug) process.stderr.write(`${formatError(error, true)}\n`);
    } else {
      process.stderr.write(`${formatError(error, debug)}\n`);
    }
    return report.exitCode;
  }
}

if (require.main === module) {
  // The AWS SDK warns on every command that its releases after January 2027 need Node 22; the
  // versions here are pinned, so on Node 20 that is noise in front of every answer. An explicit
  // setting by the user wins.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${formatError(error, process.argv.includes('--debug'))}\n`);
      process.exit(EXIT_CODES.checkFailed);
    },
  );
}

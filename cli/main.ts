/**
 * `ebs-cdp`: the command line of ebs-cdp. One command group per file under `commands/`; exit codes
 * and error reporting in `errors.ts`; `--json` and progress in `output.ts`. See cli/README.md.
 */
import { Command, CommanderError, Option } from 'commander';
import { classifyError, EXIT_CODES, formatError } from './errors';
import { jobCommands } from './commands/jobs';
import { localCommand } from './commands/local';
import { pointCommands } from './commands/points';
import { protectCommands } from './commands/protect';
import { tourCommand } from './commands/tour';
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
    .addOption(new Option('--home <dir>', 'where the local cloud and the tour keep their data').env('EBS_CDP_HOME').default('.ebs-cdp'))
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  const commands = [tourCommand(), localCommand(), volumeCommand(), ...protectCommands(), ...jobCommands(), ...pointCommands()];
  for (const command of commands) {
    program.addCommand(command);
    markExitOverride(command);
  }
  return program;
}

/** Subcommands do not inherit `exitOverride`: set it everywhere so usage errors reach main. */
function markExitOverride(command: Command): void {
  command.exitOverride().showHelpAfterError('(add --help for usage)');
  for (const sub of command.commands) markExitOverride(sub);
}

/** Runs the CLI with `argv` (user arguments only); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_CODES.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not errors; commander already printed the usage problem.
      return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    const options = program.opts<{ json?: boolean; debug?: boolean }>();
    if (options.json === true) {
      const report = classifyError(error);
      process.stdout.write(`${JSON.stringify({ error: report.name, message: report.message, hint: report.hint, exitCode: report.exitCode }, null, 2)}\n`);
      if (options.debug === true) process.stderr.write(`${formatError(error, true)}\n`);
    } else {
      process.stderr.write(`${formatError(error, options.debug === true)}\n`);
    }
    return classifyError(error).exitCode;
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

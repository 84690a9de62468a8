/** `ebs-cdp tour` (`npm start`): the two-minute story on the local cloud. */
import { Command } from 'commander';
import { CheckFailedError } from '../errors';
import { renderTourSummary, runTour, tourDirectory } from '../tour';
import { homeDirectory } from '../target';
import { globalOptions, outputOf } from './common';

export function tourCommand(): Command {
  return new Command('tour')
    .description('watch ebs-cdp protect a volume, catch a silent corruption, repair it and restore a point in time (local, ~1 minute)')
    .action(async (_options: unknown, command: Command) => {
      const output = outputOf(command);
      const summary = await runTour({ dataDir: tourDirectory(homeDirectory(globalOptions(command))), output });
      output.result(summary, renderTourSummary);
      if (!summary.ok) {
        const failed = summary.checks.filter((check) => !check.ok).map((check) => check.claim);
        throw new CheckFailedError(`${failed.length} check(s) of the tour failed: ${failed.join('; ')}`, 'run again with --debug, and report it with the output above');
      }
    });
}

/** `ebs-cdp local start|stop|status|emulator`: the local cloud in the background (or the foreground). */
import { Command } from 'commander';
import { isHealthy, readLocalCloudState, runLocalCloudForeground, startBackground, stopBackground, type LocalCloudState } from '../local-cloud';
import { parsePort } from '../arguments';
import { localDataDir } from '../target';
import { globalOptions, outputOf } from './common';

function renderState(state: LocalCloudState): string {
  return [
    `local cloud running (pid ${state.pid}, since ${state.startedAt})`,
    `  EBS + EC2  ${state.emulator}`,
    `  DynamoDB   ${state.dynamoDb} (table ${state.chainTable})`,
    `  workload   ${state.workload}`,
    `  region     ${state.region} (zone ${state.zone})`,
    `  data       ${state.dataDir}`,
  ].join('\n');
}

/** The `local` command group. */
export function localCommand(): Command {
  const local = new Command('local').description('the local cloud (EBS + EC2 emulator and DynamoDB) on 127.0.0.1, no AWS account needed');

  local
    .command('start')
    .description('start the local cloud in the background, persisted under <home>/local')
    .option('--port <port>', 'emulator port (default: any free port)', parsePort)
    .action(async (options: { port?: number }, command: Command) => {
      const output = outputOf(command);
      const state = await startBackground(localDataDir(globalOptions(command)), { emulatorPort: options.port });
      output.result({ running: true, ...state }, renderState);
    });

  local
    .command('stop')
    .description('stop the background local cloud (its data stays)')
    .action(async (_options: unknown, command: Command) => {
      const output = outputOf(command);
      const stopped = await stopBackground(localDataDir(globalOptions(command)));
      output.result(stopped, (s) => (s.stopped ? `local cloud stopped (pid ${s.pid})` : 'the local cloud was not running'));
    });

  local
    .command('status')
    .description('is the local cloud running, where are its endpoints and its data')
    .action(async (_options: unknown, command: Command) => {
      const output = outputOf(command);
      const dataDir = localDataDir(globalOptions(command));
      const state = await readLocalCloudState(dataDir);
      if (state === undefined) {
        output.result({ running: false, dataDir }, () => `the local cloud is not running (data: ${dataDir}); start it with: ebs-cdp local start`);
        return;
      }
      const healthy = await isHealthy(state);
      output.result({ running: true, healthy, ...state }, (s) => `${renderState(s)}${s.healthy ? '' : '\n  (not answering: restart it with ebs-cdp local stop && ebs-cdp local start)'}`);
    });

  local
    .command('emulator')
    .description('run the local cloud in the foreground until Ctrl-C (what `local start` runs in the background)')
    .option('--data-dir <dir>', 'where to persist (default: <home>/local)')
    .option('--port <port>', 'emulator port (default: any free port)', parsePort)
    .action(async (options: { dataDir?: string; port?: number }, command: Command) => {
      const output = outputOf(command);
      await runLocalCloudForeground(options.dataDir ?? localDataDir(globalOptions(command)), {
        emulatorPort: options.port,
        onReady: (state) => output.result(state, (s) => `${renderState(s)}\nCtrl-C stops it.`),
      });
    });

  return local;
}

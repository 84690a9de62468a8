/**
 * Runs the emulator on its own:
 *   npx tsx local/emulator/main.ts --port 0 --data-dir ./.ebs-cdp/emulator
 * Prints the endpoint on stdout (one line, `endpoint=http://127.0.0.1:<port>`) and stops cleanly on
 * SIGINT/SIGTERM.
 */
import { Command, InvalidArgumentError } from 'commander';
import { faultConfigSchema } from './faults';
import { startEmulator } from './index';

function parsePort(value: string): number {
  const port = Number(value);
  // 65,535 is the largest TCP port; 0 asks the OS for a free one.
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError('port must be 0–65535');
  return port;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('ebs-cdp-emulator')
    .description('Local emulator of the EBS direct APIs (and EC2, when built in), on loopback.')
    .option('--port <port>', 'port to listen on (0 = any free port)', parsePort, 0)
    .option('--data-dir <dir>', 'persist snapshots under this directory (default: in memory)')
    .option('--faults <json>', 'initial fault switches as JSON, e.g. {"quotas":true}')
    .parse();
  const options = program.opts<{ port: number; dataDir?: string; faults?: string }>();
  const faults = options.faults === undefined ? {} : faultConfigSchema.partial().parse(JSON.parse(options.faults));
  const emulator = await startEmulator({ port: options.port, dataDir: options.dataDir, faults });
  console.log(`endpoint=${emulator.endpoint}`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    emulator.stop().then(
      () => {
        console.error(`emulator stopped (${signal})`);
        process.exit(0);
      },
      (error: unknown) => {
        console.error('emulator failed to stop cleanly', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

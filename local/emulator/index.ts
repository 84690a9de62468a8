import { EmulatorClock } from './clock';
import { Ec2Model, handleEc2Request } from './ec2';
import type { Clock, SnapshotStorePort } from './contracts';
import { EmulatorStats, Faults, type FaultConfig } from './faults';
import { listen, type Ec2Handler } from './server';
import { SnapshotStore } from './store';
import { TokenSigner } from './tokens';

export { EmulatorClock } from './clock';
export type { Clock, SnapshotInfo, SnapshotState, SnapshotStorePort, Tag } from './contracts';
export { unwrittenEncryptedBlock } from './encryption';
export { EbsApiError } from './errors';
export { DEFAULT_FAULTS, EmulatorStats, Faults, type FaultConfig } from './faults';
export { SnapshotStore, type CorruptionResult, type CorruptionScope } from './store';
export type { Ec2Handler } from './server';

/** The emulator binds to loopback only: it has no authentication and must not be reachable from outside. */
export const LOOPBACK_HOST = '127.0.0.1';

export interface EmulatorOptions {
  /** 0 (default) = a free port. */
  port?: number;
  host?: typeof LOOPBACK_HOST;
  /** Data directory of a persistent emulator; undefined = in memory. */
  dataDir?: string;
  /** Fault switches to start with (all off by default). */
  faults?: Partial<FaultConfig>;
  /**
   * Builds the EC2 half. Default: the one in `./ec2`; `null` = none (EC2 requests answer 501),
   * for tests of the EBS half alone. A bare handler (nothing to close) is accepted too.
   */
  ec2?: ((args: { store: SnapshotStorePort; dataDir?: string; clock: Clock }) => Promise<Ec2Half | Ec2Handler>) | null;
}

export interface RunningEmulator {
  /** `http://127.0.0.1:<port>`: give it to the SDK clients as `endpoint`. */
  endpoint: string;
  port: number;
  store: SnapshotStore;
  faults: Faults;
  clock: EmulatorClock;
  stats: EmulatorStats;
  stop(): Promise<void>;
}

/** The EC2 half as the server sees it: a request handler, and what to close at stop. */
export interface Ec2Half {
  handle: Ec2Handler;
  close(): Promise<void>;
}

/** The built-in EC2 half (`./ec2`), sharing the store, data directory and clock of the EBS half. */
async function builtInEc2(args: { store: SnapshotStorePort; dataDir?: string; clock: Clock }): Promise<Ec2Half> {
  const model = await Ec2Model.open(args);
  return { handle: (params) => handleEc2Request({ model }, params), close: () => model.close() };
}

/**
 * Starts the local-cloud emulator (EBS direct APIs and, when built in, the EC2 Query API) on
 * loopback.
 *
 * @example
 * const emulator = await startEmulator({ dataDir: './.ebs-cdp/emulator' });
 * const ebs = new EBSClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials });
 * // …
 * await emulator.stop();
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const clock = new EmulatorClock();
  const store = await SnapshotStore.open({ dataDir: options.dataDir, clock });
  const faults = new Faults(clock, options.faults);
  const stats = new EmulatorStats();
  const ec2Args = { store, dataDir: options.dataDir, clock };
  const built = options.ec2 === null ? undefined : options.ec2 !== undefined ? await options.ec2(ec2Args) : await builtInEc2(ec2Args);
  const ec2: Ec2Half | undefined = typeof built === 'function' ? { handle: built, close: async () => undefined } : built;
  const host = options.host ?? LOOPBACK_HOST;
  const running = await listen(
    { store, faults, stats, clock, tokens: new TokenSigner(store.secret), ec2: ec2?.handle },
    host,
    options.port ?? 0,
  );
  let stopped = false;
  return {
    endpoint: `http://${host}:${running.port}`,
    port: running.port,
    store,
    faults,
    clock,
    stats,
    async stop() {
      if (stopped) return;
      stopped = true;
      await running.close();
      await ec2?.close();
      await store.close();
    },
  };
}

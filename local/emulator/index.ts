import { EmulatorClock } from './clock';
import { Ec2Model, handleEc2Request } from './ec2';
import type { Clock, SnapshotStorePort } from './contracts';
import { EmulatorStats, Faults, type FaultConfig } from './faults';
import { DEFAULT_REGION, isRegionName, persistedRegions, regionDataDir, Regions, type EmulatedRegion } from './regions';
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
export { DEFAULT_REGION, isRegionName, regionOfRequest } from './regions';
export type { RegionBlockBytes } from './faults';

/** The emulator binds to loopback only: it has no authentication and must not be reachable from outside. */
export const LOOPBACK_HOST = '127.0.0.1';

export interface EmulatorOptions {
  /** 0 (default) = a free port. */
  port?: number;
  host?: typeof LOOPBACK_HOST;
  /** Data directory of a persistent emulator; undefined = in memory. */
  dataDir?: string;
  /**
   * The Region of requests whose SigV4 credential scope names none, of the control API and of
   * `store`; its files are the data directory's top level (others: `regions/<name>/`).
   * Default {@link DEFAULT_REGION}.
   */
  defaultRegion?: string;
  /** Fault switches to start with (all off by default). */
  faults?: Partial<FaultConfig>;
  /**
   * Builds the EC2 half of a Region, once per Region as it opens (the default Region at start).
   * Default: the one in `./ec2`; `null` = none (EC2 requests answer 501), for tests of the EBS
   * half alone. A bare handler (nothing to close) is accepted too.
   */
  ec2?: ((args: Ec2HalfArgs) => Promise<Ec2Half | Ec2Handler>) | null;
}

/** What the EC2 half of one Region is built from: that Region's store and data directory. */
export interface Ec2HalfArgs {
  store: SnapshotStorePort;
  dataDir?: string;
  clock: Clock;
  region: string;
}

export interface RunningEmulator {
  /** `http://127.0.0.1:<port>`: give it to the SDK clients as `endpoint`. */
  endpoint: string;
  port: number;
  /** The default Region's store. */
  store: SnapshotStore;
  defaultRegion: string;
  /** A Region's store (opened on first use, as a request naming it would). */
  region(name: string): Promise<{ name: string; store: SnapshotStore }>;
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

/** The built-in EC2 half (`./ec2`) of one Region, sharing that Region's store and data directory, and the clock. */
async function builtInEc2(args: Ec2HalfArgs): Promise<Ec2Half> {
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
  const defaultRegion = options.defaultRegion ?? DEFAULT_REGION;
  const openRegion = async (name: string): Promise<EmulatedRegion> => {
    const dataDir = regionDataDir(options.dataDir, name, defaultRegion);
    const store = await SnapshotStore.open({ dataDir, clock });
    let ec2: Ec2Half | undefined;
    try {
      const ec2Args: Ec2HalfArgs = { store, dataDir, clock, region: name };
      const built = options.ec2 === null ? undefined : options.ec2 !== undefined ? await options.ec2(ec2Args) : await builtInEc2(ec2Args);
      ec2 = typeof built === 'function' ? { handle: built, close: async () => undefined } : built;
    } catch (error) {
      await store.close();
      throw error;
    }
    return {
      name,
      store,
      tokens: new TokenSigner(store.secret),
      ec2: ec2?.handle,
      async close() {
        await ec2?.close();
        await store.close();
      },
    };
  };
  const regions = new Regions(defaultRegion, openRegion);
  const faults = new Faults(clock, options.faults);
  const stats = new EmulatorStats();
  let running: Awaited<ReturnType<typeof listen>>;
  let store: SnapshotStore;
  try {
    // The default Region first (it is `store`), then every Region a previous run left files for.
    store = (await regions.get(defaultRegion)).store;
    for (const name of await persistedRegions(options.dataDir)) await regions.get(name);
    running = await listen({ faults, stats, clock, regions }, options.host ?? LOOPBACK_HOST, options.port ?? 0);
  } catch (error) {
    await regions.close();
    throw error;
  }
  const host = options.host ?? LOOPBACK_HOST;
  let stopped = false;
  return {
    endpoint: `http://${host}:${running.port}`,
    port: running.port,
    store,
    defaultRegion,
    region: async (name) => {
      if (name !== defaultRegion && !isRegionName(name)) throw new RangeError(`'${name}' is not a Region name (like us-east-1)`);
      const region = await regions.get(name);
      return { name: region.name, store: region.store };
    },
    faults,
    clock,
    stats,
    async stop() {
      if (stopped) return;
      stopped = true;
      await running.close();
      await regions.close();
    },
  };
}

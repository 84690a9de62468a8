/**
 * The local cloud's core in one call: the EBS/EC2 emulator with its EC2 model, dynalite, and the
 * chain table. The CLI (`ebs-cdp local start`, the tour) adds the workload routes and the Step
 * Functions endpoint on top; the benchmarks add their counters. One place decides how the parts
 * are wired, so the product and what measures it run the same local cloud.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { EbsCdpError } from '../shared/core/errors';
import type { EngineConfig } from '../shared/wiring/engine-context';
import { LOCAL_CHAIN_TABLE, LOCAL_REGION, localEngineConfig, type LocalEngineOverrides } from './config';
import { createChainTable, startLocalDynamoDb, type LocalDynamoDb } from './dynamodb';
import { startEmulator, type FaultConfig, type RunningEmulator } from './emulator';
import { Ec2Model, handleEc2Request } from './emulator/ec2';

// The one configuration of the local cloud, re-exported where its users already import it from.
export { LOCAL_CHAIN_TABLE, LOCAL_CREDENTIALS, LOCAL_REGION, LOCAL_ZONE, localEngineConfig, type LocalEngineOverrides } from './config';

/** The local cloud could not be started. */
export class LocalCloudStartError extends EbsCdpError {
  static override readonly errorName: string = 'LocalCloudStartError';
}

export interface LocalCloudCoreOptions {
  /** Persist under this directory (`emulator/`, `dynamodb/`); in memory when absent. */
  readonly dataDir?: string;
  /** The emulator's port; a free one when absent. */
  readonly emulatorPort?: number;
  /** Fault switches the emulator starts with (all off by default). */
  readonly faults?: Partial<FaultConfig>;
  readonly chainTable?: string;
}

/** The emulator (EBS direct APIs + EC2 on one endpoint), its EC2 model, dynalite and the table. */
export interface LocalCloudCore {
  readonly emulator: RunningEmulator;
  /** The EC2 half's model: the workload API (write, trim and read volume blocks). */
  readonly model: Ec2Model;
  readonly db: LocalDynamoDb;
  readonly chainTable: string;
  /** Engine-side endpoints of both sides (they share the emulator). */
  readonly side: { readonly region: string; readonly ebsEndpoint: string; readonly ec2Endpoint: string };
  /** The engine configuration on this cloud ({@link localEngineConfig}), with `overrides`. */
  engineConfig(overrides?: LocalEngineOverrides): EngineConfig;
  stop(): Promise<void>;
}

/** The emulator and its EC2 model: the local cloud without dynalite (the adapters' tests need no table). */
export interface LocalEmulator {
  readonly emulator: RunningEmulator;
  readonly model: Ec2Model;
}

/** Starts the emulator (EBS direct APIs + EC2 on one endpoint) with the EC2 half's model in reach. */
export async function startLocalEmulator(options: Pick<LocalCloudCoreOptions, 'dataDir' | 'emulatorPort' | 'faults'> = {}): Promise<LocalEmulator> {
  let model: Ec2Model | undefined;
  const emulator = await startEmulator({
    port: options.emulatorPort,
    faults: options.faults,
    dataDir: options.dataDir === undefined ? undefined : path.join(options.dataDir, 'emulator'),
    // Both sides use LOCAL_REGION (see localEngineConfig): its EC2 model is the one in reach.
    defaultRegion: LOCAL_REGION,
    ec2: async (args) => {
      const opened = await Ec2Model.open(args);
      if (args.region === LOCAL_REGION) model = opened;
      return { handle: (params) => handleEc2Request({ model: opened }, params), close: () => opened.close() };
    },
  });
  if (model === undefined) {
    await emulator.stop();
    throw new LocalCloudStartError('the emulator started without its EC2 half: report this as a bug of ebs-cdp');
  }
  return { emulator, model };
}

/** Starts the emulator with its EC2 model, dynalite and the chain table (idempotent on a persisted table). */
export async function startLocalCloudCore(options: LocalCloudCoreOptions = {}): Promise<LocalCloudCore> {
  const { dataDir } = options;
  const chainTable = options.chainTable ?? LOCAL_CHAIN_TABLE;
  if (dataDir !== undefined) mkdirSync(path.join(dataDir, 'dynamodb'), { recursive: true });
  const { emulator, model } = await startLocalEmulator(options);
  const db = await startLocalDynamoDb({ path: dataDir === undefined ? undefined : path.join(dataDir, 'dynamodb') });
  const setup = db.client();
  try {
    await createChainTable(setup, chainTable);
  } finally {
    setup.destroy();
  }
  let stopped: Promise<void> | undefined;
  return {
    emulator,
    model,
    db,
    chainTable,
    side: { region: LOCAL_REGION, ebsEndpoint: emulator.endpoint, ec2Endpoint: emulator.endpoint },
    engineConfig: (overrides) => localEngineConfig({ emulatorEndpoint: emulator.endpoint, dynamoDbEndpoint: db.endpoint, chainTable }, overrides),
    stop: () => {
      stopped ??= (async () => {
        await db.stop();
        await emulator.stop();
      })();
      return stopped;
    },
  };
}

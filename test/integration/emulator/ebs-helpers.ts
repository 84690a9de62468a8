import { createHash } from 'node:crypto';
import {
  CompleteSnapshotCommand,
  EBSClient,
  GetSnapshotBlockCommand,
  paginateListChangedBlocks,
  paginateListSnapshotBlocks,
  PutSnapshotBlockCommand,
  StartSnapshotCommand,
  type ChangedBlock,
  type StartSnapshotCommandInput,
} from '@aws-sdk/client-ebs';
import { sha256Base64 } from '../../../shared/core/checksum';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../../local/emulator';

/** An emulator with one SDK client pointed at it; retries off so every error surfaces. */
export interface EbsHarness {
  emulator: RunningEmulator;
  ebs: EBSClient;
}

export function ebsClient(endpoint: string, maxAttempts = 1): EBSClient {
  return new EBSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts,
  });
}

export async function startHarness(options: EmulatorOptions = {}): Promise<EbsHarness> {
  const emulator = await startEmulator({ ec2: null, ...options });
  return { emulator, ebs: ebsClient(emulator.endpoint) };
}

export async function stopHarness(harness: EbsHarness | undefined): Promise<void> {
  harness?.ebs.destroy();
  await harness?.emulator.stop();
}

export { patternBlock } from '../../../local/block-content';
export { sha256Base64 } from '../../../shared/core/checksum';

/** LINEAR aggregate: SHA-256 over the raw digests of the written blocks, ascending block index. */
export function linearChecksum(blocks: ReadonlyMap<number, Buffer>): string {
  const aggregate = createHash('sha256');
  for (const index of [...blocks.keys()].sort((a, b) => a - b)) {
    aggregate.update(createHash('sha256').update(blocks.get(index)!).digest());
  }
  return aggregate.digest('base64');
}

export async function putBlock(ebs: EBSClient, snapshotId: string, blockIndex: number, data: Buffer): Promise<void> {
  await ebs.send(
    new PutSnapshotBlockCommand({
      SnapshotId: snapshotId,
      BlockIndex: blockIndex,
      BlockData: data,
      DataLength: data.length,
      Checksum: sha256Base64(data),
      ChecksumAlgorithm: 'SHA256',
    }),
  );
}

/** Start, write every block, complete with count and LINEAR checksum: a completed snapshot's id. */
export async function writeSnapshot(
  ebs: EBSClient,
  args: { volumeSize: number; parentSnapshotId?: string; blocks: ReadonlyMap<number, Buffer>; start?: Partial<StartSnapshotCommandInput> },
): Promise<string> {
  const started = await ebs.send(
    new StartSnapshotCommand({ VolumeSize: args.volumeSize, ParentSnapshotId: args.parentSnapshotId, ...args.start }),
  );
  const snapshotId = started.SnapshotId!;
  await Promise.all([...args.blocks].map(([index, data]) => putBlock(ebs, snapshotId, index, data)));
  const completed = await ebs.send(
    new CompleteSnapshotCommand({
      SnapshotId: snapshotId,
      ChangedBlocksCount: args.blocks.size,
      Checksum: linearChecksum(args.blocks),
      ChecksumAlgorithm: 'SHA256',
      ChecksumAggregationMethod: 'LINEAR',
    }),
  );
  if (completed.Status !== 'completed') throw new Error(`snapshot ${snapshotId} is ${completed.Status}`);
  return snapshotId;
}

/** Every (index, token) of ListSnapshotBlocks, all pages. */
export async function listAllBlocks(ebs: EBSClient, snapshotId: string, pageSize = 10_000): Promise<Map<number, string>> {
  const blocks = new Map<number, string>();
  for await (const page of paginateListSnapshotBlocks({ client: ebs }, { SnapshotId: snapshotId, MaxResults: pageSize })) {
    for (const block of page.Blocks ?? []) blocks.set(block.BlockIndex!, block.BlockToken!);
  }
  return blocks;
}

/** Every changed block of ListChangedBlocks, all pages. */
export async function listAllChanges(ebs: EBSClient, first: string | undefined, second: string, pageSize = 10_000): Promise<ChangedBlock[]> {
  const changes: ChangedBlock[] = [];
  for await (const page of paginateListChangedBlocks(
    { client: ebs },
    { FirstSnapshotId: first, SecondSnapshotId: second, MaxResults: pageSize },
  )) {
    changes.push(...(page.ChangedBlocks ?? []));
  }
  return changes;
}

export async function getBlock(ebs: EBSClient, snapshotId: string, blockIndex: number, blockToken: string): Promise<{ data: Buffer; checksum?: string; dataLength?: number }> {
  const out = await ebs.send(new GetSnapshotBlockCommand({ SnapshotId: snapshotId, BlockIndex: blockIndex, BlockToken: blockToken }));
  const data = Buffer.from(await out.BlockData!.transformToByteArray());
  return { data, checksum: out.Checksum, dataLength: out.DataLength };
}

/** Reads every allocated block of a snapshot: index → content. */
export async function readImage(ebs: EBSClient, snapshotId: string): Promise<Map<number, Buffer>> {
  const image = new Map<number, Buffer>();
  for (const [index, token] of await listAllBlocks(ebs, snapshotId)) image.set(index, (await getBlock(ebs, snapshotId, index, token)).data);
  return image;
}

/** The rejection of `promise`, for asserting on class, `name` and `Reason`. */
export async function rejectionOf(promise: Promise<unknown>): Promise<{ name?: string; Reason?: string; $metadata?: { httpStatusCode?: number } } & Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { Reason?: string };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/**
 * Emulator throughput: MiB/s of PutSnapshotBlock and GetSnapshotBlock through the emulator with
 * 32 concurrent SDK clients, beside a raw read/write of the same bytes to disk in the same run
 * (so the ratio, not the absolute number, is what to compare across machines).
 *
 *   npx tsx bench/emulator.ts            # BENCH_EMULATOR_BLOCKS=512 for a longer run
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteSnapshotCommand,
  EBSClient,
  GetSnapshotBlockCommand,
  paginateListSnapshotBlocks,
  PutSnapshotBlockCommand,
  StartSnapshotCommand,
} from '@aws-sdk/client-ebs';
import { BLOCK_SIZE } from '../shared/core/constants';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/config';
import { markdownTable, writeResults } from './harness';
import { CONTEXT, recordFigures } from './summary';

/** Concurrent clients: what the sync copies with per Lambda (coldsnap uses 64 workers; we use 32). */
const CONCURRENT_CLIENTS = 32;
/** Default blocks moved per phase: 256 × 512 KiB = 128 MiB, a few seconds on two shared cores. */
const DEFAULT_BLOCKS = 256;
const BYTES_PER_MIB = 1_048_576;
const MS_PER_SECOND = 1_000;

interface PhaseResult {
  phase: string;
  blocks: number;
  mib: number;
  seconds: number;
  mibPerSecond: number;
}

/** Distinct content per block, so the content-addressed store really stores every block. */
function blockData(blockIndex: number): Buffer {
  const data = Buffer.alloc(BLOCK_SIZE, blockIndex & 0xff);
  data.writeUInt32LE(blockIndex, 0);
  return data;
}

async function timed(phase: string, blocks: number, work: () => Promise<void>): Promise<PhaseResult> {
  const began = performance.now();
  await work();
  const seconds = (performance.now() - began) / MS_PER_SECOND;
  const mib = (blocks * BLOCK_SIZE) / BYTES_PER_MIB;
  return { phase, blocks, mib, seconds: Number(seconds.toFixed(3)), mibPerSecond: Number((mib / seconds).toFixed(1)) };
}

/**
 * The emulator runs in its own process, as a user runs it: the SDK clients of the benchmark and
 * the server then each get a core instead of sharing one event loop.
 */
async function spawnEmulator(dataDir: string): Promise<{ endpoint: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'local', 'emulator', 'main.ts'), '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /endpoint=(\S+)/.exec(seen);
      if (match !== null) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code} before printing its endpoint`)));
  });
  return { endpoint, child };
}

async function stopEmulator(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Runs `task` over 0..count-1 with `workers` concurrent loops; worker w uses resource w. */
async function pool(count: number, workers: number, task: (index: number, worker: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let index = next++; index < count; index = next++) await task(index, worker);
    }),
  );
}

/** Runs the benchmark and returns its results (also printed as a table when run standalone). */
export async function runEmulatorBench(): Promise<object> {
  const blocks = Number(process.env.BENCH_EMULATOR_BLOCKS ?? DEFAULT_BLOCKS);
  const workDir = await mkdtemp(join(tmpdir(), 'ebs-cdp-bench-'));
  const emulator = await spawnEmulator(join(workDir, 'emulator'));
  const clients = Array.from(
    { length: CONCURRENT_CLIENTS },
    () =>
      new EBSClient({ endpoint: emulator.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
  );
  const payloads = Array.from({ length: blocks }, (_, i) => blockData(i));
  const checksums = payloads.map((data) => createHash('sha256').update(data).digest('base64'));
  const results: PhaseResult[] = [];
  try {
    // Raw disk first: the same bytes, the same concurrency, one file.
    const rawPath = join(workDir, 'raw.img');
    const handle = await open(rawPath, 'w+');
    results.push(
      await timed('raw write', blocks, () =>
        pool(blocks, CONCURRENT_CLIENTS, async (i) => {
          await handle.write(payloads[i], 0, BLOCK_SIZE, i * BLOCK_SIZE);
        }),
      ),
    );
    results.push(
      await timed('raw read', blocks, () =>
        pool(blocks, CONCURRENT_CLIENTS, async (i) => {
          await handle.read(Buffer.allocUnsafe(BLOCK_SIZE), 0, BLOCK_SIZE, i * BLOCK_SIZE);
        }),
      ),
    );
    await handle.close();

    const started = await clients[0].send(new StartSnapshotCommand({ VolumeSize: Math.ceil(blocks / 2_048) }));
    const snapshotId = started.SnapshotId ?? '';
    results.push(
      await timed('PutSnapshotBlock', blocks, () =>
        pool(blocks, CONCURRENT_CLIENTS, async (i, worker) => {
          await clients[worker].send(
            new PutSnapshotBlockCommand({
              SnapshotId: snapshotId,
              BlockIndex: i,
              BlockData: payloads[i],
              DataLength: BLOCK_SIZE,
              Checksum: checksums[i],
              ChecksumAlgorithm: 'SHA256',
            }),
          );
        }),
      ),
    );
    await clients[0].send(new CompleteSnapshotCommand({ SnapshotId: snapshotId, ChangedBlocksCount: blocks }));
    const tokens: string[] = [];
    for await (const page of paginateListSnapshotBlocks({ client: clients[0] }, { SnapshotId: snapshotId })) {
      for (const block of page.Blocks ?? []) tokens[block.BlockIndex ?? 0] = block.BlockToken ?? '';
    }
    results.push(
      await timed('GetSnapshotBlock', blocks, () =>
        pool(blocks, CONCURRENT_CLIENTS, async (i, worker) => {
          const out = await clients[worker].send(new GetSnapshotBlockCommand({ SnapshotId: snapshotId, BlockIndex: i, BlockToken: tokens[i] }));
          const data = await out.BlockData?.transformToByteArray();
          if (data?.length !== BLOCK_SIZE) throw new Error(`block ${i}: short read`);
        }),
      ),
    );
    const calls = ((await (await fetch(`${emulator.endpoint}/_emulator/stats`)).json()) as { calls: Record<string, number> }).calls;
    const rawOf = (phase: string): number => results.find((r) => r.phase === phase)?.mibPerSecond ?? Number.NaN;
    const rows = results.map((r) => ({
      ...r,
      vsRaw: r.phase.startsWith('raw') ? '1.00' : (r.mibPerSecond / rawOf(r.phase === 'PutSnapshotBlock' ? 'raw write' : 'raw read')).toFixed(3),
    }));
    const report = { concurrentClients: CONCURRENT_CLIENTS, blockSize: BLOCK_SIZE, results: rows, calls };
    console.table(rows);
    writeResults('emulator', report, `# Emulator throughput (${CONCURRENT_CLIENTS} concurrent clients)\n\n${markdownTable(rows)}`);
    const rateOf = (phase: string): number => results.find((r) => r.phase === phase)?.mibPerSecond ?? Number.NaN;
    recordFigures({
      'emulator.put_vs_raw_write': { value: rateOf('PutSnapshotBlock') / rateOf('raw write'), goal: CONTEXT },
      'emulator.get_vs_raw_read': { value: rateOf('GetSnapshotBlock') / rateOf('raw read'), goal: CONTEXT },
    });
    return report;
  } finally {
    for (const client of clients) client.destroy();
    await stopEmulator(emulator.child);
    await rm(workDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runEmulatorBench().then(
    () => undefined,
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

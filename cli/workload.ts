/**
 * A workload for the local cloud: what an application on the instance would do to its volume,
 * through the emulator's EC2 model (sequential extents and random blocks, fresh content each
 * time), plus the read side a check needs (per-block digests of a volume).
 *
 * In process (the tour) it calls the model directly; the background local cloud serves the same
 * calls over loopback HTTP (`/workload/*`, see `local-cloud.ts`) for `ebs-cdp volume write`.
 */
import { randomFillSync } from 'node:crypto';
import { BLOCK_SIZE, volumeBlocks } from '../shared/core/constants';
import { EbsCdpError } from '../shared/core/errors';
import type { Ec2Model } from '../local/emulator/ec2';
import { sha256Hex, ZERO_BLOCK_HEX } from '../local/block-content';

/** Bytes stamped at the start of every block: volume-unique, so no two writes share content by chance. */
const STAMP_BYTES = 16;

let writeCounter = 0;

/** A block of fresh random content, stamped with its index and a write counter. */
export function freshBlock(blockIndex: number): Buffer {
  const data = Buffer.allocUnsafe(BLOCK_SIZE);
  randomFillSync(data, STAMP_BYTES);
  writeCounter += 1;
  data.writeDoubleLE(blockIndex, 0);
  data.writeDoubleLE(writeCounter, STAMP_BYTES / 2);
  return data;
}

/** `count` consecutive blocks from `start`. */
export function extent(start: number, count: number): number[] {
  return Array.from({ length: count }, (_, offset) => start + offset);
}

/** `count` distinct random block indexes in `[from, to)`, ascending. */
export function randomBlocks(random: () => number, count: number, from: number, to: number): number[] {
  const span = to - from;
  const picked = new Set<number>();
  while (picked.size < Math.min(count, span)) picked.add(from + Math.floor(random() * span));
  return [...picked].sort((a, b) => a - b);
}

/** The workload calls, whether in process or over HTTP. */
export interface WorkloadPort {
  /** Writes fresh content to every block of `blocks`. */
  write(volumeId: string, blocks: readonly number[]): Promise<{ written: number }>;
  /** Per-block SHA-256 of every block of the volume that does not read as zeros. */
  digests(volumeId: string): Promise<Map<number, string>>;
}

/** Blocks written at once: keeps the volume file busy without flooding the event loop. */
const WRITE_CONCURRENCY = 8;

/** The workload on an in-process emulator's EC2 model. */
export class ModelWorkload implements WorkloadPort {
  constructor(private readonly model: Ec2Model) {}

  async write(volumeId: string, blocks: readonly number[]): Promise<{ written: number }> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < blocks.length) {
        const blockIndex = blocks[next++];
        await this.model.writeBlock(volumeId, blockIndex, freshBlock(blockIndex));
      }
    };
    await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
    return { written: blocks.length };
  }

  async digests(volumeId: string): Promise<Map<number, string>> {
    const { size } = this.model.getVolume(volumeId);
    const image = new Map<number, string>();
    for (let blockIndex = 0; blockIndex < volumeBlocks(size); blockIndex++) {
      const digest = sha256Hex(await this.model.readBlock(volumeId, blockIndex));
      if (digest !== ZERO_BLOCK_HEX) image.set(blockIndex, digest);
    }
    return image;
  }
}

/** The workload of a background local cloud, over its `/workload/*` routes. */
export class HttpWorkload implements WorkloadPort {
  constructor(private readonly endpoint: string) {}

  async write(volumeId: string, blocks: readonly number[]): Promise<{ written: number }> {
    return (await this.post('/workload/write', { volumeId, blocks })) as { written: number };
  }

  async digests(volumeId: string): Promise<Map<number, string>> {
    const answer = (await this.post('/workload/digests', { volumeId })) as { digests: Array<[number, string]> };
    return new Map(answer.digests);
  }

  private async post(path: string, body: unknown): Promise<unknown> {
    const response = await fetch(`${this.endpoint}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as { message?: string; code?: string };
    if (!response.ok) throw new WorkloadRequestError(answer.message ?? `workload request failed (${response.status})`, answer.code);
    return answer;
  }
}

/** A workload call the local cloud refused (e.g. an unknown volume: `code` is EC2's error code). */
export class WorkloadRequestError extends EbsCdpError {
  static override readonly errorName: string = 'WorkloadRequestError';

  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

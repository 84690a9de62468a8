/**
 * Block content of the local cloud: deterministic block patterns, a seeded random generator, and
 * the SHA-256 hex every image comparison (and the emulator's content store) uses. One copy for the
 * emulator, the tests, the benchmarks and the tour's workload, so a test and the bench that
 * measures the same path write the same bytes.
 */
import { createHash } from 'node:crypto';
import { BLOCK_SIZE } from '../shared/core/constants';

/** Odd 32-bit multiplier (Knuth's golden ratio hash): spreads consecutive seeds over every word. */
const PATTERN_MULTIPLIER = 2_654_435_761;

/** Bytes per pattern word. */
const PATTERN_WORD_BYTES = 4;

/**
 * A block whose bytes depend on `seed`: distinct seeds, distinct content (the emulator's store
 * dedups equal blocks, so tests that count stored blocks need distinct ones).
 */
export function patternBlock(seed: number): Buffer {
  const data = Buffer.alloc(BLOCK_SIZE);
  for (let at = 0; at < BLOCK_SIZE; at += PATTERN_WORD_BYTES) data.writeUInt32LE((seed * PATTERN_MULTIPLIER + at) >>> 0, at);
  return data;
}

/** SHA-256 hex of a block: how images are compared, block by block. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 hex of an all-zero block: how a cleared or never-written block of an unencrypted volume reads. */
export const ZERO_BLOCK_HEX = sha256Hex(Buffer.alloc(BLOCK_SIZE));

/** 2^32: maps a 32-bit state to [0, 1). */
const UINT32_RANGE = 4_294_967_296;

/**
 * A small seeded generator (mulberry32) of numbers in [0, 1): the same seed gives the same
 * sequence on every run, so random workloads can be replayed and compared run to run.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / UINT32_RANGE;
  };
}

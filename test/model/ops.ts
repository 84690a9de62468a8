/**
 * The operations of the trust suite and their seeded generator. An operation is concrete (blocks,
 * seeds, seqs, steps), so an op log replays as it ran; the generator draws the next one from a
 * seeded generator and the model's state (which points exist, which versions are undamaged), so
 * a seed replays too as long as the engine answers the same.
 */
import { seededRandom } from '../../local/block-content';
import { MODEL_SYNC_STEPS, type ModelSyncStep, type SyncFault, type TrustModel } from './model';

/** The Verify machine's steps a fault may end a verify at (before the fix-up, which has its own faults). */
export const MODEL_VERIFY_FAULT_STEPS = ['VerifyPlan', 'VerifyScanSegment', 'VerifyFinishScan'] as const;
export type ModelVerifyFaultStep = (typeof MODEL_VERIFY_FAULT_STEPS)[number];

export interface VerifyFault {
  readonly stopAfter?: ModelVerifyFaultStep;
  readonly crash?: { readonly step: ModelVerifyFaultStep; readonly when: 'before' | 'after' };
}

/** `[blockIndex, content seed]`: the same seed as the block holds is a rewrite with identical bytes. */
export type BlockWrite = readonly [number, number];

export type Op =
  | { readonly op: 'write'; readonly blocks: readonly BlockWrite[] }
  | { readonly op: 'sync'; readonly fault?: SyncFault }
  | { readonly op: 'corrupt'; readonly seq: number; readonly block: number }
  | {
    readonly op: 'verify';
    readonly quick: boolean;
    /** Host writes, then a complete sync, inside the scan interval. */
    readonly duringScan?: { readonly writes: readonly BlockWrite[] };
    readonly fault?: VerifyFault;
    /** The fix-up's sync pipeline dies. */
    readonly fixup?: SyncFault;
  }
  | { readonly op: 'prune'; readonly seqs?: readonly number[] }
  | { readonly op: 'restore'; readonly seq?: number; readonly atSeq?: number; readonly offsetMs?: number; readonly allowSuspect: boolean }
  | { readonly op: 'scrub'; readonly scope: 'all' | 'new' };

/** One line of an op log. */
export function describeOp(op: Op): string {
  return JSON.stringify(op);
}

/** What the generator needs to know besides the model. */
export interface GeneratorOptions {
  /** Block indexes the workload writes (scattered over a few hundred). */
  readonly pool: readonly number[];
  /** Whether scrubs are part of the histories. */
  readonly scrub: boolean;
  /** The volume's `keepLast` (a prune without seqs applies it). */
  readonly keepLast: number;
  /** Never damage a version: histories that exercise every path but trust's. */
  readonly noDamage?: boolean;
}

/** Highest content seed: `patternBlock` multiplies it by a 32-bit constant and must stay exact in a double. */
const MAX_CONTENT_SEED = 2 ** 21;

/** Relative weights of the operations (the generator skips those the state does not allow). */
const WEIGHTS = {
  write: 26,
  sync: 16,
  syncFault: 8,
  corrupt: 10,
  verify: 7,
  quickVerify: 5,
  verifyDuringScan: 4,
  verifyFixupFails: 5,
  verifyFault: 3,
  prune: 4,
  restore: 8,
  scrub: 4,
} as const;
type OpKind = keyof typeof WEIGHTS;

/** A chain this many times longer than `keepLast` is pruned by policy before anything else. */
const CHAIN_LIMIT_FACTOR = 3;

/** Chance that a block write rewrites a block with the bytes it already holds. */
const SAME_BYTES_REWRITE = 0.2;

/** A seeded source of the suite's random choices. */
export class OpGenerator {
  private readonly random: () => number;
  private nextContent: number;

  constructor(seed: number, private readonly options: GeneratorOptions) {
    this.random = seededRandom(seed);
    this.nextContent = 1 + ((seed * 7_919) % (MAX_CONTENT_SEED / 2));
  }

  /** A block pool for a seed: `size` distinct indexes below `range`. */
  static pool(seed: number, size: number, range: number): number[] {
    const random = seededRandom(seed ^ 0x5eed);
    const pool = new Set<number>();
    while (pool.size < size) pool.add(Math.floor(random() * range));
    return [...pool].sort((a, b) => a - b);
  }

  int(limit: number): number {
    return Math.floor(this.random() * limit);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  /** The next operation for the model's current state. */
  next(model: TrustModel): Op {
    // Long runs: a chain far beyond the retention policy is pruned, so every check stays cheap.
    if (model.entries.length > CHAIN_LIMIT_FACTOR * this.options.keepLast) return { op: 'prune' };
    const head = model.head();
    const allowed: OpKind[] = ['write', 'sync', 'syncFault'];
    if (head !== undefined) {
      allowed.push('verify', 'quickVerify', 'verifyDuringScan', 'verifyFixupFails', 'verifyFault', 'restore');
      if (this.options.noDamage !== true && this.corruptible(model).length > 0) allowed.push('corrupt');
      if (model.entries.length >= 2) allowed.push('prune');
      if (this.options.scrub) allowed.push('scrub');
    }
    const total = allowed.reduce((sum, kind) => sum + WEIGHTS[kind], 0);
    let roll = this.random() * total;
    let kind: OpKind = allowed[0];
    for (const candidate of allowed) {
      roll -= WEIGHTS[candidate];
      if (roll < 0) {
        kind = candidate;
        break;
      }
    }
    return this.make(kind, model);
  }

  private make(kind: OpKind, model: TrustModel): Op {
    switch (kind) {
      case 'write':
        return { op: 'write', blocks: this.writes(model, 1 + this.int(3)) };
      case 'sync':
        return { op: 'sync' };
      case 'syncFault':
        return { op: 'sync', fault: this.syncFault(MODEL_SYNC_STEPS) };
      case 'corrupt': {
        const [seq, block] = this.pick(this.corruptible(model));
        return { op: 'corrupt', seq, block };
      }
      case 'verify':
        return { op: 'verify', quick: false };
      case 'quickVerify':
        return { op: 'verify', quick: true };
      case 'verifyDuringScan':
        return { op: 'verify', quick: this.chance(0.3), duringScan: { writes: this.writes(model, 1 + this.int(2)) } };
      case 'verifyFixupFails':
        // SyncCommit is left out: a fix-up that dies after committing has repaired.
        return { op: 'verify', quick: false, fixup: this.syncFault(MODEL_SYNC_STEPS.filter((step) => step !== 'SyncCommit')) };
      case 'verifyFault': {
        const step = this.pick(MODEL_VERIFY_FAULT_STEPS);
        return { op: 'verify', quick: this.chance(0.3), fault: this.chance(0.5) ? { stopAfter: step } : { crash: { step, when: this.chance(0.5) ? 'before' : 'after' } } };
      }
      case 'prune': {
        const prunable = model.entries.slice(0, -1).map((entry) => entry.seq);
        if (model.entries.length > this.options.keepLast && this.chance(0.5)) return { op: 'prune' };
        return { op: 'prune', seqs: [this.pick(prunable)] };
      }
      case 'restore': {
        const allowSuspect = this.chance(0.3);
        const seqs = model.entries.map((entry) => entry.seq);
        if (this.chance(0.5)) {
          // Now and then a seq that is not (or no longer) a restore point.
          const seq = this.chance(0.1) ? (model.head()?.seq ?? 0) + 5 : this.pick(seqs);
          return { op: 'restore', seq, allowSuspect };
        }
        return { op: 'restore', atSeq: this.pick(seqs), offsetMs: this.pick([0, -1, 1]), allowSuspect };
      }
      case 'scrub':
        return { op: 'scrub', scope: this.chance(0.5) ? 'all' : 'new' };
    }
  }

  /** `count` block writes: random pool blocks with new content, or rewrites with the same bytes. */
  private writes(model: TrustModel, count: number): BlockWrite[] {
    const writes = new Map<number, number>();
    const touched = [...model.primary.touched()];
    while (writes.size < count) {
      if (touched.length > 0 && this.chance(SAME_BYTES_REWRITE)) {
        const block = this.pick(touched);
        writes.set(block, model.primary.seedOf(block) ?? this.content());
      } else {
        writes.set(this.pick(this.options.pool), this.content());
      }
    }
    return [...writes];
  }

  private content(): number {
    this.nextContent = (this.nextContent % MAX_CONTENT_SEED) + 1;
    return this.nextContent;
  }

  private syncFault(steps: readonly ModelSyncStep[]): SyncFault {
    const step = this.pick(steps);
    return this.chance(0.5) ? { stopAfter: step } : { crash: { step, when: this.chance(0.5) ? 'before' : 'after' } };
  }

  /** `[seq, block]` for every retained point and block whose version is not damaged yet. */
  private corruptible(model: TrustModel): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const entry of model.entries) {
      for (const [block, view] of model.storedView(entry.seq)) if (!view.damaged) out.push([entry.seq, block]);
    }
    return out;
  }
}

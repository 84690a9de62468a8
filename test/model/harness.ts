/**
 * The trust suite's harness: runs each operation on the real system (the engine through the local
 * drivers, against the emulator and dynalite on loopback) and on the model (`model.ts`), then
 * checks every invariant the brief of issue 12 names, after every operation:
 *
 * | invariant         | what must hold                                                                  |
 * |-------------------|---------------------------------------------------------------------------------|
 * | `commit`          | the engine committed exactly the restore points the model expects               |
 * | `delta-map`       | each `D_n` (from `readChain`) is the model's (within its range where the design allows one) |
 * | `kind`            | each entry's kind is the model's (`fixup` when it carries the head's bad blocks) |
 * | `dirty-region-log`| the entry in flight is the model's                                              |
 * | `trust`           | (a) every committed point's `suspectBlocks` / `trust` is the model's            |
 * | `image`           | (b) every point's image read back from `S_k` is the model's view of it (the primary's image at that point, with the damage stored in it); a trusted one equals the primary's image but where it holds damage no check read yet |
 * | `restore-*`       | (c) a restore selects, refuses or restores exactly as the model says; (d) after a prune every remaining point restores byte for byte |
 * | `verify-compare`  | a verify's `C` and `C'` counts are the model's                                  |
 * | `scrub`           | a scrub finds exactly the model's damaged versions and checks every version it reads |
 * | `recovery`        | a sync resumes / adopts the crashed run's entry the model says it does          |
 * | `ending`          | a run crashes, stops or ends where its injected fault says, with no other error |
 *
 * Damage goes through the emulator's `POST /_emulator/corrupt` with scope `stored`: the stored
 * version is damaged, so every image holding it (children completed later included) reads it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { drivePrune, driveRestore, driveScrub, driveSync, driveVerify, nextRunId, type SyncRun } from '../../local/drivers';
import { SYNC_PRIMARY_PURPOSE } from '../../shared/core/tags';
import { DEFAULT_LEASE_TTL_MS, type EngineContext } from '../../shared/engine/context';
import { PURPOSE_PRIMARY_NOW } from '../../shared/engine/restore/context';
import type { RunningEmulator } from '../../local/emulator';
import { patternBlock, sha256Hex, ZERO_BLOCK_HEX, type EngineHarness } from '../integration/engine/engine-harness';
import {
  TrustModel,
  type BlockView,
  type CommitObserver,
  type EntryKind,
  type ModelVerifyScan,
  type ObservedEntry,
  type PrimaryTaker,
  type SyncFault,
  type SyncOutcome,
} from './model';
import { describeOp, MODEL_VERIFY_FAULT_STEPS, type BlockWrite, type Op } from './ops';

// ── content digests ────────────────────────────────────────────────────────────────────────

const digests = new Map<number, string>();
const damagedDigests = new Map<number, string>();

/** SHA-256 hex of `patternBlock(seed)` (zeros for no seed). */
export function contentDigest(seed: number | undefined): string {
  if (seed === undefined) return ZERO_BLOCK_HEX;
  let digest = digests.get(seed);
  if (digest === undefined) {
    digest = sha256Hex(patternBlock(seed));
    digests.set(seed, digest);
  }
  return digest;
}

/** SHA-256 hex of `patternBlock(seed)` as the emulator damages it (every bit of the first byte flipped). */
export function damagedDigest(seed: number | undefined): string {
  const key = seed ?? -1;
  let digest = damagedDigests.get(key);
  if (digest === undefined) {
    const data = seed === undefined ? Buffer.alloc(patternBlock(1).length) : patternBlock(seed);
    data[0] ^= 0xff;
    digest = sha256Hex(data);
    damagedDigests.set(key, digest);
  }
  return digest;
}

function viewDigest(view: BlockView): string {
  return view.damaged ? damagedDigest(view.seed) : contentDigest(view.seed);
}

/** How a read block relates to what the model expected there: for the reports. */
function label(actual: string | undefined, expected: BlockView): string {
  if (actual === undefined) return 'nothing (unlisted)';
  if (actual === contentDigest(expected.seed)) return 'the undamaged version';
  if (actual === damagedDigest(expected.seed)) return 'the DAMAGED version';
  if (actual === ZERO_BLOCK_HEX) return 'zeros';
  return `other bytes (${actual.slice(0, 12)}…)`;
}

function expectedLabel(view: BlockView): string {
  return view.seed === undefined ? 'zeros' : view.damaged ? 'the DAMAGED version' : 'the undamaged version';
}

// ── stored-version damage ──────────────────────────────────────────────────────────────────

/**
 * Damages the stored version `snapshotId` resolves `block` to, through the emulator's control API
 * (`POST /_emulator/corrupt`, scope `stored`): the writer and every snapshot holding the version
 * read the damage, as EBS loses a stored block. Returns the snapshots the emulator says now read it.
 */
export async function damageStoredVersion(emulator: RunningEmulator, snapshotId: string, block: number): Promise<string[]> {
  const response = await fetch(`${emulator.endpoint}/_emulator/corrupt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ snapshotId, blockIndex: block, scope: 'stored' }),
  });
  if (!response.ok) throw new Error(`harness: POST /_emulator/corrupt answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { affectedSnapshotIds: string[] }).affectedSnapshotIds;
}

/** A checksum header (base64) as hex. */
function hexOf(checksum: string): string {
  return Buffer.from(checksum, 'base64').toString('hex');
}

// ── the primary's snapshot lineage ─────────────────────────────────────────────────────────

/** A primary snapshot the emulator's EC2 half made: its parent (none: a full copy) and tags. */
interface TakenSnapshot {
  readonly parentSnapshotId?: string;
  readonly tags: ReadonlyArray<{ readonly Key: string; readonly Value: string }>;
}

/** Purpose tag values of the jobs' primary snapshots (the model's names → the engine's tags; VerifyBegin tags its P0 `verify`). */
const PURPOSE_VALUES = { sync: SYNC_PRIMARY_PURPOSE, verify: 'verify', restore: PURPOSE_PRIMARY_NOW } as const;

/**
 * Every snapshot the EC2 half takes of the suite's volumes, with its parent, recorded by wrapping
 * `Ec2Model.createSnapshot` (observing only). It answers the model's {@link PrimaryLineage}: the
 * parent links say whether `P` descends from `P_head` or was taken as a parentless full copy
 * after the volume's latest snapshot had been deleted.
 */
export class PrimarySnapshotLog {
  private static readonly installed = new WeakMap<object, PrimarySnapshotLog>();
  private readonly taken = new Map<string, TakenSnapshot>();

  /** The log of `engine`'s EC2 half, installed on first use. */
  static of(engine: EngineHarness): PrimarySnapshotLog {
    const existing = PrimarySnapshotLog.installed.get(engine.model);
    if (existing !== undefined) return existing;
    const log = new PrimarySnapshotLog();
    const model = engine.model;
    const original = model.createSnapshot.bind(model);
    model.createSnapshot = async (volumeId, args) => {
      const info = await original(volumeId, args);
      log.taken.set(info.snapshotId, { parentSnapshotId: info.parentSnapshotId, tags: args.tags ?? [] });
      return info;
    };
    PrimarySnapshotLog.installed.set(engine.model, log);
    return log;
  }

  /** The snapshot `taken.runId` took for `taken.purpose`. */
  snapshotOf(taken: PrimaryTaker): string | undefined {
    const purpose = PURPOSE_VALUES[taken.purpose];
    for (const [snapshotId, snapshot] of this.taken) {
      if (snapshot.tags.some((tag) => tag.Value === purpose) && snapshot.tags.some((tag) => tag.Value === taken.runId)) return snapshotId;
    }
    return undefined;
  }

  /** Takers the model asked about that took no snapshot (the model expected a job step the engine did not run). */
  readonly missing: PrimaryTaker[] = [];

  /** Whether `taken`'s snapshot descends from `baseSnapshotId` through recorded parents (EBS's answer when it took none: see {@link missing}). */
  connected(baseSnapshotId: string, taken: PrimaryTaker): boolean {
    const snapshotId = this.snapshotOf(taken);
    if (snapshotId === undefined) {
      this.missing.push(taken);
      return true;
    }
    for (let at: string | undefined = snapshotId; at !== undefined; at = this.taken.get(at)?.parentSnapshotId) if (at === baseSnapshotId) return true;
    return false;
  }

}

// ── violations ─────────────────────────────────────────────────────────────────────────────

export type Invariant =
  | 'commit' | 'delta-map' | 'kind' | 'dirty-region-log' | 'trust' | 'image' | 'restore-selection' | 'restore-refusal'
  | 'restore-image' | 'restore-plan' | 'prune' | 'verify-compare' | 'scrub' | 'recovery' | 'ending';

export interface Violation {
  readonly invariant: Invariant;
  readonly detail: string;
}

/** A run broke an invariant: the seed, the op, every violation, and the op log to replay. */
export class ModelViolationError extends Error {
  override readonly name = 'ModelViolationError';

  constructor(
    readonly seed: number,
    readonly opIndex: number,
    readonly violations: readonly Violation[],
    readonly log: readonly Op[],
    readonly logFile: string,
  ) {
    super([
      `model violation at op #${opIndex} (${describeOp(log[opIndex])}) of seed ${seed}:`,
      ...violations.map((violation) => `  [${violation.invariant}] ${violation.detail}`),
      `op log (${log.length} ops, written to ${logFile}):`,
      ...log.map((op, at) => `  #${at} ${describeOp(op)}`),
      `replay: EBS_CDP_MODEL_REPLAY=${logFile} npx jest test/model/trust.model.test.ts`,
      `    or: EBS_CDP_MODEL_SEED=${seed} EBS_CDP_MODEL_OPS=${log.length} npx jest test/model/trust.model.test.ts`,
    ].join('\n'));
  }
}

/** The committed chain as the engine reports it. */
interface EngineEntry extends ObservedEntry {
  readonly trust: string;
  readonly suspectBlocks: number;
}

/** User + system CPU of a `process.cpuUsage()` delta, in ms. */
function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

function sorted(set: Iterable<number>): number[] {
  return [...set].sort((a, b) => a - b);
}

function sameSet(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  return a.size === b.size && [...a].every((value) => b.has(value));
}

function fmt(set: Iterable<number>): string {
  return `{${sorted(set).join(',')}}`;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : String(error);
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The verify's fault steps in the machine's order, to tell which steps a fault lets run. */
const VERIFY_FAULT_ORDER: readonly string[] = MODEL_VERIFY_FAULT_STEPS;

// ── the runner ─────────────────────────────────────────────────────────────────────────────

export interface RunnerOptions {
  /** Names the run in reports (the generator's seed, or a scenario's number). */
  readonly seed: number;
  /**
   * Collect violations in {@link ModelRunner.violations} instead of throwing at the first: a
   * scenario asserts its own outcome first, then that no invariant broke on the way.
   */
  readonly collect?: boolean;
  /** The volume's retention policy: a prune without seqs keeps the last `keepLast` points. */
  readonly keepLast?: number;
}

/** Retention of the suite's volumes: short chains keep the per-op checks cheap. */
export const DEFAULT_KEEP_LAST = 4;

/** One protected 1 GiB volume, driven through the engine and the model side by side. */
export class ModelRunner {
  readonly model = new TrustModel();
  readonly log: Op[] = [];
  /** What the last restore of each point left (for scenario assertions): `seq` → block → hex. */
  readonly restored = new Map<number, Map<number, string>>();

  private readonly lineage: PrimarySnapshotLog;

  /** Violations collected so far (with `collect`), each with the op it followed. */
  readonly violations: Array<Violation & { readonly op: number }> = [];

  private constructor(
    readonly engine: EngineHarness,
    readonly volumeId: string,
    readonly seed: number,
    readonly keepLast: number,
    private readonly collect: boolean,
  ) {
    this.lineage = PrimarySnapshotLog.of(engine);
    this.model.lineage = { connected: (base, taken) => this.lineage.connected(base, taken) };
  }

  /** A new 1 GiB primary volume, protected with `keepLast` retention. */
  static async start(engine: EngineHarness, options: RunnerOptions): Promise<ModelRunner> {
    const keepLast = options.keepLast ?? DEFAULT_KEEP_LAST;
    const volumeId = await engine.createPrimaryVolume(1);
    await engine.protect(volumeId, 1, { retention: { keepLast } });
    return new ModelRunner(engine, volumeId, options.seed, keepLast, options.collect === true);
  }

  private get ctx(): EngineContext {
    return this.engine.context;
  }

  /** Runs `op` on the engine and the model, then checks every invariant; throws {@link ModelViolationError}. */
  async apply(op: Op): Promise<void> {
    this.log.push(op);
    const violations: Violation[] = [];
    try {
      const began = process.cpuUsage();
      const missing = this.lineage.missing.length;
      await this.execute(op, violations);
      for (const taken of this.lineage.missing.slice(missing)) {
        violations.push({ invariant: 'ending', detail: `the model expects ${taken.runId} to have taken a primary snapshot for its ${taken.purpose} step; the engine took none` });
      }
      const executed = process.cpuUsage();
      violations.push(...(await this.check()));
      this.time(op, cpuMs(process.cpuUsage(began)) - cpuMs(process.cpuUsage(executed)), cpuMs(process.cpuUsage(executed)));
    } catch (error) {
      if (error instanceof ModelViolationError) throw error;
      violations.push({ invariant: 'ending', detail: `the harness failed: ${errorText(error)}${error instanceof Error && error.stack !== undefined ? `\n${error.stack}` : ''}` });
    }
    if (violations.length === 0) return;
    if (!this.collect) throw this.violation(violations);
    this.violations.push(...violations.map((violation) => ({ ...violation, op: this.log.length - 1 })));
    // Going on past a violation: the model takes the engine's bad versions as found, so that a
    // false one does not mask what comes after it.
    this.model.adoptBadVersions(await this.ctx.store.readBadVersions(this.volumeId));
  }

  /** With `collect`: each invariant broken, how often, and its first occurrence. */
  violationSummary(): string {
    const first = new Map<Invariant, { count: number; op: number; detail: string }>();
    for (const violation of this.violations) {
      const seen = first.get(violation.invariant);
      if (seen === undefined) first.set(violation.invariant, { count: 1, op: violation.op, detail: violation.detail });
      else seen.count += 1;
    }
    return [...first].map(([invariant, { count, op, detail }]) => `[${invariant}] ×${count}, first after op #${op} ${describeOp(this.log[op])}: ${detail}`).join('\n');
  }

  /** With `collect`: throws {@link ModelViolationError} with every violation collected, if any. */
  assertNoViolations(): void {
    if (this.violations.length > 0) throw this.violation(this.violations.map((violation) => ({ ...violation, detail: `after op #${violation.op}: ${violation.detail}` })));
  }

  /** CPU time of this process per kind of op: `[count, ms running, ms checking]` (EBS_CDP_MODEL_TIMING=1 prints it; wall time depends on the machine's load). */
  readonly timings = new Map<string, [number, number, number]>();

  private time(op: Op, runMs: number, checkMs: number): void {
    const kind = op.op === 'verify' ? `verify${op.quick ? ' quick' : ''}${op.duringScan ? ' duringScan' : ''}${op.fixup ? ' fixup-fault' : ''}${op.fault ? ' fault' : ''}`
      : op.op === 'sync' && op.fault !== undefined ? 'sync fault' : op.op;
    const timing = this.timings.get(kind) ?? [0, 0, 0];
    timing[0] += 1;
    timing[1] += runMs;
    timing[2] += checkMs;
    this.timings.set(kind, timing);
  }

  /** How often each interesting path ran (EBS_CDP_MODEL_TIMING=1 prints them with the timings). */
  readonly coverage = new Map<string, number>();

  private count(path: string): void {
    this.coverage.set(path, (this.coverage.get(path) ?? 0) + 1);
  }

  /** The timings as a table. */
  timingReport(): string {
    return [...this.timings].sort((a, b) => b[1][1] + b[1][2] - a[1][1] - a[1][2])
      .map(([kind, [count, run, check]]) => `${kind.padEnd(28)} ×${String(count).padStart(3)}  cpu: run ${(run / count).toFixed(0).padStart(5)} ms  check ${(check / count).toFixed(0).padStart(4)} ms`)
      .concat(`listings of changes(P_head → P) that compared contents (emulator's lineage cut): ${this.model.contentComparedListings} of ${this.model.listings}`)
      .concat([...this.coverage].sort(([a], [b]) => a.localeCompare(b)).map(([path, count]) => `  ${path}: ${count}`))
      .join('\n');
  }

  /** Applies every op of `ops` in turn. */
  async applyAll(ops: readonly Op[]): Promise<void> {
    for (const op of ops) await this.apply(op);
  }

  private violation(violations: readonly Violation[]): ModelViolationError {
    const dir = mkdtempSync(path.join(tmpdir(), 'ebs-cdp-model-'));
    const file = path.join(dir, `seed-${this.seed}.json`);
    writeFileSync(file, JSON.stringify({ seed: this.seed, keepLast: this.keepLast, ops: this.log }, null, 1));
    return new ModelViolationError(this.seed, this.log.length - 1, violations, [...this.log], file);
  }

  private async execute(op: Op, violations: Violation[]): Promise<void> {
    switch (op.op) {
      case 'write':
        return this.write(op.blocks);
      case 'sync':
        await this.sync(op.fault ?? {}, violations);
        return;
      case 'corrupt': {
        const entry = this.model.entry(op.seq);
        if (entry === undefined) throw new Error(`op names restore point ${op.seq}, which the model does not hold`);
        this.model.damage(op.seq, op.block);
        await damageStoredVersion(this.engine.emulator, entry.secondarySnapshotId, op.block);
        return;
      }
      case 'verify':
        return this.verify(op, violations);
      case 'prune':
        return this.prune(op.seqs, violations);
      case 'restore':
        return this.restoreOp(op, violations);
      case 'scrub':
        return this.scrub(op.scope, violations);
    }
  }

  // ── host writes ──────────────────────────────────────────────────────────────────────────

  private async write(blocks: readonly BlockWrite[]): Promise<void> {
    for (const [block, seed] of blocks) {
      await this.engine.model.writeBlock(this.volumeId, block, patternBlock(seed));
      this.model.hostWrite(block, seed);
    }
  }

  // ── sync ─────────────────────────────────────────────────────────────────────────────────

  /** One sync execution on both sides; its ending, recovery and commits are checked. */
  async sync(fault: SyncFault, violations: Violation[]): Promise<SyncOutcome> {
    const runId = nextRunId('model-sync');
    let run: SyncRun | undefined;
    let error: unknown;
    try {
      run = await driveSync(this.ctx, this.volumeId, runId, { stopAfter: fault.stopAfter, crash: fault.crash });
    } catch (caught) {
      error = caught;
    }
    const outcome = this.model.sync(runId, fault, this.observer(await this.engineChain(), violations));
    this.checkEnding(`sync ${runId}`, outcome.ended, run?.stoppedAfter !== undefined, error, violations);
    const recovered = run?.passes[0]?.begun.recovery?.outcome;
    if (run !== undefined && recovered !== outcome.recovery) {
      violations.push({ invariant: 'recovery', detail: `sync ${runId}: the engine's recovery was ${recovered ?? 'none'}, the model's ${outcome.recovery ?? 'none'}` });
    }
    if (run?.stoppedAfter !== undefined) this.expireLease();
    return outcome;
  }

  /** A run that died with its lease (`stopAfter`): step over the lease's expiry, as the next scheduled run would find it. */
  private expireLease(): void {
    this.engine.timer.advance(DEFAULT_LEASE_TTL_MS + 1);
  }

  private checkEnding(what: string, ended: SyncOutcome['ended'], stopped: boolean, error: unknown, violations: Violation[]): void {
    const crashed = error !== undefined && errorName(error) === 'InjectedCrashError';
    if (error !== undefined && !crashed) {
      violations.push({ invariant: 'ending', detail: `${what} failed: ${errorText(error)}` });
      return;
    }
    if (crashed !== (ended === 'crashed') || stopped !== (ended === 'stopped')) {
      violations.push({ invariant: 'ending', detail: `${what}: the engine ${crashed ? 'crashed' : stopped ? 'stopped' : 'ended'}, the model expects it ${ended}` });
    }
  }

  /** Hands each planned commit what the engine committed at that seq, recording every departure. */
  private observer(chain: ReadonlyMap<number, EngineEntry>, violations: Violation[]): CommitObserver {
    return (planned) => {
      const actual = chain.get(planned.seq);
      const expected = `${fmt(planned.must)}${planned.may.size > 0 ? ` plus any of ${fmt(planned.may)}` : ''}`;
      if (actual === undefined) {
        violations.push({ invariant: 'commit', detail: `restore point ${planned.seq} (${planned.how}, D = ${expected}) should be committed; the engine has none` });
        return undefined;
      }
      const within = [...planned.must].every((block) => actual.deltaMap.has(block))
        && [...actual.deltaMap].every((block) => planned.must.has(block) || planned.may.has(block));
      if (!within) {
        violations.push({ invariant: 'delta-map', detail: `D_${planned.seq} (${planned.how}) is ${fmt(actual.deltaMap)}; the model expects ${expected}` });
      }
      if (!planned.kinds.includes(actual.kind)) {
        violations.push({ invariant: 'kind', detail: `restore point ${planned.seq} (${planned.how}) is a ${actual.kind}; the model expects ${planned.kinds.join(' or ')}` });
      }
      this.count(`commit: ${planned.how} ${actual.kind}`);
      if ([...actual.deltaMap].some((block) => planned.may.has(block))) this.count(`commit: ${planned.how} entry copied optional blocks (C' or the pending repair)`);
      if (planned.how === 'planned' && this.model.headBadBlocks().size > 0) this.count('commit: carried the head\'s bad blocks');
      return actual;
    };
  }

  // ── verify ───────────────────────────────────────────────────────────────────────────────

  private async verify(op: Extract<Op, { op: 'verify' }>, violations: Violation[]): Promise<void> {
    const runId = nextRunId(op.quick ? 'model-quick-verify' : 'model-verify');
    const begun = this.model.verifyBegin(runId, op.quick);
    let scan: ModelVerifyScan | undefined;
    let scanSync: SyncOutcome | undefined;
    const duringScan = op.duringScan === undefined ? undefined : async (): Promise<void> => {
      scan = this.model.verifyPlan(begun);
      await this.write(op.duringScan?.writes ?? []);
      scanSync = await this.sync({}, violations);
    };
    let run: Awaited<ReturnType<typeof driveVerify>> | undefined;
    let error: unknown;
    try {
      run = await driveVerify(this.ctx, this.volumeId, runId, {
        quick: op.quick, duringScan, stopAfter: op.fault?.stopAfter, crash: op.fault?.crash, fixup: op.fixup,
      });
    } catch (caught) {
      error = caught;
    }
    // The last of the verify's steps its fault let complete (no fault: all of them, and the fix-up).
    const fault = op.fault;
    const ranThrough = fault === undefined ? VERIFY_FAULT_ORDER.length - 1
      : fault.stopAfter !== undefined ? VERIFY_FAULT_ORDER.indexOf(fault.stopAfter)
        : VERIFY_FAULT_ORDER.indexOf(fault.crash?.step ?? '') - (fault.crash?.when === 'before' ? 1 : 0);
    const scanned = ranThrough >= VERIFY_FAULT_ORDER.indexOf('VerifyScanSegment');
    const finished = ranThrough >= VERIFY_FAULT_ORDER.indexOf('VerifyFinishScan');
    const fixupAllowed = fault === undefined;
    if (op.duringScan !== undefined && scanned !== (scanSync !== undefined)) {
      violations.push({ invariant: 'ending', detail: `verify ${runId}: the scan interval's sync ${scanSync === undefined ? 'did not run' : 'ran'}, the model expects ${scanned ? 'it ran' : 'not'}` });
    }
    let fixup: SyncOutcome | undefined;
    if (finished) {
      scan ??= this.model.verifyPlan(begun);
      const finish = this.model.verifyFinish(scan);
      const record = await this.ctx.store.getVerifyRun(this.volumeId, runId);
      const { mismatches, revised } = record.counts;
      if (mismatches !== finish.compare.size || revised !== finish.revised.size) {
        violations.push({
          invariant: 'verify-compare',
          detail: `verify ${runId} (head ${scan.headSeqAtT0} at T0, D0 ${fmt(scan.pending)}, scope ${fmt(finish.scope)}): the engine counts ${mismatches} mismatches / ${revised} revised, `
            + `the model C = ${fmt(finish.compare)}, C' = ${fmt(finish.revised)}`,
        });
      }
      // The verify repairs when the head holds a bad version (its own finding or one an earlier fix-up left).
      this.count(`verify: ${finish.compare.size > 0 ? 'found damage' : 'found nothing'}`);
      if (finish.compare.size > finish.revised.size) this.count('verify: a damaged block was rewritten during the scan');
      if (fixupAllowed && this.model.headBadBlocks().size > 0) {
        fixup = this.model.sync(runId, op.fixup ?? {}, this.observer(await this.engineChain(), violations), finish.revised);
      }
    }
    const modelEnded: SyncOutcome['ended'] = fault !== undefined
      ? (fault.stopAfter !== undefined ? 'stopped' : 'crashed')
      : fixup?.ended === 'crashed' || fixup?.ended === 'stopped' ? fixup.ended : 'done';
    this.checkEnding(`verify ${runId}`, modelEnded, run?.stoppedAfter !== undefined, error, violations);
    if (run?.stoppedAfter !== undefined) this.expireLease();
  }

  // ── scrub ────────────────────────────────────────────────────────────────────────────────

  private async scrub(scope: 'all' | 'new', violations: Violation[]): Promise<void> {
    const runId = nextRunId('model-scrub');
    const found = this.model.scrub(scope);
    this.count(`scrub ${scope}: ${found.size > 0 ? 'found damage' : 'found nothing'}`);
    try {
      const { report, segments } = await driveScrub(this.ctx, this.volumeId, runId, { scope });
      if (report?.badVersions !== found.size) {
        violations.push({ invariant: 'scrub', detail: `scrub ${runId} (${scope}) found ${report?.badVersions ?? '?'} bad versions, the model ${found.size}: ${[...found].join(', ') || 'none'}` });
      }
      // Every stored version is read and checked: one without a digest to check it against is a gap.
      const unchecked = segments.filter((segment) => segment.unchecked > 0);
      if (unchecked.length > 0) {
        violations.push({
          invariant: 'scrub',
          detail: `scrub ${runId} (${scope}) left stored versions unchecked (no digest): ${unchecked.map((segment) => `${segment.unchecked} of restore point ${segment.seq}`).join(', ')}`,
        });
      }
    } catch (error) {
      violations.push({ invariant: 'ending', detail: `scrub ${runId} (${scope}) failed: ${errorText(error)}` });
    }
  }

  // ── prune ────────────────────────────────────────────────────────────────────────────────

  private async prune(seqs: readonly number[] | undefined, violations: Violation[]): Promise<void> {
    const targets = seqs === undefined ? this.model.keepLastTargets(this.keepLast) : sorted(seqs);
    const before = new Map(this.model.entries.map((entry) => [entry.seq, this.model.suspectBlocks(entry.seq)]));
    let pruned: number[] | undefined;
    try {
      pruned = (await drivePrune(this.ctx, this.volumeId, undefined, { seqs })).pruned?.pruned;
    } catch (error) {
      violations.push({ invariant: 'prune', detail: `prune ${seqs === undefined ? `(keepLast ${this.keepLast})` : fmt(seqs)} failed: ${errorText(error)}` });
      return;
    }
    for (const seq of targets) {
      const handed = [...(this.model.entry(seq)?.deltaMap ?? [])].some((block) => this.model.versionAt(seq, block)?.damaged === true);
      if (handed) this.count('prune: a damaged version passed to the successor');
      this.model.prune(seq);
    }
    if (JSON.stringify(pruned ?? []) !== JSON.stringify(targets)) {
      violations.push({ invariant: 'prune', detail: `the engine pruned ${fmt(pruned ?? [])}, the model ${fmt(targets)}` });
    }
    for (const entry of this.model.entries) {
      if (before.get(entry.seq) !== this.model.suspectBlocks(entry.seq)) throw new Error(`model bug: pruning changed the trust of point ${entry.seq}`);
    }
    // (d) every remaining point still restores byte for byte (suspect ones with the override).
    for (const entry of [...this.model.entries]) await this.restore({ seq: entry.seq }, true, violations, 'after the prune');
  }

  // ── restore ──────────────────────────────────────────────────────────────────────────────

  private async restoreOp(op: Extract<Op, { op: 'restore' }>, violations: Violation[]): Promise<void> {
    if (op.seq !== undefined) return this.restore({ seq: op.seq }, op.allowSuspect, violations, 'by seq');
    const at = this.model.entry(op.atSeq ?? -1);
    if (at === undefined) throw new Error(`op names restore point ${op.atSeq ?? '?'} for its time, which the model does not hold`);
    const time = new Date(Date.parse(at.pointInTime) + (op.offsetMs ?? 0)).toISOString();
    return this.restore({ at: time }, op.allowSuspect, violations, `by time ${time}`);
  }

  /** One restore on both sides: the selection or refusal, then the new volume read back block by block. */
  async restore(selector: { seq: number } | { at: string }, allowSuspect: boolean, violations: Violation[], why: string): Promise<void> {
    const expected = this.model.selectRestorePoint(selector, allowSuspect);
    const runId = nextRunId('model-restore');
    const request = { volumeId: this.volumeId, runId, ...('seq' in selector ? { seq: selector.seq } : { pointInTime: selector.at }), allowSuspect };
    const what = `restore ${why} ${JSON.stringify(selector)}${allowSuspect ? ' with allowSuspect' : ''}`;
    let run: Awaited<ReturnType<typeof driveRestore>> | undefined;
    let error: unknown;
    try {
      run = await driveRestore(this.ctx, request);
    } catch (caught) {
      error = caught;
    }
    this.count(`restore: ${expected.outcome === 'refused' ? `refused (${expected.error})` : `${this.model.trust(expected.seq)}${allowSuspect ? ' with the override' : ''}`}`);
    if (expected.outcome === 'restore' && expected.skippedSuspect.length > 0) this.count('restore: by time, passed over suspect points');
    if (expected.outcome === 'refused') {
      if (error === undefined) {
        const point = run?.report?.restorePoint;
        violations.push({
          invariant: 'restore-refusal',
          detail: `${what} must be refused with ${expected.error}; the engine restored point ${point?.seq ?? '?'} (${point?.trust ?? '?'})`
            + (point === undefined ? '' : `, which the model holds ${this.model.trust(point.seq)} with bad blocks ${fmt(this.model.badBlocks(point.seq))}`),
        });
      } else if (errorName(error) !== expected.error) {
        violations.push({ invariant: 'restore-refusal', detail: `${what} must be refused with ${expected.error}; the engine said ${errorText(error)}` });
      }
      await this.dispose(run);
      return;
    }
    if (error !== undefined || run?.report === undefined) {
      violations.push({ invariant: 'restore-selection', detail: `${what} must restore point ${expected.seq}; the engine ${error === undefined ? 'did not finish' : `said ${errorText(error)}`}` });
      return;
    }
    const chosen = run.report.restorePoint;
    if (chosen?.seq !== expected.seq) {
      violations.push({ invariant: 'restore-selection', detail: `${what} must restore point ${expected.seq}; the engine restored ${chosen?.seq ?? '?'} (${chosen?.trust ?? '?'})` });
      await this.dispose(run);
      return;
    }
    const plan = this.model.restorePlan(expected.seq, runId);
    if (run.plan?.mode === 'delta' && run.plan.blocks !== plan.size) {
      violations.push({ invariant: 'restore-plan', detail: `${what}: |R| is ${run.plan.blocks}, the model's R = ${fmt(plan)}` });
    }
    const view = this.model.restoredView(expected.seq, runId);
    if ([...view.values()].some((block) => block.damaged)) this.count('restore: wrote damaged blocks (suspect with the override, or damage no check read yet)');
    const newVolumeId = run.volume?.newVolumeId ?? '';
    const read = new Map<number, string>();
    const differ: string[] = [];
    for (const [block, blockView] of view) {
      const hex = sha256Hex(await this.engine.model.readBlock(newVolumeId, block));
      read.set(block, hex);
      if (hex !== viewDigest(blockView)) differ.push(`block ${block} reads ${label(hex, blockView)}, the model expects ${expectedLabel(blockView)}`);
    }
    this.restored.set(expected.seq, read);
    if (differ.length > 0) {
      violations.push({ invariant: 'restore-image', detail: `${what} (point ${expected.seq}, R = ${fmt(plan)}): ${differ.join('; ')}` });
    }
    await this.dispose(run);
  }

  /** Deletes a restore's new volume: the suite only reads it back. */
  private async dispose(run: Awaited<ReturnType<typeof driveRestore>> | undefined): Promise<void> {
    const newVolumeId = run?.volume?.newVolumeId;
    if (newVolumeId !== undefined) await this.engine.model.deleteVolume(newVolumeId);
  }

  // ── the checks after every op ────────────────────────────────────────────────────────────

  /** The committed chain as `readChain` reports it. */
  async engineChain(): Promise<Map<number, EngineEntry>> {
    const chain = new Map<number, EngineEntry>();
    for await (const entry of this.ctx.store.readChain(this.volumeId)) {
      if (entry.status !== 'committed') continue;
      chain.set(entry.seq, {
        seq: entry.seq, kind: entry.kind as EntryKind, deltaMap: new Set(entry.deltaMap.toArray()), primarySnapshotId: entry.primarySnapshotId,
        secondarySnapshotId: entry.secondarySnapshotId, pointInTime: entry.pointInTime, trust: entry.trust, suspectBlocks: entry.suspectBlocks,
      });
    }
    return chain;
  }

  /** Invariants (a) and (b), the chain's structure and the entry in flight. */
  async check(): Promise<Violation[]> {
    const violations: Violation[] = [];
    const chain = await this.engineChain();
    const modelSeqs = this.model.entries.map((entry) => entry.seq);
    if (JSON.stringify(modelSeqs) !== JSON.stringify(sorted(chain.keys()))) {
      violations.push({ invariant: 'commit', detail: `the engine's committed points are ${fmt(chain.keys())}, the model's ${fmt(modelSeqs)}` });
    }
    for (const entry of this.model.entries) {
      const actual = chain.get(entry.seq);
      if (actual === undefined) continue;
      if (!sameSet(actual.deltaMap, entry.deltaMap)) {
        violations.push({ invariant: 'delta-map', detail: `D_${entry.seq} is ${fmt(actual.deltaMap)}, the model's ${fmt(entry.deltaMap)}` });
      }
      if (actual.kind !== entry.kind) violations.push({ invariant: 'kind', detail: `restore point ${entry.seq} is a ${actual.kind}, the model's a ${entry.kind}` });
      const bad = this.model.badBlocks(entry.seq);
      const trust = this.model.trust(entry.seq);
      if (actual.trust !== trust || actual.suspectBlocks !== bad.size) {
        const holders = sorted(bad).map((block) => `${block} (bad version of ${this.model.writerOf(entry.seq, block)?.seq ?? '?'})`).join(', ');
        violations.push({
          invariant: 'trust',
          detail: `restore point ${entry.seq}: the engine says ${actual.trust} (${actual.suspectBlocks} bad), the model ${trust} (${bad.size} bad${bad.size > 0 ? `: ${holders}` : ''})`,
        });
      }
    }
    const drl = await this.ctx.store.readDirtyRegionLog(this.volumeId);
    const expected = this.model.drl;
    if ((drl === undefined) !== (expected === undefined)) {
      violations.push({ invariant: 'dirty-region-log', detail: `the engine ${drl === undefined ? 'has no entry in flight' : `has entry ${drl.seq} in flight`}, the model ${expected === undefined ? 'none' : `entry ${expected.seq}`}` });
      this.model.adoptDirtyRegionLog(undefined);
    } else if (drl !== undefined && expected !== undefined) {
      const actual = new Set(drl.deltaMap.toArray());
      const within = [...expected.must].every((block) => actual.has(block)) && [...actual].every((block) => expected.must.has(block) || expected.may.has(block));
      if (drl.seq !== expected.seq || !within) {
        violations.push({
          invariant: 'dirty-region-log',
          detail: `entry in flight: the engine's ${drl.seq} ${fmt(actual)}, the model's ${expected.seq} ${fmt(expected.must)}${expected.may.size > 0 ? ` plus any of ${fmt(expected.may)}` : ''}`,
        });
      }
      // A resumed entry that carried the pending repair (blocks of `may`) became a fixup.
      const carried = [...actual].some((block) => expected.may.has(block));
      if (drl.kind !== expected.kind && !(carried && drl.kind === 'fixup')) {
        violations.push({ invariant: 'kind', detail: `entry in flight ${drl.seq} is a ${drl.kind}, the model's a ${expected.kind}` });
      }
      this.model.adoptDirtyRegionLog({ deltaMap: actual, kind: drl.kind as EntryKind });
    }
    violations.push(...(await this.checkImages()));
    return violations;
  }

  /**
   * (b) Every point's image read back from `S_k` is the model's view: the primary's image at the
   * point, with the stored damage it holds. Read in process from the emulator's store (listing
   * plus each block's checksum header): over HTTP every check would read megabytes per point;
   * {@link checkImagesOverHttp} does that once per run.
   */
  private async checkImages(): Promise<Violation[]> {
    const violations: Violation[] = [];
    const store = this.engine.emulator.store;
    const chain = await this.engineChain();
    for (const entry of this.model.entries) {
      if (entry.secondarySnapshotId === '') continue;
      const view = this.model.storedView(entry.seq);
      const listed = store.listBlockIndexes(entry.secondarySnapshotId);
      const differ: string[] = [];
      const fromPrimary: number[] = [];
      for (const block of new Set([...listed, ...view.keys(), ...entry.primary.image.keys()])) {
        const expected = view.get(block) ?? { seed: undefined, damaged: false };
        const actual = listed.includes(block) ? hexOf((await store.getSnapshotBlock(entry.secondarySnapshotId, block)).checksum) : undefined;
        if ((actual ?? ZERO_BLOCK_HEX) !== viewDigest(expected)) differ.push(`block ${block} reads ${label(actual, expected)}, the model expects ${expectedLabel(expected)}`);
        // A point the engine calls trusted equals the primary at its time, but where it holds damage no check read yet.
        const undetected = this.model.versionAt(entry.seq, block)?.detected === false && expected.damaged;
        if (chain.get(entry.seq)?.trust === 'trusted' && !undetected && (actual ?? ZERO_BLOCK_HEX) !== contentDigest(entry.primary.image.get(block))) fromPrimary.push(block);
      }
      if (differ.length > 0) violations.push({ invariant: 'image', detail: `S_${entry.seq} (${entry.secondarySnapshotId}, ${this.model.trust(entry.seq)}): ${differ.join('; ')}` });
      if (fromPrimary.length > 0) {
        violations.push({ invariant: 'image', detail: `S_${entry.seq} is trusted but differs from the primary at its point in time at ${fmt(fromPrimary)}, which hold no damage still unread by a check` });
      }
    }
    return violations;
  }

  /** (b) over the EBS direct APIs: every point's image read back with the engine harness's reader. */
  async checkImagesOverHttp(): Promise<void> {
    const violations: Violation[] = [];
    for (const entry of this.model.entries) {
      const image = await this.engine.readImage(entry.secondarySnapshotId);
      const expected = new Map([...this.model.storedView(entry.seq)].map(([block, view]) => [block, viewDigest(view)]));
      const differ = sorted(new Set([...image.keys(), ...expected.keys()])).filter((block) => image.get(block) !== expected.get(block));
      if (differ.length > 0) violations.push({ invariant: 'image', detail: `S_${entry.seq} read over HTTP differs from the model at ${fmt(differ)}` });
    }
    if (violations.length > 0) throw this.violation(violations);
  }

  /** The engine's head image read over HTTP equals the primary volume now: for the scenarios. */
  async headMatchesPrimary(): Promise<number[]> {
    const head = this.model.head();
    if (head === undefined) return [];
    const image = await this.engine.readImage(head.secondarySnapshotId);
    const primary = await this.engine.volumeImage(this.volumeId, 1, this.model.primary.touched());
    return sorted(new Set([...image.keys(), ...primary.keys()])).filter((block) => image.get(block) !== primary.get(block));
  }
}

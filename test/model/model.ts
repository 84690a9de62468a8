/**
 * The naive model the trust suite checks the engine against (STYLE.md, "Model-based tests for
 * anything that claims trust"). It imports nothing of the engine: plain sets and maps of what the
 * primary held over time and of every stored secondary version, and the rules of
 * ARCHITECTURE.md ("Sync", "Verify", "Restore", "Retention") written out the slow, obvious way.
 *
 * ```
 *  primary   writes w1 w2 … (block, content) ──► P_n = the primary's image when sync n took it
 *  chain     entry n: D_n = blocks it wrote into S_n (parent S_{n-1})
 *  versions  (writer n, block b) for b ∈ D_n  ── one stored block, shared by every image holding it
 *  image k   at b: the version of the newest entry ≤ k whose D holds b (zeros if none)
 *  damage    a version is damaged in place: every image holding it reads the damage
 *  detected  a completed check read it while damaged ──► bad version; suspect(k) = |{b : image k
 *            at b holds a bad version}|, trust = suspect iff > 0
 * ```
 *
 * Where the design allows more than one outcome (a resumed sync may or may not add the head's bad
 * blocks; a verify's own fix-up copies `C'` on top of the head's bad blocks), the model predicts a
 * range: every block of `must`, any of `may`, nothing else. The harness checks what the engine
 * did against it, and the model carries on from what the engine did.
 */

/** Content of a block: `patternBlock(seed)` (never all zeros). */
export type ContentSeed = number;

/** How a chain entry came to be. */
export type EntryKind = 'baseline' | 'sync' | 'fixup';

/** The steps of the Sync machine, in order (the drivers' `SYNC_STEPS`, restated: the model imports nothing). */
export const MODEL_SYNC_STEPS = ['SyncBegin', 'WaitPrimary', 'SyncPlan', 'CopySegment', 'CompleteSnapshot', 'WaitSecondary', 'SyncCommit'] as const;
export type ModelSyncStep = (typeof MODEL_SYNC_STEPS)[number];

/** Where an injected fault ends a sync: `stopAfter` (the run dies, its lease left to expire) or a crash before/after a step (the Catch runs). */
export interface SyncFault {
  readonly stopAfter?: ModelSyncStep;
  readonly crash?: { readonly step: ModelSyncStep; readonly when: 'before' | 'after' };
}

/** A primary snapshot as the model knows it: when it was taken (in host writes) and the image then. */
export interface PrimarySnapshot {
  /** Host writes done when it was taken. */
  readonly at: number;
  readonly image: ReadonlyMap<number, ContentSeed>;
}

/** One committed restore point. */
export interface ModelEntry {
  readonly seq: number;
  kind: EntryKind;
  /** `D_seq`; a prune merges the pruned predecessor's into it. */
  readonly deltaMap: Set<number>;
  readonly primary: PrimarySnapshot;
  /** From the engine (ids, not predictions). */
  primarySnapshotId: string;
  secondarySnapshotId: string;
  /** From the engine (a time, not a prediction). */
  pointInTime: string;
}

/** One stored secondary block version `(writer, block)`. */
export interface StoredVersion {
  readonly block: number;
  readonly seed: ContentSeed | undefined;
  damaged: boolean;
  /** A completed check read it while damaged: a bad version. */
  detected: boolean;
}

/** The entry in flight: what the dirty region log holds. */
export interface ModelDirtyRegionLog {
  readonly runId: string;
  readonly seq: number;
  kind: EntryKind;
  /** Blocks it must write; `may`: blocks it may add (see the module comment). */
  must: Set<number>;
  may: Set<number>;
  readonly primary: PrimarySnapshot;
  secondary: 'pending' | 'completed';
}

/** An entry the model expects the engine to commit now, and how it came to be. */
export interface PlannedEntry {
  readonly seq: number;
  /** Kinds the design allows (the first is the model's own). */
  readonly kinds: readonly EntryKind[];
  readonly must: ReadonlySet<number>;
  readonly may: ReadonlySet<number>;
  readonly primary: PrimarySnapshot;
  readonly how: 'planned' | 'resumed' | 'adopted';
}

/** What the engine committed for a planned entry (from its chain). */
export interface ObservedEntry {
  readonly seq: number;
  readonly kind: EntryKind;
  readonly deltaMap: ReadonlySet<number>;
  readonly primarySnapshotId: string;
  readonly secondarySnapshotId: string;
  readonly pointInTime: string;
}

/** Hands the model what the engine committed; the harness records any departure from the plan. */
export type CommitObserver = (planned: PlannedEntry) => ObservedEntry | undefined;

/** How a simulated sync execution ended. */
export interface SyncOutcome {
  readonly ended: 'done' | 'skipped' | 'stopped' | 'crashed';
  /** Seqs committed by this execution, in order. */
  readonly committed: number[];
  /** The recovery SyncBegin did in its first pass, if any. */
  readonly recovery?: 'resumed' | 'adopted';
}

/** A verify at `T0`. */
export interface ModelVerifyBegin {
  readonly runId: string;
  readonly quick: boolean;
  readonly headSeqAtT0: number;
  readonly p0: PrimarySnapshot;
  /** The entry in flight's blocks at `T0` (a quick verify scans them too). */
  readonly dirtyRegionLog: ReadonlySet<number>;
}

/** A verify's scan as the model sees it, between its plan and its finish. */
export interface ModelVerifyScan extends ModelVerifyBegin {
  /** `D0 = changes(P_head → P0)`. */
  readonly pending: Set<number>;
  /** Quick verify: `(D_head ∪ DRL) − D0`. */
  readonly quickRegions?: Set<number>;
}

/** What a finished scan found. */
export interface ModelVerifyFinish {
  /** `C`: blocks of the head at `T0` whose stored version read damaged. */
  readonly compare: Set<number>;
  /** `C' = C − SD`. */
  readonly revised: Set<number>;
  readonly scope: Set<number>;
}

/** What a block of an image reads as: a version's content, damaged or not, or zeros. */
export interface BlockView {
  readonly seed: ContentSeed | undefined;
  readonly damaged: boolean;
}

/** The restore point a request selects, or the refusal the design requires. */
export type RestoreSelection =
  | { readonly outcome: 'restore'; readonly seq: number; readonly skippedSuspect: number[] }
  | { readonly outcome: 'refused'; readonly error: 'RestorePointNotFoundError' | 'SuspectRestorePointError' };

function union(...sets: Iterable<number>[]): Set<number> {
  const out = new Set<number>();
  for (const set of sets) for (const value of set) out.add(value);
  return out;
}

function minus(a: Iterable<number>, b: ReadonlySet<number>): Set<number> {
  const out = new Set<number>();
  for (const value of a) if (!b.has(value)) out.add(value);
  return out;
}

/** What took a primary snapshot: the run and the job (each run takes at most one per job). */
export interface PrimaryTaker {
  readonly runId: string;
  readonly purpose: 'sync' | 'verify' | 'restore';
}

/**
 * Whether `changes(P_head → P)` lists the writes between the two (EBS: every block written, a
 * rewrite with identical bytes included) or, in the emulator when the primary snapshot `P` has no
 * common ancestor with `P_head`, compares their contents. The emulator takes a volume's next
 * snapshot as a parentless full copy when the volume's latest snapshot was deleted (a verify's
 * `P0`, a skipped sync's `P_now`), which cuts the lineage. The harness answers from the snapshots
 * the emulator made; the model's own default is EBS's.
 */
export interface PrimaryLineage {
  connected(basePrimarySnapshotId: string, taken: PrimaryTaker): boolean;
}

/** The primary volume over time: every host write, in order. */
export class PrimaryModel {
  private readonly content = new Map<number, ContentSeed>();
  private readonly writes: Array<{ at: number; block: number }> = [];

  /** Host writes so far. */
  get clock(): number {
    return this.writes.length;
  }

  write(block: number, seed: ContentSeed): void {
    this.content.set(block, seed);
    this.writes.push({ at: this.writes.length + 1, block });
  }

  /** The block's content now, if ever written. */
  seedOf(block: number): ContentSeed | undefined {
    return this.content.get(block);
  }

  /** The image now (every block ever written; the suite never trims). */
  snapshot(): PrimarySnapshot {
    return { at: this.clock, image: new Map(this.content) };
  }

  /**
   * `changes(from → to)`, as ListChangedBlocks answers for two snapshots of the volume: every
   * block written between them, a rewrite with identical bytes included (EBS tracks writes, not
   * contents). Without `from`: every allocated block of `to` (the baseline's ListSnapshotBlocks).
   */
  changes(from: PrimarySnapshot | undefined, to: PrimarySnapshot, connected = true): Set<number> {
    if (from === undefined) return new Set(to.image.keys());
    const changed = new Set<number>();
    if (!connected) {
      // No common ancestor: the emulator compares contents (see PrimaryLineage).
      for (const block of union(from.image.keys(), to.image.keys())) if (from.image.get(block) !== to.image.get(block)) changed.add(block);
      return changed;
    }
    for (const write of this.writes) if (write.at > from.at && write.at <= to.at) changed.add(write.block);
    return changed;
  }

  /** Every block ever written. */
  touched(): Set<number> {
    return new Set(this.content.keys());
  }
}

/** The model of one protected volume: the primary, the committed chain, the stored versions, the entry in flight. */
export class TrustModel {
  readonly primary = new PrimaryModel();
  readonly entries: ModelEntry[] = [];
  drl: ModelDirtyRegionLog | undefined;
  /** Stored versions by `writer:block`. */
  private readonly versions = new Map<string, StoredVersion>();
  /** The newest seq the last scrub covered (`scope: 'new'` reads the entries after it). */
  lastScrubbedSeq = -1;
  /** How `changes(P_head → P)` lists (see {@link PrimaryLineage}); EBS's writes unless the harness says otherwise. */
  lineage: PrimaryLineage = { connected: () => true };

  /** `changes(P_head → taken)`: what the primary changed since the head restore point's P. */
  private present(to: PrimarySnapshot, taken: PrimaryTaker): Set<number> {
    const head = this.head();
    return this.primary.changes(head?.primary, to, head === undefined || this.connected(head.primarySnapshotId, taken));
  }

  /** Listings of `changes(P_head → P)` that compared contents because the emulator cut the primary's lineage. */
  contentComparedListings = 0;

  /** Listings of `changes(P_head → P)` in all. */
  listings = 0;

  private connected(base: string, taken: PrimaryTaker): boolean {
    this.listings++;
    const connected = this.lineage.connected(base, taken);
    if (!connected) this.contentComparedListings++;
    return connected;
  }

  // ── the chain and its images ───────────────────────────────────────────────────────────

  head(): ModelEntry | undefined {
    return this.entries.at(-1);
  }

  entry(seq: number): ModelEntry | undefined {
    return this.entries.find((entry) => entry.seq === seq);
  }

  /** The entry whose version image `seq` holds at `block`: the newest entry ≤ seq whose D holds it. */
  writerOf(seq: number, block: number): ModelEntry | undefined {
    for (let at = this.entries.length - 1; at >= 0; at--) {
      const entry = this.entries[at];
      if (entry.seq <= seq && entry.deltaMap.has(block)) return entry;
    }
    return undefined;
  }

  /** The stored version image `seq` holds at `block`, if any entry wrote it. */
  versionAt(seq: number, block: number): StoredVersion | undefined {
    const writer = this.writerOf(seq, block);
    return writer === undefined ? undefined : this.versions.get(versionKey(writer.seq, block));
  }

  /** The blocks allocated in image `seq`: every block some entry ≤ seq wrote. */
  imageBlocks(seq: number): Set<number> {
    return union(...this.entries.filter((entry) => entry.seq <= seq).map((entry) => entry.deltaMap));
  }

  /** What image `seq` reads at each allocated block, damage included. */
  storedView(seq: number): Map<number, BlockView> {
    const view = new Map<number, BlockView>();
    for (const block of this.imageBlocks(seq)) {
      const version = this.versionAt(seq, block);
      if (version !== undefined) view.set(block, { seed: version.seed, damaged: version.damaged });
    }
    return view;
  }

  /** Blocks of image `seq` that hold a bad (damaged and detected) version. */
  badBlocks(seq: number): Set<number> {
    const bad = new Set<number>();
    for (const block of this.imageBlocks(seq)) if (this.versionAt(seq, block)?.detected === true) bad.add(block);
    return bad;
  }

  suspectBlocks(seq: number): number {
    return this.badBlocks(seq).size;
  }

  trust(seq: number): 'trusted' | 'suspect' {
    return this.suspectBlocks(seq) > 0 ? 'suspect' : 'trusted';
  }

  /** The pending repair: the head image's bad blocks. */
  headBadBlocks(): Set<number> {
    const head = this.head();
    return head === undefined ? new Set() : this.badBlocks(head.seq);
  }

  /** Every stored version of the retained chain, with its writer. */
  storedVersions(): Array<{ writer: number; version: StoredVersion }> {
    return this.entries.flatMap((entry) => [...entry.deltaMap].flatMap((block) => {
      const version = this.versions.get(versionKey(entry.seq, block));
      return version === undefined ? [] : [{ writer: entry.seq, version }];
    }));
  }

  // ── host writes and damage ─────────────────────────────────────────────────────────────

  hostWrite(block: number, seed: ContentSeed): void {
    this.primary.write(block, seed);
  }

  /**
   * Damages the version image `seq` holds at `block`, in place: every image holding it reads the
   * damage (the emulator's `POST /_emulator/corrupt`). Returns the writer of that version.
   */
  damage(seq: number, block: number): number {
    const writer = this.writerOf(seq, block);
    const version = writer === undefined ? undefined : this.versions.get(versionKey(writer.seq, block));
    if (writer === undefined || version === undefined) throw new Error(`model: image ${seq} holds no version of block ${block}`);
    if (version.damaged) throw new Error(`model: version (${writer.seq}, ${block}) is damaged already`);
    version.damaged = true;
    return writer.seq;
  }

  // ── sync ───────────────────────────────────────────────────────────────────────────────

  /**
   * One sync execution `runId` through the Sync machine's steps, ended by `fault` if given;
   * `revised` makes it a verify's fix-up (`C'`). Every commit is handed to `observe`, and the
   * model goes on from what the engine committed when that is within the plan's range.
   */
  sync(runId: string, fault: SyncFault, observe: CommitObserver, revised?: ReadonlySet<number>): SyncOutcome {
    const committed: number[] = [];
    let recovery: SyncOutcome['recovery'];
    const crashes = (step: ModelSyncStep, when: 'before' | 'after'): boolean => fault.crash?.step === step && fault.crash.when === when;
    const stops = (step: ModelSyncStep): boolean => fault.stopAfter === step;
    const end = (ended: SyncOutcome['ended']): SyncOutcome => ({ ended, committed, recovery });
    /** After a step: a crash after it, or the run stopping there. */
    const after = (step: ModelSyncStep): SyncOutcome | undefined => (crashes(step, 'after') ? end('crashed') : stops(step) ? end('stopped') : undefined);
    for (let pass = 1; pass <= 2; pass++) {
      // SyncBegin: the lease, the recovery of a crashed run's entry in flight, P_now.
      if (crashes('SyncBegin', 'before')) return end('crashed');
      let resumed = false;
      const live = this.drl;
      if (live !== undefined && live.runId !== runId) {
        if (live.secondary === 'pending') {
          resumed = true;
          // A sync in flight may add the head's bad blocks from its own P before it completes.
          live.may = union(live.may, minus(this.headBadBlocks(), live.must));
        } else {
          this.commit({ seq: live.seq, kinds: [live.kind], must: live.must, may: new Set(), primary: live.primary, how: 'adopted' }, observe, committed);
          this.drl = undefined;
        }
        if (pass === 1) recovery = resumed ? 'resumed' : 'adopted';
      }
      const pNow = resumed && live !== undefined ? live.primary : this.primary.snapshot();
      const begun = after('SyncBegin');
      if (begun !== undefined) return begun;
      if (crashes('WaitPrimary', 'before')) return end('crashed');
      const waited = after('WaitPrimary');
      if (waited !== undefined) return waited;
      // SyncPlan: D = HC ∪ the head's bad blocks (∪ C' for a fix-up), persisted as the DRL.
      if (crashes('SyncPlan', 'before')) return end('crashed');
      if (!resumed) {
        const head = this.head();
        const headBad = this.headBadBlocks();
        const must = union(this.present(pNow, { runId, purpose: 'sync' }), headBad);
        const may = revised === undefined ? new Set<number>() : minus(revised, must);
        const kind: EntryKind = head === undefined ? 'baseline' : revised !== undefined || headBad.size > 0 ? 'fixup' : 'sync';
        if (kind === 'sync' && must.size === 0) {
          // Nothing changed: no restore point; the lease is released.
          return after('SyncPlan') ?? end('skipped');
        }
        this.drl = { runId, seq: (head?.seq ?? -1) + 1, kind, must, may, primary: pNow, secondary: 'pending' };
      }
      const planned = after('SyncPlan');
      if (planned !== undefined) return planned;
      for (const step of ['CopySegment', 'CompleteSnapshot', 'WaitSecondary'] as const) {
        if (crashes(step, 'before')) return end('crashed');
        if (step === 'CompleteSnapshot' && this.drl !== undefined) this.drl.secondary = 'completed';
        const ended = after(step);
        if (ended !== undefined) return ended;
      }
      // SyncCommit: the entry in flight becomes the head; the DRL is cleared.
      if (crashes('SyncCommit', 'before')) return end('crashed');
      const drl = this.drl;
      if (drl === undefined) throw new Error('model: SyncCommit without an entry in flight');
      const kinds: EntryKind[] = resumed && drl.may.size > 0 ? [drl.kind, 'fixup'] : [drl.kind];
      this.commit({ seq: drl.seq, kinds, must: drl.must, may: drl.may, primary: drl.primary, how: resumed ? 'resumed' : 'planned' }, observe, committed);
      this.drl = undefined;
      const ended = after('SyncCommit');
      if (ended !== undefined) return ended;
      if (!resumed) return end('done');
    }
    throw new Error('model: a sync recovered twice');
  }

  /**
   * Commits a planned entry as the engine committed it. The harness has recorded any departure
   * from the plan; the model goes on from what the engine did (so a run that goes on past a
   * violation keeps predicting from the engine's real chain), and commits nothing the engine did not.
   */
  private commit(planned: PlannedEntry, observe: CommitObserver, committed: number[]): void {
    const observed = observe(planned);
    if (observed === undefined) return;
    const entry: ModelEntry = {
      seq: planned.seq,
      kind: observed.kind,
      deltaMap: new Set(observed.deltaMap),
      primary: planned.primary,
      primarySnapshotId: observed.primarySnapshotId,
      secondarySnapshotId: observed.secondarySnapshotId,
      pointInTime: observed.pointInTime,
    };
    const deltaMap = entry.deltaMap;
    for (const block of deltaMap) {
      this.versions.set(versionKey(entry.seq, block), { block, seed: planned.primary.image.get(block), damaged: false, detected: false });
    }
    this.entries.push(entry);
    committed.push(entry.seq);
  }

  /**
   * Takes the engine's entry in flight as the model's (after the harness compared them): its
   * blocks and kind (a resumed run that died after carrying the pending repair made it a fixup),
   * or none.
   */
  adoptDirtyRegionLog(engine: { readonly deltaMap: ReadonlySet<number>; readonly kind: EntryKind } | undefined): void {
    if (this.drl === undefined) return;
    if (engine === undefined) {
      this.drl = undefined;
      return;
    }
    this.drl.must = new Set(engine.deltaMap);
    this.drl.may = new Set();
    this.drl.kind = engine.kind;
  }

  // ── verify ─────────────────────────────────────────────────────────────────────────────

  /** VerifyBegin: `P0` at `T0`, the head it compares, and the DRL a quick verify adds. */
  verifyBegin(runId: string, quick: boolean): ModelVerifyBegin {
    const head = this.head();
    if (head === undefined) throw new Error('model: nothing to verify');
    return { runId, quick, headSeqAtT0: head.seq, p0: this.primary.snapshot(), dirtyRegionLog: new Set(this.drl?.must ?? []) };
  }

  /** VerifyPlan: `D0 = changes(P_head → P0)` and the quick regions (once the engine took `P0`, whose lineage decides how it lists). */
  verifyPlan(begun: ModelVerifyBegin): ModelVerifyScan {
    const head = this.entry(begun.headSeqAtT0);
    if (head === undefined) throw new Error(`model: restore point ${begun.headSeqAtT0} left the chain before the plan`);
    const pending = this.primary.changes(head.primary, begun.p0, this.connected(head.primarySnapshotId, { runId: begun.runId, purpose: 'verify' }));
    const quickRegions = begun.quick ? minus(union(head.deltaMap, begun.dirtyRegionLog), pending) : undefined;
    return { ...begun, pending, quickRegions };
  }

  /**
   * The scan and VerifyFinishScan: every block allocated in `P0` or `S_head` and not pending (only
   * the quick regions for a quick verify) is read from the head image at `T0` and compared with
   * `P0`; a damaged version read there becomes a bad version. `C' = C − SD`.
   */
  verifyFinish(scan: ModelVerifyScan): ModelVerifyFinish {
    const headBlocks = this.imageBlocks(scan.headSeqAtT0);
    let scope = minus(union(scan.p0.image.keys(), headBlocks), scan.pending);
    if (scan.quickRegions !== undefined) scope = new Set([...scope].filter((block) => scan.quickRegions?.has(block)));
    const compare = new Set<number>();
    for (const block of scope) {
      const version = this.versionAt(scan.headSeqAtT0, block);
      const expected = scan.p0.image.get(block);
      if (version === undefined ? expected !== undefined : version.damaged || version.seed !== expected) compare.add(block);
    }
    for (const block of compare) {
      const version = this.versionAt(scan.headSeqAtT0, block);
      if (version !== undefined) version.detected = true;
    }
    const scanDeltaMap = union(...this.entries.filter((entry) => entry.seq > scan.headSeqAtT0).map((entry) => entry.deltaMap));
    return { compare, revised: minus(compare, scanDeltaMap), scope };
  }

  // ── scrub ──────────────────────────────────────────────────────────────────────────────

  /** The scrub: reads every retained stored version (`all`) or those of entries committed since the last scrub (`new`). */
  scrub(scope: 'all' | 'new'): Set<string> {
    const found = new Set<string>();
    for (const { writer, version } of this.storedVersions()) {
      if (scope === 'new' && writer <= this.lastScrubbedSeq) continue;
      if (version.damaged) {
        version.detected = true;
        found.add(versionKey(writer, version.block));
      }
    }
    this.lastScrubbedSeq = this.head()?.seq ?? this.lastScrubbedSeq;
    return found;
  }

  /** Marks the engine's recorded bad versions as found (a run going on past a violation follows the engine). */
  adoptBadVersions(recorded: ReadonlyMap<number, { toArray(): number[] }>): void {
    for (const [writer, blocks] of recorded) {
      for (const block of blocks.toArray()) {
        const version = this.versions.get(versionKey(writer, block));
        if (version !== undefined) version.detected = true;
      }
    }
  }

  // ── retention ──────────────────────────────────────────────────────────────────────────

  /**
   * Prunes restore point `seq`: its versions that the successor did not rewrite become the
   * successor's (they are the same stored blocks), `D_seq` merges into `D_succ`, a pruned first
   * entry makes its successor the baseline.
   */
  prune(seq: number): void {
    const at = this.entries.findIndex((entry) => entry.seq === seq);
    const pruned = this.entries[at];
    const successor = this.entries[at + 1];
    if (pruned === undefined || successor === undefined) throw new Error(`model: ${seq} is not a prunable restore point`);
    for (const block of pruned.deltaMap) {
      const version = this.versions.get(versionKey(pruned.seq, block));
      this.versions.delete(versionKey(pruned.seq, block));
      if (successor.deltaMap.has(block) || version === undefined) continue;
      successor.deltaMap.add(block);
      this.versions.set(versionKey(successor.seq, block), version);
    }
    if (at === 0) successor.kind = 'baseline';
    this.entries.splice(at, 1);
  }

  /** The seqs `keepLast` prunes: every committed point but the newest `keepLast`. */
  keepLastTargets(keepLast: number): number[] {
    return this.entries.slice(0, Math.max(0, this.entries.length - keepLast)).map((entry) => entry.seq);
  }

  // ── restore ────────────────────────────────────────────────────────────────────────────

  /** Restore point selection: by seq (committed; suspect only with the override), or by time (the newest trusted point at or before it). */
  selectRestorePoint(selector: { seq: number } | { at: string }, allowSuspect: boolean): RestoreSelection {
    if ('seq' in selector) {
      const entry = this.entry(selector.seq);
      if (entry === undefined) return { outcome: 'refused', error: 'RestorePointNotFoundError' };
      if (this.trust(entry.seq) === 'suspect' && !allowSuspect) return { outcome: 'refused', error: 'SuspectRestorePointError' };
      return { outcome: 'restore', seq: entry.seq, skippedSuspect: [] };
    }
    const at = Date.parse(selector.at);
    const candidates = this.entries.filter((entry) => Date.parse(entry.pointInTime) <= at);
    const eligible = allowSuspect ? candidates : candidates.filter((entry) => this.trust(entry.seq) === 'trusted');
    const chosen = eligible.at(-1);
    if (chosen === undefined) return { outcome: 'refused', error: 'RestorePointNotFoundError' };
    return { outcome: 'restore', seq: chosen.seq, skippedSuspect: candidates.filter((entry) => entry.seq > chosen.seq).map((entry) => entry.seq) };
  }

  /** `R = D_{k+1} ∪ … ∪ D_head ∪ changes(P_head → P_now)`; `runId` is the restore's, whose `P_now` it is. */
  restorePlan(seq: number, runId: string): Set<number> {
    const later = this.entries.filter((entry) => entry.seq > seq).map((entry) => entry.deltaMap);
    return union(...later, this.present(this.primary.snapshot(), { runId, purpose: 'restore' }));
  }

  /**
   * What a delta restore of point `seq` leaves on the new volume: the blocks of `R` as image `seq`
   * stores them (zeros where it holds none), every other block as the primary holds it now (the
   * same as at point `seq`: none of them changed since).
   */
  restoredView(seq: number, runId: string): Map<number, BlockView> {
    const plan = this.restorePlan(seq, runId);
    const view = new Map<number, BlockView>();
    for (const block of union(this.primary.touched(), this.imageBlocks(this.head()?.seq ?? -1))) {
      if (plan.has(block)) {
        const version = this.versionAt(seq, block);
        view.set(block, version === undefined ? { seed: undefined, damaged: false } : { seed: version.seed, damaged: version.damaged });
      } else {
        view.set(block, { seed: this.primary.seedOf(block), damaged: false });
      }
    }
    return view;
  }
}

/** The key of version `(writer, block)`. */
export function versionKey(writer: number, block: number): string {
  return `${writer}:${block}`;
}

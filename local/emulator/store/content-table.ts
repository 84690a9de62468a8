/**
 * Reference-counted block content of the snapshot store: identical blocks are stored once, and
 * content nobody references any more is deleted. Block maps hold dense small content ids (so
 * they fit an Int32Array); this table maps them to hashes and back.
 */
import { UNALLOCATED } from '../block-table';
import type { ContentStore } from '../content-store';

/** Fire-and-forget writes (state transitions noticed on read, content deletions) that `flush` waits for. */
export class BackgroundWork {
  private readonly running = new Set<Promise<void>>();

  /** Keeps a fire-and-forget write visible to `flush`; a failure is logged, not thrown. */
  track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => {
      console.error('ebs-cdp emulator: background write failed', error);
    });
    this.running.add(tracked);
    void tracked.finally(() => this.running.delete(tracked));
  }

  /** Waits for every tracked write, including ones started while waiting. */
  async flush(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}

/** Content id → hash and reference count; hash → content id. */
export class ContentTable {
  private readonly hashById: string[] = [];
  private readonly refs: number[] = [];
  private readonly idByHash = new Map<string, number>();
  private readonly freeIds: number[] = [];
  private readonly contentWrites = new Map<number, Promise<void>>();
  /** Deletions in flight by hash: a new write of the same bytes must land after the deletion, not before. */
  private readonly contentDeletes = new Map<string, Promise<void>>();

  constructor(
    private readonly content: ContentStore,
    private readonly background: BackgroundWork,
  ) {}

  /** Registers one more reference to content already on disk (used while loading). */
  adopt(hash: string): number {
    const known = this.idByHash.get(hash);
    if (known !== undefined) {
      this.refs[known]++;
      return known;
    }
    const id = this.freeIds.pop() ?? this.hashById.length;
    this.hashById[id] = hash;
    this.refs[id] = 1;
    this.idByHash.set(hash, id);
    return id;
  }

  /** Takes a reference to `data` (whose hex SHA-256 is `hash`), storing it if it is new. */
  async retain(hash: string, data: Buffer): Promise<number> {
    const known = this.idByHash.get(hash);
    if (known !== undefined) {
      this.refs[known]++;
      await this.contentWrites.get(known);
      return known;
    }
    const id = this.adopt(hash);
    const deleting = this.contentDeletes.get(hash);
    const write = deleting === undefined ? this.content.put(hash, data) : deleting.then(() => this.content.put(hash, data));
    this.contentWrites.set(id, write);
    try {
      await write;
    } catch (error) {
      this.release(id);
      throw error;
    } finally {
      this.contentWrites.delete(id);
    }
    return id;
  }

  /** Drops one reference; content nobody references any more is deleted. */
  release(id: number): void {
    if (id === UNALLOCATED) return;
    this.refs[id]--;
    if (this.refs[id] > 0) return;
    const hash = this.hashById[id];
    this.idByHash.delete(hash);
    this.freeIds.push(id);
    const deletion = this.content.delete(hash).finally(() => {
      if (this.contentDeletes.get(hash) === deletion) this.contentDeletes.delete(hash);
    });
    this.contentDeletes.set(hash, deletion);
    this.background.track(deletion);
  }

  /** Hex SHA-256 of a content id (an arrow function: block maps are persisted through it). */
  hashOf = (id: number): string => this.hashById[id];

  /** The bytes of a content id, once its write (if still in flight) has landed. */
  async contentOf(id: number): Promise<Buffer> {
    await this.contentWrites.get(id);
    return this.content.get(this.hashById[id]);
  }
}

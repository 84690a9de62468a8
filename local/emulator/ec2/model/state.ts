/**
 * What the EC2 model keeps and how it survives a restart: one {@link VolumeEntry} per volume
 * (metadata, data, dirty set), and `<dataDir>/ec2/state.json` with volumes and instances,
 * saved debounced after block writes and at once after API calls.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { decodeBlockRanges, encodeBlockRanges, type InstanceRecord, type PersistedState, type VolumeRecord } from '../records';
import { FileVolumeStorage, MemoryVolumeStorage, type VolumeStorage } from '../volume-storage';
import { volumeBytes } from './rules';

/**
 * Delay before the emulator saves metadata after block writes: a workload writing thousands of
 * blocks costs a handful of saves, not one per block. Safe because the volume file's mtime marker
 * is only set after the save (see volume-storage.ts): a crash in between makes the next snapshot
 * scan the file rather than trust a dirty set that lost writes.
 */
const SAVE_DEBOUNCE_MS = 100;

/** Metadata layout version in `state.json`. */
const STATE_FORMAT = 1;

/** One volume as the model holds it. */
export interface VolumeEntry {
  record: VolumeRecord;
  storage: VolumeStorage;
  /** Blocks written through the API since `record.baseSnapshotId` (or since creation). */
  dirty: Set<number>;
  /** Only for a volume created from an encrypted snapshot: blocks that hold real data (see `unwrittenNoise`). */
  written?: Set<number>;
  /** Serializes snapshots and hydration of this volume. */
  queue: Promise<unknown>;
}

/** The entry of `record`, its dirty and written sets decoded from the record (empty for a new volume). */
export function volumeEntry(record: VolumeRecord, storage: VolumeStorage): VolumeEntry {
  return {
    record,
    storage,
    dirty: new Set(decodeBlockRanges(record.dirtyRanges)),
    written: record.unwrittenNoise === undefined ? undefined : new Set(decodeBlockRanges(record.unwrittenNoise.writtenRanges)),
    queue: Promise.resolve(),
  };
}

/** The volume's metadata as callers see it and `state.json` keeps it: a copy, dirty sets as ranges. */
export function volumeView(entry: VolumeEntry): VolumeRecord {
  const { record } = entry;
  return {
    ...record,
    tags: [...record.tags],
    attachment: record.attachment === undefined ? undefined : { ...record.attachment },
    dirtyRanges: encodeBlockRanges(entry.dirty),
    unwrittenNoise:
      record.unwrittenNoise === undefined || entry.written === undefined
        ? undefined
        : { lineageId: record.unwrittenNoise.lineageId, writtenRanges: encodeBlockRanges(entry.written) },
  };
}

/** Runs `work` after every earlier snapshot or hydration of the same volume. */
export function serialize<T>(entry: VolumeEntry, work: () => Promise<T>): Promise<T> {
  const run = entry.queue.catch(() => undefined).then(work);
  entry.queue = run;
  return run;
}

/**
 * Files of the EC2 half under `<dataDir>/ec2/` (`state.json`, `volumes/<id>.img`), or nothing
 * but memory when there is no data directory.
 */
export class Ec2Persistence {
  private saveChain: Promise<void> = Promise.resolve();
  private saveTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /** `volumes` and `instances` are the model's own maps: a save writes what they hold then. */
  constructor(
    private readonly ec2Dir: string | undefined,
    private readonly volumes: ReadonlyMap<string, VolumeEntry>,
    private readonly instances: ReadonlyMap<string, InstanceRecord>,
  ) {}

  /** Reads `state.json` (creating the directories); `undefined` in memory mode or before the first save. */
  async load(): Promise<PersistedState | undefined> {
    const ec2Dir = this.ec2Dir;
    if (ec2Dir === undefined) return undefined;
    await fsp.mkdir(path.join(ec2Dir, 'volumes'), { recursive: true });
    try {
      return JSON.parse(await fsp.readFile(path.join(ec2Dir, 'state.json'), 'utf8')) as PersistedState;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** The volume's data: a sparse file of its full size, or blocks in memory. */
  async openStorage(record: VolumeRecord): Promise<VolumeStorage> {
    if (this.ec2Dir === undefined) return new MemoryVolumeStorage();
    return FileVolumeStorage.open(path.join(this.ec2Dir, 'volumes', `${record.volumeId}.img`), volumeBytes(record));
  }

  /** A save soon (after block writes): many writes, one save. */
  scheduleSave(): void {
    if (this.ec2Dir === undefined || this.saveTimer !== undefined || this.closed) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.save().catch(() => undefined);
    }, SAVE_DEBOUNCE_MS);
    // A pending save must not keep a finished test or CLI alive; close() saves anyway.
    this.saveTimer.unref();
  }

  /** Writes `state.json` (temp file + rename), then lets the volume files drop their outside-write evidence. */
  save(): Promise<void> {
    const ec2Dir = this.ec2Dir;
    if (ec2Dir === undefined) return Promise.resolve();
    if (this.saveTimer !== undefined) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
    }
    const run = this.saveChain.catch(() => undefined).then(async () => {
      // Serialize and note write generations in the same tick: the save covers exactly these writes.
      const entries = [...this.volumes.values()];
      const generations = entries.map((entry) => entry.storage.writeGeneration());
      const state: PersistedState = {
        format: STATE_FORMAT,
        volumes: entries.map((entry) => volumeView(entry)),
        instances: [...this.instances.values()],
      };
      const target = path.join(ec2Dir, 'state.json');
      const temp = `${target}.${process.pid}.tmp`;
      await fsp.writeFile(temp, JSON.stringify(state));
      await fsp.rename(temp, target);
      await Promise.all(entries.map((entry, i) => (this.volumes.has(entry.record.volumeId) ? entry.storage.commitOwnWrites(generations[i]) : undefined)));
    });
    this.saveChain = run;
    return run;
  }

  /** Waits for snapshots and hydrations in flight, saves metadata and closes the volume files (once). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.volumes.values()].map((entry) => entry.queue.catch(() => undefined)));
    await this.save();
    for (const entry of this.volumes.values()) await entry.storage.close();
  }
}

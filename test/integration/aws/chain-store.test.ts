/**
 * The DynamoDB chain store against dynalite over HTTP: protected volumes, committing and
 * streaming the chain, the dirty region log, suspect marks, verify runs, and batch retries.
 */
import { DynamoDBDocumentClient, BatchWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { BatchWriteItemCommandInput, BatchWriteItemCommandOutput } from '@aws-sdk/client-dynamodb';
import {
  BatchRetryExhaustedError,
  ChainStoreCorruptError,
  ChainStoreInputError,
  LeaseLostError,
  VerifyRunNotFoundError,
  VolumeAlreadyProtectedError,
  VolumeNotProtectedError,
} from '../../../shared/core/ports/errors';
import { DynamoDbChainStore, SECONDARY_NOT_STARTED } from '../../../shared/aws/chain-store';
import { volumeBlocks } from '../../../shared/core/constants';
import { DeltaMap } from '../../../shared/core/delta-map';
import { ChainInvariantError, RestorePointNotFoundError } from '../../../shared/core/errors';
import type { Fence, VerifyRun } from '../../../shared/core/ports/chain-store';
import {
  blockPerSegment,
  collect,
  committedEntry,
  dirtyRegionLogOf,
  entryView,
  type Harness,
  instantTimer,
  startHarness,
  TABLE_NAME,
  uniqueVolumeId,
  WIDE_VOLUME_SIZE,
} from './chain-store-harness';

const TTL_MS = 60_000;

describe('DynamoDbChainStore', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await startHarness();
  });

  afterAll(async () => {
    await harness.stop();
  });

  /** A protected volume whose lease the test holds. */
  async function leasedVolume(label: string, volumeSize = 8): Promise<{ volumeId: string; fence: Fence }> {
    const volumeId = uniqueVolumeId(label);
    await harness.store.protectVolume(volumeId, { volumeSize, config: { retentionDays: 7 } });
    const fence = await harness.store.acquireLease(volumeId, { holder: 'exec', runId: `run-${label}`, ttlMs: TTL_MS });
    return { volumeId, fence };
  }

  describe('protectVolume', () => {
    it('records the size and config, with no restore point yet', async () => {
      // Prepare
      const volumeId = uniqueVolumeId('protect');
      const config = { secondaryRegion: 'eu-west-1', kmsKeyId: null, schedules: { sync: 'rate(5 minutes)' }, retention: [7, 30] };

      // Act
      await harness.store.protectVolume(volumeId, { volumeSize: 16, config });

      // Assess
      const volume = await harness.store.getVolume(volumeId);
      expect(volume).toEqual({ volumeId, volumeSize: 16, config, version: 0 });
      expect(volume.headSeq).toBeUndefined();
    });

    it('is idempotent for the same settings and refuses other ones', async () => {
      // Prepare
      const volumeId = uniqueVolumeId('protect-twice');
      await harness.store.protectVolume(volumeId, { volumeSize: 16, config: { a: 1, b: 'x' } });

      // Act
      const again = await harness.store.protectVolume(volumeId, { volumeSize: 16, config: { b: 'x', a: 1 } });
      const other = harness.store.protectVolume(volumeId, { volumeSize: 32, config: { a: 1, b: 'x' } });

      // Assess
      expect(again.volumeSize).toBe(16);
      await expect(other).rejects.toBeInstanceOf(VolumeAlreadyProtectedError);
      await expect(other).rejects.toThrow(`volume ${volumeId} is already protected (16 GiB)`);
    });

    it('refuses a volume id that would break the key layout', async () => {
      // Act
      const protecting = harness.store.protectVolume('vol#1', { volumeSize: 8, config: {} });

      // Assess
      await expect(protecting).rejects.toBeInstanceOf(ChainStoreInputError);
    });
  });

  describe('getVolume', () => {
    it('fails with VolumeNotProtectedError telling how to protect it', async () => {
      // Act
      const reading = harness.store.getVolume('vol-nobody');

      // Assess
      await expect(reading).rejects.toBeInstanceOf(VolumeNotProtectedError);
      await expect(reading).rejects.toThrow('protect it first: ebs-cdp protect vol-nobody');
      await expect(reading).rejects.toMatchObject({ name: 'VolumeNotProtectedError', volumeId: 'vol-nobody' });
    });
  });

  describe('commitEntry', () => {
    it('stores entries whose delta maps read back block for block, and moves the head', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('commit', WIDE_VOLUME_SIZE);
      const baseline = committedEntry({ seq: 0, blocks: blockPerSegment(64), volumeSize: WIDE_VOLUME_SIZE });
      const sync = committedEntry({ seq: 1, blocks: [5, 6, 7, 200_000], volumeSize: WIDE_VOLUME_SIZE });

      // Act
      await harness.store.commitEntry(volumeId, baseline, fence);
      await harness.store.commitEntry(volumeId, sync, fence);

      // Assess
      const chain = await collect(harness.store.readChain(volumeId));
      expect(chain.map(entryView)).toEqual([entryView(baseline), entryView(sync)]);
      expect(chain[0].deltaMap.equals(baseline.deltaMap)).toBe(true);
      const volume = await harness.store.getVolume(volumeId);
      expect(volume.headSeq).toBe(1);
      expect(volume.basePrimarySnapshotId).toBe('snap-p1');
    });

    it('is idempotent: committing the same entry again changes nothing', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('commit-twice');
      const baseline = committedEntry({ seq: 0, blocks: [1, 2] });
      await harness.store.commitEntry(volumeId, baseline, fence);
      const before = await harness.store.getVolume(volumeId);
      const itemsBefore = await harness.rawItems(volumeId);

      // Act
      await harness.store.commitEntry(volumeId, { ...baseline, committedAt: '2026-02-01T00:00:00.000Z' }, fence);

      // Assess
      expect(await harness.store.getVolume(volumeId)).toEqual(before);
      expect(await harness.rawItems(volumeId)).toEqual(itemsBefore);
    });

    it('refuses other content for a committed restore point', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('commit-other');
      await harness.store.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [1, 2] }), fence);

      // Act
      const committing = harness.store.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [1, 3] }), fence);

      // Assess
      await expect(committing).rejects.toBeInstanceOf(ChainInvariantError);
      await expect(committing).rejects.toThrow('restore point 0 is already committed with other content');
    });

    it('refuses a gap in seq, a sync before the baseline, and a fix-up', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('commit-order');

      // Act
      const gap = harness.store.commitEntry(volumeId, committedEntry({ seq: 1, kind: 'baseline', blocks: [1] }), fence);
      const syncFirst = harness.store.commitEntry(volumeId, committedEntry({ seq: 0, kind: 'sync', blocks: [1] }), fence);
      const fixup = harness.store.commitEntry(volumeId, committedEntry({ seq: 0, kind: 'fixup', blocks: [1] }), fence);

      // Assess
      await expect(gap).rejects.toThrow('the next restore point is 0, not 1');
      await expect(syncFirst).rejects.toThrow('only it, must be the baseline');
      await expect(fixup).rejects.toThrow('append it with appendFixup');
      expect((await harness.store.getVolume(volumeId)).headSeq).toBeUndefined();
    });

    it('refuses an entry that is still pending or whose map does not match its size', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('commit-shape');
      const baseline = committedEntry({ seq: 0, blocks: [1] });

      // Act
      const pending = harness.store.commitEntry(volumeId, { ...baseline, status: 'pending', committedAt: undefined }, fence);
      const missized = harness.store.commitEntry(volumeId, { ...baseline, volumeSize: 16 }, fence);

      // Assess
      await expect(pending).rejects.toThrow('must be committed with committedAt set');
      await expect(missized).rejects.toThrow('resize the map');
    });

    it('keeps the volume size growing and refuses a shrink', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('grow');
      await harness.store.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [1] }), fence);

      // Act
      await harness.store.commitEntry(volumeId, committedEntry({ seq: 1, blocks: [20_000], volumeSize: 16 }), fence);
      const shrinking = harness.store.commitEntry(volumeId, committedEntry({ seq: 2, blocks: [1] }), fence);

      // Assess
      await expect(shrinking).rejects.toThrow('volumes only grow');
      expect((await harness.store.getVolume(volumeId)).volumeSize).toBe(16);
      const chain = await collect(harness.store.readChain(volumeId));
      expect(chain.map((entry) => entry.deltaMap.volumeBlocks)).toEqual([volumeBlocks(8), volumeBlocks(16)]);
    });
  });

  describe('appendFixup', () => {
    it('appends a fix-up entry at the chain\'s end and makes its primary snapshot the base', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('fixup');
      await harness.store.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [1, 2] }), fence);
      const fixup = committedEntry({ seq: 1, kind: 'fixup', blocks: [2, 9] });

      // Act
      await harness.store.appendFixup(volumeId, fixup, fence);

      // Assess
      const chain = await collect(harness.store.readChain(volumeId));
      expect(chain.map((entry) => [entry.seq, entry.kind])).toEqual([[0, 'baseline'], [1, 'fixup']]);
      expect((await harness.store.getVolume(volumeId)).basePrimarySnapshotId).toBe('snap-p1');
    });

    it('refuses an entry that is not a fix-up', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('fixup-kind');

      // Act
      const appending = harness.store.appendFixup(volumeId, committedEntry({ seq: 0, blocks: [1] }), fence);

      // Assess
      await expect(appending).rejects.toThrow('is a baseline, not a fix-up');
    });
  });

  describe('readChain', () => {
    it('reads a range, in either order', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('range');
      for (let seq = 0; seq < 6; seq++) {
        await harness.store.commitEntry(volumeId, committedEntry({ seq, blocks: [seq * 10] }), fence);
      }

      // Act
      const middle = await collect(harness.store.readChain(volumeId, { fromSeq: 2, toSeq: 4 }));
      const backwards = await collect(harness.store.readChain(volumeId, { order: 'descending', toSeq: 3 }));

      // Assess
      expect(middle.map((entry) => entry.seq)).toEqual([2, 3, 4]);
      expect(backwards.map((entry) => entry.seq)).toEqual([3, 2, 1, 0]);
      expect(backwards.map((entry) => entry.deltaMap.toArray())).toEqual([[30], [20], [10], [0]]);
    });

    it('streams a chain of 10,000 entries a page at a time', async () => {
      // Prepare: two entries through the store, then 9,998 copies of the second written raw.
      const volumeId = uniqueVolumeId('long');
      await harness.store.protectVolume(volumeId, { volumeSize: 8, config: {} });
      const fence = await harness.store.acquireLease(volumeId, { holder: 'exec', runId: 'run-long', ttlMs: TTL_MS });
      await harness.store.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [0, 1] }), fence);
      await harness.store.commitEntry(volumeId, committedEntry({ seq: 1, blocks: [42] }), fence);
      const entries = 10_000;
      await seedCopiesOfEntry(volumeId, 1, entries - 1);
      const { store, calls } = harness.instrumentedStore({ pageSize: 100 });

      // Act
      const iterator = store.readChain(volumeId)[Symbol.asyncIterator]();
      const first = await iterator.next();
      const queriesForFirst = calls.filter((call) => call === 'QueryCommand').length;
      let count = first.done === true ? 0 : 1;
      let previousSeq = first.done === true ? -1 : first.value.seq;
      let ordered = true;
      let blocksOfLast: number[] = [];
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
        ordered &&= next.value.seq === previousSeq + 1;
        previousSeq = next.value.seq;
        blocksOfLast = next.value.deltaMap.toArray();
        count += 1;
      }

      // Assess
      // One Query of the bad versions (none: trust needs nothing more), one for the first page.
      expect(queriesForFirst).toBe(2);
      expect(count).toBe(entries);
      expect(ordered).toBe(true);
      expect(previousSeq).toBe(entries - 1);
      expect(blocksOfLast).toEqual([42]);
      const queries = calls.filter((call) => call === 'QueryCommand').length;
      expect(queries).toBeGreaterThanOrEqual(entries / 100);
      // One page per 100 entries, perhaps one more to learn the end, and the bad-versions Query.
      expect(queries).toBeLessThanOrEqual(entries / 100 + 2);
      expect(calls.filter((call) => call === 'BatchGetItemCommand').length).toBe(entries / 100);
    }, 120_000);

    it('hides entries the head does not cover (orphans of a crashed commit)', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('orphan');
      await harness.store.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [1] }), fence);
      await harness.store.commitEntry(volumeId, committedEntry({ seq: 1, blocks: [2] }), fence);
      await rewindHead(volumeId, 0);

      // Act
      const chain = await collect(harness.store.readChain(volumeId));

      // Assess
      expect(chain.map((entry) => entry.seq)).toEqual([0]);
    });

    it('fails with ChainStoreCorruptError when a shard was changed behind its back', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('tamper');
      await harness.store.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [1, 2, 3] }), fence);
      const tampered = DeltaMap.of(volumeBlocks(8), [1, 2]).encodeSegment(0);
      await DynamoDBDocumentClient.from(harness.client()).send(new UpdateCommand({
        TableName: TABLE_NAME,
        Key: { pk: `VOL#${volumeId}`, sk: 'MAP#0000000000#0000' },
        UpdateExpression: 'SET #bytes = :bytes',
        ExpressionAttributeNames: { '#bytes': 'bytes' },
        ExpressionAttributeValues: { ':bytes': tampered },
      }));

      // Act
      const reading = collect(harness.store.readChain(volumeId));

      // Assess
      await expect(reading).rejects.toBeInstanceOf(ChainStoreCorruptError);
      await expect(reading).rejects.toThrow('does not match its checksum');
    });
  });

  describe('getEntry', () => {
    it('returns one restore point, and tells how to list them when it does not exist', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('get');
      await harness.store.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [8, 9] }), fence);

      // Act
      const entry = await harness.store.getEntry(volumeId, 0);
      const missing = harness.store.getEntry(volumeId, 1);

      // Assess
      expect(entry.deltaMap.toArray()).toEqual([8, 9]);
      await expect(missing).rejects.toBeInstanceOf(RestorePointNotFoundError);
      await expect(missing).rejects.toThrow(`ebs-cdp points ${volumeId}`);
    });
  });

  describe('writeDirtyRegionLog', () => {
    it('persists the DRL and shows the entry in flight as pending', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('drl', WIDE_VOLUME_SIZE);
      await harness.store.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [1], volumeSize: WIDE_VOLUME_SIZE }), fence);
      const next = committedEntry({ seq: 1, blocks: blockPerSegment(40, 3), volumeSize: WIDE_VOLUME_SIZE });

      // Act
      await harness.store.writeDirtyRegionLog(volumeId, { ...dirtyRegionLogOf(next, 'sync-1'), secondarySnapshotId: undefined }, fence);

      // Assess
      const log = await harness.store.readDirtyRegionLog(volumeId);
      expect(log?.runId).toBe('sync-1');
      expect(log?.deltaMap.toArray()).toEqual(blockPerSegment(40, 3));
      const chain = await collect(harness.store.readChain(volumeId, { includePending: true }));
      expect(chain.map((entry) => [entry.seq, entry.status, entry.secondarySnapshotId])).toEqual([
        [0, 'committed', 'snap-s0'], [1, 'pending', SECONDARY_NOT_STARTED],
      ]);
      expect((await collect(harness.store.readChain(volumeId))).map((entry) => entry.seq)).toEqual([0]);
      expect((await harness.store.getVolume(volumeId)).inFlight?.seq).toBe(1);
    });

    it('records the secondary snapshot of the same run without rewriting shards', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('drl-again');
      const baseline = committedEntry({ seq: 0, blocks: [3, 4] });
      await harness.store.writeDirtyRegionLog(volumeId, { ...dirtyRegionLogOf(baseline, 'sync-0'), secondarySnapshotId: undefined }, fence);
      const { store, calls } = harness.instrumentedStore();

      // Act
      await store.writeDirtyRegionLog(volumeId, dirtyRegionLogOf(baseline, 'sync-0'), fence);

      // Assess
      expect(calls).not.toContain('BatchWriteItemCommand');
      expect((await harness.store.readDirtyRegionLog(volumeId))?.secondarySnapshotId).toBe('snap-s0');
    });

    it('writes nothing when the same DRL is written again', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('drl-same');
      const log = { ...dirtyRegionLogOf(committedEntry({ seq: 0, blocks: [3, 4] }), 'sync-0'), secondarySnapshotId: undefined };
      await harness.store.writeDirtyRegionLog(volumeId, log, fence);
      const { store, writes } = harness.instrumentedStore();

      // Act
      await store.writeDirtyRegionLog(volumeId, log, fence);

      // Assess
      expect(writes()).toBe(0);
      expect((await harness.store.readDirtyRegionLog(volumeId))?.deltaMap.toArray()).toEqual([3, 4]);
    });

    it('replaces the blocks of the same run', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('drl-replace');
      const baseline = committedEntry({ seq: 0, blocks: [3, 4] });
      await harness.store.writeDirtyRegionLog(volumeId, dirtyRegionLogOf(baseline, 'sync-0'), fence);

      // Act
      await harness.store.writeDirtyRegionLog(volumeId, {
        ...dirtyRegionLogOf(baseline, 'sync-0'), deltaMap: DeltaMap.of(volumeBlocks(8), [3, 4, 5]),
      }, fence);

      // Assess
      expect((await harness.store.readDirtyRegionLog(volumeId))?.deltaMap.toArray()).toEqual([3, 4, 5]);
    });

    it('refuses a second run while another run\'s DRL is live', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('drl-busy');
      const baseline = committedEntry({ seq: 0, blocks: [3] });
      await harness.store.writeDirtyRegionLog(volumeId, dirtyRegionLogOf(baseline, 'sync-a'), fence);

      // Act
      const writing = harness.store.writeDirtyRegionLog(volumeId, dirtyRegionLogOf(baseline, 'sync-b'), fence);

      // Assess
      await expect(writing).rejects.toBeInstanceOf(ChainInvariantError);
      await expect(writing).rejects.toThrow('run sync-a left entry 0 in flight; recover it');
      expect((await harness.store.readDirtyRegionLog(volumeId))?.runId).toBe('sync-a');
    });

    it('refuses a DRL for any seq but the next one', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('drl-seq');

      // Act
      const writing = harness.store.writeDirtyRegionLog(volumeId, dirtyRegionLogOf(committedEntry({ seq: 3, blocks: [1] }), 'sync-3'), fence);

      // Assess
      await expect(writing).rejects.toThrow('the next restore point is 0, not 3');
    });

    it('needs the current fencing token', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('drl-fence');

      // Act
      const writing = harness.store.writeDirtyRegionLog(
        volumeId, dirtyRegionLogOf(committedEntry({ seq: 0, blocks: [1] }), 'sync-0'), { fencingToken: fence.fencingToken + 1 });

      // Assess
      await expect(writing).rejects.toBeInstanceOf(LeaseLostError);
      expect(await harness.store.readDirtyRegionLog(volumeId)).toBeUndefined();
    });
  });

  describe('commitEntry after a DRL', () => {
    it('clears the DRL and deletes its shards', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('drl-commit');
      const baseline = committedEntry({ seq: 0, blocks: [1, 70_000] , volumeSize: 64 });
      await harness.store.writeDirtyRegionLog(volumeId, dirtyRegionLogOf(baseline, 'sync-0'), fence);

      // Act
      await harness.store.commitEntry(volumeId, baseline, fence);

      // Assess
      expect(await harness.store.readDirtyRegionLog(volumeId)).toBeUndefined();
      const sortKeys = (await harness.rawItems(volumeId)).map((item) => item.sk);
      expect(sortKeys).toEqual(['ENTRY#0000000000', 'MAP#0000000000#0000', 'MAP#0000000000#0001', 'META']);
    });
  });

  describe('clearDirtyRegionLog', () => {
    it('forgets the entry in flight and is idempotent', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('drl-clear');
      await harness.store.writeDirtyRegionLog(volumeId, dirtyRegionLogOf(committedEntry({ seq: 0, blocks: [1] }), 'sync-0'), fence);

      // Act
      await harness.store.clearDirtyRegionLog(volumeId, fence);
      await harness.store.clearDirtyRegionLog(volumeId, fence);

      // Assess
      expect(await harness.store.readDirtyRegionLog(volumeId)).toBeUndefined();
      expect((await harness.rawItems(volumeId)).map((item) => item.sk)).toEqual(['META']);
    });
  });

  describe('recordBadVersions', () => {
    const bad = (writer: number, blocks: number[]): Map<number, DeltaMap> => new Map([[writer, DeltaMap.of(volumeBlocks(8), blocks)]]);

    it('derives each point\'s trust from the bad versions: every image holding one, until an entry rewrites the block', async () => {
      // Prepare: 0 writes {0,1,2}, 1 writes {1}, 2 writes {3}, 3 writes {0}
      const { volumeId, fence } = await leasedVolume('bad-derived');
      const writes = [[0, 1, 2], [1], [3], [0]];
      for (const [seq, blocks] of writes.entries()) await harness.store.commitEntry(volumeId, committedEntry({ seq, blocks }), fence);

      // Act: the baseline's copies of 0 and 2 are bad, then entry 1's copy of 1
      await harness.store.recordBadVersions(volumeId, bad(0, [0, 2]), fence);
      await harness.store.recordBadVersions(volumeId, bad(1, [1]), fence);

      // Assess: 0 holds {0,2}; 1 holds {0,1,2}; 2 holds {0,1,2}; 3 rewrote 0: {1,2}
      const chain = await collect(harness.store.readChain(volumeId));
      expect(chain.map((entry) => [entry.seq, entry.trust, entry.suspectBlocks])).toEqual([
        [0, 'suspect', 2], [1, 'suspect', 3], [2, 'suspect', 3], [3, 'suspect', 2],
      ]);
      expect((await harness.store.getEntry(volumeId, 3)).suspectBlocks).toBe(2);
      expect([...(await harness.store.readBadVersions(volumeId))].map(([writer, blocks]) => [writer, blocks.toArray()])).toEqual([[0, [0, 2]], [1, [1]]]);
    });

    it('unites what checks record: the same version twice counts once, a new one adds', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('bad-union');
      for (let seq = 0; seq < 3; seq++) await harness.store.commitEntry(volumeId, committedEntry({ seq, blocks: seq === 0 ? [0, 1] : [5 + seq] }), fence);

      // Act
      await harness.store.recordBadVersions(volumeId, bad(0, [0]), fence);
      await harness.store.recordBadVersions(volumeId, bad(0, [0]), fence);
      await harness.store.recordBadVersions(volumeId, bad(0, [1]), fence);

      // Assess
      const chain = await collect(harness.store.readChain(volumeId));
      expect(chain.map((entry) => entry.suspectBlocks)).toEqual([2, 2, 2]);
    });

    it('refuses an uncommitted writer and a stale token, and records nothing', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('bad-refused');
      await harness.store.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [0] }), fence);

      // Act
      const future = harness.store.recordBadVersions(volumeId, bad(1, [0]), fence);
      const stale = harness.store.recordBadVersions(volumeId, bad(0, [0]), { fencingToken: fence.fencingToken + 1 });

      // Assess
      await expect(future).rejects.toBeInstanceOf(RestorePointNotFoundError);
      await expect(stale).rejects.toBeInstanceOf(LeaseLostError);
      expect((await harness.store.getEntry(volumeId, 0)).trust).toBe('trusted');
      expect((await harness.store.readBadVersions(volumeId)).size).toBe(0);
    });

    it('accepts versions in a map sized to a grown P0, and refuses a block beyond the chain\'s volume', async () => {
      // Prepare: an 8 GiB chain; the verify's compare map is sized to a 16 GiB P0
      const { volumeId, fence } = await leasedVolume('bad-grown');
      await harness.store.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [0, 1] }), fence);
      const grown = (blocks: number[]): Map<number, DeltaMap> => new Map([[0, DeltaMap.of(volumeBlocks(16), blocks)]]);

      // Act
      await harness.store.recordBadVersions(volumeId, grown([1]), fence);
      const beyond = harness.store.recordBadVersions(volumeId, grown([volumeBlocks(8)]), fence);

      // Assess
      await expect(beyond).rejects.toBeInstanceOf(ChainStoreInputError);
      expect((await harness.store.getEntry(volumeId, 0)).suspectBlocks).toBe(1);
    });

    it('a prune hands the pruned writer\'s versions its successor did not rewrite to the successor', async () => {
      // Prepare: 0 writes {0,1}, 1 writes {1}, 2 writes {4}; the baseline's 0 and 1 are bad
      const { volumeId, fence } = await leasedVolume('bad-prune');
      const writes = [[0, 1], [1], [4]];
      for (const [seq, blocks] of writes.entries()) await harness.store.commitEntry(volumeId, committedEntry({ seq, blocks }), fence);
      await harness.store.recordBadVersions(volumeId, bad(0, [0, 1]), fence);

      // Act
      await harness.store.pruneEntry(volumeId, 0, fence);

      // Assess: 1 still holds the baseline's copy of 0 (now its own), not that of 1 (it rewrote it)
      const chain = await collect(harness.store.readChain(volumeId));
      expect(chain.map((entry) => [entry.seq, entry.suspectBlocks])).toEqual([[1, 1], [2, 1]]);
      expect([...(await harness.store.readBadVersions(volumeId))].map(([writer, blocks]) => [writer, blocks.toArray()])).toEqual([[1, [0]]]);
    });
  });

  describe('putVerifyRun', () => {
    it('stores a verify run that getVerifyRun returns', async () => {
      // Prepare
      const { volumeId } = await leasedVolume('run');
      const run: VerifyRun = {
        runId: 'verify-1', t0: '2026-01-01T00:00:00.000Z', p0: 'snap-p0', headSeqAtT0: 4, quick: false,
        status: 'scanning', counts: { segments: 2, mismatches: 0 },
      };

      // Act
      await harness.store.putVerifyRun(volumeId, run);
      await harness.store.putVerifyRun(volumeId, { ...run, status: 'clean', result: { clean: true } });

      // Assess
      expect(await harness.store.getVerifyRun(volumeId, 'verify-1')).toEqual({ ...run, status: 'clean', result: { clean: true } });
    });
  });

  describe('getVerifyRun', () => {
    it('fails with VerifyRunNotFoundError for an unknown run', async () => {
      // Prepare
      const { volumeId } = await leasedVolume('run-missing');

      // Act
      const reading = harness.store.getVerifyRun(volumeId, 'verify-9');

      // Assess
      await expect(reading).rejects.toBeInstanceOf(VerifyRunNotFoundError);
      await expect(reading).rejects.toThrow(`ebs-cdp verify ${volumeId}`);
    });
  });

  describe('readCompareMap', () => {
    it('joins the compare segments of one run, listing the scanned ones', async () => {
      // Prepare
      const { volumeId } = await leasedVolume('compare', 128);
      const blocks = volumeBlocks(128);
      const scanOf = (indexes: number[]): DeltaMap => DeltaMap.of(blocks, indexes);
      await harness.store.putCompareSegment(volumeId, 'verify-1', 2, scanOf([2 * 65_536 + 5, 9]));
      await harness.store.putCompareSegment(volumeId, 'verify-1', 0, scanOf([9, 10]));
      await harness.store.putCompareSegment(volumeId, 'verify-1', 1, scanOf([]));
      await harness.store.putCompareSegment(volumeId, 'verify-10', 3, scanOf([3 * 65_536]));

      // Act
      const state = await harness.store.readCompareMap(volumeId, 'verify-1', blocks);

      // Assess
      expect(state.scannedSegments).toEqual([0, 1, 2]);
      expect(state.deltaMap.toArray()).toEqual([9, 10, 2 * 65_536 + 5]);
    });
  });

  describe('putCompareSegment', () => {
    it('refuses a segment outside the volume', async () => {
      // Prepare
      const { volumeId } = await leasedVolume('compare-range');

      // Act
      const writing = harness.store.putCompareSegment(volumeId, 'verify-1', 1, DeltaMap.empty(volumeBlocks(8)));

      // Assess
      await expect(writing).rejects.toBeInstanceOf(ChainStoreInputError);
    });
  });

  describe('constructor', () => {
    it('keeps writing correct items when another DocumentClient wraps the same SDK client', async () => {
      // Prepare: DocumentClient.from() puts its options on the shared client's config.
      const client = harness.client();
      const store = new DynamoDbChainStore({ client, tableName: TABLE_NAME });
      DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: false } });
      const volumeId = uniqueVolumeId('shared-client');
      await store.protectVolume(volumeId, { volumeSize: 8, config: {} });
      const fence = await store.acquireLease(volumeId, { holder: 'exec', runId: 'run-shared', ttlMs: TTL_MS });
      const baseline = committedEntry({ seq: 0, blocks: [1] });

      // Act
      await store.writeDirtyRegionLog(volumeId, { ...dirtyRegionLogOf(baseline, 'sync-0'), secondarySnapshotId: undefined }, fence);

      // Assess
      const log = await store.readDirtyRegionLog(volumeId);
      expect(log?.deltaMap.toArray()).toEqual([1]);
      expect(log?.secondarySnapshotId).toBeUndefined();
    });
  });

  describe('batch writes', () => {
    it('retries UnprocessedItems until every shard is written', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('unprocessed', WIDE_VOLUME_SIZE);
      const client = harness.client();
      const sent = throttleBatchWrites(client, (attempt) => attempt % 2 === 1);
      const store = new DynamoDbChainStore({ client, tableName: TABLE_NAME, timer: instantTimer });
      const baseline = committedEntry({ seq: 0, blocks: blockPerSegment(64), volumeSize: WIDE_VOLUME_SIZE });

      // Act
      await store.commitEntry(volumeId, baseline, fence);

      // Assess
      expect(sent.calls).toBeGreaterThan(Math.ceil(64 / 25));
      const [read] = await collect(harness.store.readChain(volumeId));
      expect(read.deltaMap.equals(baseline.deltaMap)).toBe(true);
    });

    it('gives up with BatchRetryExhaustedError and commits nothing when items stay unprocessed', async () => {
      // Prepare
      const { volumeId, fence } = await leasedVolume('throttled');
      const client = harness.client();
      const sent = throttleBatchWrites(client, () => true);
      const sleeps: number[] = [];
      const store = new DynamoDbChainStore({
        client, tableName: TABLE_NAME, timer: { now: () => Date.now(), sleep: (ms) => { sleeps.push(ms); return Promise.resolve(); } },
      });

      // Act
      const committing = store.commitEntry(volumeId, committedEntry({ seq: 0, blocks: [1, 2] }), fence);

      // Assess
      await expect(committing).rejects.toBeInstanceOf(BatchRetryExhaustedError);
      await expect(committing).rejects.toThrow('retry the step later');
      expect(sent.calls).toBe(8);
      expect(sleeps).toHaveLength(7);
      sleeps.forEach((ms, retry) => {
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(ms).toBeLessThanOrEqual(20 * 2 ** (retry + 1));
      });
      expect((await harness.store.getVolume(volumeId)).headSeq).toBeUndefined();
    });
  });

  /** Copies ENTRY#source and its shards to seqs source+1 … last, and points META's head at last. */
  async function seedCopiesOfEntry(volumeId: string, source: number, last: number): Promise<void> {
    const items = await harness.rawItems(volumeId);
    const pad = (seq: number): string => String(seq).padStart(10, '0');
    const entry = items.find((item) => item.sk === `ENTRY#${pad(source)}`);
    const shards = items.filter((item) => String(item.sk).startsWith(`MAP#${pad(source)}#`));
    const copies: Array<Record<string, unknown>> = [];
    for (let seq = source + 1; seq <= last; seq++) {
      copies.push({ ...entry, sk: `ENTRY#${pad(seq)}`, seq });
      for (const shard of shards) copies.push({ ...shard, sk: String(shard.sk).replace(`MAP#${pad(source)}#`, `MAP#${pad(seq)}#`) });
    }
    const doc = DynamoDBDocumentClient.from(harness.client());
    const batchSize = 25;
    for (let start = 0; start < copies.length; start += batchSize) {
      await doc.send(new BatchWriteCommand({
        RequestItems: { [TABLE_NAME]: copies.slice(start, start + batchSize).map((Item) => ({ PutRequest: { Item } })) },
      }));
    }
    await rewindHead(volumeId, last);
  }

  /** Sets META's head seq directly, as a crash between an entry's write and META's would leave it. */
  async function rewindHead(volumeId: string, headSeq: number): Promise<void> {
    await DynamoDBDocumentClient.from(harness.client()).send(new UpdateCommand({
      TableName: TABLE_NAME,
      Key: { pk: `VOL#${volumeId}`, sk: 'META' },
      UpdateExpression: 'SET headSeq = :head',
      ExpressionAttributeValues: { ':head': headSeq },
    }));
  }
});

/**
 * Makes dynalite look throttled: on the attempts `throttle` picks, the last item of a
 * BatchWriteItem is held back and returned as unprocessed, as DynamoDB does under load.
 */
function throttleBatchWrites(
  client: ReturnType<Harness['client']>,
  throttle: (attempt: number) => boolean,
): { calls: number } {
  const sent = { calls: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'BatchWriteItemCommand') return next(args);
      sent.calls += 1;
      if (!throttle(sent.calls)) return next(args);
      const input = args.input as BatchWriteItemCommandInput;
      const [table, requests] = Object.entries(input.RequestItems ?? {})[0];
      const held = requests.slice(-1);
      const kept = requests.slice(0, -1);
      const output = kept.length === 0
        ? { output: { $metadata: {} } as BatchWriteItemCommandOutput, response: {} }
        : await next({ ...args, input: { ...input, RequestItems: { [table]: kept } } });
      (output.output as BatchWriteItemCommandOutput).UnprocessedItems = { [table]: held };
      return output;
    },
    { step: 'initialize', name: 'throttleBatchWrites' },
  );
  return sent;
}

/** `ebs-cdp volume create|write|list|digest`: local volumes to play with (the local cloud only). */
import { Command } from 'commander';
import { CreateVolumeCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { volumeBlocks } from '../../shared/core/constants';
import { LOCAL_CREDENTIALS } from '../../local/config';
import { blocksWithin, checkRandomCount, parseBlockRanges, parsePositive, parseSizeGiB, parseVolumeId, type BlockRange } from '../arguments';
import { NotFoundError, UsageError } from '../errors';
import { requireLocalCloud, type LocalEndpoints } from '../local-cloud';
import { formatBlocks, formatTable } from '../output';
import { localDataDir } from '../target';
import { seededRandom } from '../../local/block-content';
import { HttpWorkload, randomBlocks, WorkloadRequestError } from '../workload';
import { globalOptions, outputOf } from './common';

/** A new local volume is gp3 unless asked otherwise: what most people create today. */
const DEFAULT_VOLUME_TYPE = 'gp3';
/** A few GiB: big enough to see that only changes are copied, small enough for a laptop. */
const DEFAULT_SIZE_GIB = 4;

function ec2Client(endpoints: LocalEndpoints): EC2Client {
  return new EC2Client({ region: endpoints.region, endpoint: endpoints.emulator, credentials: LOCAL_CREDENTIALS });
}

async function localEndpoints(command: Command): Promise<LocalEndpoints> {
  return requireLocalCloud(localDataDir(globalOptions(command)));
}

interface VolumeRow {
  volumeId: string;
  size: number;
  state: string;
  availabilityZone: string;
  volumeType: string;
  snapshotId?: string;
  createTime?: string;
}

/** The `volume` command group. */
export function volumeCommand(): Command {
  const volume = new Command('volume').description('make and write volumes on the local cloud (a stand-in for your application)');

  volume
    .command('create')
    .description('create an empty volume on the local cloud')
    .option('--size <GiB>', 'size in GiB', parseSizeGiB, DEFAULT_SIZE_GIB)
    .option('--type <type>', 'volume type', DEFAULT_VOLUME_TYPE)
    .action(async (options: { size: number; type: string }, command: Command) => {
      const endpoints = await localEndpoints(command);
      const ec2 = ec2Client(endpoints);
      try {
        const created = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: endpoints.zone, Size: options.size, VolumeType: options.type as never }));
        const row = { volumeId: created.VolumeId ?? '', size: created.Size ?? options.size, availabilityZone: endpoints.zone, volumeType: options.type };
        outputOf(command).result(row, (r) => `${r.volumeId}  ${r.size} GiB ${r.volumeType} in ${r.availabilityZone}\nnext: ebs-cdp volume write ${r.volumeId}, then ebs-cdp protect ${r.volumeId} --local`);
      } finally {
        ec2.destroy();
      }
    });

  volume
    .command('write')
    .description('write fresh content to blocks of a local volume, as an application would')
    .argument('<volume>', 'volume id', parseVolumeId)
    .option('--blocks <list>', 'block indexes, e.g. 0-99,200,300-310 (ranges low to high, within the volume)', parseBlockRanges)
    .option('--random <count>', 'that many distinct random blocks anywhere on the volume (at most its block count)', parsePositive)
    .option('--seed <n>', 'seed of --random (same seed, same blocks)', parsePositive, 1)
    .action(async (volumeId: string, options: { blocks?: BlockRange[]; random?: number; seed: number }, command: Command) => {
      const endpoints = await localEndpoints(command);
      if (options.blocks === undefined && options.random === undefined) throw new UsageError('nothing to write', 'pass --blocks 0-99 and/or --random 50');
      const ec2 = ec2Client(endpoints);
      let size: number;
      try {
        size = await volumeSize(ec2, volumeId);
      } finally {
        ec2.destroy();
      }
      const total = volumeBlocks(size);
      // Both checked before anything is written: a refused write changes nothing.
      const listed = options.blocks === undefined ? [] : blocksWithin(options.blocks, total, volumeId);
      const random = options.random === undefined ? [] : randomBlocks(seededRandom(options.seed), checkRandomCount(options.random, total, volumeId), 0, total);
      const blocks = [...new Set([...listed, ...random])].sort((a, b) => a - b);
      try {
        const { written } = await new HttpWorkload(endpoints.workload).write(volumeId, blocks);
        outputOf(command).result({ volumeId, written, blocks }, (r) => `${r.volumeId}: wrote ${r.written} blocks (${formatBlocks(r.written)})`);
      } catch (error) {
        if (error instanceof WorkloadRequestError && error.code?.endsWith('NotFound') === true) throw notFound(volumeId);
        throw error;
      }
    });

  volume
    .command('list')
    .description('list the volumes of the local cloud')
    .action(async (_options: unknown, command: Command) => {
      const endpoints = await localEndpoints(command);
      const ec2 = ec2Client(endpoints);
      try {
        const answer = await ec2.send(new DescribeVolumesCommand({}));
        const rows: VolumeRow[] = (answer.Volumes ?? []).map((v) => ({
          volumeId: v.VolumeId ?? '',
          size: v.Size ?? 0,
          state: v.State ?? '',
          availabilityZone: v.AvailabilityZone ?? '',
          volumeType: v.VolumeType ?? '',
          snapshotId: v.SnapshotId === '' ? undefined : v.SnapshotId,
          createTime: v.CreateTime?.toISOString(),
        }));
        outputOf(command).result(rows, (r) =>
          r.length === 0
            ? 'no volumes yet: ebs-cdp volume create'
            : formatTable(
                [
                  { header: 'volume', value: (row: VolumeRow) => row.volumeId },
                  { header: 'GiB', value: (row: VolumeRow) => row.size, align: 'right' },
                  { header: 'type', value: (row: VolumeRow) => row.volumeType },
                  { header: 'state', value: (row: VolumeRow) => row.state },
                  { header: 'zone', value: (row: VolumeRow) => row.availabilityZone },
                  { header: 'from snapshot', value: (row: VolumeRow) => row.snapshotId },
                  { header: 'created', value: (row: VolumeRow) => row.createTime },
                ],
                r,
              ),
        );
      } finally {
        ec2.destroy();
      }
    });

  volume
    .command('digest')
    .description('SHA-256 of every non-zero block of a local volume (compare a restored volume with its source)')
    .argument('<volume>', 'volume id', parseVolumeId)
    .action(async (volumeId: string, _options: unknown, command: Command) => {
      const endpoints = await localEndpoints(command);
      let digests: Map<number, string>;
      try {
        digests = await new HttpWorkload(endpoints.workload).digests(volumeId);
      } catch (error) {
        if (error instanceof WorkloadRequestError && error.code?.endsWith('NotFound') === true) throw notFound(volumeId);
        throw error;
      }
      const blocks = Object.fromEntries(digests);
      outputOf(command).result({ volumeId, dataBlocks: digests.size, blocks }, (r) => `${r.volumeId}: ${r.dataBlocks} blocks hold data\n${Object.entries(r.blocks).map(([i, d]) => `${i} ${d}`).join('\n')}`);
    });

  return volume;
}

function notFound(volumeId: string): NotFoundError {
  return new NotFoundError(`volume ${volumeId} does not exist on the local cloud`, 'list the volumes with: ebs-cdp volume list', { volumeId });
}

/** GiB of a volume. @throws NotFoundError for an unknown id. */
async function volumeSize(ec2: EC2Client, volumeId: string): Promise<number> {
  try {
    const answer = await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
    const size = answer.Volumes?.[0]?.Size;
    if (size === undefined) throw notFound(volumeId);
    return size;
  } catch (error) {
    if (error instanceof Error && error.name === 'InvalidVolume.NotFound') throw notFound(volumeId);
    throw error;
  }
}

/** `ebs-cdp protect` / `unprotect`: register a volume with ebs-cdp (or say how to stop protecting it). */
import { Command } from 'commander';
import type { JsonValue } from '../../shared/core/ports/chain-store';
import { InvalidVolumeError } from '../../shared/aws/errors';
import { parseRetention, parseSchedule, parseVolumeId, type RetentionPolicy } from '../arguments';
import { CliError, EXIT_CODES, NotFoundError } from '../errors';
import { requireProtected, withTarget } from './common';

/** Syncs every 5 minutes unless told otherwise: the RPO most people ask for first. */
const DEFAULT_SCHEDULE = 'rate(5 minutes)';
/** A full verify once a week: reading both sides of every block costs (EBS-FACTS.md, prices). */
const DEFAULT_VERIFY_SCHEDULE = 'rate(7 days)';

interface ProtectOptions {
  schedule: string;
  verifySchedule: string;
  retention?: RetentionPolicy;
  secondaryRegion?: string;
  kmsKey?: string;
}

/** The protection config as the chain store keeps it (only what was set). */
export function protectionConfig(options: ProtectOptions): Record<string, JsonValue> {
  const config: Record<string, JsonValue> = { schedule: options.schedule, verifySchedule: options.verifySchedule };
  if (options.retention !== undefined) config.retention = { ...options.retention } as Record<string, JsonValue>;
  if (options.secondaryRegion !== undefined) config.secondaryRegion = options.secondaryRegion;
  if (options.kmsKey !== undefined) config.secondaryKmsKeyId = options.kmsKey;
  return config;
}

/** The `protect` and `unprotect` commands. */
export function protectCommands(): Command[] {
  const protect = new Command('protect')
    .description('protect a volume: ebs-cdp keeps a secondary lineage of restore points for it')
    .argument('<volume>', 'the primary volume id', parseVolumeId)
    .option('--schedule <rate>', 'how often to sync (rate(5 minutes), cron(…), or 5m / 1h)', parseSchedule, DEFAULT_SCHEDULE)
    .option('--verify-schedule <rate>', 'how often to verify', parseSchedule, DEFAULT_VERIFY_SCHEDULE)
    .option('--retention <policy>', 'which restore points to keep: last=10, within=7d, or both', parseRetention)
    .option('--secondary-region <region>', 'Region of the secondary lineage (default: the primary\'s)')
    .option('--kms-key <key>', 'KMS key id or ARN to encrypt the secondary lineage with')
    .action(async (volumeId: string, options: ProtectOptions, command: Command) =>
      withTarget(command, async (target, output) => {
        let volumeSize: number;
        try {
          volumeSize = (await target.context.primary.volumes.describeVolume(volumeId)).size;
        } catch (error) {
          if (error instanceof InvalidVolumeError) {
            throw new NotFoundError(`volume ${volumeId} does not exist`, target.kind === 'local' ? 'list the volumes with: ebs-cdp volume list' : 'check the id and --region', { volumeId, cause: error });
          }
          throw error;
        }
        const protectedVolume = await target.context.store.protectVolume(volumeId, { volumeSize, config: protectionConfig(options) });
        const where = target.kind === 'local' ? ' --local' : '';
        output.result(
          { volumeId, volumeSize, config: protectedVolume.config, headSeq: protectedVolume.headSeq ?? null },
          (r) => `${r.volumeId} (${r.volumeSize} GiB) is protected: ${JSON.stringify(r.config)}\nnext: ebs-cdp sync ${r.volumeId}${where} takes the baseline`,
        );
      }),
    );

  const unprotect = new Command('unprotect')
    .description('stop protecting a volume (its restore points stay until you delete them)')
    .argument('<volume>', 'the primary volume id', parseVolumeId)
    .action(async (volumeId: string, _options: unknown, command: Command) =>
      withTarget(command, async (target) => {
        await requireProtected(target, volumeId);
        // The chain store has no operation to forget a volume yet: refuse rather than half-delete a chain.
        throw new CliError(`unprotect is not available yet: the chain store cannot forget ${volumeId} safely`, {
          exitCode: EXIT_CODES.checkFailed,
          volumeId,
          hint: 'on AWS, disable the volume\'s schedules in EventBridge Scheduler; its restore points stay usable',
        });
      }),
    );
  return [protect, unprotect];
}

/** `ebs-cdp unlock <volume>`: break a dead job's lease (see `../unlock.ts`). */
import { Command } from 'commander';
import { parseVolumeId } from '../arguments';
import { renderUnlock, unlockVolume } from '../unlock';
import { requireProtected, withTarget } from './common';

/** The `unlock` command. */
export function unlockCommand(): Command {
  return new Command('unlock')
    .description("break the lease of a job whose execution is no longer running (refuses while it runs)")
    .argument('<volume>', 'volume id', parseVolumeId)
    .action(async (volumeId: string, _options: unknown, command: Command) => {
      await withTarget(command, async (target, output) => {
        await requireProtected(target, volumeId);
        const where = target.kind === 'local' ? ' --local' : '';
        const outcome = await unlockVolume(target.context.store, target, volumeId, { now: Date.now(), where });
        output.result(outcome, renderUnlock);
      });
    });
}

/**
 * What every command shares: the global options, the printer, and a target opened for the
 * command's duration and closed after it (so the process can exit without dangling sockets).
 */
import type { Command } from 'commander';
import { VolumeNotProtectedError } from '../../shared/core/ports/errors';
import type { ProtectedVolume } from '../../shared/core/ports/chain-store';
import { NotFoundError } from '../errors';
import { Output } from '../output';
import { openTarget, type GlobalOptions, type Target } from '../target';

/** The global options as seen from any (sub)command. */
export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** The printer of a command: JSON with `--json`. */
export function outputOf(command: Command): Output {
  return new Output(globalOptions(command).json === true);
}

/** Runs `body` with the command's target, closing it afterwards. */
export async function withTarget<T>(command: Command, body: (target: Target, output: Output) => Promise<T>): Promise<T> {
  const target = await openTarget(globalOptions(command));
  try {
    return await body(target, outputOf(command));
  } finally {
    target.close();
  }
}

/** The volume's protection record. @throws NotFoundError (exit 3) saying how to protect it. */
export async function requireProtected(target: Target, volumeId: string): Promise<ProtectedVolume> {
  try {
    return await target.context.store.getVolume(volumeId);
  } catch (error) {
    if (error instanceof VolumeNotProtectedError) {
      const where = target.kind === 'local' ? ' --local' : '';
      throw new NotFoundError(
        `volume ${volumeId} is not protected by ebs-cdp`,
        `check the id (ebs-cdp volume list${where}), then protect it: ebs-cdp protect ${volumeId}${where}`,
        { volumeId, cause: error },
      );
    }
    throw error;
  }
}

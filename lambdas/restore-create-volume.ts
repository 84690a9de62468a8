/** `RestoreCreateVolume`: creates the restored volume (or, given its id, reports whether it is available). */
import { restoreCreateVolumeInputSchema } from '../shared/engine/restore/schemas';
import { restoreCreateVolume } from '../shared/engine/restore';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('RestoreCreateVolume', restoreCreateVolumeInputSchema, restoreCreateVolume);
export const handler = lambdaHandler(task);

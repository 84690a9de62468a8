/** `RestoreBegin`: validates the request, selects the restore point, takes `P_now`. */
import { restoreBeginInputSchema } from '../shared/engine/restore/schemas';
import { restoreBegin } from '../shared/engine/restore';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('RestoreBegin', restoreBeginInputSchema, restoreBegin);
export const handler = lambdaHandler(task);

/** `SyncBegin`: takes the volume lease (or answers `busy`), recovers a crashed run's entry in flight, takes `P_now`. */
import { syncBeginInputSchema } from '../shared/engine/sync/schemas';
import { syncBeginTask } from '../shared/engine/sync';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('SyncBegin', syncBeginInputSchema, syncBeginTask);
export const handler = lambdaHandler(task);

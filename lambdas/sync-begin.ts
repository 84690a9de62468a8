/** `SyncBegin`: takes the volume lease, recovers a crashed run's entry in flight, takes `P_now`. */
import { syncBeginInputSchema } from '../shared/engine/schemas';
import { syncBegin } from '../shared/engine/sync';
import { engineTask, lambdaHandler } from './engine-task';

export const task = engineTask('SyncBegin', syncBeginInputSchema, syncBegin);
export const handler = lambdaHandler(task);

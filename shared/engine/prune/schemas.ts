/** Zod schema of the Prune task's input (validated by the Lambda, its type inferred for the step). */
import { z } from 'zod';
import { runKeys, seqSchema } from '../tasks/schemas';

export const pruneInputSchema = z.object({
  ...runKeys,
  holder: z.string().min(1).optional(),
  /** Prune exactly these restore points instead of applying the volume's retention policy. */
  seqs: z.array(seqSchema).optional(),
});
export type PruneInput = z.infer<typeof pruneInputSchema>;

/**
 * Binds the middleware bundle to the engine: a task's `run` gets the `EngineContext`, built once
 * per cold start from the Lambda's environment (`engineConfigFromEnv`), with the handler's
 * Powertools logger so the engine's lines carry the same `volumeId` / `runId` keys.
 */
import type { z } from 'zod';
import { type EngineContext } from '../shared/engine/context';
import { createEngineContext, engineConfigFromEnv } from '../shared/wiring/engine-context';
import { createTaskHandler, onceProvider, taskLogger, type TaskDefinition, type TaskHandler } from './middleware';
import type { TaskName } from './task-names';

/** A task over the engine, as the handlers, the registry and the local runner see it. */
export type EngineTask<TSchema extends z.ZodType = z.ZodType, TResult = unknown> = TaskDefinition<TSchema, TResult, EngineContext> & {
  readonly taskName: TaskName;
};

/**
 * Declares a task: its name, the schema its input is validated with, and the engine step it
 * calls (`step(context, input)`, the engine's argument order).
 */
export function engineTask<TSchema extends z.ZodType, TResult>(
  taskName: TaskName,
  schema: TSchema,
  step: (context: EngineContext, input: z.output<TSchema>) => Promise<TResult>,
): EngineTask<TSchema, TResult> {
  return { taskName, schema, run: (input, context) => step(context, input) };
}

/** The engine context of this Lambda process: built at the first invocation, then reused. */
const contextFromEnvironment = onceProvider(async () =>
  createEngineContext({ ...engineConfigFromEnv(process.env), logger: taskLogger() }),
);

/** The Lambda entry point of a task: the middleware bundle around it, with the environment's context. */
export function lambdaHandler<TSchema extends z.ZodType, TResult>(task: EngineTask<TSchema, TResult>): TaskHandler<TResult> {
  return createTaskHandler(task, { context: contextFromEnvironment });
}

/**
 * The engine stack under its first name. The local runner (`local/runner.ts`) and older tests
 * synthesize `EngineStack` with stub code for the definitions; it is the deployable
 * {@link EbsCdpStack}, which with no protection config holds exactly the table, the task
 * functions, the four job machines and the alarms.
 */
export { EbsCdpStack as EngineStack, TASK_METADATA_KEY, type EbsCdpStackProps as EngineStackProps, type TaskCode } from './ebs-cdp-stack';

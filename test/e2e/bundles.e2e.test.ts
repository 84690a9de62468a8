/**
 * What ships is what runs, for error names: the state machines' Retry and Catch and the CLI's
 * exit-code table match on the names of our errors, and the Lambda bundles `cdk deploy` uploads
 * are minified. This synthesizes the real app with bundling on, then checks the bundles
 * themselves: every name a task's Retry or Catch matches on is in that task's bundle as a
 * literal, class names are minified away (so a name taken from the class would be lost), and the
 * bundles, run as Lambda's runtime runs them, throw errors under their real names, a port error
 * from the local cloud included.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { InvalidTaskInputError } from '../../lambdas/errors';
import { TASK_NAMES, type TaskName } from '../../lambdas/task-names';
import { startLocalCloudCore, type LocalCloudCore } from '../../local/cloud';
import { LOCAL_REGION, LOCAL_ZONE } from '../../local/config';
import { synthesizeAssembly, type SynthesizedAssembly } from '../../local/stepfunctions/assembly';
import { invokeBundle } from '../../local/stepfunctions/bundle-invoker';
import { definitionsFromTemplate } from '../../local/stepfunctions/runner';
import { VolumeNotProtectedError } from '../../shared/core/ports/errors';

/** Names Step Functions and Lambda raise themselves: not in any bundle. */
const SERVICE_ERROR = /^(States|Lambda)\./;

/** Every Task state's error names (Retry and Catch), by the task it calls. */
function matchedNamesByTask(assembly: SynthesizedAssembly): Map<TaskName, Set<string>> {
  const byTask = new Map<TaskName, Set<string>>();
  for (const definition of Object.values(definitionsFromTemplate(assembly.template as never))) {
    const visit = (states: Record<string, Record<string, unknown>>): void => {
      for (const [stateName, state] of Object.entries(states)) {
        const processor = state.ItemProcessor as { States: Record<string, Record<string, unknown>> } | undefined;
        if (processor !== undefined) visit(processor.States);
        const task = definition.taskStates.get(stateName);
        if (task === undefined) continue;
        const names = byTask.get(task) ?? new Set<string>();
        for (const handler of [...((state.Retry as unknown[]) ?? []), ...((state.Catch as unknown[]) ?? [])]) {
          for (const name of (handler as { ErrorEquals: string[] }).ErrorEquals) if (!SERVICE_ERROR.test(name)) names.add(name);
        }
        byTask.set(task, names);
      }
    };
    visit(definition.definition.States as unknown as Record<string, Record<string, unknown>>);
  }
  return byTask;
}

describe('the Lambda bundles cdk deploy uploads', () => {
  let outdir: string;
  let assembly: SynthesizedAssembly;
  let cloud: LocalCloudCore;

  beforeAll(async () => {
    outdir = mkdtempSync(path.join(tmpdir(), 'ebs-cdp-assembly-'));
    assembly = synthesizeAssembly(outdir);
    cloud = await startLocalCloudCore();
  }, 300_000);

  afterAll(async () => {
    await cloud?.stop();
    rmSync(outdir, { recursive: true, force: true });
  });

  /** The engine's environment on the local cloud, as the stack's variables would resolve there. */
  function environmentOn(local: LocalCloudCore): Record<string, string> {
    return {
      CHAIN_TABLE: local.chainTable,
      PRIMARY_REGION: LOCAL_REGION,
      SECONDARY_REGION: LOCAL_REGION,
      EBS_ENDPOINT: local.side.ebsEndpoint,
      EC2_ENDPOINT: local.side.ec2Endpoint,
      DYNAMODB_ENDPOINT: local.db.endpoint,
      POWERTOOLS_SERVICE_NAME: 'ebs-cdp',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_NAMESPACE: 'EbsCdp',
    };
  }

  it('holds, in each task\'s bundle, every error name its Retry and Catch match on', () => {
    // Prepare
    const byTask = matchedNamesByTask(assembly);

    // Act
    const missing = [...byTask].flatMap(([task, names]) => {
      const code = readFileSync(assembly.bundles[task].file, 'utf8');
      return [...names].filter((name) => !code.includes(`"${name}"`)).map((name) => `${task}: ${name}`);
    });

    // Assess
    expect([...byTask.keys()].sort()).toEqual([...TASK_NAMES].sort());
    expect([...byTask.values()].reduce((count, names) => count + names.size, 0)).toBeGreaterThan(TASK_NAMES.length * 6);
    expect(missing).toEqual([]);
  });

  it('is minified: the error classes lose their names, so only the literals carry them', () => {
    // Act
    const code = readFileSync(assembly.bundles.SyncBegin.file, 'utf8');

    // Assess
    expect(code).not.toMatch(/class VolumeNotProtectedError\b/);
    expect(code).toContain(`"${VolumeNotProtectedError.errorName}"`);
  });

  it('throws InvalidTaskInputError by name from every task given an empty input', async () => {
    // Act
    const answers = await Promise.all(TASK_NAMES.map(async (task) => [task, (await invokeBundle(assembly.bundles[task], {}, environmentOn(cloud))).errorType]));

    // Assess
    expect(answers).toEqual(TASK_NAMES.map((task) => [task, InvalidTaskInputError.errorName]));
  });

  it('throws a port error by name from the real bundle: SyncBegin of a volume nobody protects', async () => {
    // Prepare
    const volume = await cloud.model.createVolume({ availabilityZone: LOCAL_ZONE, size: 1 });

    // Act
    const answer = await invokeBundle(assembly.bundles.SyncBegin, { volumeId: volume.volumeId, runId: 'bundle-run-1' }, environmentOn(cloud));

    // Assess
    expect({ errorType: answer.errorType, errorMessage: answer.errorMessage }).toEqual({
      errorType: VolumeNotProtectedError.errorName,
      errorMessage: expect.stringContaining(volume.volumeId),
    });
  });
});

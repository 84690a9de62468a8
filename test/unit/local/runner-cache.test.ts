/**
 * The on-disk cache of the synthesized state machine definitions: every CLI command is a new
 * process, and synthesizing the CDK stack costs seconds, so a hit must not synthesize and a
 * changed key must.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { JOB_NAMES, type JobName } from '../../../infra/job-names';
import { definitionsCacheKey, localDefinitions, type LocalDefinition } from '../../../local/stepfunctions/runner';

const JOBS: readonly JobName[] = JOB_NAMES;

/** Small stand-in definitions, marked so a test can tell which synthesis produced them. */
function fakeDefinitions(mark: string): Record<JobName, LocalDefinition> {
  const definitions = {} as Record<JobName, LocalDefinition>;
  for (const name of JOBS) {
    definitions[name] = {
      name,
      definition: { StartAt: 'Begin', States: { Begin: { Type: 'Task', Resource: `arn:${mark}`, End: true } } } as never,
      taskStates: new Map([['Begin', 'SyncBegin']]),
      waitStates: [],
      retryStates: ['Begin'],
    };
  }
  return definitions;
}

/** A synthesizer that counts its calls. */
function countingSynthesizer(mark: string): { synthesize: () => Record<JobName, LocalDefinition>; calls: () => number } {
  let calls = 0;
  return {
    synthesize: () => {
      calls += 1;
      return fakeDefinitions(mark);
    },
    calls: () => calls,
  };
}

function freshCacheDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'ebs-cdp-definitions-'));
}

describe('localDefinitions', () => {
  describe('with a cache directory', () => {
    it('synthesizes on a miss, then answers from the file without synthesizing', () => {
      // Prepare
      const cacheDir = freshCacheDir();
      const first = countingSynthesizer('first');
      const second = countingSynthesizer('second');

      // Act
      const missed = localDefinitions({ cacheDir, cacheKey: 'key-a', synthesize: first.synthesize });
      const hit = localDefinitions({ cacheDir, cacheKey: 'key-a', synthesize: second.synthesize });

      // Assess
      expect(first.calls()).toBe(1);
      expect(second.calls()).toBe(0);
      expect(hit).toEqual(missed);
      expect(hit.Sync.taskStates).toBeInstanceOf(Map);
      expect(hit.Sync.taskStates.get('Begin')).toBe('SyncBegin');
      expect(readdirSync(cacheDir)).toEqual(['definitions-key-a.json']);
    });

    it('synthesizes again when the key changed, and drops the stale file', () => {
      // Prepare
      const cacheDir = freshCacheDir();
      localDefinitions({ cacheDir, cacheKey: 'key-a', synthesize: countingSynthesizer('old').synthesize });
      const changed = countingSynthesizer('new');

      // Act
      const definitions = localDefinitions({ cacheDir, cacheKey: 'key-b', synthesize: changed.synthesize });

      // Assess
      expect(changed.calls()).toBe(1);
      expect((definitions.Verify.definition.States.Begin as { Resource?: string }).Resource).toBe('arn:new');
      expect(readdirSync(cacheDir)).toEqual(['definitions-key-b.json']);
    });

    it('treats an unreadable cache file as a miss', () => {
      // Prepare
      const cacheDir = freshCacheDir();
      writeFileSync(path.join(cacheDir, 'definitions-key-a.json'), '{"format":1,"key":"key-a","defin');
      const synthesizer = countingSynthesizer('fresh');

      // Act
      const definitions = localDefinitions({ cacheDir, cacheKey: 'key-a', synthesize: synthesizer.synthesize });

      // Assess
      expect(synthesizer.calls()).toBe(1);
      expect(Object.keys(definitions).sort()).toEqual([...JOBS].sort());
    });

    it('round-trips the real synthesized definitions unchanged', () => {
      // Prepare: the process's own definitions (synthesized, or from the default cache).
      const real = localDefinitions();
      const cacheDir = freshCacheDir();
      localDefinitions({ cacheDir, cacheKey: 'real', synthesize: () => real });
      const never = countingSynthesizer('never');

      // Act
      const readBack = localDefinitions({ cacheDir, cacheKey: 'real', synthesize: never.synthesize });

      // Assess
      expect(never.calls()).toBe(0);
      expect(readBack).toEqual(real);
      expect([...readBack.Sync.taskStates.values()]).toContain('SyncPlan');
    }, 60_000);
  });

  describe('definitionsCacheKey', () => {
    it('is a SHA-256 in hex, the same for the same sources', () => {
      // Act
      const key = definitionsCacheKey();

      // Assess
      expect(key).toMatch(/^[0-9a-f]{64}$/);
      expect(definitionsCacheKey()).toBe(key);
    });
  });
});

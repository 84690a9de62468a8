/**
 * Model-based randomized test of the product's promise (issue 12, "Prove"): a restore point
 * marked trusted holds no known-bad block version, whatever the schedule or crash in between.
 * Seeded histories of host writes, syncs (complete and crashed at every step boundary), damage
 * to stored versions, full and quick verifies (with syncs in the scan interval, with fix-ups
 * that die), prunes and restores run against the engine and the naive model of `model.ts`; every
 * invariant of `harness.ts` is checked after every operation.
 *
 * CI runs the fixed seeds below. Longer or other runs:
 *
 * ```sh
 * EBS_CDP_MODEL_SEED=42 EBS_CDP_MODEL_OPS=5000 npx jest test/model/trust.model.test.ts   # one seed, 5000 ops
 * EBS_CDP_MODEL_SEED=1,2,3 npx jest test/model/trust.model.test.ts                        # these seeds
 * EBS_CDP_MODEL_NO_DAMAGE=1 npx jest test/model/trust.model.test.ts                        # no damage: every path but trust's
 * EBS_CDP_MODEL_CONTINUE=1 npx jest test/model/trust.model.test.ts                         # go on past violations, summarize them
 * EBS_CDP_MODEL_TIMING=1 npx jest test/model/trust.model.test.ts                           # CPU time per kind of op
 * EBS_CDP_MODEL_REPLAY=/tmp/ebs-cdp-model-xyz/seed-7.json npx jest test/model/trust.model.test.ts  # a failure's op log
 * ```
 *
 * A failure prints the seed, the op, every violated invariant and the op log, and writes the log
 * to a file that `EBS_CDP_MODEL_REPLAY` replays.
 */
import { readFileSync } from 'node:fs';
import { startEngineHarness, type EngineHarness } from '../integration/engine/engine-harness';
import { DEFAULT_KEEP_LAST, ModelRunner } from './harness';
import { OpGenerator, type Op } from './ops';

/** The seeds CI runs: together about 300 operations, within two minutes on two cores. */
const CI_SEEDS = [1, 2, 3, 4, 5, 6];

/** Operations per seed in CI. */
const CI_OPS_PER_SEED = 50;

/** Distinct block indexes a seed's workload writes, scattered below {@link BLOCK_RANGE}. */
const POOL_SIZE = 24;
const BLOCK_RANGE = 400;

/** Generous per-operation budget for the test timeout (a verify with its fix-up is the slowest, ~2 s). */
const MS_PER_OP = 3_000;

/** Go on past violations, model following the engine, and summarize them at the end (a diagnosis, not a pass/fail run). */
const CONTINUE = process.env.EBS_CDP_MODEL_CONTINUE === '1';

function seedsFromEnv(): number[] {
  const raw = process.env.EBS_CDP_MODEL_SEED;
  if (raw === undefined || raw.trim() === '') return CI_SEEDS;
  return raw.split(',').map((part) => Number.parseInt(part.trim(), 10)).filter((seed) => Number.isSafeInteger(seed));
}

function opsFromEnv(): number {
  const raw = process.env.EBS_CDP_MODEL_OPS;
  const ops = raw === undefined ? Number.NaN : Number.parseInt(raw, 10);
  return Number.isSafeInteger(ops) && ops > 0 ? ops : CI_OPS_PER_SEED;
}

interface Replay {
  readonly seed: number;
  readonly keepLast: number;
  readonly ops: readonly Op[];
}

function replayFromEnv(): Replay | undefined {
  const file = process.env.EBS_CDP_MODEL_REPLAY;
  return file === undefined || file === '' ? undefined : (JSON.parse(readFileSync(file, 'utf8')) as Replay);
}

describe('Trust model (seeded random histories against the naive model)', () => {
  let engine: EngineHarness;

  beforeAll(async () => {
    engine = await startEngineHarness();
  }, 30_000);

  afterAll(async () => {
    await engine?.stop();
  });

  const replay = replayFromEnv();
  const ops = opsFromEnv();

  if (replay !== undefined) {
    it(`replays the op log of seed ${replay.seed} (${replay.ops.length} ops)`, async () => {
      // Prepare
      const runner = await ModelRunner.start(engine, { seed: replay.seed, keepLast: replay.keepLast });

      // Act + Assess: every invariant after every op
      await runner.applyAll(replay.ops);
      await runner.checkImagesOverHttp();
    }, replay.ops.length * MS_PER_OP + 30_000);
    return;
  }

  it.each(seedsFromEnv())(`seed %d: ${ops} operations keep every invariant after every operation`, async (seed) => {
    // Prepare
    const runner = await ModelRunner.start(engine, { seed, keepLast: DEFAULT_KEEP_LAST, collect: CONTINUE });
    const generator = new OpGenerator(seed, {
      pool: OpGenerator.pool(seed, POOL_SIZE, BLOCK_RANGE), scrub: true, keepLast: runner.keepLast, noDamage: process.env.EBS_CDP_MODEL_NO_DAMAGE === '1',
    });

    // Act + Assess: every invariant after every op, then every image over the EBS direct APIs
    try {
      for (let at = 0; at < ops; at++) await runner.apply(generator.next(runner.model));
      await runner.checkImagesOverHttp();
    } finally {
      if (process.env.EBS_CDP_MODEL_TIMING === '1') console.log(`seed ${seed}\n${runner.timingReport()}`);
      if (CONTINUE) console.log(`seed ${seed}: ${runner.violations.length} violations\n${runner.violationSummary()}`);
    }
    runner.assertNoViolations();
  }, ops * MS_PER_OP + 30_000);
});

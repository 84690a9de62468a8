/**
 * Cost model: the monthly cost of protecting 1 TiB with 1 % daily change at a 15-minute and a
 * 5-minute RPO, today (weekly full verify, daily quick verify) and with the verified design
 * (primary scan, secondary scrub, read-back of every new entry; ARCHITECTURE.md, Verify) on its
 * default schedule, beside hourly EBS snapshots with cross-Region copy keeping the same retention
 * and AWS Elastic Disaster Recovery protecting the same volume (`bench/cost.ts`, list prices of
 * EBS-FACTS.md). Per-job counts come from the scale bench's run when its results exist
 * (transitions of the real Sync definition), else from the definition's structure. Writes the
 * figures of issue 12 to bench/results/summary.json.
 *
 *   npx tsx bench/cost-model.ts
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cdpMonthlyCost,
  cdpVerifiedMonthlyCost,
  costFigures,
  DEFAULT_VERIFICATION_SCHEDULE,
  drsMonthlyCost,
  DRS_DEFAULT_STAGING,
  DRS_GP3_STAGING,
  jobCounts,
  legacyFullVerifyCost,
  LIST_PRICES,
  primaryScanCost,
  REFERENCE_SCENARIO,
  scheduleMonthlyCost,
  scrubCost,
  STRUCTURAL_SYNC_FIXED_TRANSITIONS,
  syncMonthlyCost,
  verificationMonthlyCost,
  WEEKS_PER_MONTH,
  type CostBreakdown,
  type CostFigures,
  type VerificationSchedule,
} from './cost';
import { markdownTable, RESULTS_DIR, writeResults } from './harness';
import { LIST_PAGE_BLOCKS } from './api-efficiency';
import { atMost, below, CONTEXT, goalText, meetsGoal, recordFigures, type Goal } from './summary';

/** The goals of issue 12. */
export const COST_GOALS: Record<keyof CostFigures, Goal> = {
  verifiedVsSchedule: atMost(1.4),
  verifyVsReadFloor: atMost(1.05),
  vsDrs: below(1),
  fullCheckVsToday: atMost(0.4),
  todayVsSchedule: CONTEXT,
};

/** Each figure's name in bench/results/summary.json. */
const FIGURE_NAMES: Record<keyof CostFigures, string> = {
  verifiedVsSchedule: 'cost.verified_vs_schedule',
  verifyVsReadFloor: 'cost.verify_vs_read_floor',
  vsDrs: 'cost.vs_drs',
  fullCheckVsToday: 'cost.full_check_vs_today',
  todayVsSchedule: 'cost.today_vs_schedule',
};

interface ScaleFigures {
  stateTransitions: number;
  segmentsTouched: number;
}

/** The sync's fixed transitions: from the scale run when present (one transition per Map item, the rest fixed). */
function syncFixedTransitions(): { fixed: number; source: string } {
  const path = join(RESULTS_DIR, 'scale.json');
  if (!existsSync(path)) return { fixed: STRUCTURAL_SYNC_FIXED_TRANSITIONS, source: 'structure of the Sync definition (no scale run found)' };
  const scale = JSON.parse(readFileSync(path, 'utf8')) as ScaleFigures;
  return { fixed: scale.stateTransitions - scale.segmentsTouched, source: `scale run: ${scale.stateTransitions} transitions for ${scale.segmentsTouched} Map items` };
}

/** The schedule in words: its periods, which are also its detection bounds. */
function describeSchedule(schedule: VerificationSchedule): string {
  const scans = schedule.primaryScansPerMonth === WEEKS_PER_MONTH ? 'weekly primary scan' : `${schedule.primaryScansPerMonth.toFixed(2)} primary scans a month`;
  const scrubs = schedule.scrubsPerMonth === 1 ? 'monthly scrub' : schedule.scrubsPerMonth === WEEKS_PER_MONTH ? 'weekly scrub' : `${schedule.scrubsPerMonth.toFixed(2)} scrubs a month`;
  const readBack = schedule.readBackDelayMinutes === null ? 'no read-back' : `read-back within ${schedule.readBackDelayMinutes} min`;
  return `${scans}, ${readBack}, ${scrubs}`;
}

/** Runs the model: prints the tables, writes bench/results/cost-model.{json,md} and the cost figures into summary.json. */
export async function runCostModelBench(): Promise<{ options: Array<{ option: string; cost: CostBreakdown }>; figures: CostFigures }> {
  const { fixed, source } = syncFixedTransitions();
  const counts = jobCounts(LIST_PAGE_BLOCKS, fixed);
  const scenario = REFERENCE_SCENARIO;
  const schedule = DEFAULT_VERIFICATION_SCHEDULE;
  const verified = (rpoMinutes: number, variant: Partial<VerificationSchedule> = {}): CostBreakdown =>
    cdpVerifiedMonthlyCost({ ...scenario, rpoMinutes }, { ...schedule, ...variant }, counts);
  const options = [
    { option: `ebs-cdp today, RPO 15 min: weekly full + daily quick verify`, cost: cdpMonthlyCost(scenario, counts) },
    { option: `ebs-cdp verified, RPO 15 min: ${describeSchedule(schedule)} (default)`, cost: verified(15) },
    { option: `ebs-cdp verified, RPO 5 min: ${describeSchedule(schedule)}`, cost: verified(5) },
    { option: 'ebs-cdp verified, RPO 15 min: scrub weekly instead (the 7-day retention tier)', cost: verified(15, { scrubsPerMonth: WEEKS_PER_MONTH }) },
    { option: 'ebs-cdp verified, RPO 15 min: read-back after every sync instead', cost: verified(15, { readBackDelayMinutes: scenario.rpoMinutes }) },
    { option: 'ebs-cdp, RPO 15 min: syncs only, no verification', cost: syncMonthlyCost(scenario, counts.sync) },
    { option: 'hourly EBS snapshots + cross-Region copy (RPO ≥ 60 min, no verify)', cost: scheduleMonthlyCost(scenario) },
    { option: `AWS DRS (default: ${DRS_DEFAULT_STAGING.label})`, cost: drsMonthlyCost(scenario, DRS_DEFAULT_STAGING) },
    { option: `AWS DRS (${DRS_GP3_STAGING.label})`, cost: drsMonthlyCost(scenario, DRS_GP3_STAGING) },
  ];
  const snapshotSchedule = scheduleMonthlyCost(scenario).total;
  const usd = (value: number): string => `$${value.toFixed(2)}`;
  const optionsTable = markdownTable(options.map(({ option, cost }) => ({
    option,
    'Get/Put blocks': usd(cost.blockApis),
    'List calls': usd(cost.listApis),
    'Step Functions': usd(cost.stepFunctions),
    'snapshot storage': usd(cost.storage),
    'staging volume + server': usd(cost.volumes + cost.compute),
    'DRS fee': usd(cost.service),
    'cross-Region transfer': usd(cost.transfer),
    'total / month': usd(cost.total),
    '÷ snapshot schedule': (cost.total / snapshotSchedule).toFixed(2),
  })));

  const verification = verificationMonthlyCost(scenario, schedule, counts.verification);
  const jobs = [
    { job: 'primary scan (primary\'s Region)', runs: schedule.primaryScansPerMonth, cost: verification.primaryScan },
    { job: `read-back (secondary's Region, within ${schedule.readBackDelayMinutes ?? '—'} min)`, runs: undefined, cost: verification.readBack },
    { job: 'scrub (secondary\'s Region)', runs: schedule.scrubsPerMonth, cost: verification.scrub },
    { job: 'verification, total', runs: undefined, cost: verification.total },
  ];
  const jobsTable = markdownTable(jobs.map(({ job, runs, cost }) => ({
    job,
    'runs / month': runs === undefined ? '' : runs.toFixed(2),
    GetSnapshotBlock: usd(cost.blockApis),
    'List calls': usd(cost.listApis),
    'Step Functions': usd(cost.stepFunctions),
    'cross-Region transfer': usd(cost.transfer),
    'total / month': usd(cost.total),
  })));

  const today = legacyFullVerifyCost(scenario, counts.verify);
  const scan = primaryScanCost(scenario, counts.verification);
  const scrub = scrubCost(scenario, counts.verification);
  const checkTable = markdownTable([
    { check: 'today\'s full verify (both sides, one across Regions)', GetSnapshotBlock: usd(today.blockApis), 'List calls + Step Functions': usd(today.listApis + today.stepFunctions), 'cross-Region transfer': usd(today.transfer), total: usd(today.total) },
    { check: 'primary scan', GetSnapshotBlock: usd(scan.blockApis), 'List calls + Step Functions': usd(scan.listApis + scan.stepFunctions), 'cross-Region transfer': usd(scan.transfer), total: usd(scan.total) },
    { check: 'full scrub', GetSnapshotBlock: usd(scrub.blockApis), 'List calls + Step Functions': usd(scrub.listApis + scrub.stepFunctions), 'cross-Region transfer': usd(scrub.transfer), total: usd(scrub.total) },
  ]);

  const figures = costFigures(scenario, schedule, counts);
  const figureRows = (Object.keys(FIGURE_NAMES) as Array<keyof CostFigures>).map((key) => ({
    figure: `\`${FIGURE_NAMES[key]}\``,
    value: figures[key].toFixed(3),
    goal: goalText(COST_GOALS[key]),
    met: COST_GOALS[key].compare === 'context' ? '(context)' : meetsGoal(figures[key], COST_GOALS[key]) ? 'yes' : 'NO',
  }));
  const [, cdp15] = options.map((o) => o.cost.total);
  const drs = drsMonthlyCost(scenario).total;
  const drsGp3 = drsMonthlyCost(scenario, DRS_GP3_STAGING).total;
  const readBackDelay = schedule.readBackDelayMinutes ?? 0;
  const markdown = `# Cost model: 1 TiB, 1 % daily change, ${scenario.retentionDays} days kept (USD per month, us-east-1 list)\n\n` +
    `Prices: EBS-FACTS.md (List $${LIST_PRICES.listPer1000}/1k, Get $${LIST_PRICES.getBlockPer1000}/1k, Put $${LIST_PRICES.putBlockPer1000}/1k, ` +
    `snapshot storage $${LIST_PRICES.storagePerGbMonth}/GB-month, Step Functions $${LIST_PRICES.transitionsPer1000}/1k transitions, inter-Region transfer ` +
    `$${LIST_PRICES.crossRegionPerGb}/GB, AWS DRS $${LIST_PRICES.drsServerHour} per source server-hour). **Not in EBS-FACTS.md**, assumed: DRS's staging volume ` +
    `$${DRS_DEFAULT_STAGING.stagingVolumePerGbMonth}/GB-month (st1; gp3 $${DRS_GP3_STAGING.stagingVolumePerGbMonth}), its replication server ` +
    `$${DRS_DEFAULT_STAGING.replicationServerHour}/hour (t3.small) shared by ${DRS_DEFAULT_STAGING.volumesPerReplicationServer} volumes. ` +
    `Sync transitions from the ${source}; list pages of ${LIST_PAGE_BLOCKS.toLocaleString('en-US')} blocks (fully allocated). ` +
    'Lambda and DynamoDB (the digest manifest and its replica) are not priced. Assumptions are listed in `bench/cost.ts`.\n\n' +
    `Default verification schedule: **${describeSchedule(schedule)}**. Detection bounds: a mis-copy within one primary-scan period (7 days; ` +
    `never if the host rewrites the block first), a new entry's write errors within ${readBackDelay} min of its commit, damage to a stored version ` +
    'within one scrub period (30 days) while some point still holds it.\n\n' +
    `## Options\n\n${optionsTable}\n## The default schedule's verification\n\n${jobsTable}\n` +
    `Block reads it cannot avoid (every primary block per scan, every retained version per scrub, every written block once), at list price: ` +
    `${usd(verification.readFloor)} a month.\n\n## One full check of 1 TiB\n\n${checkTable}\n## Figures\n\n${markdownTable(figureRows)}\n` +
    '## Findings\n\n' +
    `- ebs-cdp verified on the default schedule costs ${usd(cdp15)} at a 15-minute RPO: ${figures.verifiedVsSchedule.toFixed(2)}× the hourly snapshot schedule ` +
    `(today's design: ${figures.todayVsSchedule.toFixed(2)}×). The verification moves no block data across Regions, so what it adds is its block reads: ` +
    `${usd(verification.total.total)} for ${usd(verification.readFloor)} of unavoidable Gets (${figures.verifyVsReadFloor.toFixed(3)}×; the rest is list calls and ` +
    'transitions, mostly the hourly read-back runs; a read-back after every sync would pay 4× their transitions).\n' +
    `- One full check (primary scan + full scrub) costs ${usd(scan.total + scrub.total)} against ${usd(today.total)} for today's full verify ` +
    `(${figures.fullCheckVsToday.toFixed(3)}×): each block is read once per side it is checked on, and nothing crosses Regions.\n` +
    `- Against AWS DRS (${usd(drs)} on its default st1 staging volume, ${usd(drsGp3)} on gp3) ebs-cdp is ${figures.vsDrs.toFixed(2)}× ` +
    `(${(cdp15 / drsGp3).toFixed(2)}× against gp3 staging): ${meetsGoal(figures.vsDrs, COST_GOALS.vsDrs) ? 'cheaper' : '**not cheaper on the default staging**'}. ` +
    'ebs-cdp keeps a full primary snapshot (the base of ListChangedBlocks) where DRS keeps a staging volume, and pays block APIs and its verification where ' +
    'DRS pays its per-server fee. DRS replicates continuously (an RPO of seconds) and reads back nothing it stored; its staging prices are assumptions (above).\n' +
    '- What a snapshot schedule cannot buy at any price: an RPO under an hour (Data Lifecycle Manager schedules are hourly at best), and a verified secondary.\n';
  console.log(markdown);
  writeResults('cost-model', {
    scenario, schedule, prices: LIST_PRICES, drsStaging: { default: DRS_DEFAULT_STAGING, gp3: DRS_GP3_STAGING }, counts: { ...counts, source },
    options, verification, fullCheck: { today, primaryScan: scan, scrub }, figures,
  }, markdown);
  recordFigures(Object.fromEntries((Object.keys(FIGURE_NAMES) as Array<keyof CostFigures>).map((key) => [FIGURE_NAMES[key], { value: figures[key], goal: COST_GOALS[key] }])));
  return { options, figures };
}

if (require.main === module) {
  runCostModelBench().then(
    () => undefined,
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

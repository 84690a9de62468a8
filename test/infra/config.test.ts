import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DEFAULT_KEEP_LAST, DEFAULT_SCRUB_FULL_SCHEDULE, DEFAULT_SCRUB_READ_BACK_SCHEDULE, DEFAULT_SYNC_EVERY_MINUTES, DEFAULT_VERIFY_SCHEDULE,
  engineVolumeConfig, loadProtectionConfig, parseProtectionConfig, ProtectionConfigFileError, ratePeriodMinutes, rpoMinutesOf, splitSelectors,
} from '../../infra/config';
import { retentionConfigSchema, syncProtectionConfigSchema } from '../../shared/engine/sync/schemas';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

describe('ProtectionConfig', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebs-cdp-config-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('parseProtectionConfig', () => {
    it('applies the defaults: sync every 15 minutes, verify weekly, a week of restore points, RPO of two intervals', () => {
      // Act
      const config = parseProtectionConfig({}, 'test');

      // Assess
      expect(config.volumes).toEqual([]);
      expect(config.syncEveryMinutes).toBe(DEFAULT_SYNC_EVERY_MINUTES);
      expect(config.verifySchedule).toBe(DEFAULT_VERIFY_SCHEDULE);
      expect(config.retention).toEqual({ keepLast: DEFAULT_KEEP_LAST });
      expect(rpoMinutesOf(config)).toBe(2 * DEFAULT_SYNC_EVERY_MINUTES);
      expect(config.tableDeletionProtection).toBe(true);
      expect(config.allowInPlaceRestore).toBe(false);
    });

    it('names every problem with its path', () => {
      // Act
      const parse = (): unknown => parseProtectionConfig({ volumes: [{ volumeId: 'disk-1' }], syncEveryMinutes: 1, kmsKeyArn: 'alias/mine', typo: true }, 'prod.json');

      // Assess
      expect(parse).toThrow(ProtectionConfigFileError);
      expect(parse).toThrow(/prod\.json: .*volumes\.0.*syncEveryMinutes.*kmsKeyArn/);
    });

    it('refuses an RPO shorter than the sync interval', () => {
      // Act
      const parse = (): unknown => parseProtectionConfig({ syncEveryMinutes: 30, rpoMinutes: 15 }, 'test');

      // Assess
      expect(parse).toThrow(/rpoMinutes/);
    });

    it('takes the primary-side keys as key ARNs, and names a malformed one by its place and value', () => {
      // Prepare
      const good = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
      const multiRegion = 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab';

      // Act
      const config = parseProtectionConfig({ primaryKmsKeyArns: [good, multiRegion] }, 'test');
      const parse = (): unknown => parseProtectionConfig({ primaryKmsKeyArns: [good, 'alias/aws/ebs'] }, 'prod.json');

      // Assess
      expect(config.primaryKmsKeyArns).toEqual([good, multiRegion]);
      expect(parseProtectionConfig({}, 'test').primaryKmsKeyArns).toBeUndefined();
      expect(parse).toThrow(ProtectionConfigFileError);
      expect(parse).toThrow('prod.json: the protection config is invalid (primaryKmsKeyArns.1: a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got "alias/aws/ebs")');
      expect(() => parseProtectionConfig({ primaryKmsKeyArns: good }, 'test')).toThrow(/primaryKmsKeyArns: .*expected array/);
    });

    it('schedules a full scrub every 30 days and an hourly read-back by default, each overridable alone', () => {
      // Act
      const defaults = parseProtectionConfig({}, 'test');
      const weekly = parseProtectionConfig({ scrub: { full: 'rate(7 days)' } }, 'test');
      const cron = parseProtectionConfig({ scrub: { full: 'cron(0 5 1 * ? *)', readBack: 'rate(30 minutes)' } }, 'test');

      // Assess
      expect(defaults.scrub).toEqual({ full: 'rate(30 days)', readBack: 'rate(1 hour)' });
      expect([DEFAULT_SCRUB_FULL_SCHEDULE, DEFAULT_SCRUB_READ_BACK_SCHEDULE]).toEqual(['rate(30 days)', 'rate(1 hour)']);
      expect(weekly.scrub).toEqual({ full: 'rate(7 days)', readBack: DEFAULT_SCRUB_READ_BACK_SCHEDULE });
      expect(cron.scrub).toEqual({ full: 'cron(0 5 1 * ? *)', readBack: 'rate(30 minutes)' });
    });

    it('refuses a scrub schedule that is no rate of minutes, hours or days nor a cron, naming it and its value', () => {
      // Act
      const parse = (scrub: unknown) => (): unknown => parseProtectionConfig({ scrub }, 'prod.json');

      // Assess
      expect(parse({ full: 'rate(1 month)' })).toThrow('prod.json: the protection config is invalid (scrub.full: rate(<n> minutes|hours|days) or cron(…), got "rate(1 month)")');
      expect(parse({ readBack: 'rate(0 hours)' })).toThrow(/scrub\.readBack: rate\(<n> minutes\|hours\|days\) or cron\(…\), got "rate\(0 hours\)"/);
      expect(parse({ readBack: 'at(2026-01-01T00:00:00)' })).toThrow(/scrub\.readBack/);
      expect(parse({ fullSchedule: 'rate(7 days)' })).toThrow(/scrub: Unrecognized key: "fullSchedule"/);
    });

    it('reads the period of a rate expression in minutes, and none of a cron', () => {
      // Assess
      expect(ratePeriodMinutes('rate(7 days)')).toBe(10_080);
      expect(ratePeriodMinutes('rate(1 hour)')).toBe(60);
      expect(ratePeriodMinutes('rate(20 minutes)')).toBe(20);
      expect(ratePeriodMinutes('cron(0 5 1 * ? *)')).toBeUndefined();
    });

    it('refuses a log retention CloudWatch Logs does not offer', () => {
      // Act
      const parse = (): unknown => parseProtectionConfig({ logRetentionDays: 10 }, 'test');

      // Assess
      expect(parse).toThrow(/logRetentionDays/);
    });
  });

  describe('engineVolumeConfig', () => {
    it('gives the engine the config its own schemas accept, days as milliseconds', () => {
      // Prepare
      const config = parseProtectionConfig({
        retention: { keepLast: 10, keepWithinDays: 2 },
        kmsKeyArn: 'arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      }, 'test');

      // Act
      const engine = engineVolumeConfig(config);

      // Assess
      expect(engine.retention).toEqual({ keepLast: 10, keepWithinMs: 2 * 86_400_000 });
      expect(syncProtectionConfigSchema.parse(engine)).toEqual(engine);
      expect(retentionConfigSchema.safeParse(engine.retention).success).toBe(true);
    });
  });

  describe('splitSelectors', () => {
    it('separates volumes by id (deduplicated) from tag selectors', () => {
      // Prepare
      const config = parseProtectionConfig({
        volumes: [{ volumeId: 'vol-0aaaaaaaaaaaaaaaa' }, { tag: { key: 'cdp', value: 'on' } }, { volumeId: 'vol-0aaaaaaaaaaaaaaaa' }],
      }, 'test');

      // Act
      const { volumeIds, tags } = splitSelectors(config);

      // Assess
      expect(volumeIds).toEqual(['vol-0aaaaaaaaaaaaaaaa']);
      expect(tags).toEqual([{ key: 'cdp', value: 'on' }]);
    });
  });

  describe('the CDK app (npx cdk synth)', () => {
    it('refuses a bad config with what is wrong and where, exit 2, and no stack trace', () => {
      // Prepare
      const file = path.join(dir, 'ebs-cdp.config.json');
      fs.writeFileSync(file, JSON.stringify({ volumes: [{ volumeId: 'vol-bad' }] }));

      // Act: as cdk runs the app (cdk.json), with the context cdk passes it
      const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'infra/app.ts')], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ 'ebsCdp.config': file }), CDK_OUTDIR: path.join(dir, 'out'), EBS_CDP_TASK_CODE: 'stub' },
      });

      // Assess
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(`error: ${file}: the protection config is invalid (volumes.0.volumeId:`);
      expect(run.stderr).toContain('next: ');
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(fs.existsSync(path.join(dir, 'out', 'EbsCdpEngine.template.json'))).toBe(false);
    }, 60_000);
  });

  describe('loadProtectionConfig', () => {
    it('reads the file the context names, relative to the base directory', () => {
      // Prepare
      fs.writeFileSync(path.join(dir, 'prod.json'), JSON.stringify({ volumes: [{ volumeId: 'vol-0bbbbbbbbbbbbbbbb' }], syncEveryMinutes: 10 }));

      // Act
      const config = loadProtectionConfig('prod.json', dir);

      // Assess
      expect(config.volumes).toEqual([{ volumeId: 'vol-0bbbbbbbbbbbbbbbb' }]);
      expect(config.syncEveryMinutes).toBe(10);
    });

    it('falls back to ebs-cdp.config.json, then to an empty config', () => {
      // Prepare
      const empty = loadProtectionConfig(undefined, dir);
      fs.writeFileSync(path.join(dir, 'ebs-cdp.config.json'), JSON.stringify({ volumes: [{ tag: { key: 'k', value: 'v' } }] }));

      // Act
      const fromDefault = loadProtectionConfig(undefined, dir);

      // Assess
      expect(empty.volumes).toEqual([]);
      expect(fromDefault.volumes).toEqual([{ tag: { key: 'k', value: 'v' } }]);
    });

    it('fails when the named file is missing or not JSON', () => {
      // Prepare
      fs.writeFileSync(path.join(dir, 'broken.json'), '{ volumes: ');

      // Assess
      expect(() => loadProtectionConfig('missing.json', dir)).toThrow(/does not exist/);
      expect(() => loadProtectionConfig('broken.json', dir)).toThrow(/not a JSON file/);
    });

    it('accepts the example file shipped at the repository root', () => {
      // Act
      const config = loadProtectionConfig('ebs-cdp.config.example.json', REPO_ROOT);

      // Assess
      expect(splitSelectors(config).volumeIds).toHaveLength(1);
      expect(splitSelectors(config).tags).toHaveLength(1);
      expect(config.secondaryRegion).toBe('us-west-2');
      expect(config.primaryKmsKeyArns).toHaveLength(1);
    });
  });
});

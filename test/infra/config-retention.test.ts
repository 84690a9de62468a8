import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deploymentSnapshotProjection, engineVolumeConfig, parseProtectionConfig, ProtectionConfigFileError } from '../../infra/config';
import { retentionConfigSchema } from '../../shared/engine/sync/schemas';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const TIERS = { all: '6h', hourly: '3d', daily: '30d', weekly: '12w', monthly: '12m' };
const VOLUME = 'vol-0aaaaaaaaaaaaaaaa';
/** A year of every 5-minute point: 105,120 restore points for one volume, over the 100,000 quota. */
const OVER_QUOTA = { volumes: [{ volumeId: VOLUME }], syncEveryMinutes: 5, retention: { tiers: { all: '1y' } } };

describe('ProtectionConfig retention tiers', () => {
  it('passes tiers to the engine next to keepLast, in the form its schema accepts', () => {
    // Prepare
    const config = parseProtectionConfig({ retention: { keepLast: 10, tiers: TIERS } }, 'test');

    // Act
    const engine = engineVolumeConfig(config);

    // Assess
    expect(engine.retention).toEqual({ keepLast: 10, tiers: TIERS });
    expect(retentionConfigSchema.parse(engine.retention)).toEqual(engine.retention);
  });

  it.each([
    [{ tiers: { hourly: '3 days' } }, 'retention.tiers.hourly: "3 days" is not a duration: a whole number ≥ 1 and a unit h, d, w, m (30 days) or y'],
    [{ tiers: { yearly: '2y' } }, 'retention.tiers: Unrecognized key: "yearly"'],
    [{ tiers: {} }, 'retention.tiers: give at least one tier'],
  ])('refuses the retention %j, saying where and what', (retention, message) => {
    // Act
    const parse = (): unknown => parseProtectionConfig({ retention }, 'test.json');

    // Assess
    expect(parse).toThrow(ProtectionConfigFileError);
    expect(parse).toThrow(message);
  });

  it('projects the snapshots of the configured volumes, a tag selector counted as one volume', () => {
    // Prepare
    const config = parseProtectionConfig({
      volumes: [{ volumeId: VOLUME }, { tag: { key: 'cdp', value: 'on' } }], syncEveryMinutes: 15, retention: { tiers: TIERS },
    }, 'test');

    // Act
    const projection = deploymentSnapshotProjection(config);

    // Assess: 24 + 73 + 31 + 13 + 13 points + the head, and a primary snapshot, per volume
    expect(projection).toEqual({ pointsPerVolume: 155, volumes: 2, snapshots: 2 * 156, withinQuota: true });
  });

  it('refuses a policy whose projection exceeds the Region’s snapshot quota', () => {
    // Act
    const parse = (): unknown => parseProtectionConfig(OVER_QUOTA, 'test.json');

    // Assess
    expect(parse).toThrow(ProtectionConfigFileError);
    expect(parse).toThrow("retention: this policy keeps up to 105121 restore points per volume (a sync every 5 min); with 1 volume(s) that is up to 105122 snapshots, over the Region's quota of 100000");
  });

  it('makes cdk synth refuse an over-quota policy with exit 2 and no stack trace', () => {
    // Prepare
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebs-cdp-config-'));
    const file = path.join(dir, 'ebs-cdp.config.json');
    fs.writeFileSync(file, JSON.stringify(OVER_QUOTA));

    // Act: as cdk runs the app (cdk.json), with the context cdk passes it
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'infra/app.ts')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ 'ebsCdp.config': file }), CDK_OUTDIR: path.join(dir, 'out'), EBS_CDP_TASK_CODE: 'stub' },
    });
    fs.rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("over the Region's quota of 100000");
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

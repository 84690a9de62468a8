import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
  waitUntilVolumeAvailable,
  waitUntilVolumeInUse,
  type Instance,
} from '@aws-sdk/client-ec2';
import { ROOT_DEVICE_NAME } from '../../../local/emulator/ec2';
import { patternBlock } from './ebs-helpers';
import { OTHER_ZONE, rejectionOf, startEc2Harness, stopEc2Harness, ZONE, type Ec2Harness } from './ec2-helpers';

/** Waiters poll every second at most: the emulator settles at once. */
const WAIT = { minDelay: 1, maxDelay: 1, maxWaitTime: 10 };

describe('EC2 emulator: instances', () => {
  let h: Ec2Harness;
  beforeAll(async () => {
    h = await startEc2Harness();
  });
  afterAll(async () => {
    await stopEc2Harness(h);
  });

  async function newVolume(zone = ZONE): Promise<string> {
    return (await h.ec2.send(new CreateVolumeCommand({ AvailabilityZone: zone, Size: 1 }))).VolumeId!;
  }

  async function describeInstance(instanceId: string): Promise<Instance> {
    const described = await h.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    return described.Reservations![0].Instances![0];
  }

  describe('DescribeInstances', () => {
    it('shows a created instance running with its root volume mapped', async () => {
      // Prepare
      const rootVolume = await newVolume();

      // Act
      const instanceId = await h.model.createInstance({ availabilityZone: ZONE, rootVolume });
      const instance = await describeInstance(instanceId);

      // Assess
      expect(instance.InstanceId).toMatch(/^i-[0-9a-f]{17}$/);
      expect(instance.State).toEqual({ Code: 16, Name: 'running' });
      expect(instance.Placement?.AvailabilityZone).toBe(ZONE);
      expect(instance.RootDeviceName).toBe(ROOT_DEVICE_NAME);
      expect(instance.BlockDeviceMappings?.map((m) => [m.DeviceName, m.Ebs?.VolumeId, m.Ebs?.Status])).toEqual([
        [ROOT_DEVICE_NAME, rootVolume, 'attached'],
      ]);
      const volume = (await h.ec2.send(new DescribeVolumesCommand({ VolumeIds: [rootVolume] }))).Volumes![0];
      expect(volume.State).toBe('in-use');
      expect(volume.Attachments?.map((a) => [a.InstanceId, a.Device, a.State])).toEqual([[instanceId, ROOT_DEVICE_NAME, 'attached']]);
    });

    it('filters by instance-state-name and block-device-mapping.volume-id', async () => {
      // Prepare
      const rootVolume = await newVolume();
      const instanceId = await h.model.createInstance({ availabilityZone: ZONE, rootVolume });
      const idle = await h.model.createInstance({ availabilityZone: ZONE });
      await h.ec2.send(new StopInstancesCommand({ InstanceIds: [idle] }));

      // Act
      const instanceIds = async (Filters: Array<{ Name: string; Values: string[] }>): Promise<string[]> =>
        ((await h.ec2.send(new DescribeInstancesCommand({ Filters }))).Reservations ?? []).flatMap((r) => r.Instances!.map((i) => i.InstanceId!));
      const byVolume = await instanceIds([{ Name: 'block-device-mapping.volume-id', Values: [rootVolume] }]);
      const stopped = await instanceIds([{ Name: 'instance-state-name', Values: ['stopped'] }]);

      // Assess
      expect(byVolume).toEqual([instanceId]);
      expect(stopped).toContain(idle);
      expect(stopped).not.toContain(instanceId);
    });

    it('rejects an unknown instance with InvalidInstanceID.NotFound', async () => {
      // Act
      const error = await rejectionOf(h.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-00000000000000000'] })));

      // Assess
      expect(error.name).toBe('InvalidInstanceID.NotFound');
    });
  });

  describe('StopInstances / StartInstances', () => {
    it('goes running → stopping → stopped → pending → running as the SDK waiters expect', async () => {
      // Prepare
      const instanceId = await h.model.createInstance({ availabilityZone: ZONE });

      // Act
      const stop = await h.ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
      const stopped = await waitUntilInstanceStopped({ client: h.ec2, ...WAIT }, { InstanceIds: [instanceId] });
      const start = await h.ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
      const running = await waitUntilInstanceRunning({ client: h.ec2, ...WAIT }, { InstanceIds: [instanceId] });

      // Assess
      expect(stop.StoppingInstances).toEqual([{ InstanceId: instanceId, CurrentState: { Code: 64, Name: 'stopping' }, PreviousState: { Code: 16, Name: 'running' } }]);
      expect(stopped.state).toBe('SUCCESS');
      expect(start.StartingInstances?.[0].CurrentState?.Name).toBe('pending');
      expect(start.StartingInstances?.[0].PreviousState?.Name).toBe('stopped');
      expect(running.state).toBe('SUCCESS');
      expect((await describeInstance(instanceId)).State?.Name).toBe('running');
    });

    it('rejects an unknown instance', async () => {
      // Act
      const error = await rejectionOf(h.ec2.send(new StopInstancesCommand({ InstanceIds: ['i-00000000000000000'] })));

      // Assess
      expect(error.name).toBe('InvalidInstanceID.NotFound');
    });
  });

  describe('AttachVolume / DetachVolume', () => {
    it('attaches a data volume to a running instance and detaches it again', async () => {
      // Prepare
      const instanceId = await h.model.createInstance({ availabilityZone: ZONE });
      const volumeId = await newVolume();

      // Act
      const attached = await h.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }));
      const inUse = await waitUntilVolumeInUse({ client: h.ec2, ...WAIT }, { VolumeIds: [volumeId] });
      const detached = await h.ec2.send(new DetachVolumeCommand({ VolumeId: volumeId }));
      const available = await waitUntilVolumeAvailable({ client: h.ec2, ...WAIT }, { VolumeIds: [volumeId] });

      // Assess
      expect([attached.VolumeId, attached.InstanceId, attached.Device, attached.State]).toEqual([volumeId, instanceId, '/dev/sdf', 'attached']);
      expect(attached.AttachTime).toBeInstanceOf(Date);
      expect(inUse.state).toBe('SUCCESS');
      expect(detached.State).toBe('detached');
      expect(available.state).toBe('SUCCESS');
      expect((await describeInstance(instanceId)).BlockDeviceMappings).toEqual([]);
    });

    it('rejects another zone, a volume in use, a taken device and unknown ids', async () => {
      // Prepare
      const instanceId = await h.model.createInstance({ availabilityZone: ZONE, rootVolume: await newVolume() });
      const farVolume = await newVolume(OTHER_ZONE);
      const busyVolume = await newVolume();
      await h.ec2.send(new AttachVolumeCommand({ VolumeId: busyVolume, InstanceId: instanceId, Device: '/dev/sdg' }));
      const freeVolume = await newVolume();

      // Act
      const errors = await Promise.all([
        rejectionOf(h.ec2.send(new AttachVolumeCommand({ VolumeId: farVolume, InstanceId: instanceId, Device: '/dev/sdh' }))),
        rejectionOf(h.ec2.send(new AttachVolumeCommand({ VolumeId: busyVolume, InstanceId: instanceId, Device: '/dev/sdh' }))),
        rejectionOf(h.ec2.send(new AttachVolumeCommand({ VolumeId: freeVolume, InstanceId: instanceId, Device: '/dev/sdg' }))),
        rejectionOf(h.ec2.send(new AttachVolumeCommand({ VolumeId: 'vol-00000000000000000', InstanceId: instanceId, Device: '/dev/sdh' }))),
        rejectionOf(h.ec2.send(new AttachVolumeCommand({ VolumeId: freeVolume, InstanceId: 'i-00000000000000000', Device: '/dev/sdh' }))),
        rejectionOf(h.ec2.send(new DetachVolumeCommand({ VolumeId: freeVolume }))),
        rejectionOf(h.ec2.send(new DeleteVolumeCommand({ VolumeId: busyVolume }))),
      ]);

      // Assess
      expect(errors.map((error) => error.name)).toEqual([
        'InvalidVolume.ZoneMismatch', 'IncorrectState', 'InvalidParameterValue', 'InvalidVolume.NotFound',
        'InvalidInstanceID.NotFound', 'IncorrectState', 'VolumeInUse',
      ]);
    });

    it('refuses to detach the root volume of a running instance', async () => {
      // Prepare
      const rootVolume = await newVolume();
      const instanceId = await h.model.createInstance({ availabilityZone: ZONE, rootVolume });

      // Act
      const error = await rejectionOf(h.ec2.send(new DetachVolumeCommand({ VolumeId: rootVolume })));

      // Assess
      expect(error.name).toBe('IncorrectState');
      expect((await describeInstance(instanceId)).BlockDeviceMappings?.[0].Ebs?.VolumeId).toBe(rootVolume);
    });

    it('swaps a volume in place: stop, detach, attach at the same device, start', async () => {
      /*
       * instance ── /dev/xvda ── old volume (block 0 = "old")
       *   stop → detach old → attach new at /dev/xvda → start
       * instance ── /dev/xvda ── new volume (block 0 = "new")
       */
      // Prepare
      const oldVolume = await newVolume();
      const newVolumeId = await newVolume();
      await h.model.writeBlock(oldVolume, 0, patternBlock(1));
      await h.model.writeBlock(newVolumeId, 0, patternBlock(2));
      const instanceId = await h.model.createInstance({ availabilityZone: ZONE, rootVolume: oldVolume });

      // Act
      await h.ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
      await waitUntilInstanceStopped({ client: h.ec2, ...WAIT }, { InstanceIds: [instanceId] });
      await h.ec2.send(new DetachVolumeCommand({ VolumeId: oldVolume, InstanceId: instanceId, Device: ROOT_DEVICE_NAME }));
      await waitUntilVolumeAvailable({ client: h.ec2, ...WAIT }, { VolumeIds: [oldVolume] });
      await h.ec2.send(new AttachVolumeCommand({ VolumeId: newVolumeId, InstanceId: instanceId, Device: ROOT_DEVICE_NAME }));
      await h.ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
      await waitUntilInstanceRunning({ client: h.ec2, ...WAIT }, { InstanceIds: [instanceId] });

      // Assess
      const instance = await describeInstance(instanceId);
      const root = instance.BlockDeviceMappings?.find((m) => m.DeviceName === instance.RootDeviceName);
      expect(instance.State?.Name).toBe('running');
      expect(root?.Ebs?.VolumeId).toBe(newVolumeId);
      expect((await h.model.readBlock(root!.Ebs!.VolumeId!, 0)).equals(patternBlock(2))).toBe(true);
      const volumes = (await h.ec2.send(new DescribeVolumesCommand({ VolumeIds: [oldVolume, newVolumeId] }))).Volumes!;
      expect(Object.fromEntries(volumes.map((v) => [v.VolumeId, v.State]))).toEqual({ [oldVolume]: 'available', [newVolumeId]: 'in-use' });
    });
  });

  describe('unknown actions', () => {
    it('answers InvalidAction in EC2 error shape', async () => {
      // Act
      const answer = await fetch(h.emulator.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'Action=RunInstances&Version=2016-11-15',
      });
      const body = await answer.text();

      // Assess
      expect(answer.status).toBe(400);
      expect(body).toMatch(/<Response><Errors><Error><Code>InvalidAction<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]+<\/RequestID><\/Response>/);
    });
  });
});

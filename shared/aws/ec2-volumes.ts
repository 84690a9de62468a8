/**
 * EC2 volumes for restores: describe a volume, create one from a snapshot like the source, and
 * swap a volume onto an instance in place with rollback.
 */
import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  type EC2Client,
  type Volume,
  type VolumeType,
} from '@aws-sdk/client-ec2';
import type { CreateVolumeRequest, SwapRequest, SwapResult, VolumeAttributes, Volumes } from '../core/ports/snapshots';
import { callEc2, DEFAULT_MAX_POLLS, DEFAULT_POLL_INTERVAL_MS, ec2ErrorCode, type Ec2AdapterOptions } from './ec2-calls';
import { InvalidInstanceError, InvalidVolumeError, SnapshotNotFoundError, SwapFailedError } from '../core/ports/errors';
import { toSdkTags, withOwnerTag } from '../core/tags';
import { systemTimer } from './timer';

const VOLUME_NOT_FOUND = 'InvalidVolume.NotFound';
const INSTANCE_NOT_FOUND = 'InvalidInstanceID.NotFound';
const SNAPSHOT_NOT_FOUND = 'InvalidSnapshot.NotFound';

/** Volume types EC2 knows; anything else in a description is passed over rather than guessed. */
const VOLUME_TYPES: readonly VolumeType[] = ['standard', 'io1', 'io2', 'gp2', 'sc1', 'st1', 'gp3'];
/** Types whose IOPS the caller sets (gp2's follow from its size and cannot be given). */
const PROVISIONED_IOPS_TYPES: readonly string[] = ['io1', 'io2', 'gp3'];
/** The only type whose throughput the caller sets. */
const PROVISIONED_THROUGHPUT_TYPE = 'gp3';

function isVolumeType(value: string): value is VolumeType {
  return (VOLUME_TYPES as readonly string[]).includes(value);
}

function toAttributes(volume: Volume, volumeId: string): VolumeAttributes {
  if (volume.Size === undefined || volume.AvailabilityZone === undefined || volume.VolumeType === undefined || volume.State === undefined) {
    throw new InvalidVolumeError(`DescribeVolumes answered an incomplete description of ${volumeId}`, { volumeId });
  }
  const attachment = volume.Attachments?.find((a) => a.State === 'attached' || a.State === 'attaching');
  return {
    volumeId,
    size: volume.Size,
    availabilityZone: volume.AvailabilityZone,
    volumeType: volume.VolumeType,
    iops: volume.Iops,
    throughput: volume.Throughput,
    encrypted: volume.Encrypted ?? false,
    kmsKeyId: volume.KmsKeyId,
    state: volume.State,
    attachment:
      attachment?.InstanceId === undefined || attachment.Device === undefined ? undefined : { instanceId: attachment.InstanceId, device: attachment.Device },
  };
}

/**
 * @example
 * const volumes = new Ec2Volumes(ec2);
 * const source = await volumes.describeVolume(primaryVolumeId);
 * const restored = await volumes.createVolumeFromSnapshot({ snapshotId, availabilityZone: source.availabilityZone, like: source });
 * await volumes.swapVolume({ instanceId, volumeId: source.volumeId, replacementVolumeId: restored.volumeId });
 */
export class Ec2Volumes implements Volumes {
  constructor(
    private readonly ec2: EC2Client,
    private readonly options: Ec2AdapterOptions = {},
  ) {}

  async describeVolume(volumeId: string): Promise<VolumeAttributes> {
    try {
      const out = await callEc2(() => this.ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] })), this.options);
      const volume = out.Volumes?.find((v) => v.VolumeId === volumeId);
      if (volume === undefined) throw new InvalidVolumeError(`volume ${volumeId} does not exist; check the id and the Region`, { volumeId });
      return toAttributes(volume, volumeId);
    } catch (error) {
      if (ec2ErrorCode(error) === VOLUME_NOT_FOUND) {
        throw new InvalidVolumeError(`volume ${volumeId} does not exist; check the id and the Region`, { volumeId, cause: error });
      }
      throw error;
    }
  }

  async createVolumeFromSnapshot(request: CreateVolumeRequest): Promise<VolumeAttributes> {
    const { like } = request;
    const volumeType = isVolumeType(like.volumeType) ? like.volumeType : undefined;
    let volumeId: string | undefined;
    try {
      const out = await callEc2(
        () =>
          this.ec2.send(
            new CreateVolumeCommand({
              SnapshotId: request.snapshotId,
              AvailabilityZone: request.availabilityZone,
              Size: request.size ?? like.size,
              VolumeType: volumeType,
              Iops: PROVISIONED_IOPS_TYPES.includes(like.volumeType) ? like.iops : undefined,
              Throughput: like.volumeType === PROVISIONED_THROUGHPUT_TYPE ? like.throughput : undefined,
              // A snapshot's encryption carries over anyway; this also encrypts a volume made from a
              // plain snapshot when the source was encrypted, with the source's key.
              Encrypted: like.encrypted ? true : undefined,
              KmsKeyId: like.encrypted ? like.kmsKeyId : undefined,
              TagSpecifications: [{ ResourceType: 'volume', Tags: toSdkTags(withOwnerTag(request.tags)) }],
            }),
          ),
        this.options,
      );
      volumeId = out.VolumeId;
    } catch (error) {
      if (ec2ErrorCode(error) === SNAPSHOT_NOT_FOUND) {
        throw new SnapshotNotFoundError(`snapshot ${request.snapshotId} does not exist in this Region; pick another restore point`, {
          snapshotId: request.snapshotId,
          cause: error,
        });
      }
      throw error;
    }
    if (volumeId === undefined) throw new InvalidVolumeError(`CreateVolume from ${request.snapshotId} answered without a VolumeId`, {});
    return this.waitForVolume(volumeId, 'available');
  }

  async swapVolume(request: SwapRequest): Promise<SwapResult> {
    const { instanceId, volumeId, replacementVolumeId } = request;
    // Checks first: nothing is touched unless every precondition holds.
    const original = await this.describeVolume(volumeId);
    const replacement = await this.describeVolume(replacementVolumeId);
    if (original.attachment?.instanceId !== instanceId) {
      throw new InvalidVolumeError(`volume ${volumeId} is not attached to instance ${instanceId}; nothing was changed`, { volumeId });
    }
    if (replacement.state !== 'available') {
      throw new InvalidVolumeError(`replacement volume ${replacementVolumeId} is ${replacement.state}, not available; nothing was changed`, {
        volumeId: replacementVolumeId,
      });
    }
    if (replacement.availabilityZone !== original.availabilityZone) {
      throw new InvalidVolumeError(
        `replacement volume ${replacementVolumeId} is in ${replacement.availabilityZone}, the instance's volume in ${original.availabilityZone}; ` +
          'create the replacement in the same Availability Zone. Nothing was changed',
        { volumeId: replacementVolumeId },
      );
    }
    const device = original.attachment.device;
    const wasRunning = (await this.instanceState(instanceId)) === 'running';
    let step = 'stop instance';
    try {
      if (wasRunning) {
        await callEc2(() => this.ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] })), this.options);
        await this.waitForInstance(instanceId, 'stopped');
      }
      step = `detach ${volumeId}`;
      await callEc2(() => this.ec2.send(new DetachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId })), this.options);
      await this.waitForVolume(volumeId, 'available');
      step = `attach ${replacementVolumeId} at ${device}`;
      await callEc2(
        () => this.ec2.send(new AttachVolumeCommand({ VolumeId: replacementVolumeId, InstanceId: instanceId, Device: device })),
        this.options,
      );
      await this.waitForVolume(replacementVolumeId, 'in-use');
      if (wasRunning) {
        step = 'start instance';
        await callEc2(() => this.ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] })), this.options);
        await this.waitForInstance(instanceId, 'running');
      }
    } catch (cause) {
      const { rollback, rolledBack } = await this.rollBack({ instanceId, volumeId, replacementVolumeId, device, wasRunning });
      throw new SwapFailedError({ instanceId, volumeId, failedStep: step, rollback, rolledBack, cause });
    }
    return { instanceId, device, detachedVolumeId: volumeId, attachedVolumeId: replacementVolumeId, restarted: wasRunning };
  }

  /**
   * Puts the original volume back, acting on what EC2 says now rather than on which step failed:
   * a step may have half happened, or someone may have acted behind our back.
   */
  private async rollBack(args: {
    instanceId: string;
    volumeId: string;
    replacementVolumeId: string;
    device: string;
    wasRunning: boolean;
  }): Promise<{ rollback: string[]; rolledBack: boolean }> {
    const { instanceId, volumeId, replacementVolumeId, device, wasRunning } = args;
    const rollback: string[] = [];
    let rolledBack = true;
    const attempt = async (what: string, action: () => Promise<void>): Promise<void> => {
      try {
        // Each action records the changes it makes; only a failure is recorded here.
        await action();
      } catch (error) {
        rolledBack = false;
        rollback.push(`${what} FAILED (${error instanceof Error ? `${error.name}: ${error.message}` : String(error)})`);
      }
    };
    await attempt(`taking ${replacementVolumeId} off the instance`, async () => {
      const replacement = await this.describeVolume(replacementVolumeId);
      if (replacement.attachment?.instanceId !== instanceId) return;
      if ((await this.instanceState(instanceId)) !== 'stopped') {
        await callEc2(() => this.ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] })), this.options);
        await this.waitForInstance(instanceId, 'stopped');
        rollback.push('stopped instance');
      }
      await callEc2(() => this.ec2.send(new DetachVolumeCommand({ VolumeId: replacementVolumeId, InstanceId: instanceId })), this.options);
      await this.waitForVolume(replacementVolumeId, 'available');
      rollback.push(`detached ${replacementVolumeId}`);
    });
    await attempt(`re-attaching ${volumeId}`, async () => {
      const original = await this.describeVolume(volumeId);
      if (original.attachment?.instanceId === instanceId) return;
      await callEc2(() => this.ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: device })), this.options);
      await this.waitForVolume(volumeId, 'in-use');
      rollback.push(`re-attached ${volumeId} at ${device}`);
    });
    if (wasRunning) {
      await attempt('restarting the instance', async () => {
        if ((await this.instanceState(instanceId)) === 'running') return;
        await callEc2(() => this.ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] })), this.options);
        await this.waitForInstance(instanceId, 'running');
        rollback.push('restarted instance');
      });
    }
    return { rollback, rolledBack };
  }

  private async instanceState(instanceId: string): Promise<string> {
    try {
      const out = await callEc2(() => this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })), this.options);
      const instance = out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
      const state = instance?.State?.Name;
      if (state === undefined) throw new InvalidInstanceError(`instance ${instanceId} does not exist; check the id and the Region`, {});
      return state;
    } catch (error) {
      if (ec2ErrorCode(error) === INSTANCE_NOT_FOUND) {
        throw new InvalidInstanceError(`instance ${instanceId} does not exist; check the id and the Region`, { cause: error });
      }
      throw error;
    }
  }

  private async waitForInstance(instanceId: string, target: string): Promise<void> {
    await this.poll(`instance ${instanceId}`, target, () => this.instanceState(instanceId), {});
  }

  private async waitForVolume(volumeId: string, target: string): Promise<VolumeAttributes> {
    let last: VolumeAttributes | undefined;
    await this.poll(
      `volume ${volumeId}`,
      target,
      async () => {
        last = await this.describeVolume(volumeId);
        if (last.state === 'error') throw new InvalidVolumeError(`volume ${volumeId} went to state error; delete it and try again`, { volumeId });
        return last.state;
      },
      { volumeId },
    );
    if (last === undefined) throw new InvalidVolumeError(`volume ${volumeId} was never described`, { volumeId });
    return last;
  }

  private async poll(what: string, target: string, look: () => Promise<string>, context: { volumeId?: string }): Promise<void> {
    const timer = this.options.timer ?? systemTimer;
    const interval = this.options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    const maxPolls = this.options.maxPolls ?? DEFAULT_MAX_POLLS;
    let state = 'unknown';
    for (let poll = 0; poll < maxPolls; poll++) {
      if (poll > 0) await timer.sleep(interval);
      state = await look();
      if (state === target) return;
    }
    throw new InvalidVolumeError(`${what} is still ${state}, not ${target}, after ${maxPolls} polls; check it in the console`, context);
  }
}

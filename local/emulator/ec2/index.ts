/**
 * The EC2 half of the local-cloud emulator: the EC2 Query API subset ebs-cdp uses, volumes a
 * person can write (sparse files), and a minimal instance model. See README.md.
 */
export { Ec2ApiError, Ec2ErrorCode } from './errors';
export { handleEc2Request, type Ec2Answer, type Ec2Context } from './handler';
export {
  Ec2Model,
  ROOT_DEVICE_NAME,
  type CreateVolumeArgs,
  type Ec2ModelOptions,
  type InstanceRecord,
  type InstanceStateChange,
  type InstanceStateName,
  type VolumeAttachment,
  type VolumeRecord,
  type VolumeState,
  type VolumeType,
} from './model';
export { KNOWN_CONTENT_MTIME_MS } from './volume-storage';

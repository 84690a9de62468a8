import { EbsCdpError, type ErrorContext } from '../../../shared/core/errors';

/** HTTP status EC2 answers every client error of our subset with. */
const EC2_CLIENT_ERROR_STATUS = 400;

/**
 * An error the emulated EC2 API reports to its caller. `code` is the EC2 error code
 * (`InvalidVolume.NotFound`, `IncorrectState`, …): the SDK turns it into the exception name,
 * so codes must match AWS's spelling exactly.
 */
export class Ec2ApiError extends EbsCdpError {
  static override readonly errorName: string = 'Ec2ApiError';

  readonly code: string;
  readonly httpStatus: number;

  constructor(code: string, message: string, context: ErrorContext & { httpStatus?: number } = {}) {
    super(message, context);
    this.code = code;
    this.httpStatus = context.httpStatus ?? EC2_CLIENT_ERROR_STATUS;
  }
}

/** The EC2 error codes the emulator raises, spelled as AWS spells them. */
export const Ec2ErrorCode = {
  volumeNotFound: 'InvalidVolume.NotFound',
  snapshotNotFound: 'InvalidSnapshot.NotFound',
  instanceNotFound: 'InvalidInstanceID.NotFound',
  incorrectState: 'IncorrectState',
  incorrectInstanceState: 'IncorrectInstanceState',
  volumeInUse: 'VolumeInUse',
  invalidVolumeZoneMismatch: 'InvalidVolume.ZoneMismatch',
  attachmentNotFound: 'InvalidAttachment.NotFound',
  invalidParameterValue: 'InvalidParameterValue',
  invalidParameterCombination: 'InvalidParameterCombination',
  missingParameter: 'MissingParameter',
  invalidAction: 'InvalidAction',
  invalidZone: 'InvalidZone.NotFound',
  invalidId: 'InvalidID',
  dryRun: 'DryRunOperation',
} as const;

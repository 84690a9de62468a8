import { createCipheriv, createHash } from 'node:crypto';
import { BLOCK_SIZE } from '../../shared/core/constants';

/** AES-CTR takes a 16-byte counter block; the block index fills its first 8 bytes. */
const IV_BYTES = 16;

/**
 * What a never-written block of an encrypted snapshot reads as: not zeros (EBS decrypts
 * unwritten ciphertext into noise), but deterministic per (lineage, block) so two reads of the
 * same block, through EBS or through a volume the EC2 half created, agree with each other.
 * Keyed by lineage, not snapshot: a child shares the unwritten extent of its parent.
 */
export function unwrittenEncryptedBlock(lineageId: string, blockIndex: number): Buffer {
  const key = createHash('sha256').update(`ebs-cdp-emulator-unwritten|${lineageId}`).digest();
  const iv = Buffer.alloc(IV_BYTES);
  iv.writeBigUInt64BE(BigInt(blockIndex), 0);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([cipher.update(Buffer.alloc(BLOCK_SIZE)), cipher.final()]);
}

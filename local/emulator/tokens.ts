import { createHmac, timingSafeEqual } from 'node:crypto';

/** Bytes of HMAC-SHA256 kept in a token: enough that guessing one is hopeless, short on the wire. */
const SIGNATURE_BYTES = 16;

/**
 * Opaque tokens (BlockToken, NextToken) signed with a per-emulator secret, so a client cannot
 * forge one or reuse one for another snapshot or block: the server decodes the fields it signed.
 */
export class TokenSigner {
  private readonly secret: Buffer;

  constructor(secret: Buffer) {
    this.secret = secret;
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest().subarray(0, SIGNATURE_BYTES).toString('base64url');
  }

  /** Encodes `fields` (no `.` inside any) with their signature. */
  seal(fields: readonly (string | number)[]): string {
    const payload = Buffer.from(fields.join('|')).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The fields of a token this signer sealed, or `undefined` for anything else. */
  open(token: string): string[] | undefined {
    const dot = token.indexOf('.');
    if (dot <= 0) return undefined;
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.sign(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return Buffer.from(payload, 'base64url').toString().split('|');
  }
}

/**
 * Regions of the emulated account. EBS snapshots (direct APIs and EC2) and EC2 volumes live in
 * one Region, so the emulator keeps one snapshot store and one EC2 half per Region, and picks the
 * Region of a request from its SigV4 credential scope, the way AWS routes it to a Regional
 * endpoint: `Authorization: AWS4-HMAC-SHA256 Credential=AK/20261201/<region>/<service>/aws4_request, …`
 * (or the `X-Amz-Credential` query parameter of a presigned URL).
 *
 * ```
 *  <dataDir>/                  the default Region (the layout of a single-Region emulator)
 *  <dataDir>/regions/<region>/ every other Region, same layout, opened on its first request
 * ```
 */
import { readdir } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import type { Ec2Handler } from './server';
import type { SnapshotStore } from './store';
import type { TokenSigner } from './tokens';

/** The default Region: the one the local cloud's clients use (`local/config.ts` LOCAL_REGION). */
export const DEFAULT_REGION = 'us-east-1';

/** Sub-directory of the data directory holding the Regions other than the default. */
export const REGIONS_DIR = 'regions';

/**
 * What a Region name may look like (`us-east-1`, `us-gov-west-1`, `eu-central-2`): it names a
 * directory, so nothing but lower-case letters, digits and inner dashes.
 */
const REGION_NAME_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** `Credential=<access key>/<yyyymmdd>/<region>/<service>/aws4_request` in a SigV4 Authorization header. */
const CREDENTIAL_SCOPE_PATTERN = /Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\/[^/,\s]+\/aws4_request/;

/** Whether `name` is a Region name the emulator accepts. */
export function isRegionName(name: string): boolean {
  return REGION_NAME_PATTERN.test(name);
}

/**
 * The Region a request's SigV4 credential scope names, or `undefined` when it names none the
 * emulator accepts (an unsigned `curl`, a malformed header): such a request goes to the default.
 */
export function regionOfRequest(headers: IncomingHttpHeaders, query: URLSearchParams): string | undefined {
  const authorization = headers.authorization ?? '';
  const scope = CREDENTIAL_SCOPE_PATTERN.exec(authorization)?.[1] ?? query.get('X-Amz-Credential')?.split('/')[2];
  return scope !== undefined && isRegionName(scope) ? scope : undefined;
}

/** One Region's half of the emulator: its snapshot store, token signer and EC2 half. */
export interface EmulatedRegion {
  readonly name: string;
  readonly store: SnapshotStore;
  readonly tokens: TokenSigner;
  /** Answers the EC2 Query API in this Region; absent when the EC2 half is not built in. */
  readonly ec2?: Ec2Handler;
  close(): Promise<void>;
}

/** Where a Region keeps its files: the data directory itself for the default, else `regions/<name>/`. */
export function regionDataDir(dataDir: string | undefined, name: string, defaultRegion: string): string | undefined {
  if (dataDir === undefined) return undefined;
  return name === defaultRegion ? dataDir : join(dataDir, REGIONS_DIR, name);
}

/** Regions a data directory already holds besides the default (to reopen them at start). */
export async function persistedRegions(dataDir: string | undefined): Promise<string[]> {
  if (dataDir === undefined) return [];
  try {
    return (await readdir(join(dataDir, REGIONS_DIR), { withFileTypes: true })).filter((e) => e.isDirectory() && isRegionName(e.name)).map((e) => e.name).sort();
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return [];
    throw error;
  }
}

/** Every Region of the emulated account, each opened once, on demand. */
export class Regions {
  private readonly opened = new Map<string, Promise<EmulatedRegion>>();

  constructor(
    readonly defaultRegion: string,
    private readonly openRegion: (name: string) => Promise<EmulatedRegion>,
  ) {}

  /** The Region, opened on first use (concurrent first requests share one opening). */
  get(name: string = this.defaultRegion): Promise<EmulatedRegion> {
    let region = this.opened.get(name);
    if (region === undefined) {
      region = this.openRegion(name);
      this.opened.set(name, region);
      // A failed opening is not cached: the next request tries again.
      region.catch(() => this.opened.delete(name));
    }
    return region;
  }

  /** Names of the Regions opened so far, default first. */
  names(): string[] {
    return [...this.opened.keys()].sort((a, b) => (a === this.defaultRegion ? -1 : b === this.defaultRegion ? 1 : a.localeCompare(b)));
  }

  /** Closes every opened Region (their EC2 halves, then their stores). */
  async close(): Promise<void> {
    const regions = await Promise.allSettled([...this.opened.values()]);
    this.opened.clear();
    for (const region of regions) if (region.status === 'fulfilled') await region.value.close();
  }
}

/**
 * SDK clients of one side (primary or secondary): each side has its own Region and, locally, its
 * own endpoint, so the two never share a client.
 */
import { EBSClient } from '@aws-sdk/client-ebs';
import { EC2Client } from '@aws-sdk/client-ec2';

/** Static credentials (the local cloud takes any). */
export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/**
 * One attempt per SDK call: our retry policy (`retry.ts`, `ec2-calls.ts`) owns retries, so that
 * throttles reach the shared rate limiter and validation errors are never retried. With the
 * SDK's retries on as well, attempts would multiply (10 × 3) and throttles would go unseen.
 */
export const SDK_MAX_ATTEMPTS = 1;

export interface SideConfig {
  readonly region: string;
  /** Set for the local cloud (`http://127.0.0.1:<port>`); absent on AWS. */
  readonly endpoint?: string;
  /** Absent on AWS (the default provider chain); dummy values for the local cloud. */
  readonly credentials?: StaticCredentials;
}

export interface SideClients {
  readonly ebs: EBSClient;
  readonly ec2: EC2Client;
  /** Closes both clients' sockets. */
  destroy(): void;
}

/** The EBS and EC2 clients of one side. */
export function createSideClients(side: SideConfig): SideClients {
  const config = { region: side.region, endpoint: side.endpoint, credentials: side.credentials, maxAttempts: SDK_MAX_ATTEMPTS };
  const ebs = new EBSClient(config);
  const ec2 = new EC2Client(config);
  return {
    ebs,
    ec2,
    destroy() {
      ebs.destroy();
      ec2.destroy();
    },
  };
}

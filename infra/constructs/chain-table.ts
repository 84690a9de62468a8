/**
 * The chain table: one DynamoDB table holding every protected volume's chain (ARCHITECTURE.md,
 * "Data"). It is the only record of which blocks each restore point holds, so it is retained
 * when the stack is deleted and backed up continuously.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CHAIN_TABLE_KEY } from '../../shared/core/table-keys';

export interface ChainTableProps {
  /** Refuse DeleteTable (on by default: losing the chain loses every restore point's map). */
  readonly deletionProtection?: boolean;
}

/** On-demand (syncs are bursty: idle for minutes, then thousands of shard writes), PITR, encrypted at rest. */
export class ChainTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ChainTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: CHAIN_TABLE_KEY.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: CHAIN_TABLE_KEY.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The AWS-managed key: encrypted at rest with no key policy for the operator to keep alive.
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}

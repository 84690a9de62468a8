/** The `JobHistory` family on the chain table: one `JOB#<runId>` item per job run. */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { JobHistory, JobRecord } from '../../core/ports/chain-store';
import { jobSk, SORT_KEY_PREFIX } from '../../core/table-keys';
import { checkId } from './checks';
import { jobRecordSchema, parseItem, withoutUndefined } from './items';
import { type ChainTableClient, itemKey } from './table';

/** The outcome of every job run, on the chain table. */
export class DynamoDbJobHistory implements JobHistory {
  private readonly table: ChainTableClient;

  constructor(table: ChainTableClient) {
    this.table = table;
  }

  async putJobRecord(volumeId: string, record: JobRecord): Promise<void> {
    checkId(record.runId, 'runId');
    await this.table.doc.send(new PutCommand({
      TableName: this.table.name, Item: withoutUndefined({ ...itemKey(volumeId, jobSk(record.runId)), ...record }),
    }));
  }

  async listJobRecords(volumeId: string): Promise<JobRecord[]> {
    const records: JobRecord[] = [];
    for await (const item of this.table.queryPrefix(volumeId, SORT_KEY_PREFIX.job)) records.push(parseItem(jobRecordSchema, item, volumeId) as JobRecord);
    return records.sort((a, b) => b.at.localeCompare(a.at));
  }
}

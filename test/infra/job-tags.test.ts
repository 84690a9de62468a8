/**
 * The tags and outputs by which the CLI (and a person) finds the deployed job machines: each of
 * the job machines carries its job, its stack and its chain table; nothing else carries a job tag.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CHAIN_TABLE_TAG_KEY, JOB_TAG_KEY, STACK_TAG_KEY } from '../../infra/job-tags';
import { EbsCdpStack } from '../../infra/ebs-cdp-stack';
import { JOB_NAMES } from '../../infra/job-names';

describe('EbsCdpStack', () => {
  const template = Template.fromStack(new EbsCdpStack(new App(), 'Tagged', { taskCode: 'stub' }));
  const tableRef = { Ref: Object.keys(template.findResources('AWS::DynamoDB::Table'))[0] };

  describe('job state machine tags', () => {
    it.each([...JOB_NAMES])('tags the %s machine with its job, the stack and the chain table', (job) => {
      // Act
      const machines = template.findResources('AWS::StepFunctions::StateMachine', {
        Properties: { Tags: Match.arrayWith([{ Key: JOB_TAG_KEY, Value: job }]) },
      });

      // Assess
      expect(Object.keys(machines)).toHaveLength(1);
      const [machine] = Object.values(machines) as Array<{ Properties: { Tags: unknown[] } }>;
      expect(machine.Properties.Tags).toEqual(expect.arrayContaining([{ Key: STACK_TAG_KEY, Value: 'Tagged' }, { Key: CHAIN_TABLE_TAG_KEY, Value: tableRef }]));
    });

    it('puts the job tag on the job machines only, not on their roles', () => {
      // Act
      const tagged = Object.values(template.toJSON().Resources as Record<string, { Type: string; Properties?: { Tags?: Array<{ Key: string }> } }>)
        .filter((resource) => resource.Properties?.Tags?.some((tag) => tag.Key === JOB_TAG_KEY) === true);

      // Assess
      expect(tagged.map((resource) => resource.Type)).toEqual(Array(JOB_NAMES.length).fill('AWS::StepFunctions::StateMachine'));
    });
  });

  describe('outputs', () => {
    it.each([...JOB_NAMES])('outputs the %s machine ARN', (job) => {
      // Assess
      template.hasOutput(`${job}StateMachineArn`, { Value: { Ref: Match.stringLikeRegexp(`^Jobs${job}[0-9A-F]{8}$`) } });
    });
  });
});

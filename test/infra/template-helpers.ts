/** Reading a synthesized EbsCdpStack in the infra tests: the stack, and the IAM statements of its roles. */
import { App, type Environment } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { ProtectionConfig } from '../../infra/config';
import { EbsCdpStack } from '../../infra/ebs-cdp-stack';

export type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown>; Effect: string; Principal?: unknown; Sid?: string };
export type Resource = { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> };

/** The stack with stub task code (definitions only: milliseconds, no bundling); environment-agnostic unless `env` is given. */
export function synth(config: ProtectionConfig, env?: Environment): Template {
  return Template.fromStack(new EbsCdpStack(new App(), 'Test', { taskCode: 'stub', config, env }));
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** Every statement of the policies attached to the role of the function running `taskName`. */
export function statementsOfTask(template: Template, taskName: string): Statement[] {
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const fn = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['ebs-cdp:task'] === taskName);
  const roleRef = (fn?.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === roleRef))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** Every statement of every IAM policy of the stack. */
export function allStatements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** The intrinsics of a DefinitionString, resolved the way a deploy in us-east-1 would. */
export function resolvePart(part: unknown): string {
  if (typeof part === 'string') return part;
  const ref = (part as { Ref?: string }).Ref;
  if (ref === 'AWS::Partition') return 'aws';
  if (ref === 'AWS::Region') return 'us-east-1';
  if (ref === 'AWS::AccountId') return '123456789012';
  if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
  if (ref !== undefined) return ref; // a table name or machine ARN: any string will do for ASL
  return 'arn:aws:states:us-east-1:123456789012:stateMachine:Resolved';
}

/**
 * cdk-nag acknowledgements with their reasons, recorded through CDK's own `Validations` API (what
 * cdk-nag 3 reads), so the stack needs no cdk-nag import: the checks run in the tests and in any
 * app that adds the AwsSolutions plugin.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** The rule pack's prefix in acknowledgement ids. */
const PACK = 'AwsSolutions';

/**
 * Renders a value as cdk-nag names it in a finding: `{ Ref: X }` → `<X>`, `{ Fn::GetAtt: [a, b] }`
 * → `<a.b>`, `Fn::Join` concatenated.
 */
export function nagRendering(scope: IConstruct, value: string): string {
  const render = (resolved: unknown): string => {
    if (typeof resolved === 'string') return resolved;
    if (resolved !== null && typeof resolved === 'object') {
      const record = resolved as Record<string, unknown>;
      if (typeof record.Ref === 'string') return `<${record.Ref}>`;
      const getAtt = record['Fn::GetAtt'];
      if (Array.isArray(getAtt)) return `<${getAtt.map(String).join('.')}>`;
      const join = record['Fn::Join'];
      if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) return join[1].map(render).join(join[0]);
    }
    return JSON.stringify(resolved);
  };
  return render(Stack.of(scope).resolve(value));
}

/** Acknowledges one rule, or one finding of it (`IAM5` + `Resource::*`), on a scope and everything under it. */
export function acknowledge(scope: IConstruct, rule: string, reason: string, finding?: string): void {
  Validations.of(scope).acknowledge({ id: `${PACK}::${PACK}-${rule}${finding === undefined ? '' : `[${finding}]`}`, reason });
}

/**
 * The error registry's rules (STYLE.md, "Typed errors"): every error class declares its stable
 * name once, as a literal equal to its class name, so bundling cannot minify it away; and every
 * name a state machine's Retry/Catch matches on belongs to one of those classes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EbsCdpStack } from '../../../infra/ebs-cdp-stack';
import * as lambdaErrors from '../../../lambdas/errors';
import { definitionsFromTemplate } from '../../../local/stepfunctions/runner';
import * as coreErrors from '../../../shared/core/errors';
import { EbsCdpError, errorNameOf } from '../../../shared/core/errors';
import * as portErrors from '../../../shared/core/ports/errors';
import * as engineErrors from '../../../shared/engine/errors';

const ROOT = path.resolve(__dirname, '../../..');
/** The folders whose code ships or runs as the product (tests and benches may subclass freely). */
const SHIPPED = ['shared', 'lambdas', 'infra', 'cli', 'local'];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

interface DeclaredClass {
  readonly file: string;
  readonly name: string;
  readonly base: string;
  readonly literal?: string;
}

/** Every `class X extends Y {` of the shipped code, with the `errorName` literal its body opens with. */
function declaredClasses(): DeclaredClass[] {
  const classes: DeclaredClass[] = [];
  for (const file of SHIPPED.flatMap((dir) => sourceFiles(path.join(ROOT, dir)))) {
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(/class (\w+) extends (\w+) \{(?:\n\s*static override readonly errorName: string = '(\w+)';)?/g)) {
      classes.push({ file: path.relative(ROOT, file), name: match[1]!, base: match[2]!, literal: match[3] });
    }
  }
  return classes;
}

function errorClassesOf(modules: ReadonlyArray<Record<string, unknown>>): Array<typeof EbsCdpError> {
  return modules
    .flatMap((module) => Object.values(module))
    .filter((value): value is typeof EbsCdpError => typeof value === 'function' && value.prototype instanceof EbsCdpError);
}

describe('error registry', () => {
  it('gives every error class of the shipped code its own errorName literal, equal to its class name', () => {
    // Prepare: the classes that descend from EbsCdpError, followed through their bases by name.
    const classes = declaredClasses();
    const byName = new Map(classes.map((c) => [c.name, c]));
    const descendsFromBase = (c: DeclaredClass): boolean => {
      for (let current: DeclaredClass | undefined = c, depth = 0; current !== undefined && depth < 10; current = byName.get(current.base), depth++) {
        if (current.base === 'EbsCdpError') return true;
      }
      return false;
    };
    const errors = classes.filter(descendsFromBase);

    // Assess
    expect(errors.length).toBeGreaterThan(60);
    expect(errors.filter((c) => c.literal !== c.name).map((c) => `${c.file}: ${c.name} (errorName ${c.literal ?? 'missing'})`)).toEqual([]);
  });

  it('names every instance by its errorName, not by its JavaScript class name', () => {
    // Prepare: a class whose JavaScript name differs from its literal, as a minifier leaves it.
    class l extends EbsCdpError {
      static override readonly errorName: string = 'VolumeBusyError';
    }

    // Act
    const minified = new l('busy');
    const undeclared = new (class LocalOnlyError extends EbsCdpError {})('x');

    // Assess
    expect(minified.name).toBe('VolumeBusyError');
    expect(undeclared.name).toBe('LocalOnlyError');
    expect(errorNameOf(l)).toBe('VolumeBusyError');
  });

  it('keeps every error name unique across the modules whose names the state machines and the CLI match on', () => {
    // Prepare
    const names = errorClassesOf([coreErrors, portErrors, engineErrors, lambdaErrors]).map((c) => c.errorName);

    // Assess
    expect(names.length).toBeGreaterThan(40);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
  });

  it('matches only names of our error classes (or of Step Functions and Lambda) in every Retry and Catch', () => {
    // Prepare
    const template = Template.fromStack(new EbsCdpStack(new App(), 'RegistryEngine', { taskCode: 'stub' }));
    const definitions = Object.values(definitionsFromTemplate(template.toJSON() as never));
    const known = new Set(errorClassesOf([coreErrors, portErrors, engineErrors, lambdaErrors]).map((c) => c.errorName));
    const matched = new Set<string>();
    const visit = (value: unknown): void => {
      if (Array.isArray(value)) return value.forEach(visit);
      if (typeof value !== 'object' || value === null) return;
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'ErrorEquals' && Array.isArray(inner)) inner.forEach((name) => matched.add(String(name)));
        else visit(inner);
      }
    };

    // Act
    definitions.forEach((definition) => visit(definition.definition));
    const ours = [...matched].filter((name) => !name.startsWith('States.') && !name.startsWith('Lambda.'));

    // Assess
    expect(ours.length).toBeGreaterThan(5);
    expect(ours.filter((name) => !known.has(name))).toEqual([]);
  });
});

/**
 * The layer picture of ARCHITECTURE.md ("Layers": imports only point down) is enforced by the
 * ESLint config's `no-restricted-imports` rules. This proves each arrow: an import against it
 * fails lint, an import along it passes, and the tree as it is breaks none.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');

/** Files of each layer, imports they must never make, and one they may. */
const ARROWS: ReadonlyArray<{ file: string; forbidden: string[]; allowed: string }> = [
  { file: 'shared/core/x.ts', forbidden: ['../aws/clients', '../engine/context', '../wiring/engine-context', '../../lambdas/middleware', '@aws-sdk/client-ebs', 'node:fs'], allowed: './delta-map' },
  { file: 'shared/aws/x.ts', forbidden: ['../engine/context', '../wiring/engine-context', '../../lambdas/middleware', '../../infra/app', '../../local/cloud'], allowed: '../core/delta-map' },
  { file: 'shared/aws/chain-store/x.ts', forbidden: ['../../engine/context'], allowed: '../../core/delta-map' },
  { file: 'shared/engine/x.ts', forbidden: ['../aws/chain-store', '../wiring/engine-context', '../../lambdas/middleware', '../../cli/errors', '@aws-sdk/client-ec2'], allowed: '../core/ports/chain-store' },
  { file: 'shared/engine/sync/x.ts', forbidden: ['../../aws/snapshot-reader'], allowed: '../../core/constants' },
  { file: 'shared/wiring/x.ts', forbidden: ['../../lambdas/middleware', '../../infra/app', '../../local/cloud', '../../cli/errors'], allowed: '../aws/chain-store' },
  { file: 'lambdas/x.ts', forbidden: ['../shared/aws/chain-store', '../infra/app', '../local/cloud', '../cli/errors'], allowed: '../shared/wiring/engine-context' },
  { file: 'infra/constructs/x.ts', forbidden: ['../../shared/aws/chain-store', '../../local/cloud', '../../cli/errors', '../../test/setup-env'], allowed: '../../lambdas/task-names' },
  { file: 'local/x.ts', forbidden: ['../cli/errors', '../bench/harness', '../test/setup-env'], allowed: '../shared/wiring/engine-context' },
  { file: 'cli/x.ts', forbidden: ['../bench/harness', '../test/setup-env'], allowed: '../local/cloud' },
];

interface LintAnswer {
  /** The `no-restricted-imports` messages of each snippet, in order. */
  readonly snippets: string[][];
  readonly files: string[];
  readonly fileCount: number;
}

/** Runs the project's ESLint (in a child process: see `lint-imports.mjs`). */
function lint(snippets: ReadonlyArray<{ file: string; code: string }>, files: readonly string[] = []): LintAnswer {
  const output = execFileSync(process.execPath, [path.join(__dirname, 'lint-imports.mjs')], {
    cwd: ROOT,
    input: JSON.stringify({ snippets, files }),
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(output.toString('utf8')) as LintAnswer;
}

describe('layers', () => {
  it('keeps every layer from importing what lies above it, and lets it import what lies below', () => {
    // Prepare
    const snippets = ARROWS.flatMap(({ file, forbidden, allowed }) => [...forbidden, allowed].map((target) => ({ file, code: `import '${target}';\n` })));

    // Act
    const answer = lint(snippets);

    // Assess: one restriction per forbidden import, none for the allowed one.
    const counts = snippets.map((snippet, i) => [snippet.file, snippet.code.trim(), answer.snippets[i]?.length]);
    const expected = ARROWS.flatMap(({ file, forbidden, allowed }) => [
      ...forbidden.map((target) => [file, `import '${target}';`, 1]),
      [file, `import '${allowed}';`, 0],
    ]);
    expect(counts).toEqual(expected);
  });

  it('finds no import against the layers in the tree as it is', () => {
    // Act
    const answer = lint([], ['shared', 'lambdas', 'infra', 'local', 'cli', 'bench']);

    // Assess
    expect(answer.fileCount).toBeGreaterThan(100);
    expect(answer.files).toEqual([]);
  });
});

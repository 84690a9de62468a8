// Lints snippets and files with the project's ESLint config, outside jest: ESLint loads
// eslint.config.mjs with a dynamic import, which jest's CommonJS runtime cannot do.
// stdin: { snippets: [{ file, code }], files: [globs] }; stdout: { snippets: [[message]], files: [message] }.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ESLint } from 'eslint';

const root = process.cwd();
const request = JSON.parse(readFileSync(0, 'utf8'));
const eslint = new ESLint({ cwd: root });
const restricted = (results) => results.flatMap((result) => result.messages
  .filter((m) => m.ruleId === 'no-restricted-imports')
  .map((m) => `${path.relative(root, result.filePath)}:${m.line} ${m.message}`));
const snippets = [];
for (const snippet of request.snippets) {
  snippets.push(restricted(await eslint.lintText(snippet.code, { filePath: path.join(root, snippet.file) })));
}
const linted = request.files.length === 0 ? [] : await eslint.lintFiles(request.files);
process.stdout.write(JSON.stringify({ snippets, files: restricted(linted), fileCount: linted.length }));

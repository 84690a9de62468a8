#!/usr/bin/env node
// The `ebs-cdp` command: runs cli/main.ts through tsx so that the CLI needs no build step.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const tsx = require.resolve('tsx/cli');
const main = path.join(__dirname, '..', 'cli', 'main.ts');
const result = spawnSync(process.execPath, [tsx, main, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);

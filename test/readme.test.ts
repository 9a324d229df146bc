import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { typeErrorsOf } from './helpers/typecheck.js';
import { ALL_ERROR_CODES } from '../src/errors.js';
import { withErrorTable } from '../scripts/readme-error-table.js';

// The README is the contract users read; these checks keep it in step with the code.
const root = fileURLToPath(new URL('..', import.meta.url));
const readme = await readFile(`${root}README.md`, 'utf8');

test('the README error table is the one src/error-codes.ts makes, word for word (scripts/readme-error-table.ts rewrites it)', () => {
  assert.equal(withErrorTable(readme), readme, 'run `node --import tsx scripts/readme-error-table.ts` to update the README');
  const table = readme.slice(readme.indexOf('## Error codes'));
  const rows = [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);
  assert.deepEqual(rows, ALL_ERROR_CODES, 'a row for every code, in table order');
});

test('the README documents every CLI command', async () => {
  const { runCli } = await import('./helpers/cli.js');
  const help = await runCli(['--help']);
  const commands = [...help.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((match) => match[1]).filter((name) => name !== 'help');
  assert.ok(commands.length >= 9, `commands found in --help: ${commands.join(', ')}`);
  for (const command of commands) assert.match(readme, new RegExp(`### \`modelhaul ${command}`), `README has no section for ${command}`);
});

test('CI runs the README quick start commands', async () => {
  const ci = await readFile(`${root}.ci/run`, 'utf8');
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## CLI reference'));
  assert.match(quickStart, /^npm ci && npx modelhaul demo/m);
  assert.match(quickStart, /^npm test/m);
  assert.match(ci, /^npm ci$/m);
  assert.match(ci, /^npm test$/m);
});

test("the README's Electron main process type-checks against Electron's real typings and modelhaul's built types", async () => {
  const section = readme.slice(readme.indexOf('## In an Electron app'), readme.indexOf('## Error codes'));
  const code = /```ts\n(\/\/ main\.ts\n[\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'the section has a main.ts example');
  assert.deepEqual(await typeErrorsOf(`${root}readme-electron-main.mts`, code, { types: ['node'] }), []);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ALL_ERROR_CODES } from '../src/errors.js';

// The README is the contract users read; these checks keep it in step with the code.
const root = fileURLToPath(new URL('..', import.meta.url));
const readme = await readFile(`${root}README.md`, 'utf8');

test('the README error table has a row for every error code, and no code that does not exist', () => {
  const table = readme.slice(readme.indexOf('## Error codes'));
  const rows = [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);
  assert.deepEqual([...rows].sort(), [...ALL_ERROR_CODES].sort());
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
  const { default: ts } = await import('typescript');
  const section = readme.slice(readme.indexOf('## In an Electron app'), readme.indexOf('## Error codes'));
  const code = /```ts\n(\/\/ main\.ts\n[\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'the section has a main.ts example');
  // A file that exists only in memory, inside the package, so that `modelhaul/electron` resolves
  // to this package's own exports (dist/, built by `npm test`).
  const file = `${root}readme-electron-main.mts`;
  const options = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  };
  const host = ts.createCompilerHost(options);
  const disk = ts.createCompilerHost(options);
  host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, code, language) : disk.getSourceFile(name, language, ...rest));
  host.fileExists = (name) => name === file || disk.fileExists(name);
  host.readFile = (name) => (name === file ? code : disk.readFile(name));
  const diagnostics = ts.getPreEmitDiagnostics(ts.createProgram([file], options, host));
  assert.deepEqual(
    diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    [],
  );
});

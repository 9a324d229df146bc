// The CLI's front door: --help with examples for every command, friendly messages (and exit 2)
// for an unknown command or flag, --version, and `bundles`. All through the built CLI.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { BUILTIN_BUNDLES } from '../src/manifest/bundles.js';

/** The command names listed under "Commands:" in a help page, without `help` itself. */
function listedCommands(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1]?.split(/^\S/m)[0] ?? '';
  return [...section.matchAll(/^ {2}(\S+)/gm)].map((match) => match[1]!).filter((name) => name !== 'help');
}

function stackTraceLines(text: string): string[] {
  return text.split('\n').filter((line) => /^\s+at /.test(line));
}

test('every command, nested ones included, has --help with an Examples section that uses it', async () => {
  const root = await runCli(['--help']);
  assert.equal(root.code, 0, root.stderr);
  assert.match(root.stdout, /^Examples:$/m);
  const commands = listedCommands(root.stdout);
  for (const expected of ['install', 'status', 'verify', 'bundles', 'gc', 'remove', 'import', 'manifest']) {
    assert.ok(commands.includes(expected), `${expected} is not listed in modelhaul --help: ${commands.join(', ')}`);
  }
  const manifest = await runCli(['manifest', '--help']);
  const paths = [...commands.map((name) => [name]), ...listedCommands(manifest.stdout).map((name) => ['manifest', name])];
  assert.ok(paths.some((p) => p.join(' ') === 'manifest add') && paths.some((p) => p.join(' ') === 'manifest check'));

  for (const path of paths) {
    const help = await runCli([...path, '--help']);
    const name = `modelhaul ${path.join(' ')}`;
    assert.equal(help.code, 0, `${name} --help exited ${help.code}: ${help.stderr}`);
    assert.match(help.stdout, new RegExp(`^Usage: ${name}\\b`, 'm'), `${name} --help shows no usage line`);
    const examples = help.stdout.split(/^Examples:$/m)[1];
    assert.ok(examples !== undefined, `${name} --help has no Examples section`);
    assert.match(examples, new RegExp(`^ {2}\\$ .*${name}\\b`, 'm'), `the examples of ${name} do not use it`);
  }
});

test('an unknown command exits 2 with a suggestion and the list of commands, and no stack trace', async () => {
  const typo = await runCli(['instal']);
  assert.equal(typo.code, 2);
  assert.equal(typo.stdout, '');
  assert.match(typo.stderr, /unknown command 'instal'/);
  assert.match(typo.stderr, /Did you mean install\?/);
  assert.match(typo.stderr, /commands: install, status, verify, .*gc, remove, import, manifest/);
  assert.deepEqual(stackTraceLines(typo.stderr), []);

  const nested = await runCli(['manifest', 'chek', 'x.json']);
  assert.equal(nested.code, 2);
  assert.match(nested.stderr, /Did you mean check\?/);
});

test('an unknown or misspelt flag exits 2, suggests the right one and points at the command\'s help', async () => {
  const typo = await runCli(['gc', '--yess']);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown option '--yess'/);
  assert.match(typo.stderr, /Did you mean --yes\?/);
  assert.match(typo.stderr, /run "modelhaul gc --help"/);

  const nested = await runCli(['manifest', 'add', 'https://example.com/a.gguf', '-m', 'x.json', '--lable', 'A']);
  assert.equal(nested.code, 2);
  assert.match(nested.stderr, /Did you mean --label\?/);
  assert.match(nested.stderr, /run "modelhaul manifest add --help"/);

  const missing = await runCli(['import', 'file.bin']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /required option '--id <id>' not specified/);
  for (const result of [typo, nested, missing]) assert.deepEqual(stackTraceLines(result.stderr), []);
});

test('--version prints the package version', async () => {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const result = await runCli([flag]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${pkg.version}\n`);
  }
});

test('bundles lists each built-in bundle with its artifacts, kinds, labels and total size', async () => {
  const json = await runCli(['bundles', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const event = json.events.find((e) => e.event === 'bundles') as
    | { default: string; bundles: Array<{ name: string; artifactCount: number; totalSize: number; artifacts: Array<{ id: string; kind: string; label: string; size: number }> }> }
    | undefined;
  assert.ok(event);
  assert.equal(event.default, 'voice-assistant');
  assert.deepEqual(
    event.bundles.map((b) => b.name),
    Object.keys(BUILTIN_BUNDLES),
  );
  for (const bundle of event.bundles) {
    const manifest = BUILTIN_BUNDLES[bundle.name]!;
    assert.equal(bundle.artifactCount, manifest.artifacts.length);
    assert.equal(bundle.totalSize, manifest.artifacts.reduce((sum, a) => sum + a.size, 0));
    assert.deepEqual(bundle.artifacts.map((a) => [a.id, a.kind, a.label, a.size]), manifest.artifacts.map((a) => [a.id, a.kind, a.label, a.size]));
  }
  assert.equal(event.bundles[0]?.totalSize, 147964211 + 491400032 + 63201294 + 4885);

  const text = await runCli(['bundles']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^voice-assistant \(default\) {2}4 artifacts, 703 MB$/m);
  assert.match(text.stdout, /^voice-assistant-lite {2}4 artifacts, 632 MB$/m);
  assert.match(text.stdout, /^ {2}stt +Speech recognition \(Whisper tiny\.en\) +77\.7 MB +stt-whisper-tiny-en$/m);
  assert.match(text.stdout, /^ {2}llm +Language model \(Qwen2\.5 0\.5B Instruct, Q4_K_M\) +491 MB +llm-qwen2\.5-0\.5b-instruct-q4km$/m);
});

// Every command maps an interruption the same way (README: 130 for SIGINT, 143 for SIGTERM, with
// what is kept said plainly), because the CLI handles signals in one place (src/cli/interruption.ts).
//
// Each command gets a real signal from the kernel at a moment that does not depend on timing: a
// module preloaded through NODE_OPTIONS makes the CLI process send the signal to itself as soon as
// the CLI starts listening for it, so it arrives while the command runs. The longer commands are
// also interrupted from outside, mid-work, elsewhere: install (test/resume-process.test.ts), verify
// (test/store-and-status.test.ts), the lock wait (test/lock-process.test.ts), the demo
// (test/demo.test.ts), and `manifest add` mid-download below.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, after, test } from 'node:test';
import { runCli, spawnCli, waitForExit, writeManifest } from './helpers/cli.js';
import { makeContent } from './helpers/content.js';
import { stackTraceLines, waitUntil } from './helpers/install-dir.js';
import { startOrigin, type Origin } from './helpers/origin.js';
import { jsonInstallArgs, serveArtifact } from './helpers/served-artifact.js';
import { makeTempDir, removeTempDir } from './helpers/tmp.js';

const SIGNAL_WHEN_LISTENING = `
const name = process.env.MODELHAUL_TEST_SIGNAL;
let sent = false;
for (const method of ['on', 'addListener']) {
  const original = process[method];
  process[method] = function (event, listener) {
    const result = original.call(this, event, listener);
    if (!sent && event === name) {
      sent = true;
      process.kill(process.pid, name);
    }
    return result;
  };
}
`;

let origin: Origin;
let work: string;
let preload: string;
let manifest: string;
let dir: string;
let copy: string;
const body = makeContent(256 * 1024, 1);

before(async () => {
  origin = await startOrigin();
  work = await makeTempDir('interrupt');
  preload = join(work, 'signal-when-listening.mjs');
  await writeFile(preload, SIGNAL_WHEN_LISTENING);
  manifest = await writeManifest(work, [serveArtifact(origin, 'a', body)]);
  dir = join(work, 'models');
  copy = join(work, 'a-copy.bin');
  await writeFile(copy, body);
  const installed = await runCli(jsonInstallArgs(manifest, dir));
  assert.equal(installed.code, 0, installed.stderr);
});

after(async () => {
  await origin.close();
  await removeTempDir(work);
});

/** Every command, with arguments that make it do its real work. */
const commands: Record<string, () => string[]> = {
  install: () => ['install', '--manifest', manifest, '--dir', join(work, 'fresh')],
  status: () => ['status', '--manifest', manifest, '--dir', dir],
  verify: () => ['verify', '--manifest', manifest, '--dir', dir],
  gc: () => ['gc', '--manifest', manifest, '--dir', dir, '--yes'],
  remove: () => ['remove', 'a', '--manifest', manifest, '--dir', join(work, 'fresh')],
  import: () => ['import', copy, '--id', 'a', '--manifest', manifest, '--dir', join(work, 'imported')],
  'manifest add': () => ['manifest', 'add', origin.url('/a.bin'), '-m', join(work, 'added.json')],
  'manifest check': () => ['manifest', 'check', manifest],
  bundles: () => ['bundles'],
  demo: () => ['demo'],
  // Nothing listens on port 9 of loopback: each stops at its first step whatever that step does.
  push: () => ['push', 'oci://127.0.0.1:9/models/interrupted:1', '--manifest', manifest, '--dir', dir],
  logout: () => ['logout', '127.0.0.1:9'],
};

for (const [name, args] of Object.entries(commands)) {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    test(`${name}, interrupted by ${signal}, exits ${code} without a stack trace`, async () => {
      const result = await runCli(args(), {
        env: { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`, MODELHAUL_TEST_SIGNAL: signal },
      });
      assert.equal(result.signal, null, `ended by its own exit code, not killed by ${signal}`);
      assert.equal(result.code, code, result.stderr);
      assert.deepEqual(stackTraceLines(result.stderr), []);
      assert.doesNotMatch(result.stderr, /Unexpected error/);
    });
  }
}

test('manifest add interrupted mid-download exits 130 saying the manifest is unchanged, not what an install keeps', async () => {
  let release = (): void => undefined;
  origin.script('/a.bin', { kind: 'hold', until: new Promise<void>((resolve) => (release = resolve)) });
  const target = join(work, 'held.json');
  const earlier = origin.requestsFor('/a.bin').length;
  const child = spawnCli(['manifest', 'add', origin.url('/a.bin'), '-m', target]);
  try {
    // The response head is out and its body held: the command is downloading the file to hash it.
    await waitUntil(() => Promise.resolve(origin.requestsFor('/a.bin')[earlier]?.status === 200 ? true : undefined), 'the download to start');
    child.kill('SIGINT');
    const result = await waitForExit(child);
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /interrupted by SIGINT/);
    assert.match(result.stderr, /manifest was not changed/);
    assert.doesNotMatch(result.stderr, /downloaded bytes are kept/);
  } finally {
    release();
    origin.clear('/a.bin');
  }
});

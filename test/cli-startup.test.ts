// Each command loads only what it needs: `--help` and `status` must not pay for undici, log-update
// or the install engine (the `status` goal is 150 ms, Node's own start-up included, and loading
// everything took twice that). Timing is too noisy to test; which packages a run loads is not.
// A module hook, preloaded through NODE_OPTIONS, records every module the built CLI loads.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test, type TestContext } from 'node:test';
import { runCli, writeManifest, type CliResult } from './helpers/cli.js';
import { makeContent } from './helpers/content.js';
import { serveArtifact } from './helpers/served-artifact.js';
import { startOrigin } from './helpers/origin.js';
import { useTempDir } from './helpers/tmp.js';

// Hooks run on a thread of their own in Node 20+; appending to a file is simplest and safe there.
const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, nextLoad) {
  appendFileSync(process.env.MODELHAUL_TEST_MODULE_LOG, url + '\\n');
  return nextLoad(url, context);
}
`;
const REGISTER = `
import { register } from 'node:module';
register('./hooks.mjs', import.meta.url);
`;

interface TracedRun {
  result: CliResult;
  /** The npm packages the run loaded, by name. */
  packages: Set<string>;
}

async function runTraced(t: TestContext, args: string[]): Promise<TracedRun> {
  const work = await useTempDir(t, 'startup');
  await writeFile(join(work, 'hooks.mjs'), HOOKS);
  await writeFile(join(work, 'register.mjs'), REGISTER);
  const log = join(work, 'modules.log');
  await writeFile(log, '');
  const result = await runCli(args, {
    env: { NODE_OPTIONS: `--import=${pathToFileURL(join(work, 'register.mjs')).href}`, MODELHAUL_TEST_MODULE_LOG: log },
  });
  const urls = (await readFile(log, 'utf8')).split('\n').filter((line) => line !== '');
  assert.ok(urls.some((url) => url.endsWith('/cli/main.js')), `the module hook saw no CLI module: ${urls.join(', ')}`);
  const packages = new Set(urls.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []));
  return { result, packages };
}

function assertOnlyPackages(run: TracedRun, allowed: readonly string[], what: string): void {
  const extra = [...run.packages].filter((name) => !allowed.includes(name));
  assert.deepEqual(extra, [], `${what} loaded ${extra.join(', ')}; it needs only ${allowed.join(', ')}`);
}

test('--help loads commander and no other package', async (t) => {
  const run = await runTraced(t, ['--help']);
  assert.equal(run.result.code, 0, run.result.stderr);
  assert.match(run.result.stdout, /^Usage: modelhaul/m);
  assertOnlyPackages(run, ['commander'], 'modelhaul --help');
});

test('status of an installed bundle loads neither the network stack nor the terminal display', async (t) => {
  const { manifest, dir } = await servedBundle(t);
  const install = await runCli(['install', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal(install.code, 0, install.stderr);
  const run = await runTraced(t, ['status', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal(run.result.code, 0, run.result.stderr);
  assert.equal(run.result.events[0]?.complete, true, run.result.stdout);
  // zod validates the manifest and the install records; env-paths (with is-safe-filename) finds the default dir.
  assertOnlyPackages(run, ['commander', 'zod', 'env-paths', 'is-safe-filename'], 'modelhaul status');
});

test('install --json loads the engine but not the live display', async (t) => {
  const { manifest, dir } = await servedBundle(t);
  const run = await runTraced(t, ['install', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal(run.result.code, 0, run.result.stderr);
  assert.ok(run.packages.has('undici'), `install did not load undici: ${[...run.packages].join(', ')}`);
  assert.ok(!run.packages.has('log-update'), 'install --json loaded log-update, which only the terminal display uses');
});

/** A one-artifact manifest served by a local origin, and an install dir for it. */
async function servedBundle(t: TestContext): Promise<{ manifest: string; dir: string }> {
  const origin = await startOrigin();
  t.after(() => origin.close());
  const work = await useTempDir(t, 'startup-bundle');
  const manifest = await writeManifest(work, [serveArtifact(origin, 'model', makeContent(64 * 1024, 1))]);
  return { manifest, dir: join(work, 'models') };
}

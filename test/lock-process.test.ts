// One writer per install dir, between real processes: a lock left by a SIGKILLed process is taken
// over at once, processes started together take turns and download each byte once, a lock held
// on another host is reported with the file to delete, and a signal ends a wait cleanly.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli, spawnCli, waitForEvent, waitForExit, writeManifest, type CliEvent, type CliResult, type ManifestArtifact } from './helpers/cli.js';
import { makeContent } from './helpers/content.js';
import { dirPaths, stackTraceLines } from './helpers/install-dir.js';
import { jsonInstallArgs, pathExists, serveArtifact } from './helpers/served-artifact.js';
import { startOrigin, type Origin } from './helpers/origin.js';
import { useTempDir } from './helpers/tmp.js';

const MiB = 1024 * 1024;

interface Bundle {
  origin: Origin;
  work: string;
  dir: string;
  manifest: string;
  bodies: Map<string, Buffer>;
  artifacts: ManifestArtifact[];
  totalBytes: number;
}

async function bundle(t: TestContext, prefix: string, sizes: number[], throttle?: number): Promise<Bundle> {
  const origin = await startOrigin(throttle === undefined ? {} : { throttleBytesPerSecond: throttle });
  t.after(() => origin.close());
  const work = await useTempDir(t, prefix);
  const bodies = new Map<string, Buffer>();
  const artifacts = sizes.map((size, index) => {
    const body = makeContent(size, 40 + index);
    bodies.set(`part${index}`, body);
    return serveArtifact(origin, `part${index}`, body);
  });
  const manifest = await writeManifest(work, artifacts);
  return { origin, work, dir: join(work, 'models'), manifest, bodies, artifacts, totalBytes: sizes.reduce((a, b) => a + b, 0) };
}

async function assertInstalled(b: Bundle): Promise<void> {
  for (const artifact of b.artifacts) {
    assert.ok((await readFile(join(b.dir, ...artifact.path.split('/')))).equals(b.bodies.get(artifact.id)!), `${artifact.id} is correct`);
  }
  assert.equal(await pathExists(dirPaths(b.dir).lock), false, 'the lock is released');
}

function named(result: CliResult, name: string): CliEvent[] {
  return result.events.filter((event) => event.event === name);
}

function describeRun(result: CliResult): string {
  return `exit ${result.code ?? result.signal}: ${result.stderr}${JSON.stringify(result.events.filter((e) => e.event !== 'progress'))}`;
}

/** Milliseconds from spawning an install to its `plan` event: the lock is taken just before. */
async function timeToPlan(child: ReturnType<typeof spawnCli>): Promise<number> {
  const started = performance.now();
  await waitForEvent(child, (event) => event.event === 'plan', 20_000);
  return performance.now() - started;
}

test('a lock left by a SIGKILLed install is taken over at once by the next process', async (t) => {
  const b = await bundle(t, 'lock-stale', [4 * MiB], 2_000_000);
  const first = spawnCli(jsonInstallArgs(b.manifest, b.dir));
  t.after(() => first.kill('SIGKILL'));
  // How long start-up takes on this machine right now, with no lock in the way.
  const baselineMs = await timeToPlan(first);
  await waitForEvent(first, (event) => event.event === 'start');
  first.kill('SIGKILL');
  await waitForExit(first);
  const lock = JSON.parse(await readFile(dirPaths(b.dir).lock, 'utf8')) as { pid: number };
  assert.equal(lock.pid, first.pid, 'SIGKILL leaves the lock file behind');

  const second = spawnCli(jsonInstallArgs(b.manifest, b.dir));
  t.after(() => second.kill('SIGKILL'));
  const tookMs = await timeToPlan(second);
  const result = await waitForExit(second);
  assert.equal(result.code, 0, describeRun(result));
  assert.equal(named(result, 'lock-wait').length, 0, 'a dead holder is not waited for');
  // Waiting out a grace period or a poll timeout would add seconds to start-up.
  assert.ok(tookMs < baselineMs + 2000, `the stale lock was taken over after ${Math.round(tookMs)} ms (start-up alone: ${Math.round(baselineMs)} ms)`);
  await assertInstalled(b);
});

/** A gate for the origin's `hold` fault: the held response sends its body once `open()` is called. */
function gate(t: TestContext): { until: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const until = new Promise<void>((resolve) => (open = resolve));
  t.after(() => open());
  return { until, open };
}

// The holder's download is held at the origin until the others have shown that they wait, so the
// overlap does not depend on how fast four Node processes start on a loaded machine. The stall
// timeout is raised so that the hold is not taken for a stalled connection.
const PATIENT = ['--stall-timeout', '60'];

test('two processes started on one dir take turns: the second waits, then finds everything installed', async (t) => {
  const b = await bundle(t, 'lock-two', [2 * MiB, 1 * MiB]);
  const held = gate(t);
  b.origin.script('/part0.bin', { kind: 'hold', until: held.until });
  const first = spawnCli(jsonInstallArgs(b.manifest, b.dir, ...PATIENT));
  t.after(() => first.kill('SIGKILL'));
  // The lock is taken before the plan is made: from here on the first process holds it.
  await waitForEvent(first, (event) => event.event === 'plan');
  const second = spawnCli(jsonInstallArgs(b.manifest, b.dir, ...PATIENT));
  t.after(() => second.kill('SIGKILL'));
  const wait = await waitForEvent(second, (event) => event.event === 'lock-wait');
  held.open();

  const [one, two] = await Promise.all([waitForExit(first), waitForExit(second)]);
  assert.equal(one.code, 0, describeRun(one));
  assert.equal(two.code, 0, describeRun(two));
  assert.equal((wait.holder as { pid: number }).pid, first.pid);
  assert.equal(wait.lockPath, dirPaths(b.dir).lock);
  assert.deepEqual(named(two, 'skipped').map((e) => e.reason), ['already-installed', 'already-installed']);
  assert.equal(named(two, 'start').length, 0);
  assert.equal(b.origin.bytesSent(), b.totalBytes, 'each byte was downloaded once');
  await assertInstalled(b);
});

test('four processes started at the same moment all succeed and the bundle is downloaded about once', async (t) => {
  const b = await bundle(t, 'lock-four', [2 * MiB, 2 * MiB, 512 * 1024]);
  const held = gate(t);
  b.origin.script('/part0.bin', { kind: 'hold', until: held.until });
  const children = Array.from({ length: 4 }, () => spawnCli(jsonInstallArgs(b.manifest, b.dir, ...PATIENT)));
  for (const child of children) t.after(() => child.kill('SIGKILL'));
  // Whoever got the lock is stuck on the held request; the three others must all be waiting.
  const waitingFor = await Promise.any(
    children.map((child, index) =>
      Promise.all(children.filter((_, other) => other !== index).map((waiter) => waitForEvent(waiter, (event) => event.event === 'lock-wait'))).then(
        (waits) => ({ holder: child, waits }),
      ),
    ),
  );
  for (const wait of waitingFor.waits) assert.equal((wait.holder as { pid: number }).pid, waitingFor.holder.pid);
  held.open();

  const results = await Promise.all(children.map((child) => waitForExit(child)));
  for (const result of results) assert.equal(result.code, 0, describeRun(result));
  const downloaders = results.filter((result) => named(result, 'installed').length > 0);
  assert.equal(downloaders.length, 1, 'one process downloaded, the others found the work done');
  assert.equal(named(downloaders[0]!, 'lock-wait').length, 0);
  for (const result of results) {
    if (result !== downloaders[0]) assert.equal(named(result, 'skipped').length, b.artifacts.length, describeRun(result));
  }
  // A little slack for a byte range asked twice; a second download of the bundle would double it.
  assert.ok(b.origin.bytesSent() <= b.totalBytes * 1.05, `${b.origin.bytesSent()} bytes sent for a ${b.totalBytes}-byte bundle`);
  await assertInstalled(b);
});

async function plantForeignLock(dir: string): Promise<{ path: string; content: string }> {
  const paths = dirPaths(dir);
  await mkdir(paths.privateDir, { recursive: true });
  // pid 1 is alive here, which must not matter: a pid names nothing on another host.
  const content = `${JSON.stringify({ pid: 1, hostname: 'build-box.elsewhere.example', startedAt: new Date().toISOString(), tool: 'modelhaul' })}\n`;
  await writeFile(paths.lock, content);
  return { path: paths.lock, content };
}

test('a lock held on another host: --lock-timeout 1 fails with LOCKED and a hint naming the lock file, lock untouched', async (t) => {
  const b = await bundle(t, 'lock-foreign', [64 * 1024]);
  const lock = await plantForeignLock(b.dir);

  const started = performance.now();
  const json = await runCli(jsonInstallArgs(b.manifest, b.dir, '--lock-timeout', '1'));
  const tookMs = performance.now() - started;
  assert.equal(json.code, 1, describeRun(json));
  assert.ok(tookMs < 5000, `gave up after ${Math.round(tookMs)} ms`);
  const error = named(json, 'error')[0];
  assert.equal(error?.code, 'LOCKED', json.stdout);
  assert.ok(String(error?.hint).includes(lock.path), `the hint names the lock file: ${String(error?.hint)}`);
  assert.match(String(error?.message), /build-box\.elsewhere\.example/);
  assert.equal(named(json, 'lock-wait').length, 1);

  const text = await runCli(['install', '--manifest', b.manifest, '--dir', b.dir, '--lock-timeout', '0.5']);
  assert.equal(text.code, 1);
  assert.match(text.stderr, /LOCKED/);
  const hint = text.stderr.split('\n').find((line) => line.includes('hint:')) ?? '';
  assert.ok(hint.includes(lock.path), `a person sees the lock file in the hint: ${text.stderr}`);
  assert.deepEqual(stackTraceLines(text.stderr), []);

  assert.equal(await readFile(lock.path, 'utf8'), lock.content, 'another host’s lock is never removed');
  assert.equal(b.origin.requests.length, 0);
});

test('SIGINT while waiting for the lock exits 130 at once and leaves the holder’s lock alone', async (t) => {
  const b = await bundle(t, 'lock-wait-sigint', [64 * 1024]);
  const lock = await plantForeignLock(b.dir);
  const child = spawnCli(jsonInstallArgs(b.manifest, b.dir));
  t.after(() => child.kill('SIGKILL'));
  await waitForEvent(child, (event) => event.event === 'lock-wait');
  const stopAt = performance.now();
  child.kill('SIGINT');
  const result = await waitForExit(child);
  assert.equal(result.code, 130, describeRun(result));
  assert.ok(performance.now() - stopAt < 3000, 'the wait ends promptly');
  assert.equal(await readFile(lock.path, 'utf8'), lock.content);
  assert.equal(b.origin.requests.length, 0);
});

test('a process waiting for the lock takes it over as soon as the holder is SIGKILLed, and finishes the job', async (t) => {
  const b = await bundle(t, 'lock-holder-dies', [2 * MiB, 1 * MiB]);
  const held = gate(t);
  b.origin.script('/part0.bin', { kind: 'hold', until: held.until });
  const holder = spawnCli(jsonInstallArgs(b.manifest, b.dir, ...PATIENT));
  t.after(() => holder.kill('SIGKILL'));
  await waitForEvent(holder, (event) => event.event === 'plan');
  const waiter = spawnCli(jsonInstallArgs(b.manifest, b.dir, ...PATIENT));
  t.after(() => waiter.kill('SIGKILL'));
  await waitForEvent(waiter, (event) => event.event === 'lock-wait');

  holder.kill('SIGKILL');
  await waitForExit(holder);
  const killedAt = performance.now();
  await waitForEvent(waiter, (event) => event.event === 'plan', 10_000);
  // One poll of the lock (250 ms) and a takeover; a timeout would be tens of seconds.
  assert.ok(performance.now() - killedAt < 2500, `took over after ${Math.round(performance.now() - killedAt)} ms`);
  const result = await waitForExit(waiter);
  assert.equal(result.code, 0, describeRun(result));
  await assertInstalled(b);
});

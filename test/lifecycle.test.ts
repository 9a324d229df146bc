// The model lifecycle with the real engine against the misbehaving origin: what an app sees and
// what reaches the disk and the wire when a person pauses, the network goes away, the laptop wakes
// from sleep, and one capability is ready before another.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { InstallError, LifecycleSnapshot } from '../src/index.js';
import { makeContent } from './helpers/content.js';
import { dirPaths, readResumeRecord, recordedBytes, waitUntil } from './helpers/install-dir.js';
import { useOrigin } from './helpers/install-run.js';
import { FakeNetwork, FakePower, manifestOf, useLifecycle } from './helpers/lifecycle.js';
import { pathExists, serveArtifact } from './helpers/served-artifact.js';
import { useTempDir } from './helpers/tmp.js';

const MiB = 1024 * 1024;
/** Fast retries, so that a test never waits out the real backoff. */
const QUICK = { retryBaseDelayMs: 20, retryDelay: () => 30 } as const;

/** Resolves once no install holds the dir: the run has stopped and checkpointed what it had. */
async function runStopped(dir: string): Promise<void> {
  await waitUntil(async () => ((await pathExists(dirPaths(dir).lock)) ? undefined : true), 'the install lock to be released');
}

/** Bytes the resume record of `id` vouches for, once there is one. */
async function durableBytes(dir: string, id: string): Promise<number> {
  const record = await waitUntil(() => readResumeRecord(dirPaths(dir).resumeRecord(id)), `a resume record of ${id}`);
  return recordedBytes(record);
}

test('a lifecycle reads the disk, waits in missing, and two start() calls make one install that ends ready', async (t) => {
  const origin = await useOrigin(t);
  const body = makeContent(600_000, 1);
  const model = serveArtifact(origin, 'model', body, { kind: 'stt' });
  const dir = join(await useTempDir(t, 'lc-start'), 'models');
  const watched = useLifecycle(t, { manifest: manifestOf(model), dir, ...QUICK });

  assert.equal(watched.lifecycle.getSnapshot().phase, 'checking', 'the first phase of every lifecycle');
  const missing = await watched.until((s) => s.phase === 'missing', 'missing');
  assert.equal(missing.total, body.length);
  assert.equal(missing.artifacts[0]?.state, 'missing');
  assert.equal(missing.capabilities.stt.ready, false);
  assert.ok(missing.freeBytes !== null && missing.freeBytes > 0, 'free space is known before starting');
  assert.equal(origin.requests.length, 0, 'checking is metadata only');

  watched.lifecycle.start();
  watched.lifecycle.start();
  const ready = await watched.lifecycle.whenReady();
  await watched.until((s) => s.phase === 'ready', 'ready');
  assert.equal(origin.requestsFor('/model.bin').length, 1, 'one install, one request');
  assert.equal(ready.capabilities.stt.ready, true);
  assert.ok((await readFile(join(dir, model.path))).equals(body));
  const final = watched.lifecycle.getSnapshot();
  assert.equal(final.bytes, body.length);
  assert.equal(final.bytesRemaining, 0);
  assert.equal(final.artifacts[0]?.state, 'installed');
  assert.deepEqual(watched.phases().slice(-3), ['downloading', 'verifying', 'ready']);

  for (const snapshot of watched.snapshots) {
    assert.ok(Object.isFrozen(snapshot) && Object.isFrozen(snapshot.artifacts[0]), 'listeners share a frozen snapshot');
    assert.deepEqual(structuredClone(snapshot), snapshot, 'a snapshot survives structured cloning unchanged');
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot, 'and JSON');
  }
  const sequences = watched.snapshots.map((s) => s.sequence);
  assert.deepEqual(sequences, [...sequences].sort((a, b) => a - b), 'sequence only grows');

  // A second lifecycle on the same dir finds everything in place without a request.
  const again = useLifecycle(t, { manifest: manifestOf(model), dir });
  await again.until((s) => s.phase === 'ready', 'ready from the disk alone');
  assert.equal(origin.requestsFor('/model.bin').length, 1);
});

test('pause keeps every byte: nothing moves while paused, and resume goes on with a Range request from the bytes on disk', async (t) => {
  const origin = await useOrigin(t, { throttleBytesPerSecond: 2 * MiB });
  const body = makeContent(3 * MiB, 2);
  const model = serveArtifact(origin, 'model', body);
  const dir = join(await useTempDir(t, 'lc-pause'), 'models');
  const watched = useLifecycle(t, { manifest: manifestOf(model), dir, connections: 1, ...QUICK });
  await watched.until((s) => s.phase === 'missing', 'missing');

  watched.lifecycle.start();
  await watched.until((s) => s.bytes >= 512 * 1024, 'half a megabyte');
  watched.lifecycle.pause();
  assert.equal(watched.lifecycle.getSnapshot().phase, 'paused', 'paused at once');
  await runStopped(dir);
  const kept = await durableBytes(dir, 'model');
  assert.ok(kept >= 512 * 1024, `the bytes that arrived are on disk (${kept})`);
  const paused = await watched.until((s) => s.phase === 'paused' && s.bytes === kept, 'the paused snapshot to show the kept bytes');
  assert.equal(paused.artifacts[0]?.state, 'partial');
  assert.equal(paused.bytesPerSecond, 0);
  assert.equal(paused.etaSeconds, null);

  const requestsWhilePaused = origin.requests.length;
  await delay(400);
  assert.equal(origin.requests.length, requestsWhilePaused, 'no request while paused');
  assert.equal(await durableBytes(dir, 'model'), kept, 'and no byte moved');
  watched.lifecycle.start();
  watched.lifecycle.retry();
  assert.equal(watched.lifecycle.getSnapshot().phase, 'paused', 'start and retry do not apply to paused');

  watched.lifecycle.resume();
  await watched.until((s) => s.phase === 'ready', 'ready');
  const requests = origin.requestsFor('/model.bin');
  assert.equal(requests.length, 2);
  assert.equal(requests[1]?.range, `bytes=${kept}-`, 'resumed from the bytes on disk');
  assert.ok(requests[1]?.ifRange, 'with a validator');
  assert.equal(requests[1]?.bytesSent, body.length - kept, 'and only the rest came over the wire');
  assert.ok((await readFile(join(dir, model.path))).equals(body));
});

test('cancel goes back to missing and keeps the bytes for the next start', async (t) => {
  const origin = await useOrigin(t, { throttleBytesPerSecond: 2 * MiB });
  const body = makeContent(3 * MiB, 3);
  const model = serveArtifact(origin, 'model', body);
  const dir = join(await useTempDir(t, 'lc-cancel'), 'models');
  const watched = useLifecycle(t, { manifest: manifestOf(model), dir, connections: 1, ...QUICK });
  watched.lifecycle.start(); // while checking: starts once the check is done
  await watched.until((s) => s.bytes >= 256 * 1024, 'a quarter megabyte');
  watched.lifecycle.cancel();
  assert.equal(watched.lifecycle.getSnapshot().phase, 'missing');
  await runStopped(dir);
  const kept = await durableBytes(dir, 'model');
  const cancelled = await watched.until((s) => s.bytes === kept, 'the kept bytes');
  assert.equal(cancelled.phase, 'missing');
  assert.equal(cancelled.artifacts[0]?.state, 'partial');

  watched.lifecycle.start();
  await watched.until((s) => s.phase === 'ready', 'ready');
  assert.equal(origin.requestsFor('/model.bin').at(-1)?.range, `bytes=${kept}-`);
});

test('offline stops the download at once and spends no retry; back online it resumes by itself from the bytes on disk', async (t) => {
  const origin = await useOrigin(t, { throttleBytesPerSecond: 2 * MiB });
  const body = makeContent(3 * MiB, 4);
  const model = serveArtifact(origin, 'model', body);
  const dir = join(await useTempDir(t, 'lc-offline'), 'models');
  const network = new FakeNetwork();
  const watched = useLifecycle(t, { manifest: manifestOf(model), dir, connections: 1, ...QUICK, ...network.inputs });
  await watched.until((s) => s.phase === 'missing', 'missing');

  watched.lifecycle.start();
  await watched.until((s) => s.bytes >= 256 * 1024, 'a quarter megabyte');
  network.set(false);
  const offline = watched.lifecycle.getSnapshot();
  assert.equal(offline.phase, 'offline', 'offline at once');
  assert.equal(offline.online, false);
  assert.equal(offline.attempt, 0);
  assert.equal(offline.error, null);
  assert.equal(offline.nextRetryAt, null);
  await runStopped(dir);
  const kept = await durableBytes(dir, 'model');

  const requestsWhileOffline = origin.requests.length;
  await delay(300); // ten times the retry delay
  assert.equal(origin.requests.length, requestsWhileOffline, 'nothing is tried while offline');
  assert.equal(watched.lifecycle.getSnapshot().phase, 'offline');

  network.set(true);
  assert.equal(watched.lifecycle.getSnapshot().phase, 'downloading', 'back online, at once');
  await watched.until((s) => s.phase === 'ready', 'ready');
  assert.equal(origin.requestsFor('/model.bin').at(-1)?.range, `bytes=${kept}-`);
  assert.ok(watched.snapshots.every((s) => s.attempt === 0 && s.phase !== 'retry-wait'), 'not a single retry was spent');
});

test('a connection lost while isOnline() already says offline costs no retry either', async (t) => {
  const origin = await useOrigin(t);
  const body = makeContent(1 * MiB, 5);
  const model = serveArtifact(origin, 'model', body);
  origin.script('/model.bin', { kind: 'stall', afterBytes: 100_000 });
  const dir = join(await useTempDir(t, 'lc-offline-failure'), 'models');
  const network = new FakeNetwork();
  const watched = useLifecycle(t, {
    manifest: manifestOf(model),
    dir,
    connections: 1,
    retries: 0,
    stallTimeoutMs: 400,
    ...QUICK,
    ...network.inputs,
  });
  watched.lifecycle.start();
  await watched.until((s) => s.bytes >= 100_000, 'the bytes before the stall');
  // The operating system has noticed, but its notification has not arrived when the stall ends the run.
  network.set(false, { notify: false });
  const offline = await watched.until((s) => s.phase !== 'downloading' && s.phase !== 'verifying', 'the run to end');
  assert.equal(offline.phase, 'offline');
  assert.equal(offline.attempt, 0);
  network.set(true);
  await watched.until((s) => s.phase === 'ready', 'ready');
  assert.ok(watched.snapshots.every((s) => s.attempt === 0), 'no attempt counted');
  assert.equal(origin.requestsFor('/model.bin')[1]?.range, 'bytes=100000-');
});

test('waking from sleep restarts a stalled transfer at once instead of waiting out the stall timeout; the rate falls to 0 meanwhile', async (t) => {
  const origin = await useOrigin(t);
  const body = makeContent(3 * MiB, 6);
  const model = serveArtifact(origin, 'model', body);
  // The connection a sleep leaves behind: it sends nothing more and never closes. (More than the
  // engine's 1 MiB write batch, so that progress shows before the stall.)
  origin.script('/model.bin', { kind: 'stall', afterBytes: 1_500_000 });
  const dir = join(await useTempDir(t, 'lc-wake'), 'models');
  const power = new FakePower();
  const watched = useLifecycle(t, { manifest: manifestOf(model), dir, connections: 1, stallTimeoutMs: 120_000, ...QUICK, ...power.inputs });
  watched.lifecycle.start();
  // The last bytes before the stall may not show until the run stops (the engine writes in
  // batches); the restart below proves they were kept.
  const moving = await watched.until((s) => s.bytes > 0 && s.bytesPerSecond > 0, 'bytes arriving, with a rate');
  assert.equal(moving.phase, 'downloading');
  const stalled = await watched.until((s) => s.bytesPerSecond === 0, 'the rate to fall to 0 during the stall', 8000);
  assert.equal(stalled.phase, 'downloading');
  assert.equal(stalled.etaSeconds, null, 'no time left is claimed for a transfer that does not move');
  assert.equal(stalled.artifacts[0]?.bytesPerSecond, 0);

  const woke = performance.now();
  power.emit('suspend'); // the lifecycle does nothing on suspend; the wake is what matters
  power.emit('resume');
  await waitUntil(() => Promise.resolve(origin.requestsFor('/model.bin').length === 2 ? true : undefined), 'a new request after the wake', 5000);
  const restartedAfterMs = performance.now() - woke;
  assert.ok(restartedAfterMs < 5000, `restarted ${Math.round(restartedAfterMs)} ms after the wake, not after the 120 s stall timeout`);
  await watched.until((s) => s.phase === 'ready', 'ready');
  assert.equal(origin.requestsFor('/model.bin')[1]?.range, 'bytes=1500000-');
  assert.ok(watched.snapshots.every((s) => s.attempt === 0), 'a wake is not a failure');
});

test('whenReady per kind: speech recognition is ready while the language model still downloads', async (t) => {
  const origin = await useOrigin(t);
  const sttBody = makeContent(200_000, 7);
  const llmBody = makeContent(900_000, 8);
  const stt = serveArtifact(origin, 'stt', sttBody, { kind: 'stt' });
  const llm = serveArtifact(origin, 'llm', llmBody, { kind: 'llm' });
  let openGate = (): void => undefined;
  origin.script('/llm.bin', { kind: 'hold', until: new Promise<void>((resolve) => (openGate = resolve)) });
  const dir = join(await useTempDir(t, 'lc-kinds'), 'models');
  const watched = useLifecycle(t, { manifest: manifestOf(stt, llm), dir, ...QUICK });
  const { lifecycle } = watched;

  await assert.rejects(lifecycle.whenReady({ kinds: ['tts'] }), RangeError, 'a kind the bundle has no artifact of');
  const controller = new AbortController();
  const abandoned = lifecycle.whenReady({ kinds: ['llm'], signal: controller.signal });
  const llmReady = lifecycle.whenReady({ kinds: ['llm'] });
  let llmSettled = false;
  void llmReady.then(() => {
    llmSettled = true;
  });
  lifecycle.start();

  const sttReady = await lifecycle.whenReady({ kinds: ['stt'] });
  assert.equal(sttReady.capabilities.stt.ready, true);
  assert.equal(sttReady.capabilities.llm.ready, false);
  assert.equal(sttReady.capabilities.tts.artifacts, 0);
  assert.equal(sttReady.capabilities.tts.ready, false, 'a capability the bundle lacks is never ready');
  assert.equal(lifecycle.getSnapshot().phase, 'downloading', 'the language model is still on its way');
  assert.equal(llmSettled, false);
  controller.abort(new Error('the settings page was closed'));
  await assert.rejects(abandoned, (error: InstallError) => error.code === 'ABORTED' && (error.cause as Error).message === 'the settings page was closed');

  openGate();
  const llmSnapshot = await llmReady;
  assert.equal(llmSnapshot.capabilities.llm.ready, true);
  assert.equal((await lifecycle.whenReady()).capabilities.stt.ready, true);
  await watched.until((s) => s.phase === 'ready', 'ready');
});

test('listeners get every phase change and at most about five snapshots a second otherwise', async (t) => {
  const origin = await useOrigin(t, { throttleBytesPerSecond: 1 * MiB });
  const body = makeContent(1536 * 1024, 9);
  const model = serveArtifact(origin, 'model', body);
  const dir = join(await useTempDir(t, 'lc-throttle'), 'models');
  const watched = useLifecycle(t, { manifest: manifestOf(model), dir, connections: 1, ...QUICK });
  const received: Array<{ at: number; snapshot: LifecycleSnapshot }> = [];
  watched.lifecycle.subscribe((snapshot) => received.push({ at: performance.now(), snapshot }));
  watched.lifecycle.start();
  await watched.until((s) => s.phase === 'ready', 'ready');

  assert.deepEqual(
    received.map((r) => r.snapshot.phase).filter((phase, i, all) => i === 0 || all[i - 1] !== phase),
    ['missing', 'downloading', 'verifying', 'ready'],
  );
  const downloading = received.filter((r) => r.snapshot.phase === 'downloading');
  assert.ok(downloading.length >= 4, `progress was reported while downloading (${downloading.length} snapshots)`);
  for (let i = 1; i < downloading.length; i++) {
    const gap = downloading[i]!.at - downloading[i - 1]!.at;
    assert.ok(gap >= 190, `snapshots of one phase come at least ~200 ms apart (got ${gap.toFixed(0)} ms)`);
  }
  assert.ok(downloading.some((r) => r.snapshot.bytesPerSecond > 0), 'with a rate');
});

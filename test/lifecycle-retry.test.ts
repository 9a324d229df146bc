// The lifecycle's retry policy, per failure: first as a table over every error code (no clock, no
// server), then with the real engine against the misbehaving origin, a full tmpfs, a read-only one
// and another process holding the install dir.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  ALL_ERROR_CODES,
  ERROR_CODES,
  createModelLifecycle,
  defaultRetryDelay,
  InstallError,
  isInstallError,
  type ErrorCode,
  type SerializedInstallError,
} from '../src/index.js';
import { decideAfterFailure, type FailureContext } from '../src/lifecycle/retry-policy.js';
import { makeContent } from './helpers/content.js';
import { dirPaths } from './helpers/install-dir.js';
import { useOrigin } from './helpers/install-run.js';
import { manifestOf, useLifecycle } from './helpers/lifecycle.js';
import { serveArtifact } from './helpers/served-artifact.js';
import { useSmallDisk, useTempDir } from './helpers/tmp.js';

const MiB = 1024 * 1024;

function failure(code: ErrorCode, overrides: Partial<SerializedInstallError> = {}): SerializedInstallError {
  return { ...new InstallError(code, `a ${code} failure`).toJSON(), ...overrides };
}

function context(overrides: Partial<FailureContext> = {}): FailureContext {
  return {
    attempt: 0,
    progressed: false,
    online: true,
    dir: '/models',
    bytesRemaining: 5000,
    freeBytes: 1000,
    shouldRetry: () => true,
    retryDelay: () => 1234,
    ...overrides,
  };
}

test('the retry policy per error code: a person must act on a full disk, permissions or a lock; a bad manifest fails; the rest by retryable', () => {
  const blocking = new Set<ErrorCode>(['DISK_FULL', 'PERMISSION_DENIED', 'LOCKED']);
  const manifest = new Set<ErrorCode>(['MANIFEST_INVALID', 'MANIFEST_VERSION', 'INSECURE_URL', 'UNSAFE_PATH']);
  for (const code of ALL_ERROR_CODES) {
    const consulted: number[] = [];
    const error = failure(code);
    const verdict = decideAfterFailure(error, context({ attempt: 2, shouldRetry: (_e, attempt) => (consulted.push(attempt), true) }));
    if (blocking.has(code)) {
      assert.equal(verdict.phase, 'blocked', code);
      assert.equal(verdict.attempt, 2, `${code}: a block is no failed attempt`);
      assert.deepEqual(consulted, [], `${code}: never retried automatically, whatever shouldRetry says`);
    } else if (manifest.has(code)) {
      assert.equal(verdict.phase, 'failed', code);
      assert.deepEqual(consulted, [], `${code}: no retry fixes the manifest`);
    } else {
      assert.equal(verdict.phase, 'retry-wait', `${code}: shouldRetry said yes`);
      assert.deepEqual(consulted, [3], `${code}: consulted with the attempt about to be made`);
      const byDefault = decideAfterFailure(error, context({ shouldRetry: (e, attempt) => e.retryable && attempt <= 10 }));
      assert.equal(byDefault.phase, error.retryable ? 'retry-wait' : 'failed', `${code}: by default, as retryable says`);
    }
  }
});

test('the retry policy: offline costs no attempt, progress starts the count afresh, and the block says what to free', () => {
  const network = failure('NETWORK');
  assert.deepEqual(decideAfterFailure(network, context({ attempt: 3, online: false })), { phase: 'offline', attempt: 3 });
  assert.equal(decideAfterFailure(failure('STALLED'), context({ online: false })).phase, 'offline');
  assert.equal(decideAfterFailure(failure('HTTP_STATUS', { retryable: true }), context({ online: false })).phase, 'retry-wait', 'a server error is no sign of a lost network');
  assert.deepEqual(decideAfterFailure(network, context({ attempt: 4 })), { phase: 'retry-wait', attempt: 5, delayMs: 1234 });
  assert.deepEqual(decideAfterFailure(network, context({ attempt: 4, progressed: true })), { phase: 'retry-wait', attempt: 1, delayMs: 1234 });

  const named = decideAfterFailure(failure('DISK_FULL', { details: { bytesToFree: 777, path: '/models' } }), context());
  assert.equal(named.phase === 'blocked' && named.block.bytesToFree, 777);
  const estimated = decideAfterFailure(failure('DISK_FULL', { details: { path: '/models/x.partial' } }), context({ bytesRemaining: 5000, freeBytes: 1000 }));
  assert.deepEqual(estimated.phase === 'blocked' && estimated.block, { code: 'DISK_FULL', hint: ERROR_CODES.DISK_FULL.appHint, bytesToFree: 4000, path: '/models/x.partial' });
  const locked = decideAfterFailure(failure('LOCKED', { details: { lockPath: '/models/.modelhaul/lock' } }), context());
  assert.equal(locked.phase === 'blocked' && locked.block.path, '/models/.modelhaul/lock');
});


test('the default backoff: about 2 s at first, doubling with jitter, never above a minute; Retry-After wins', () => {
  const network = failure('NETWORK');
  assert.equal(defaultRetryDelay(1, network, () => 0), 1000);
  assert.equal(defaultRetryDelay(1, network, () => 0.999999), 2000);
  assert.equal(defaultRetryDelay(3, network, () => 0.999999), 8000);
  for (const attempt of [6, 10, 50, 1000]) {
    for (const random of [0, 0.5, 0.999999]) {
      const delayMs = defaultRetryDelay(attempt, network, () => random);
      assert.ok(delayMs >= 30_000 && delayMs <= 60_000, `attempt ${attempt}: ${delayMs}`);
    }
  }
  assert.equal(defaultRetryDelay(1, failure('HTTP_STATUS', { details: { retryAfterMs: 7000 } }), () => 0), 7000);
  assert.equal(defaultRetryDelay(1, failure('HTTP_STATUS', { details: { retryAfterMs: 3_600_000 } }), () => 0), 60_000);
});

/** A lifecycle whose retries come after `delayMs` and whose shouldRetry calls are recorded. */
function retryingLifecycle(t: TestContext, manifest: unknown, dir: string, extra: Record<string, unknown> = {}) {
  const consulted: Array<{ code: string; attempt: number }> = [];
  const watched = useLifecycle(t, {
    manifest,
    dir,
    retries: 0, // every failure comes straight to the lifecycle's policy
    retryBaseDelayMs: 10,
    retryDelay: () => 40,
    shouldRetry: (error, attempt) => {
      consulted.push({ code: error.code, attempt });
      return error.retryable && attempt <= 10;
    },
    ...extra,
  });
  return { ...watched, consulted };
}

test('a transient failure waits in retry-wait with a countdown, counts attempts without progress, and goes on by itself', async (t) => {
  const origin = await useOrigin(t);
  const body = makeContent(400_000, 11);
  const model = serveArtifact(origin, 'model', body);
  origin.script('/model.bin', { kind: 'status', status: 503 }, { kind: 'status', status: 503 }, { kind: 'truncate', afterBytes: 150_000 }, { kind: 'status', status: 503 });
  const dir = join(await useTempDir(t, 'lc-retry'), 'models');
  const watched = retryingLifecycle(t, manifestOf(model), dir);
  watched.lifecycle.start();
  await watched.until((s) => s.phase === 'ready', 'ready');

  const waits = watched.snapshots.filter((s) => s.phase === 'retry-wait');
  assert.deepEqual(
    waits.map((s) => s.attempt).filter((a, i, all) => i === 0 || all[i - 1] !== a),
    [1, 2, 1, 2],
    'two failures in a row, then one after progress starts the count again',
  );
  for (const wait of waits) {
    assert.ok(wait.nextRetryAt !== null && wait.nextRetryAt >= wait.at - 5 && wait.nextRetryAt <= wait.at + 1000, 'the next retry time is shown');
    assert.ok(wait.error !== null && wait.error.retryable && wait.error.hint.length > 0);
    assert.equal(wait.blocked, null);
  }
  assert.deepEqual(new Set(waits.map((s) => s.error?.code)), new Set(['HTTP_STATUS', 'NETWORK']));
  assert.deepEqual(watched.consulted.map((c) => c.attempt), [1, 2, 1, 2]);
  const final = watched.lifecycle.getSnapshot();
  assert.equal(final.attempt, 0);
  assert.equal(final.error, null);
  assert.equal(final.nextRetryAt, null);
  assert.equal(origin.requestsFor('/model.bin').length, 5);
});

test('retry() in retry-wait tries at once instead of at nextRetryAt', async (t) => {
  const origin = await useOrigin(t);
  const model = serveArtifact(origin, 'model', makeContent(100_000, 12));
  origin.script('/model.bin', { kind: 'status', status: 503 });
  const dir = join(await useTempDir(t, 'lc-retry-now'), 'models');
  const watched = retryingLifecycle(t, manifestOf(model), dir, { retryDelay: () => 600_000 });
  watched.lifecycle.start();
  const waiting = await watched.until((s) => s.phase === 'retry-wait', 'retry-wait');
  assert.ok(waiting.nextRetryAt !== null && waiting.nextRetryAt - waiting.at >= 599_000, 'ten minutes away');
  watched.lifecycle.retry();
  await watched.until((s) => s.phase === 'ready', 'ready long before the ten minutes');
});

test('a failure that is not retryable fails at once, is never tried again by itself, and retry() tries once more', async (t) => {
  const origin = await useOrigin(t);
  const body = makeContent(100_000, 13);
  const model = serveArtifact(origin, 'model', body);
  origin.script('/model.bin', { kind: 'status', status: 404 });
  const dir = join(await useTempDir(t, 'lc-404'), 'models');
  const watched = retryingLifecycle(t, manifestOf(model), dir);
  watched.lifecycle.start();
  const failed = await watched.until((s) => s.phase === 'failed', 'failed');
  assert.equal(failed.error?.code, 'HTTP_STATUS');
  assert.equal(failed.error?.retryable, false);
  assert.equal(failed.error?.artifactId, 'model');
  assert.equal(failed.error?.error.details.status, 404);
  assert.ok(isInstallError(failed.error?.error), 'the whole serialized error is there for a bug report');
  // A person in an app is told what to do in an app's words; the engine's hint, which names
  // commands and options, stays in the serialized error for the developer.
  assert.equal(failed.error?.hint, ERROR_CODES.HTTP_STATUS.appHint);
  assert.match(failed.error?.error.hint ?? '', /manifest/);
  assert.equal(failed.artifacts[0]?.state, 'failed');
  assert.equal(failed.nextRetryAt, null);
  await delay(300);
  assert.equal(origin.requestsFor('/model.bin').length, 1, 'no automatic retry');
  assert.equal(watched.lifecycle.getSnapshot().phase, 'failed');
  watched.lifecycle.retry();
  await watched.until((s) => s.phase === 'ready', 'ready after a person asked');
});

test('an app can override the policy with shouldRetry: here, give up after the first failure', async (t) => {
  const origin = await useOrigin(t);
  const model = serveArtifact(origin, 'model', makeContent(100_000, 14));
  origin.always('/model.bin', { kind: 'status', status: 503 });
  const dir = join(await useTempDir(t, 'lc-should-retry'), 'models');
  const watched = retryingLifecycle(t, manifestOf(model), dir, { shouldRetry: (_error: unknown, attempt: number) => attempt < 1 });
  watched.lifecycle.start();
  const failed = await watched.until((s) => s.phase === 'failed', 'failed');
  assert.equal(failed.attempt, 1);
  assert.equal(failed.error?.retryable, true, 'the error itself was retryable');
  assert.equal(origin.requestsFor('/model.bin').length, 1);
});

test('a full disk blocks with the bytes to free, never retries by itself, and retry() goes on once space was freed', async (t) => {
  const mounted = await useSmallDisk(t, 'lc-disk', 2);
  if (!mounted) return;
  const origin = await useOrigin(t);
  const model = serveArtifact(origin, 'model', makeContent(4 * MiB, 15));
  const dir = join(mounted.disk, 'models');
  const watched = retryingLifecycle(t, manifestOf(model), dir, { shouldRetry: () => true });
  watched.lifecycle.start();
  const blocked = await watched.until((s) => s.phase === 'blocked', 'blocked');
  assert.equal(blocked.blocked?.code, 'DISK_FULL');
  assert.equal(blocked.blocked?.path, dir);
  assert.ok(blocked.blocked !== null && blocked.blocked.bytesToFree !== null && blocked.blocked.bytesToFree >= 2 * MiB, `bytes to free: ${blocked.blocked?.bytesToFree}`);
  assert.equal(blocked.error?.code, 'DISK_FULL');
  assert.ok(blocked.freeBytes !== null && blocked.freeBytes <= 2 * MiB, `free bytes: ${blocked.freeBytes}`);
  await delay(300);
  assert.equal(origin.requests.length, 0, 'refused before any request, and not retried');
  assert.deepEqual(watched.consulted, [], 'not even asked');

  assert.equal(spawnSync('mount', ['-o', 'remount,size=16m', mounted.disk]).status, 0, 'a person frees space');
  watched.lifecycle.retry();
  await watched.until((s) => s.phase === 'ready', 'ready');
});

test('an install dir it may not write blocks with PERMISSION_DENIED and the path, until a person fixes it and retries', async (t) => {
  const mounted = await useSmallDisk(t, 'lc-readonly', 4);
  if (!mounted) return;
  const origin = await useOrigin(t);
  const model = serveArtifact(origin, 'model', makeContent(100_000, 16));
  // Root ignores file modes, but not a read-only file system. The folders exist already (Node's
  // recursive mkdir reports a read-only file system as ENOENT, which the engine cannot tell from a
  // missing parent), so the first write refused is the install lock's.
  const dir = join(mounted.disk, 'models');
  await mkdir(join(dir, '.modelhaul', 'staging'), { recursive: true });
  await mkdir(join(dir, '.modelhaul', 'installed'));
  assert.equal(spawnSync('mount', ['-o', 'remount,ro', mounted.disk]).status, 0);
  const watched = retryingLifecycle(t, manifestOf(model), dir);
  watched.lifecycle.start();
  const blocked = await watched.until((s) => s.phase === 'blocked', 'blocked');
  assert.equal(blocked.blocked?.code, 'PERMISSION_DENIED');
  assert.equal(blocked.blocked?.path, dirPaths(dir).lock, 'names the file it could not write');
  assert.equal(blocked.blocked?.bytesToFree, null);
  await delay(200);
  assert.deepEqual(watched.consulted, []);

  assert.equal(spawnSync('mount', ['-o', 'remount,rw', mounted.disk]).status, 0);
  watched.lifecycle.retry();
  await watched.until((s) => s.phase === 'ready', 'ready');
});

test('another process installing into the dir shows as blocked (LOCKED) with the lock file, and the download goes on when it is gone', async (t) => {
  const origin = await useOrigin(t);
  const body = makeContent(200_000, 17);
  const model = serveArtifact(origin, 'model', body);
  const dir = join(await useTempDir(t, 'lc-locked'), 'models');
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  t.after(() => other.kill('SIGKILL'));
  const { lock } = dirPaths(dir);
  await mkdir(join(dir, '.modelhaul'), { recursive: true });
  await writeFile(lock, `${JSON.stringify({ pid: other.pid, hostname: hostname(), startedAt: new Date().toISOString(), tool: 'modelhaul' })}\n`);
  const lockWaits: unknown[] = [];
  const watched = retryingLifecycle(t, manifestOf(model), dir, { onEvent: (event: { event: string }) => event.event === 'lock-wait' && lockWaits.push(event) });
  watched.lifecycle.start();
  const blocked = await watched.until((s) => s.phase === 'blocked', 'blocked');
  assert.equal(blocked.blocked?.code, 'LOCKED');
  assert.equal(blocked.blocked?.path, lock);
  assert.match(blocked.blocked?.hint ?? '', new RegExp(`pid ${other.pid}`));
  watched.lifecycle.retry();
  watched.lifecycle.start();
  assert.equal(watched.lifecycle.getSnapshot().phase, 'blocked', 'the wait goes on by itself; retry and start do not start a second install');

  other.kill('SIGKILL');
  await once(other, 'exit');
  await watched.until((s) => s.phase === 'ready', 'ready once the other process is gone');
  assert.equal(lockWaits.length, 1, 'one install waited');
  assert.ok((await readFile(join(dir, model.path))).equals(body));
});

test('a manifest that does not validate is refused when the lifecycle is created, naming the field', () => {
  const dir = join('/nonexistent', 'models');
  assert.throws(
    () => createModelLifecycle({ manifest: { schemaVersion: 1, name: 'x', artifacts: [{ id: 'a' }] }, dir }),
    (error: unknown) => error instanceof InstallError && error.code === 'MANIFEST_INVALID' && /artifacts\[0\]/.test(error.message),
  );
});

// The library as an app embeds it (say, in an Electron main process): results per artifact,
// events that survive JSON (IPC), throttled progress, cancellation with an AbortSignal, the
// iterator form, and errors that carry a hint a person can act on.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  ALL_ERROR_CODES,
  ERROR_CODES,
  InstallError,
  bundleStatus,
  installBundle,
  installBundleIter,
  isInstallError,
  verifyBundle,
  type InstallEvent,
} from '../src/index.js';
import { runCli, writeManifest, type ManifestArtifact } from './helpers/cli.js';
import { makeContent } from './helpers/content.js';
import { dirPaths, readResumeRecord, recordedBytes, recordedExtent, sizeOf, waitUntil } from './helpers/install-dir.js';
import { pathExists, serveArtifact } from './helpers/served-artifact.js';
import { startOrigin, type Origin } from './helpers/origin.js';
import { useTempDir } from './helpers/tmp.js';

const MiB = 1024 * 1024;

async function origin(t: TestContext, throttle?: number): Promise<Origin> {
  const started = await startOrigin(throttle === undefined ? {} : { throttleBytesPerSecond: throttle });
  t.after(() => started.close());
  return started;
}

function manifestOf(...artifacts: ManifestArtifact[]): unknown {
  return { schemaVersion: 1, name: 'library-test', artifacts };
}

/** Options every test shares: fast retries, short stall timeout. */
const FAST = { retryBaseDelayMs: 50, stallTimeoutMs: 5000 } as const;

function roundTrip<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

test('installBundle resolves with a result per artifact: installed, already installed, failed with a serialized error', async (t) => {
  const server = await origin(t);
  const dir = join(await useTempDir(t, 'lib-results'), 'models');
  const first = makeContent(300_000, 51);
  const second = makeContent(200_000, 52);
  const a = serveArtifact(server, 'first', first);
  const b = serveArtifact(server, 'second', second);
  const missing: ManifestArtifact = { ...b, id: 'missing', path: 'models/missing.bin', url: server.url('/nowhere.bin') };
  await installBundle(manifestOf(a), { dir, ...FAST });

  const events: InstallEvent[] = [];
  const result = await installBundle(manifestOf(a, b, missing), { dir, ...FAST, onEvent: (event) => events.push(event) });
  assert.equal(result.ok, false);
  assert.deepEqual(
    result.results.map((r) => [r.id, r.outcome]),
    [['first', 'already-installed'], ['second', 'installed'], ['missing', 'failed']],
  );
  const failed = result.results[2]!;
  assert.ok(failed.error && isInstallError(failed.error), 'the error is a serialized InstallError');
  assert.equal(failed.error.code, 'HTTP_STATUS');
  assert.equal(failed.error.details.status, 404);
  assert.equal(failed.error.artifactId, 'missing');
  assert.ok(failed.error.hint.length > 0);
  assert.equal(result.results[1]!.bytesFetched, second.length);
  assert.equal(result.bytesFetched, second.length);
  assert.deepEqual(roundTrip(result), result, 'the result survives JSON unchanged');
  assert.deepEqual(roundTrip(events.at(-1)), { event: 'done', ...result });

  assert.ok((await readFile(join(dir, 'models', 'second.bin'))).equals(second));
  const status = await bundleStatus(manifestOf(a, b, missing), dir);
  assert.deepEqual(status.artifacts.map((x) => x.state), ['installed', 'installed', 'missing']);
  const verification = await verifyBundle(manifestOf(a, b), dir);
  assert.equal(verification.ok, true);
  assert.equal(await pathExists(dirPaths(dir).lock), false);
});

test('every event is a plain JSON object, and progress comes at most ten times a second per artifact', async (t) => {
  // Two seconds per file at the origin's pace: about 20 progress events each when the machine is
  // idle, and still well over 5 when a loaded machine delays the event loop.
  const server = await origin(t, 1_000_000);
  const dir = join(await useTempDir(t, 'lib-events'), 'models');
  const artifacts = [serveArtifact(server, 'one', makeContent(2 * MiB, 53)), serveArtifact(server, 'two', makeContent(2 * MiB, 54))];
  const received: Array<{ at: number; event: InstallEvent }> = [];
  const result = await installBundle(manifestOf(...artifacts), {
    dir,
    ...FAST,
    onEvent: (event) => received.push({ at: performance.now(), event }),
  });
  assert.equal(result.ok, true);

  for (const { event } of received) {
    assert.deepEqual(roundTrip(event), event, `${event.event} survives JSON unchanged`);
    assert.equal(Object.getPrototypeOf(event), Object.prototype, `${event.event} is a plain object`);
  }
  const names = received.map(({ event }) => event.event);
  assert.equal(names[0], 'plan');
  assert.equal(names.at(-1), 'done');
  for (const id of ['one', 'two']) {
    const times = received.filter(({ event }) => event.event === 'progress' && event.id === id).map(({ at }) => at);
    assert.ok(times.length >= 5, `${id}: ${times.length} progress events for a two-second download`);
    const gaps = times.slice(1).map((at, index) => at - times[index]!);
    // 100 ms apart at the least; a little slack for timer granularity.
    assert.ok(Math.min(...gaps) >= 95, `${id}: progress events ${Math.round(Math.min(...gaps))} ms apart`);
    const [start] = received.filter(({ event }) => event.event === 'start' && event.id === id);
    assert.ok(start, `${id} has a start event`);
  }
});

test('an AbortSignal stops the install within a fraction of a second, rejects with ABORTED and leaves a resumable partial', async (t) => {
  const server = await origin(t, 4_000_000);
  const dir = join(await useTempDir(t, 'lib-abort'), 'models');
  const body = makeContent(8 * MiB, 55);
  const manifest = manifestOf(serveArtifact(server, 'big', body));
  const controller = new AbortController();
  const events: InstallEvent[] = [];
  let abortedAt = 0;
  const run = installBundle(manifest, {
    dir,
    ...FAST,
    signal: controller.signal,
    onEvent: (event) => {
      events.push(event);
      if (event.event === 'progress' && event.bytes >= 3 * MiB && abortedAt === 0) {
        abortedAt = performance.now();
        controller.abort();
      }
    },
  });
  const error = await run.then(
    () => assert.fail('installBundle resolved after abort'),
    (rejection: unknown) => rejection,
  );
  const stopMs = performance.now() - abortedAt;
  assert.ok(abortedAt > 0, 'the download got far enough to abort');
  assert.ok(error instanceof InstallError && error.code === 'ABORTED', String(error));
  // A checkpoint (two fsyncs) and the lock release; well under a second even on a busy disk.
  assert.ok(stopMs < 800, `stopping took ${Math.round(stopMs)} ms`);
  assert.equal(await pathExists(dirPaths(dir).lock), false, 'the lock is released');
  assert.equal(await pathExists(join(dir, 'models', 'big.bin')), false);
  assert.equal(events.at(-1)?.event, 'done');

  const record = await readResumeRecord(dirPaths(dir).resumeRecord('big'));
  assert.ok(record);
  const durable = recordedBytes(record);
  assert.ok(durable >= 3 * MiB - 1024 * 1024, `only ${durable} bytes were kept`);
  assert.ok(recordedExtent(record) <= (await sizeOf(dirPaths(dir).partial('big'))));

  const before = server.bytesSent();
  const resumed = await installBundle(manifest, { dir, ...FAST });
  assert.equal(resumed.results[0]?.outcome, 'installed');
  assert.equal(resumed.results[0]?.resumedFrom, durable, 'the result says how much was reused');
  assert.equal(resumed.bytesReused, durable);
  assert.equal(server.bytesSent() - before, body.length - durable);
  assert.ok((await readFile(join(dir, 'models', 'big.bin'))).equals(body));
});

test('an already aborted signal rejects with ABORTED before the dir is created', async (t) => {
  const server = await origin(t);
  const dir = join(await useTempDir(t, 'lib-preaborted'), 'models');
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(installBundle(manifestOf(serveArtifact(server, 'x', makeContent(1000, 56))), { dir, signal: controller.signal }), {
    code: 'ABORTED',
  });
  assert.equal(await pathExists(dir), false);
  assert.equal(server.requests.length, 0);
});

test('an invalid manifest rejects with MANIFEST_INVALID naming the field, before disk or network', async (t) => {
  const dir = join(await useTempDir(t, 'lib-invalid'), 'models');
  const error = await installBundle({ schemaVersion: 1, name: 'x', artifacts: [{ id: 'a', size: -1 }] }, { dir }).catch((e: unknown) => e);
  assert.ok(isInstallError(error));
  assert.equal(error.code, 'MANIFEST_INVALID');
  assert.match(error.message, /artifacts\[0\]\./);
  assert.ok(isInstallError(roundTrip(error)), 'recognised after a trip through JSON, as after IPC');
  assert.equal(await pathExists(dir), false);
});

test('installBundleIter yields the same events as onEvent, ending with done', async (t) => {
  const server = await origin(t);
  const dir = join(await useTempDir(t, 'lib-iter'), 'models');
  const manifest = manifestOf(serveArtifact(server, 'a', makeContent(500_000, 57)), serveArtifact(server, 'b', makeContent(300_000, 58)));
  const viaCallback: InstallEvent[] = [];
  const viaIterator: InstallEvent[] = [];
  for await (const event of installBundleIter(manifest, { dir, ...FAST, onEvent: (event) => viaCallback.push(event) })) {
    viaIterator.push(event);
  }
  assert.deepEqual(viaIterator, viaCallback);
  const last = viaIterator.at(-1);
  assert.equal(last?.event, 'done');
  assert.equal(last.event === 'done' && last.ok, true);
  assert.deepEqual(viaIterator.filter((e) => e.event === 'installed').map((e) => e.event === 'installed' && e.id).sort(), ['a', 'b']);

  // A second run through the iterator: nothing to do, still ends in done.
  const again: string[] = [];
  for await (const event of installBundleIter(manifest, { dir, ...FAST })) again.push(event.event);
  assert.deepEqual(again, ['plan', 'skipped', 'skipped', 'done']);
});

test('breaking out of installBundleIter cancels the install and releases the lock', async (t) => {
  const server = await origin(t, 2_000_000);
  const dir = join(await useTempDir(t, 'lib-iter-break'), 'models');
  const manifest = manifestOf(serveArtifact(server, 'slow', makeContent(8 * MiB, 59)));
  const brokeAt = performance.now();
  for await (const event of installBundleIter(manifest, { dir, ...FAST })) {
    if (event.event === 'progress') break;
  }
  await waitUntil(async () => ((await pathExists(dirPaths(dir).lock)) ? undefined : true), 'the lock to be released', 3000);
  assert.ok(performance.now() - brokeAt < 3000);
  const requests = server.requests.length;
  // Nothing keeps downloading in the background.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(server.requests.length, requests);
  assert.equal(await pathExists(join(dir, 'models', 'slow.bin')), false);
});

test('every error code has a hint, and the CLI shows a failure’s hint to a person', async (t) => {
  for (const code of ALL_ERROR_CODES) {
    assert.ok(ERROR_CODES[code].hint.trim().length > 10, `${code} has a hint`);
    assert.equal(new InstallError(code, 'x').hint, ERROR_CODES[code].hint);
    assert.equal(typeof ERROR_CODES[code].retryable, 'boolean');
  }
  assert.deepEqual(ALL_ERROR_CODES, Object.keys(ERROR_CODES));

  const server = await origin(t);
  const work = await useTempDir(t, 'lib-hint');
  const artifact = serveArtifact(server, 'gone', makeContent(1000, 60));
  server.always('/gone.bin', { kind: 'status', status: 404 });
  const manifest = await writeManifest(work, [artifact]);
  const json = await runCli(['install', '--manifest', manifest, '--dir', join(work, 'models'), '--json', '--retry-delay', '0.05']);
  assert.equal(json.code, 1);
  const failed = json.events.find((event) => event.event === 'failed');
  assert.equal(failed?.code, 'HTTP_STATUS');
  const hint = String(failed?.hint);
  assert.ok(hint.length > 0);
  const text = await runCli(['install', '--manifest', manifest, '--dir', join(work, 'models'), '--retry-delay', '0.05']);
  assert.equal(text.code, 1);
  assert.ok((text.stdout + text.stderr).includes(hint), `the hint is printed: ${text.stdout}${text.stderr}`);
  assert.match(text.stdout + text.stderr, /HTTP_STATUS/);
});

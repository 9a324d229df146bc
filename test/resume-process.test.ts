// A download stopped by a signal resumes in the next process: SIGKILL (nothing runs, only what was
// already durable counts), SIGINT and SIGTERM (a clean stop: exit 130/143, record checkpointed, lock
// released). Everything goes through the built CLI in real child processes against a throttled
// origin, so the child can be stopped mid-file.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli, spawnCli, waitForEvent, waitForExit, writeManifest, type CliEvent } from './helpers/cli.js';
import { makeContent } from './helpers/content.js';
import {
  dirPaths,
  readResumeRecord,
  recordedBytes,
  recordedExtent,
  sizeOf,
  waitUntil,
  type ResumeRecordJson,
} from './helpers/install-dir.js';
import { jsonInstallArgs, pathExists, serveArtifact } from './helpers/served-artifact.js';
import { defaultEtag, startOrigin, type Origin } from './helpers/origin.js';
import { useTempDir } from './helpers/tmp.js';

const MiB = 1024 * 1024;

async function throttledOrigin(t: TestContext, bytesPerSecond: number): Promise<Origin> {
  const origin = await startOrigin({ throttleBytesPerSecond: bytesPerSecond });
  t.after(() => origin.close());
  return origin;
}

function isProgressPast(id: string, bytes: number): (event: CliEvent) => boolean {
  return (event) => event.event === 'progress' && event.id === id && typeof event.bytes === 'number' && event.bytes >= bytes;
}

/** Waits until the resume record on disk vouches for at least `bytes`: a checkpoint has happened. */
function waitForCheckpoint(recordPath: string, bytes: number): Promise<ResumeRecordJson> {
  return waitUntil(async () => {
    const record = await readResumeRecord(recordPath);
    return record !== undefined && recordedBytes(record) >= bytes ? record : undefined;
  }, `a resume record claiming ${bytes} bytes`);
}

function eventsNamed(events: CliEvent[], name: string): CliEvent[] {
  return events.filter((event) => event.event === name);
}

function rangeHeaderCount(rawHeaders: string[]): number {
  return rawHeaders.filter((value, index) => index % 2 === 0 && value.toLowerCase() === 'range').length;
}

test('after SIGKILL the next process resumes from the durable bytes with one Range + If-Range request', async (t) => {
  const size = 8 * MiB;
  const origin = await throttledOrigin(t, 4_000_000);
  const work = await useTempDir(t, 'resume-kill');
  const dir = join(work, 'models');
  const body = makeContent(size, 11);
  const artifact = serveArtifact(origin, 'model', body);
  const manifest = await writeManifest(work, [artifact]);
  const paths = dirPaths(dir);
  const finalPath = join(dir, 'models', 'model.bin');

  const first = spawnCli(jsonInstallArgs(manifest, dir, '--connections', '1'));
  t.after(() => first.kill('SIGKILL'));
  // Every event of the first run is a moment before verification: nothing may be at the final path.
  const promotedEarly: string[] = [];
  const watch = waitForEvent(first, (event) => {
    if (existsSync(finalPath)) promotedEarly.push(String(event.event));
    return false;
  }, 60_000).catch(() => undefined);
  await waitForEvent(first, isProgressPast('model', size * 0.4));
  await waitForCheckpoint(paths.resumeRecord('model'), 1);
  first.kill('SIGKILL');
  const killed = await waitForExit(first);
  await watch;
  assert.equal(killed.signal, 'SIGKILL');
  assert.deepEqual(promotedEarly, [], 'the final path existed during the first run');
  assert.equal(await pathExists(finalPath), false, 'an unverified file reached the final path');

  const record = await readResumeRecord(paths.resumeRecord('model'));
  assert.ok(record, 'the resume record survives SIGKILL');
  const durable = recordedBytes(record);
  const onDisk = await sizeOf(paths.partial('model'));
  assert.ok(durable > 0 && durable < size, `durable bytes ${durable}`);
  assert.ok(durable <= onDisk, `the record claims ${durable} bytes but the partial has ${onDisk}`);
  assert.equal(record.etag, defaultEtag(body), 'the record keeps the ETag as the origin sent it');

  const before = origin.requests.length;
  const second = await runCli(jsonInstallArgs(manifest, dir, '--connections', '1'));
  assert.equal(second.code, 0, second.stderr + JSON.stringify(second.events.filter((e) => e.event !== 'progress')));
  const requests = origin.requests.slice(before);
  assert.equal(requests.length, 1, `expected one request, got ${requests.map((r) => r.range ?? 'GET').join(', ')}`);
  const resume = requests[0]!;
  assert.equal(resume.range, `bytes=${durable}-`);
  assert.equal(rangeHeaderCount(resume.rawHeaders), 1, 'exactly one Range header');
  assert.equal(resume.ifRange, record.etag, 'If-Range carries the stored ETag byte for byte');
  assert.equal(resume.headers['accept-encoding'], 'identity');
  assert.equal(resume.status, 206);
  assert.equal(resume.bytesSent, size - durable, 'only the missing bytes came over the wire');

  const start = eventsNamed(second.events, 'start')[0];
  assert.equal(start?.offset, durable, 'the start event says where the download continues');
  assert.equal(eventsNamed(second.events, 'restart').length, 0);
  const installed = eventsNamed(second.events, 'installed')[0];
  assert.equal(installed?.resumedFrom, durable);
  assert.equal(installed?.bytesFetched, size - durable);
  assert.ok((await readFile(finalPath)).equals(body), 'the resumed file is byte-identical');
  assert.equal(await pathExists(paths.partial('model')), false);
  assert.equal(await pathExists(paths.resumeRecord('model')), false);
  assert.equal(await pathExists(paths.installRecord('model')), true);
  assert.equal(await pathExists(paths.lock), false);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} mid-download exits ${signal === 'SIGINT' ? 130 : 143}, keeps a consistent partial, releases the lock, and the next run resumes`, async (t) => {
    // Large enough for two connections (the engine splits at 2 x 8 MiB), so the record has
    // several segments and the resume asks for each one's missing bytes.
    const size = 16 * MiB;
    const origin = await throttledOrigin(t, 6_000_000);
    const work = await useTempDir(t, `resume-${signal.toLowerCase()}`);
    const dir = join(work, 'models');
    const body = makeContent(size, signal === 'SIGINT' ? 12 : 13);
    const artifact = serveArtifact(origin, 'weights', body);
    const manifest = await writeManifest(work, [artifact]);
    const paths = dirPaths(dir);
    const finalPath = join(dir, 'models', 'weights.bin');

    const child = spawnCli(jsonInstallArgs(manifest, dir));
    t.after(() => child.kill('SIGKILL'));
    await waitForEvent(child, isProgressPast('weights', size * 0.3));
    const stopAt = performance.now();
    child.kill(signal);
    const stopped = await waitForExit(child);
    const stopMs = performance.now() - stopAt;
    assert.equal(stopped.code, signal === 'SIGINT' ? 130 : 143, stopped.stderr);
    // Generous for a loaded machine; the stop itself is a checkpoint and an exit.
    assert.ok(stopMs < 3000, `stopping took ${Math.round(stopMs)} ms`);
    assert.equal(await pathExists(finalPath), false);
    assert.equal(await pathExists(paths.lock), false, 'the lock is released on a clean stop');

    const record = await readResumeRecord(paths.resumeRecord('weights'));
    assert.ok(record, 'the resume record is kept');
    assert.ok(await pathExists(paths.partial('weights')), 'the partial file is kept');
    const onDisk = await sizeOf(paths.partial('weights'));
    const durable = recordedBytes(record);
    assert.ok(durable > 0, 'a clean stop checkpoints what was written');
    assert.ok(recordedExtent(record) <= onDisk, `the record reaches byte ${recordedExtent(record)}, the partial has ${onDisk}`);
    for (const segment of record.segments) assert.ok(segment.done <= segment.end - segment.start);
    assert.ok(record.segments.length >= 2, `a segmented download was stopped: ${JSON.stringify(record.segments)}`);
    const failed = eventsNamed(stopped.events, 'failed');
    assert.ok(failed.every((event) => event.code === 'ABORTED'), JSON.stringify(failed));

    const before = origin.requests.length;
    const second = await runCli(jsonInstallArgs(manifest, dir));
    assert.equal(second.code, 0, second.stderr + JSON.stringify(second.events.filter((e) => e.event !== 'progress')));
    const start = eventsNamed(second.events, 'start')[0];
    assert.equal(start?.offset, durable);
    const requests = origin.requests.slice(before);
    assert.ok(requests.every((r) => r.status === 206 && r.ifRange === record.etag), JSON.stringify(requests.map((r) => [r.range, r.status])));
    for (const segment of record.segments.filter((s) => s.done < s.end - s.start)) {
      const first = segment.start + segment.done;
      assert.ok(
        requests.some((r) => r.range?.startsWith(`bytes=${first}-`)),
        `no request continues the segment ${segment.start}-${segment.end} at ${first}: ${requests.map((r) => r.range).join(', ')}`,
      );
    }
    assert.equal(origin.bytesSent() - origin.requests.slice(0, before).reduce((sum, r) => sum + r.bytesSent, 0), size - durable);
    assert.ok((await readFile(finalPath)).equals(body));
    assert.equal(await pathExists(paths.lock), false);
  });
}

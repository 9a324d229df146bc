// End-to-end: how `modelhaul install` asks for bytes and resumes (docs/rules.md rules 1-4, 7,
// 8, 10, 16 and 17), against the misbehaving origin, through the CLI as a child process. Every
// test checks what the origin received (headers byte for byte, how many Range headers, how many
// body bytes it sent) and the bytes that end up at the final path.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { CUT, makeContent, SMALL_FILE_SIZE as SIZE } from './helpers/content.js';
import { defaultEtag } from './helpers/origin.js';
import {
  assertExit,
  assertInstalled,
  assertPartialKept,
  assertPlainRequest,
  assertResumeRequest,
  describeRequests,
  eventsOf,
  failureOf,
  headerValues,
  partialPath,
  readResumeRecordJson,
  resumeRecordPath,
  summarize,
  useInstallBench,
  useOrigin,
} from './helpers/install-run.js';
import { artifactFor } from './helpers/served-artifact.js';
import { newResumeRecord, writeResumeRecord } from '../src/store/resume-record.js';
import type { Artifact } from '../src/manifest/types.js';

const CONTENT = makeContent(SIZE, 11);
const OTHER = makeContent(SIZE, 12);
const ETAG = defaultEtag(CONTENT);

test('rule 1: a fresh download is one plain GET with Accept-Encoding identity, and the file is installed', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 0);
  const requests = origin.requestsFor('/f.bin');
  assert.equal(requests.length, 1, describeRequests(requests));
  assertPlainRequest(requests[0]!);
  assert.match(headerValues(requests[0]!, 'user-agent')[0] ?? '', /^modelhaul\//);
  assert.deepEqual(headerValues(requests[0]!, 'authorization'), [], 'no credentials were configured');
  assert.equal(origin.bytesSent('/f.bin'), SIZE, 'each byte sent once');
  await assertInstalled(bench, artifact, CONTENT);
  const [installed] = eventsOf(result, 'installed', 'model');
  assert.equal(installed?.sha256, artifact.sha256);
  assert.equal(installed?.resumedFrom, 0);
  const [start] = eventsOf(result, 'start', 'model');
  assert.equal(start?.offset, 0);
});

test('rule 4/10: a truncated body is resumed in the same run with one Range and the strong ETag byte for byte', async (t) => {
  const origin = await useOrigin(t);
  // Characters a client might be tempted to normalize or escape: slash, plus, equals, semicolon.
  const etag = '"v1/a+b==;x~%2F"';
  origin.serve('/f.bin', CONTENT, { etag });
  origin.script('/f.bin', { kind: 'truncate', afterBytes: CUT });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 0);
  const requests = origin.requestsFor('/f.bin');
  assert.equal(requests.length, 2, describeRequests(requests));
  assertPlainRequest(requests[0]!);
  assertResumeRequest(requests[1]!, CUT, etag);
  assert.equal(requests[1]!.status, 206);
  assert.equal(requests[1]!.bytesSent, SIZE - CUT, 'only the missing bytes were sent');
  assert.equal(origin.bytesSent('/f.bin'), SIZE);
  const [retry] = eventsOf(result, 'retry', 'model');
  assert.equal((retry?.error as { code?: string } | undefined)?.code, 'NETWORK', summarize(result));
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 3/5: a malformed (unquoted) ETag is never sent as If-Range, and the same value on the 206 is accepted', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT, { etag: 'v1 unquoted' });
  origin.script('/f.bin', { kind: 'truncate', afterBytes: CUT });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 0);
  const requests = origin.requestsFor('/f.bin');
  assert.equal(requests.length, 2, describeRequests(requests));
  assertResumeRequest(requests[1]!, CUT, undefined);
  assert.equal(requests[1]!.status, 206);
  assert.equal(eventsOf(result, 'restart', 'model').length, 0, summarize(result));
  assert.equal(origin.bytesSent('/f.bin'), SIZE, 'the resume was used, not thrown away');
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 4/21: a later run resumes a truncated download with Range + If-Range and the origin sends only the rest', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  origin.script('/f.bin', { kind: 'truncate', afterBytes: CUT });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const first = await bench.install(['--retries', '0']);
  assertExit(first, 1);
  assert.equal(failureOf(first, 'model').code, 'NETWORK');
  assert.equal(await assertPartialKept(bench, artifact), CUT, 'every byte that arrived is kept');
  assert.equal((await readResumeRecordJson(bench, 'model')).etag, ETAG, 'the ETag is stored as received');

  const before = origin.requests.length;
  const second = await bench.install();

  assertExit(second, 0);
  const resumed = origin.requests.slice(before);
  assert.equal(resumed.length, 1, describeRequests(resumed));
  assertResumeRequest(resumed[0]!, CUT, ETAG);
  assert.equal(resumed[0]!.status, 206);
  assert.equal(resumed[0]!.bytesSent, SIZE - CUT);
  assert.equal(eventsOf(second, 'start', 'model')[0]?.offset, CUT);
  const [installed] = eventsOf(second, 'installed', 'model');
  assert.equal(installed?.resumedFrom, CUT);
  assert.equal(installed?.bytesFetched, SIZE - CUT);
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 2: with a weak ETag no If-Range is sent (not even Last-Modified) and SHA-256 catches the changed file', async (t) => {
  const origin = await useOrigin(t);
  // The first run sees an older version of the file under the same weak ETag...
  origin.serve('/f.bin', OTHER, { etag: 'W/"same"' });
  origin.script('/f.bin', { kind: 'truncate', afterBytes: CUT });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);
  assertExit(await bench.install(['--retries', '0']), 1);
  assert.equal(await assertPartialKept(bench, artifact), CUT);

  // ...and the second run gets the manifest's file, still under that weak ETag: the bytes on
  // disk are from OTHER, the rest from CONTENT, and only the SHA-256 can tell.
  origin.serve('/f.bin', CONTENT, { etag: 'W/"same"' });
  const before = origin.requests.length;
  const second = await bench.install();

  assertExit(second, 0);
  const requests = origin.requests.slice(before);
  assert.equal(requests.length, 2, describeRequests(requests));
  assertResumeRequest(requests[0]!, CUT, undefined);
  assert.equal(requests[0]!.status, 206);
  assertPlainRequest(requests[1]!);
  const restarts = eventsOf(second, 'restart', 'model');
  assert.equal(restarts.length, 1, summarize(second));
  assert.match(String(restarts[0]!.reason), /SHA-256/);
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 2/3: a resumed download that still mismatches after the one retry from zero fails with CHECKSUM_MISMATCH', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', OTHER, { etag: 'W/"same"' });
  origin.script('/f.bin', { kind: 'truncate', afterBytes: CUT });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);
  assertExit(await bench.install(['--retries', '0']), 1);

  const before = origin.requests.length;
  const second = await bench.install();

  assertExit(second, 1);
  assert.equal(failureOf(second, 'model').code, 'CHECKSUM_MISMATCH');
  const requests = origin.requests.slice(before);
  assert.equal(requests.length, 2, `one resume, one retry from zero, no more: ${describeRequests(requests)}`);
  assertPlainRequest(requests[1]!);
});

test('rule 2: without an ETag a strong Last-Modified is the If-Range validator, byte for byte', async (t) => {
  const origin = await useOrigin(t);
  // An hour before the response's Date: strong (RFC 9110 §8.8.2.2).
  const lastModified = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
  origin.serve('/f.bin', CONTENT, { etag: null, lastModified });
  origin.script('/f.bin', { kind: 'truncate', afterBytes: CUT });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 0);
  const requests = origin.requestsFor('/f.bin');
  assert.equal(requests.length, 2, describeRequests(requests));
  assertResumeRequest(requests[1]!, CUT, lastModified.toUTCString());
  assert.equal(requests[1]!.bytesSent, SIZE - CUT);
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 2/3: a Last-Modified that is not strong is never sent; the resume relies on SHA-256', async (t) => {
  const origin = await useOrigin(t);
  // Later than the response's Date: a file modified within the same second could change again.
  origin.serve('/f.bin', CONTENT, { etag: null, lastModified: new Date(Date.now() + 60_000) });
  origin.script('/f.bin', { kind: 'truncate', afterBytes: CUT });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 0);
  const requests = origin.requestsFor('/f.bin');
  assert.equal(requests.length, 2, describeRequests(requests));
  assertResumeRequest(requests[1]!, CUT, undefined);
  assert.equal(requests[1]!.bytesSent, SIZE - CUT);
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 7: an ETag that changed between runs gets a 200 for the If-Range request; the download restarts from zero', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', OTHER, { etag: '"old"' });
  origin.script('/f.bin', { kind: 'truncate', afterBytes: CUT });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);
  assertExit(await bench.install(['--retries', '0']), 1);

  origin.serve('/f.bin', CONTENT, { etag: '"new"' });
  const before = origin.requests.length;
  const second = await bench.install();

  assertExit(second, 0);
  const requests = origin.requests.slice(before);
  assert.equal(requests.length, 1, `the 200 itself is the fresh download: ${describeRequests(requests)}`);
  assertResumeRequest(requests[0]!, CUT, '"old"');
  assert.equal(requests[0]!.status, 200);
  const [restart] = eventsOf(second, 'restart', 'model');
  assert.equal(restart?.discardedBytes, CUT, summarize(second));
  assert.equal(restart?.bytesKept, 0);
  const [installed] = eventsOf(second, 'installed', 'model');
  assert.equal(installed?.resumedFrom, 0);
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 7: a server that ignores Range (200) is never appended: the file is exactly the content', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  origin.script('/f.bin', { kind: 'truncate', afterBytes: CUT }, { kind: 'ignore-range' });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 0);
  const requests = origin.requestsFor('/f.bin');
  assert.equal(requests.length, 2, describeRequests(requests));
  assertResumeRequest(requests[1]!, CUT, ETAG);
  assert.equal(requests[1]!.status, 200);
  assert.equal(requests[1]!.bytesSent, SIZE);
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 7: a server that always ignores Range still ends with the exact file, downloaded from zero', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  origin.script('/f.bin', { kind: 'truncate', afterBytes: CUT }, { kind: 'truncate', afterBytes: CUT });
  origin.always('/f.bin', { kind: 'ignore-range' });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 0);
  await assertInstalled(bench, artifact, CONTENT);
  const last = origin.requestsFor('/f.bin').at(-1)!;
  assert.equal(last.status, 200);
});

test('rule 8: with the whole file on disk the install verifies and promotes without downloading', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  origin.always('/f.bin', { kind: 'range-not-satisfiable', contentRange: true });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);
  // What a run that was killed after its last checkpoint and before promotion leaves behind.
  await mkdir(join(bench.dir, '.modelhaul', 'staging'), { recursive: true });
  await writeFile(partialPath(bench, 'model'), CONTENT);
  const record = newResumeRecord(artifact as Artifact);
  record.etag = ETAG;
  record.segments = [{ start: 0, end: SIZE, done: SIZE }];
  await writeResumeRecord(resumeRecordPath(bench, 'model'), record);

  const result = await bench.install();

  assertExit(result, 0);
  assert.equal(origin.bytesSent('/f.bin'), 0, describeRequests(origin.requests));
  assert.equal(eventsOf(result, 'verifying', 'model').length, 1);
  const [installed] = eventsOf(result, 'installed', 'model');
  assert.equal(installed?.resumedFrom, SIZE);
  assert.equal(installed?.bytesFetched, 0);
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 8: a 416 while bytes are missing discards the partial and restarts from zero', async (t) => {
  for (const contentRange of [true, false]) {
    await t.test(`Content-Range ${contentRange ? 'present' : 'missing'}`, async (t) => {
      const origin = await useOrigin(t);
      origin.serve('/f.bin', CONTENT);
      origin.script('/f.bin', { kind: 'truncate', afterBytes: CUT }, { kind: 'range-not-satisfiable', contentRange });
      const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
      const bench = await useInstallBench(t, [artifact]);

      const result = await bench.install();

      assertExit(result, 0);
      const requests = origin.requestsFor('/f.bin');
      assert.equal(requests.length, 3, describeRequests(requests));
      assert.equal(requests[1]!.status, 416);
      assertPlainRequest(requests[2]!);
      assert.equal(requests[2]!.bytesSent, SIZE);
      const [restart] = eventsOf(result, 'restart', 'model');
      assert.equal(restart?.discardedBytes, CUT, summarize(result));
      await assertInstalled(bench, artifact, CONTENT);
    });
  }
});

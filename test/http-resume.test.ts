// End-to-end: how `modelhaul install` asks for bytes and resumes (docs/rules.md rules 1-4, 7,
// 8, 10, 16 and 17), against the misbehaving origin, through the CLI as a child process. Every
// test checks what the origin received (headers byte for byte, how many Range headers, how many
// body bytes it sent) and the bytes that end up at the final path.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeContent, sha256Hex } from './helpers/content.js';
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

const SIZE = 300_000;
/** Not a multiple of any chunk or batch size, so no buffering can make it look right by chance. */
const CUT = 123_457;
const CONTENT = makeContent(SIZE, 11);
const OTHER = makeContent(SIZE, 12);
/** The origin's default ETag for CONTENT. */
const ETAG = `"${sha256Hex(CONTENT).slice(0, 16)}"`;

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

test('rule 17: a body that stalls after some bytes is STALLED after --stall-timeout and resumes from those bytes', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  origin.script('/f.bin', { kind: 'stall', afterBytes: CUT });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install(['--stall-timeout', '1']);

  assertExit(result, 0);
  const [retry] = eventsOf(result, 'retry', 'model');
  assert.equal((retry?.error as { code?: string } | undefined)?.code, 'STALLED', summarize(result));
  const requests = origin.requestsFor('/f.bin');
  assert.equal(requests.length, 2, describeRequests(requests));
  assertResumeRequest(requests[1]!, CUT, ETAG);
  assert.equal(requests[1]!.bytesSent, SIZE - CUT);
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 17: response headers that never complete (slowloris) and a server that never answers are STALLED', async (t) => {
  for (const fault of [{ kind: 'slowloris', intervalMs: 100 }, { kind: 'no-answer' }] as const) {
    await t.test(fault.kind, async (t) => {
      const origin = await useOrigin(t);
      origin.serve('/f.bin', CONTENT);
      origin.script('/f.bin', fault);
      const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
      const bench = await useInstallBench(t, [artifact]);

      const result = await bench.install(['--stall-timeout', '1']);

      assertExit(result, 0);
      const retries = eventsOf(result, 'retry', 'model');
      assert.equal(retries.length, 1, summarize(result));
      assert.equal((retries[0]!.error as { code?: string }).code, 'STALLED');
      const requests = origin.requestsFor('/f.bin');
      assert.equal(requests.length, 2, describeRequests(requests));
      assertPlainRequest(requests[1]!);
      await assertInstalled(bench, artifact, CONTENT);
    });
  }
});

test('rule 17: the stall timeout is about silence, not duration: a slow but steady body is not STALLED', async (t) => {
  // About 1.8 s for the whole file, a write every 100 ms, against a 1 s stall timeout.
  const slow = CONTENT.subarray(0, 180_000);
  const origin = await useOrigin(t, { throttleBytesPerSecond: 100_000 });
  origin.serve('/f.bin', slow);
  const artifact = artifactFor(origin.url('/f.bin'), slow);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install(['--stall-timeout', '1']);

  assertExit(result, 0);
  assert.equal(eventsOf(result, 'retry', 'model').length, 0, summarize(result));
  assert.equal(origin.requestsFor('/f.bin').length, 1);
  await assertInstalled(bench, artifact, slow);
});

test('rule 17: a server that stalls every time fails with STALLED after --retries, keeping nothing promoted', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  origin.always('/f.bin', { kind: 'no-answer' });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install(['--stall-timeout', '0.3', '--retries', '1']);

  assertExit(result, 1);
  const failure = failureOf(result, 'model');
  assert.equal(failure.code, 'STALLED');
  assert.equal(failure.retryable, true);
  assert.equal(origin.requestsFor('/f.bin').length, 2, 'the first try and one retry');
});

test('rule 16: 503 with Retry-After is retried after the delay the server asked for', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  origin.script('/f.bin', { kind: 'status', status: 503, retryAfter: '1' });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 0);
  const [retry] = eventsOf(result, 'retry', 'model');
  assert.equal(retry?.delayMs, 1000, summarize(result));
  const error = retry?.error as { code?: string; details?: { status?: number } };
  assert.equal(error.code, 'HTTP_STATUS');
  assert.equal(error.details?.status, 503);
  const requests = origin.requestsFor('/f.bin');
  assert.equal(requests.length, 2, describeRequests(requests));
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 16: 408, 429, 500, 502, 503 and 504 are transient; the download resumes from the bytes on disk', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  origin.script(
    '/f.bin',
    { kind: 'truncate', afterBytes: CUT },
    ...[408, 429, 500, 502, 503, 504].map((status) => ({ kind: 'status' as const, status })),
  );
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  // Seven failures in a row (the truncated attempt counts as the first): --retries 7 is just enough.
  const result = await bench.install(['--retries', '7', '--retry-delay', '0.01']);

  assertExit(result, 0);
  const requests = origin.requestsFor('/f.bin');
  assert.equal(requests.length, 8, describeRequests(requests));
  for (const request of requests.slice(1)) assertResumeRequest(request, CUT, ETAG);
  assert.equal(requests[7]!.bytesSent, SIZE - CUT);
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 16: 404 fails fast with HTTP_STATUS and the other artifacts are still installed', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/good.bin', CONTENT);
  const good = artifactFor(origin.url('/good.bin'), CONTENT, 'good');
  const gone = artifactFor(origin.url('/gone.bin'), OTHER, 'gone');
  const bench = await useInstallBench(t, [gone, good]);

  const result = await bench.install();

  assertExit(result, 1);
  const failure = failureOf(result, 'gone');
  assert.equal(failure.code, 'HTTP_STATUS');
  assert.equal(failure.retryable, false);
  assert.equal((failure.error.details as { status?: number }).status, 404);
  assert.match(String(failure.hint), /no longer at this URL/);
  assert.equal(origin.requestsFor('/gone.bin').length, 1, 'not retried');
  assert.equal(eventsOf(result, 'retry', 'gone').length, 0);
  await assertInstalled(bench, good, CONTENT);
  const [done] = eventsOf(result, 'done');
  assert.equal(done?.ok, false);
});

test('rule 16: 400, 401, 403 and 410 from the manifest URL are not retried and carry a hint that fits', async (t) => {
  for (const [status, hint] of [
    [400, /refused the request/],
    [401, /requires credentials/],
    [403, /refused access/],
    [410, /no longer at this URL/],
  ] as const) {
    await t.test(String(status), async (t) => {
      const origin = await useOrigin(t);
      origin.serve('/f.bin', CONTENT);
      origin.always('/f.bin', { kind: 'status', status });
      const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
      const bench = await useInstallBench(t, [artifact]);

      const result = await bench.install();

      assertExit(result, 1);
      const failure = failureOf(result, 'model');
      assert.equal(failure.code, 'HTTP_STATUS');
      assert.equal(failure.retryable, false);
      assert.match(String(failure.hint), hint);
      assert.equal(origin.requestsFor('/f.bin').length, 1);
    });
  }
});

// ---- Segmented downloads --------------------------------------------------------------------

const BIG_SIZE = 40 * 1024 * 1024;
const BIG = makeContent(BIG_SIZE, 21);
const BIG_ETAG = `"${sha256Hex(BIG).slice(0, 16)}"`;
/** A scripted "fault" that serves the whole response, to let the next scripted one hit a later request. */
const PASS = { kind: 'truncate', afterBytes: Number.MAX_SAFE_INTEGER } as const;

test('segments: --connections 4 on a 40 MiB file uses several If-Range requests and installs the exact file', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/big.bin', BIG);
  const artifact = artifactFor(origin.url('/big.bin'), BIG, 'big');
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install(['--connections', '4']);

  assertExit(result, 0);
  const requests = origin.requestsFor('/big.bin');
  const ranged = requests.filter((r) => r.range !== undefined);
  assert.ok(ranged.length >= 2, `several segments: ${describeRequests(requests)}`);
  for (const request of ranged) {
    assert.equal(headerValues(request, 'range').length, 1);
    assert.match(request.range!, /^bytes=\d+-\d*$/);
    assert.deepEqual(headerValues(request, 'if-range'), [BIG_ETAG]);
    assert.equal(request.status, 206);
  }
  assert.equal(eventsOf(result, 'start', 'big')[0]?.connections, 4);
  await assertInstalled(bench, artifact, BIG);
});

test('segments: a segment answered with 200 falls back to one plain download and installs the exact file', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/big.bin', BIG);
  const artifact = artifactFor(origin.url('/big.bin'), BIG, 'big');
  const bench = await useInstallBench(t, [artifact]);
  // Faults apply in arrival order: the lead request is served in full, the first segment request
  // after it gets the whole file with 200.
  origin.script('/big.bin', PASS, { kind: 'ignore-range' });

  const result = await bench.install(['--connections', '4']);

  assertExit(result, 0);
  const requests = origin.requestsFor('/big.bin');
  assert.ok(requests.some((r) => r.range !== undefined && r.status === 200), describeRequests(requests));
  assert.ok(eventsOf(result, 'restart', 'big').length >= 1, summarize(result));
  const last = requests.at(-1)!;
  assertPlainRequest(last);
  assert.equal(last.status, 200);
  await assertInstalled(bench, artifact, BIG);
});

test('segments: a later run resumes every segment of a truncated segmented download, fetching only missing bytes', async (t) => {
  for (const connections of ['4', '1']) {
    await t.test(`second run with --connections ${connections}`, async (t) => {
      const origin = await useOrigin(t);
      origin.serve('/big.bin', BIG);
      const artifact = artifactFor(origin.url('/big.bin'), BIG, 'big');
      const bench = await useInstallBench(t, [artifact]);
      // The lead request is served normally; the second request (a segment) is cut short.
      origin.script('/big.bin', PASS, { kind: 'truncate', afterBytes: 3_000_001 });

      const first = await bench.install(['--connections', '4', '--retries', '0']);
      assertExit(first, 1);
      assert.equal(failureOf(first, 'big').code, 'NETWORK');
      const record = await readResumeRecordJson(bench, 'big');
      assert.ok(record.segments.length > 1, `the partial is segmented: ${JSON.stringify(record.segments)}`);
      const missing = record.segments.reduce((sum, s) => sum + (s.end - s.start - s.done), 0);
      assert.ok(missing > 0);

      const before = origin.requests.length;
      const second = await bench.install(['--connections', connections]);

      assertExit(second, 0);
      const requests = origin.requests.slice(before);
      const expectedRanges = record.segments
        .filter((s) => s.done < s.end - s.start)
        .map((s) => `bytes=${s.start + s.done}-${s.end === BIG_SIZE ? '' : s.end - 1}`)
        .sort();
      assert.deepEqual(requests.map((r) => r.range ?? 'none').sort(), expectedRanges, describeRequests(requests));
      for (const request of requests) {
        assert.deepEqual(headerValues(request, 'if-range'), [BIG_ETAG]);
        assert.equal(request.status, 206);
      }
      assert.equal(requests.reduce((sum, r) => sum + r.bytesSent, 0), missing, 'only the missing bytes were sent');
      await assertInstalled(bench, artifact, BIG);
    });
  }
});

test('segments: a segmented partial whose file changed upstream restarts from zero on the 200 and installs the new file', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/big.bin', makeContent(BIG_SIZE, 22), { etag: '"old"' });
  const artifact = artifactFor(origin.url('/big.bin'), BIG, 'big');
  const bench = await useInstallBench(t, [artifact]);
  origin.script('/big.bin', PASS, { kind: 'truncate', afterBytes: 3_000_001 });
  assertExit(await bench.install(['--connections', '4', '--retries', '0']), 1);
  const record = await readResumeRecordJson(bench, 'big');
  assert.ok(record.segments.length > 1, JSON.stringify(record.segments));

  origin.serve('/big.bin', BIG);
  const before = origin.requests.length;
  const second = await bench.install(['--connections', '4']);

  assertExit(second, 0);
  const [lead, ...rest] = origin.requests.slice(before);
  assert.deepEqual(headerValues(lead!, 'if-range'), ['"old"']);
  assert.equal(lead!.status, 200, 'the old validator no longer matches');
  for (const request of rest) {
    assert.deepEqual(headerValues(request, 'if-range'), [BIG_ETAG], 'later segments are guarded by the new ETag');
    assert.equal(request.status, 206);
  }
  const [restart] = eventsOf(second, 'restart', 'big');
  assert.ok(restart !== undefined, summarize(second));
  await assertInstalled(bench, artifact, BIG);
});

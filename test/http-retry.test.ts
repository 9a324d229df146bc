// End-to-end: how `modelhaul install` handles silence and refusals (docs/rules.md rules 16 and 17):
// stalls, status codes that are worth a retry and those that are not, against the misbehaving
// origin, through the CLI as a child process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CUT, makeContent, SMALL_FILE_SIZE as SIZE } from './helpers/content.js';
import { defaultEtag } from './helpers/origin.js';
import {
  assertExit,
  assertInstalled,
  assertPlainRequest,
  assertResumeRequest,
  describeRequests,
  eventsOf,
  failureOf,
  summarize,
  useInstallBench,
  useOrigin,
} from './helpers/install-run.js';
import { artifactFor } from './helpers/served-artifact.js';

const CONTENT = makeContent(SIZE, 11);
const OTHER = makeContent(SIZE, 12);
const ETAG = defaultEtag(CONTENT);

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

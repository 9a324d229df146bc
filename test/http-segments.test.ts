// End-to-end: segmented downloads (`--connections`), each segment resumed with Range + If-Range,
// against the misbehaving origin, through the CLI as a child process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeContent } from './helpers/content.js';
import { defaultEtag } from './helpers/origin.js';
import {
  assertExit,
  assertInstalled,
  assertPlainRequest,
  describeRequests,
  eventsOf,
  failureOf,
  headerValues,
  readResumeRecordJson,
  summarize,
  useInstallBench,
  useOrigin,
} from './helpers/install-run.js';
import { artifactFor } from './helpers/served-artifact.js';

const BIG_SIZE = 40 * 1024 * 1024;
const BIG = makeContent(BIG_SIZE, 21);
const BIG_ETAG = defaultEtag(BIG);
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

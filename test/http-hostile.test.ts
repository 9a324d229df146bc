// End-to-end: responses a download must refuse rather than write (docs/rules.md rules 5, 6, 9 and
// 10, and the checksum half of 16), against the misbehaving origin, through the CLI as a child
// process. A refused response must leave no trace in the file: either the install still ends with
// the exact bytes (after starting over), or it fails with the code the rule names and nothing is
// at the final path. Last, servers that break HTTP or TLS: named for what they are, never a crash.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CUT, makeContent, sha256Hex, SMALL_FILE_SIZE as SIZE } from './helpers/content.js';
import { defaultEtag, type Misbehaviour } from './helpers/origin.js';
import { dirPaths, stackTraceLines } from './helpers/install-dir.js';
import { pathExists } from './helpers/served-artifact.js';
import {
  assertExit,
  assertInstalled,
  assertNothingKept,
  assertPartialKept,
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

const CONTENT = makeContent(SIZE, 31);
const ETAG = defaultEtag(CONTENT);

/**
 * Serves CONTENT, cuts the first response at CUT and answers the resume request with `fault`.
 * Returns the requests, the CLI result and what is needed to check the disk.
 */
async function resumeAgainst(t: TestContext, fault: Misbehaviour, extra: string[] = []) {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  origin.script('/f.bin', { kind: 'truncate', afterBytes: CUT }, fault);
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);
  const result = await bench.install(extra);
  return { origin, artifact, bench, result, requests: origin.requestsFor('/f.bin') };
}

test('rule 5: a 206 whose Content-Range does not start at the offset is never appended; the file starts over', async (t) => {
  for (const delta of [-1000, 1000]) {
    await t.test(`starting ${Math.abs(delta)} bytes ${delta < 0 ? 'before' : 'after'} the offset`, async (t) => {
      const { artifact, bench, result, requests } = await resumeAgainst(t, { kind: 'wrong-range-start', delta });

      assertExit(result, 0);
      assert.equal(requests.length, 3, describeRequests(requests));
      assertResumeRequest(requests[1]!, CUT, ETAG);
      assert.equal(requests[1]!.status, 206);
      // Ranges are not trusted on this server any more: the restart is a plain GET from zero.
      assertPlainRequest(requests[2]!);
      assert.equal(requests[2]!.status, 200);
      const [restart] = eventsOf(result, 'restart', 'model');
      assert.equal(restart?.discardedBytes, CUT, summarize(result));
      await assertInstalled(bench, artifact, CONTENT);
    });
  }
});

test('rule 5: a 206 whose complete length is not the manifest size fails with SIZE_MISMATCH and keeps nothing', async (t) => {
  const { artifact, bench, result, requests } = await resumeAgainst(t, { kind: 'wrong-total', total: SIZE + 1 });

  assertExit(result, 1);
  const failure = failureOf(result, 'model');
  assert.equal(failure.code, 'SIZE_MISMATCH');
  assert.equal(failure.retryable, false);
  assert.deepEqual(
    [(failure.error.details as { expected?: number }).expected, (failure.error.details as { found?: number }).found],
    [SIZE, SIZE + 1],
  );
  assert.equal(requests.length, 2, `not retried: ${describeRequests(requests)}`);
  await assertNothingKept(bench, artifact);
});

test('rule 5: a 206 carrying another ETag than the stored one is refused and the file starts over', async (t) => {
  const { artifact, bench, result, requests } = await resumeAgainst(t, { kind: 'etag-on-206', etag: '"someone-else"' });

  assertExit(result, 0);
  assert.equal(requests.length, 3, describeRequests(requests));
  assert.equal(requests[1]!.status, 206);
  assertPlainRequest(requests[2]!);
  const [restart] = eventsOf(result, 'restart', 'model');
  assert.match(String(restart?.reason), /ETag/, summarize(result));
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 5: a 206 whose Content-Length disagrees with its Content-Range is refused and the file starts over', async (t) => {
  const { artifact, bench, result, requests } = await resumeAgainst(t, { kind: 'content-length-lie', extraBytes: 10 });

  assertExit(result, 0);
  assert.equal(requests.length, 3, describeRequests(requests));
  assert.equal(requests[1]!.status, 206);
  assertPlainRequest(requests[2]!);
  assert.equal(eventsOf(result, 'restart', 'model').length, 1, summarize(result));
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 5: a 206 to a request that asked for no range is refused', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  // The fault answers 206 for the whole file although the fresh download sent no Range.
  origin.script('/f.bin', { kind: 'etag-on-206', etag: ETAG });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 0);
  const requests = origin.requestsFor('/f.bin');
  assert.equal(requests.length, 2, describeRequests(requests));
  assert.equal(requests[0]!.status, 206);
  assertPlainRequest(requests[1]!);
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 6: multipart/byteranges for a single range is refused, never written into the file', async (t) => {
  const { artifact, bench, result, requests } = await resumeAgainst(t, { kind: 'multipart' });

  assertExit(result, 0);
  assert.equal(requests.length, 3, describeRequests(requests));
  assert.equal(requests[1]!.status, 206);
  assertPlainRequest(requests[2]!);
  const [restart] = eventsOf(result, 'restart', 'model');
  assert.match(String(restart?.reason), /multipart/, summarize(result));
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 9: Content-Encoding gzip on a fresh download fails with CONTENT_ENCODING and nothing is promoted', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  origin.always('/f.bin', { kind: 'gzip' });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 1);
  const failure = failureOf(result, 'model');
  assert.equal(failure.code, 'CONTENT_ENCODING');
  assert.equal((failure.error.details as { contentEncoding?: string }).contentEncoding, 'gzip');
  const requests = origin.requestsFor('/f.bin');
  assert.equal(requests.length, 1, `not retried: ${describeRequests(requests)}`);
  assertPlainRequest(requests[0]!);
  assert.equal(await assertPartialKept(bench, artifact), 0, 'not a byte of the encoded body was written');
});

test('rule 9: Content-Encoding gzip on a resume fails with CONTENT_ENCODING and keeps the good bytes', async (t) => {
  const { artifact, bench, result, requests } = await resumeAgainst(t, { kind: 'gzip' });

  assertExit(result, 1);
  assert.equal(failureOf(result, 'model').code, 'CONTENT_ENCODING');
  assert.equal(requests.length, 2, describeRequests(requests));
  assertResumeRequest(requests[1]!, CUT, ETAG);
  assert.equal(await assertPartialKept(bench, artifact), CUT);
});

test('rule 10: a declared Content-Length other than the manifest size fails with SIZE_MISMATCH before writing', async (t) => {
  for (const fault of [
    { kind: 'oversize', extraBytes: 1, framing: 'content-length' },
    { kind: 'content-length-lie', extraBytes: 5000 },
  ] as const) {
    await t.test(fault.kind, async (t) => {
      const origin = await useOrigin(t);
      origin.serve('/f.bin', CONTENT);
      origin.always('/f.bin', fault);
      const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
      const bench = await useInstallBench(t, [artifact]);

      const result = await bench.install();

      assertExit(result, 1);
      const failure = failureOf(result, 'model');
      assert.equal(failure.code, 'SIZE_MISMATCH');
      // `found` comes from the header check; counting streamed bytes would report `foundAtLeast`.
      assert.equal((failure.error.details as { found?: number }).found, SIZE + fault.extraBytes);
      assert.equal(origin.requestsFor('/f.bin').length, 1, 'not retried');
      assert.equal(eventsOf(result, 'progress', 'model').length, 0);
      await assertNothingKept(bench, artifact);
    });
  }
});

test('rule 10: a smaller file than the manifest says fails with SIZE_MISMATCH', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT.subarray(0, SIZE - 1));
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 1);
  const failure = failureOf(result, 'model');
  assert.equal(failure.code, 'SIZE_MISMATCH');
  assert.equal((failure.error.details as { found?: number }).found, SIZE - 1);
  await assertNothingKept(bench, artifact);
});

test('rule 10: an oversize chunked body fails with SIZE_MISMATCH at the first extra byte; the partial is discarded', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  origin.always('/f.bin', { kind: 'oversize', extraBytes: 100_000, framing: 'chunked' });
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 1);
  const failure = failureOf(result, 'model');
  assert.equal(failure.code, 'SIZE_MISMATCH');
  const foundAtLeast = (failure.error.details as { foundAtLeast?: number }).foundAtLeast;
  assert.ok(foundAtLeast !== undefined && foundAtLeast > SIZE && foundAtLeast <= SIZE + 64 * 1024, `found at least ${foundAtLeast}`);
  assert.equal(origin.requestsFor('/f.bin').length, 1, 'not retried');
  assert.equal(eventsOf(result, 'installed').length, 0);
  await assertNothingKept(bench, artifact);
});

test('rule 10: an oversize chunked 206 on a resume fails with SIZE_MISMATCH and discards the partial', async (t) => {
  const { artifact, bench, result, requests } = await resumeAgainst(t, { kind: 'oversize', extraBytes: 100_000, framing: 'chunked' });

  assertExit(result, 1);
  assert.equal(failureOf(result, 'model').code, 'SIZE_MISMATCH');
  assert.equal(requests.length, 2, describeRequests(requests));
  assertResumeRequest(requests[1]!, CUT, ETAG);
  await assertNothingKept(bench, artifact);
});

test('rule 16: a checksum mismatch after a full fresh download is CHECKSUM_MISMATCH, not retried, and nothing is kept', async (t) => {
  const origin = await useOrigin(t);
  const wrong = makeContent(SIZE, 32);
  origin.serve('/f.bin', wrong);
  origin.serve('/ok.bin', CONTENT);
  const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
  const other = artifactFor(origin.url('/ok.bin'), CONTENT, 'other');
  const bench = await useInstallBench(t, [artifact, other]);

  const result = await bench.install();

  assertExit(result, 1);
  const failure = failureOf(result, 'model');
  assert.equal(failure.code, 'CHECKSUM_MISMATCH');
  assert.equal(failure.retryable, false);
  const details = failure.error.details as { expected?: string; found?: string };
  assert.deepEqual([details.expected, details.found], [artifact.sha256, sha256Hex(wrong)]);
  assert.equal(origin.requestsFor('/f.bin').length, 1, 'a fresh download is not fetched twice');
  assert.equal(eventsOf(result, 'retry', 'model').length, 0);
  await assertNothingKept(bench, artifact);
  await assertInstalled(bench, other, CONTENT);
});

test('a 200 with a malformed chunked body in reply to a Range request fails with PROTOCOL, never a crash: no stack trace, no lock or temp file left', async (t) => {
  const { bench, result, requests } = await resumeAgainst(t, { kind: 'garbage-chunked' });

  assertExit(result, 1);
  assert.deepEqual(stackTraceLines(result.stderr), [], 'no stack trace');
  const failure = failureOf(result, 'model');
  assert.equal(failure.code, 'PROTOCOL', summarize(result));
  assert.equal(failure.retryable, false);
  assert.equal(requests.length, 2, `not retried: ${describeRequests(requests)}`);
  assertResumeRequest(requests[1]!, CUT, ETAG);
  assert.equal(eventsOf(result, 'done').length, 1, 'the install ran to its end');
  const paths = dirPaths(bench.dir);
  assert.equal(await pathExists(paths.lock), false, 'the lock was released');
  assert.deepEqual((await readdir(paths.stagingDir)).filter((name) => name.endsWith('.tmp')), [], 'no temp file of a record write is left');
});

test('response headers larger than a client accepts fail with PROTOCOL and are not retried as a network fault', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  origin.always('/f.bin', { kind: 'oversized-headers', bytes: 256 * 1024 });
  const bench = await useInstallBench(t, [artifactFor(origin.url('/f.bin'), CONTENT)]);

  const result = await bench.install();

  assertExit(result, 1);
  const failure = failureOf(result, 'model');
  assert.equal(failure.code, 'PROTOCOL', summarize(result));
  assert.doesNotMatch(String(failure.hint), /internet connection/);
  assert.equal(origin.requestsFor('/f.bin').length, 1, 'not retried');
});

test('a TLS certificate that cannot be verified fails with TLS at once, not retried as a network fault', async (t) => {
  const fixture = (name: string): Buffer => readFileSync(fileURLToPath(new URL(`fixtures/tls/${name}`, import.meta.url)));
  const server = createHttpsServer({ key: fixture('loopback-key.pem'), cert: fixture('loopback-cert.pem') }, (_req, res) => res.end(CONTENT));
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/f.bin`;
  const bench = await useInstallBench(t, [artifactFor(url, CONTENT)]);

  // The certificate is not trusted here: no NODE_EXTRA_CA_CERTS, as on a user's machine.
  const result = await bench.install([], { env: { NODE_EXTRA_CA_CERTS: undefined } });

  assertExit(result, 1);
  const failure = failureOf(result, 'model');
  assert.equal(failure.code, 'TLS', summarize(result));
  assert.equal(failure.retryable, false);
  assert.match(String(failure.error.message), /self-signed|certificate/i);
  assert.doesNotMatch(String(failure.hint), /internet connection/);
  assert.equal(connections, 1, 'one connection: no retry');
});

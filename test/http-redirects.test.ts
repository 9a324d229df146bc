// End-to-end: redirects, credentials and signed URLs (docs/rules.md rules 11, 12 and 13),
// through the CLI as a child process against one or two misbehaving origins. The https → http
// downgrade cannot be staged with plain-http origins, so it is checked one level down, on
// openResponse() itself, with undici's MockAgent standing in for the network.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { MockAgent, type Dispatcher } from 'undici';
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
  summarize,
  useInstallBench,
  useOrigin,
} from './helpers/install-run.js';
import { artifactFor } from './helpers/served-artifact.js';
import { openResponse, discard } from '../src/http/open-response.js';
import { Dispatchers } from '../src/http/dispatchers.js';
import { isInstallError } from '../src/errors.js';

const CONTENT = makeContent(SIZE, 41);
const ETAG = defaultEtag(CONTENT);

test('rule 11: 301, 302, 303, 307 and 308 are followed, relative and absolute Locations alike', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/files/f.bin', CONTENT);
  origin.always('/a', { kind: 'redirect', status: 301, location: '/b' }); // absolute path
  origin.always('/b', { kind: 'redirect', status: 302, location: 'c/../d' }); // relative, dot segments
  origin.always('/d', { kind: 'redirect', status: 303, location: origin.url('/e') }); // absolute URL
  origin.always('/e', { kind: 'redirect', status: 307, location: '//127.0.0.1:' + new URL(origin.origin).port + '/g' }); // scheme-relative
  origin.always('/g', { kind: 'redirect', status: 308, location: 'files/f.bin' });
  const artifact = artifactFor(origin.url('/a'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 0);
  assert.deepEqual(
    origin.requests.map((r) => `${r.target} ${r.status}`),
    ['/a 301', '/b 302', '/d 303', '/e 307', '/g 308', '/files/f.bin 200'],
  );
  for (const request of origin.requests) assertPlainRequest(request);
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 11: a resume keeps Range, If-Range and Accept-Encoding on every hop', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/blob', CONTENT);
  origin.always('/m', { kind: 'redirect', status: 302, location: '/hop' });
  origin.always('/hop', { kind: 'redirect', status: 307, location: '/blob' });
  origin.script('/blob', { kind: 'truncate', afterBytes: CUT });
  const artifact = artifactFor(origin.url('/m'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 0);
  const secondAttempt = origin.requests.slice(3);
  assert.deepEqual(secondAttempt.map((r) => r.path), ['/m', '/hop', '/blob'], describeRequests(origin.requests));
  for (const request of secondAttempt) assertResumeRequest(request, CUT, ETAG);
  assert.equal(secondAttempt[2]!.bytesSent, SIZE - CUT);
  await assertInstalled(bench, artifact, CONTENT);
});

/** `count` redirects in a row starting at `/<name>0`, ending at `/f.bin`. */
function redirectChain(origin: Awaited<ReturnType<typeof useOrigin>>, name: string, count: number): string {
  for (let i = 0; i < count; i++) {
    origin.always(`/${name}${i}`, { kind: 'redirect', status: 302, location: i + 1 === count ? '/f.bin' : `/${name}${i + 1}` });
  }
  return origin.url(`/${name}0`);
}

test('rule 11: ten redirects are followed, the eleventh is refused with REDIRECT and not retried', async (t) => {
  const origin = await useOrigin(t);
  origin.serve('/f.bin', CONTENT);
  const ten = artifactFor(redirectChain(origin, 'ten', 10), CONTENT, 'ten');
  const eleven = artifactFor(redirectChain(origin, 'eleven', 11), CONTENT, 'eleven');
  const bench = await useInstallBench(t, [ten, eleven]);

  const result = await bench.install(['--concurrency', '1']);

  assertExit(result, 1);
  await assertInstalled(bench, ten, CONTENT);
  const failure = failureOf(result, 'eleven');
  assert.equal(failure.code, 'REDIRECT');
  assert.equal(failure.retryable, false);
  const elevenRequests = origin.requests.filter((r) => r.path.startsWith('/eleven'));
  assert.equal(elevenRequests.length, 11, `the 11th Location is never requested: ${describeRequests(elevenRequests)}`);
  assert.equal(origin.requestsFor('/f.bin').length, 1, 'only the 10-hop chain reached the file');
  assert.equal(await assertPartialKept(bench, eleven), 0, 'nothing was written for the refused chain');
});

test('rule 11: a redirect loop is refused with REDIRECT', async (t) => {
  for (const shape of ['self', 'two-step'] as const) {
    await t.test(shape, async (t) => {
      const origin = await useOrigin(t);
      origin.serve('/f.bin', CONTENT);
      if (shape === 'self') {
        origin.always('/loop', { kind: 'redirect-loop', status: 307 });
      } else {
        origin.always('/loop', { kind: 'redirect', status: 302, location: '/other' });
        origin.always('/other', { kind: 'redirect', status: 302, location: '/loop?x=1' });
      }
      const artifact = artifactFor(origin.url('/loop?x=1'), CONTENT);
      const bench = await useInstallBench(t, [artifact]);

      const result = await bench.install();

      assertExit(result, 1);
      const failure = failureOf(result, 'model');
      assert.equal(failure.code, 'REDIRECT');
      assert.match(String(failure.error.message), /loop/i);
      assert.equal(origin.requests.length, shape === 'self' ? 1 : 2, `no URL is requested twice: ${describeRequests(origin.requests)}`);
    });
  }
});

test('rule 11: a redirect to a non-HTTP scheme or to plain http on another host is refused', async (t) => {
  for (const location of ['ftp://127.0.0.1/f.bin', 'file:///etc/passwd', 'data:,hello', 'http://example.com/f.bin']) {
    await t.test(location, async (t) => {
      const origin = await useOrigin(t);
      origin.always('/f.bin', { kind: 'redirect', status: 302, location });
      const artifact = artifactFor(origin.url('/f.bin'), CONTENT);
      const bench = await useInstallBench(t, [artifact]);

      const result = await bench.install();

      assertExit(result, 1);
      assert.equal(failureOf(result, 'model').code, 'REDIRECT', summarize(result));
      assert.equal(origin.requests.length, 1, 'refused without another request');
    });
  }
});

test('rule 11: the redirect target is requested exactly as Location says, signed query included', async (t) => {
  for (const form of ['absolute', 'relative'] as const) {
    await t.test(form, (t) => signedRedirect(t, form));
  }
});

async function signedRedirect(t: TestContext, form: 'absolute' | 'relative'): Promise<void> {
  const origin = await useOrigin(t);
  origin.serve('/blob/sha256-abc', CONTENT);
  // What WHATWG URL serialization would change: `'` in a query becomes %27.
  const signedQuery =
    '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20240101%2Fus-east-1%2Fs3%2Faws4_request' +
    '&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host' +
    "&response-content-disposition=inline%3B+filename*%3DUTF-8''model.bin%3B&Policy=eyJ~a_b-c&sig=A%2b%2Fz%3d";
  const target = `/blob/sha256-abc${signedQuery}`;
  const location = form === 'absolute' ? origin.url(target) : `../../blob/sha256-abc${signedQuery}`;
  origin.always('/resolve/main/model.bin', { kind: 'redirect', status: 302, location });
  const artifact = artifactFor(origin.url('/resolve/main/model.bin'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 0);
  const blob = origin.requestsFor('/blob/sha256-abc');
  assert.equal(blob.length, 1, describeRequests(origin.requests));
  assert.equal(blob[0]!.target, target, 'not a byte of the signed URL changed');
  await assertInstalled(bench, artifact, CONTENT);
  assert.ok(!JSON.stringify(result.events).includes('X-Amz-Credential'), 'the signed query never reaches the output');
}

test('rule 12: the token goes to its origin only, never across a redirect to another origin', async (t) => {
  const manifestHost = await useOrigin(t);
  const cdn = await useOrigin(t);
  cdn.serve('/blob', CONTENT);
  manifestHost.always('/resolve', { kind: 'redirect', status: 302, location: cdn.url('/blob') });
  const artifact = artifactFor(manifestHost.url('/resolve'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install(['--token', 'sekrit', '--token-origin', manifestHost.origin]);

  assertExit(result, 0);
  assert.equal(manifestHost.requests.length, 1);
  assert.deepEqual(headerValues(manifestHost.requests[0]!, 'authorization'), ['Bearer sekrit']);
  assert.equal(cdn.requests.length, 1);
  assert.deepEqual(headerValues(cdn.requests[0]!, 'authorization'), [], 'no credentials for the other origin (same host, other port)');
  await assertInstalled(bench, artifact, CONTENT);
  assert.ok(!result.stdout.includes('sekrit') && !result.stderr.includes('sekrit'), 'the token is never printed');
});

test('rule 12: a token configured for the redirect target is sent there and not to the manifest host', async (t) => {
  const manifestHost = await useOrigin(t);
  const cdn = await useOrigin(t);
  cdn.serve('/blob', CONTENT);
  manifestHost.always('/resolve', { kind: 'redirect', status: 302, location: cdn.url('/blob') });
  const artifact = artifactFor(manifestHost.url('/resolve'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install(['--token', 'cdn-only', '--token-origin', cdn.origin]);

  assertExit(result, 0);
  assert.deepEqual(headerValues(manifestHost.requests[0]!, 'authorization'), []);
  assert.deepEqual(headerValues(cdn.requests[0]!, 'authorization'), ['Bearer cdn-only']);
});

test('rule 13: a resume in the same run starts again at the manifest URL, not at the redirect target', async (t) => {
  const manifestHost = await useOrigin(t);
  const cdn = await useOrigin(t);
  cdn.serve('/blob', CONTENT);
  manifestHost.always('/m', { kind: 'redirect', status: 302, location: cdn.url('/blob?sig=1') });
  cdn.script('/blob', { kind: 'truncate', afterBytes: CUT });
  const artifact = artifactFor(manifestHost.url('/m'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 0);
  assert.equal(manifestHost.requests.length, 2, 'resolved once per attempt');
  assertResumeRequest(manifestHost.requests[1]!, CUT, ETAG);
  assert.equal(cdn.requests.length, 2, describeRequests(cdn.requests));
  assertResumeRequest(cdn.requests[1]!, CUT, ETAG);
  assert.equal(cdn.requests[1]!.bytesSent, SIZE - CUT);
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 13: a later run resumes from the manifest URL; the redirect target is never persisted', async (t) => {
  const manifestHost = await useOrigin(t);
  const cdn = await useOrigin(t);
  cdn.serve('/blob', CONTENT);
  manifestHost.always('/m', { kind: 'redirect', status: 302, location: cdn.url('/blob?sig=first') });
  cdn.script('/blob', { kind: 'truncate', afterBytes: CUT });
  const artifact = artifactFor(manifestHost.url('/m'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);
  assertExit(await bench.install(['--retries', '0']), 1);
  assert.equal(await assertPartialKept(bench, artifact), CUT);

  // The first signed target has expired; the manifest URL now points somewhere new.
  manifestHost.always('/m', { kind: 'redirect', status: 302, location: cdn.url('/blob?sig=second') });
  const before = { manifest: manifestHost.requests.length, cdn: cdn.requests.length };
  const second = await bench.install();

  assertExit(second, 0);
  const resolved = manifestHost.requests.slice(before.manifest);
  const fetched = cdn.requests.slice(before.cdn);
  assert.equal(resolved.length, 1, 'the first request of the run goes to the manifest URL');
  assertResumeRequest(resolved[0]!, CUT, ETAG);
  assert.deepEqual(fetched.map((r) => r.target), ['/blob?sig=second']);
  assertResumeRequest(fetched[0]!, CUT, ETAG);
  assert.equal(fetched[0]!.bytesSent, SIZE - CUT);
  await assertInstalled(bench, artifact, CONTENT);
});

test('rule 13: a 403 from an expired redirect target is retried by resolving the manifest URL again', async (t) => {
  const manifestHost = await useOrigin(t);
  const cdn = await useOrigin(t);
  cdn.serve('/blob', CONTENT);
  manifestHost.always('/m', { kind: 'redirect', status: 302, location: cdn.url('/blob?sig=x') });
  cdn.script('/blob', { kind: 'truncate', afterBytes: CUT }, { kind: 'status', status: 403 });
  const artifact = artifactFor(manifestHost.url('/m'), CONTENT);
  const bench = await useInstallBench(t, [artifact]);

  const result = await bench.install();

  assertExit(result, 0);
  const retries = eventsOf(result, 'retry', 'model');
  assert.deepEqual(
    retries.map((r) => (r.error as { code?: string; details?: { status?: number } }).details?.status ?? (r.error as { code?: string }).code),
    ['NETWORK', 403],
    summarize(result),
  );
  assert.equal(manifestHost.requests.length, 3, 'every attempt starts at the manifest URL');
  assert.equal(cdn.requests.length, 3);
  assertResumeRequest(cdn.requests[2]!, CUT, ETAG);
  await assertInstalled(bench, artifact, CONTENT);
});

// ---- https → http, one level down --------------------------------------------------------------

/** Dispatchers whose every request goes to a MockAgent: https origins without certificates. */
class MockDispatchers extends Dispatchers {
  constructor(private readonly agent: MockAgent) {
    super({ stallTimeoutMs: 5000 });
  }

  override for(): Dispatcher {
    return this.agent;
  }
}

async function openThrough(agent: MockAgent, url: string, options: { allowHttp?: boolean; credentials?: Record<string, string> } = {}) {
  const response = await openResponse({
    url,
    headers: { 'accept-encoding': 'identity' },
    allowHttp: options.allowHttp ?? false,
    credentials: options.credentials,
    dispatchers: new MockDispatchers(agent),
    signal: new AbortController().signal,
  });
  await discard(response.body);
  return response;
}

test('rule 11 (unit): an https → http redirect is refused, even with allowHttp and to loopback', async (t) => {
  for (const [allowHttp, location] of [
    [false, 'http://cdn.example/f.bin'],
    [true, 'http://cdn.example/f.bin'],
    [true, 'http://127.0.0.1:8080/f.bin'],
  ] as const) {
    await t.test(`${location} allowHttp=${allowHttp}`, async () => {
      const agent = new MockAgent();
      agent.disableNetConnect();
      agent.get('https://models.example').intercept({ path: '/f.bin', method: 'GET' }).reply(302, '', { headers: { location } });
      const followed: string[] = [];
      const httpPool = agent.get(new URL(location).origin);
      httpPool.intercept({ path: '/f.bin', method: 'GET' }).reply(() => {
        followed.push(location);
        return { statusCode: 200, data: 'plain http' };
      });

      await assert.rejects(openThrough(agent, 'https://models.example/f.bin', { allowHttp }), (error: unknown) => {
        assert.ok(isInstallError(error));
        assert.equal(error.code, 'REDIRECT');
        assert.match(error.message, /https to http/);
        return true;
      });
      assert.deepEqual(followed, [], 'the http target is never requested');
      await agent.close();
    });
  }
});

test('rule 11/12 (unit): https → https redirects are followed and the token stays with its origin', async () => {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const seen: Array<{ origin: string; authorization: unknown }> = [];
  const authorizationOf = (headers: unknown): unknown =>
    headers !== null && typeof headers === 'object' ? (headers as Record<string, unknown>).authorization : undefined;
  agent
    .get('https://huggingface.co')
    .intercept({ path: '/org/model/resolve/main/f.bin', method: 'GET' })
    .reply((request) => {
      seen.push({ origin: 'https://huggingface.co', authorization: authorizationOf(request.headers) });
      return { statusCode: 302, data: '', responseOptions: { headers: { location: 'https://cdn-lfs.hf.co/repos/x/y?sig=1' } } };
    });
  agent
    .get('https://cdn-lfs.hf.co')
    .intercept({ path: '/repos/x/y?sig=1', method: 'GET' })
    .reply((request) => {
      seen.push({ origin: 'https://cdn-lfs.hf.co', authorization: authorizationOf(request.headers) });
      return { statusCode: 200, data: 'bytes' };
    });

  const response = await openThrough(agent, 'https://huggingface.co/org/model/resolve/main/f.bin', {
    credentials: { 'https://huggingface.co': 'Bearer hf_secret' },
  });

  assert.equal(response.status, 200);
  assert.equal(response.redirected, true);
  assert.equal(response.url, 'https://cdn-lfs.hf.co/repos/x/y?sig=1');
  assert.deepEqual(seen, [
    { origin: 'https://huggingface.co', authorization: 'Bearer hf_secret' },
    { origin: 'https://cdn-lfs.hf.co', authorization: undefined },
  ]);
  await agent.close();
});

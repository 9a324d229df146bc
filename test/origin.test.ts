// The test origin is the yardstick for every end-to-end test, so it is tested itself: with a plain
// node:http client (which neither decodes nor retries), and raw sockets where HTTP parsing would
// hide what is on the wire.
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { makeContent, sha256Hex } from './helpers/content.js';
import { nginxSkipReason, parseAccessLogLine, startNginx } from './helpers/nginx.js';
import { startOrigin, type Origin, type OriginOptions } from './helpers/origin.js';
import { useTempDir } from './helpers/tmp.js';

const SIZE = 200_000;
const CONTENT = makeContent(SIZE, 1);

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** False when the connection ended before the framing said the body was over. */
  complete: boolean;
}

async function origin(t: TestContext, options?: OriginOptions): Promise<Origin> {
  const started = await startOrigin(options);
  t.after(() => started.close());
  started.serve('/file', CONTENT);
  return started;
}

/** Sends one request on its own connection (no agent, so no reuse between tests). */
function open(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { method, headers, agent: false }, resolve).on('error', reject).end();
  });
}

function collect(response: IncomingMessage): Promise<Reply> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A cut-short body also emits 'error' ("aborted"); 'close' follows in every case.
    response.on('error', () => undefined);
    response.on('close', () =>
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        body: Buffer.concat(chunks),
        complete: response.complete,
      }),
    );
  });
}

async function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return collect(await open(url, headers, method));
}

/** Resolves once `count` body bytes have arrived, leaving the response flowing. */
function received(response: IncomingMessage, count: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let total = 0;
  return new Promise((resolve) => {
    response.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= count) resolve(chunks);
    });
  });
}

function rawConnect(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything a raw socket receives until it closes. */
function readAll(socket: Socket): Promise<string> {
  let text = '';
  socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve(text)));
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

// ---- Normal service -----------------------------------------------------------------------

test('a plain GET returns the whole file with validators and framing headers', async (t) => {
  const server = await origin(t);
  const reply = await get(server.url('/file'));
  assert.equal(reply.status, 200);
  assert.deepEqual(reply.body, CONTENT);
  assert.equal(reply.headers['content-length'], String(SIZE));
  assert.equal(reply.headers['accept-ranges'], 'bytes');
  assert.equal(reply.headers.etag, `"${sha256Hex(CONTENT).slice(0, 16)}"`);
  assert.ok(reply.headers.date);
  const lastModified = Date.parse(reply.headers['last-modified'] ?? '');
  const dated = Date.parse(reply.headers.date);
  assert.ok(Math.abs(dated - lastModified - 3_600_000) < 5_000, 'Last-Modified is about an hour before Date');
});

test('HEAD describes the file without a body, and ignores Range', async (t) => {
  const server = await origin(t);
  const reply = await get(server.url('/file'), { Range: 'bytes=0-9' }, 'HEAD');
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['content-length'], String(SIZE));
  assert.equal(reply.body.length, 0);
  assert.equal(server.bytesSent(), 0);
});

test('single byte ranges get 206 with an exact Content-Range', async (t) => {
  const server = await origin(t);
  const cases: [string, number, number][] = [
    ['bytes=10-19', 10, 19],
    ['bytes=150000-', 150_000, SIZE - 1],
    ['bytes=-100', SIZE - 100, SIZE - 1],
    ['bytes=-999999', 0, SIZE - 1],
    ['bytes=199990-300000', 199_990, SIZE - 1],
  ];
  for (const [range, first, last] of cases) {
    const reply = await get(server.url('/file'), { Range: range });
    assert.equal(reply.status, 206, range);
    assert.equal(reply.headers['content-range'], `bytes ${first}-${last}/${SIZE}`, range);
    assert.equal(reply.headers['content-length'], String(last - first + 1), range);
    assert.deepEqual(reply.body, CONTENT.subarray(first, last + 1), range);
  }
});

test('unsatisfiable ranges get 416 with bytes */size; unsupported ones the full file', async (t) => {
  const server = await origin(t);
  for (const range of [`bytes=${SIZE}-`, 'bytes=-0', `bytes=${SIZE + 5}-${SIZE + 10}`]) {
    const reply = await get(server.url('/file'), { Range: range });
    assert.equal(reply.status, 416, range);
    assert.equal(reply.headers['content-range'], `bytes */${SIZE}`, range);
    assert.equal(reply.headers['content-length'], '0', range);
  }
  for (const range of ['bytes=0-1,5-6', 'bytes=9-3', 'items=0-1', 'bytes=-']) {
    const reply = await get(server.url('/file'), { Range: range });
    assert.equal(reply.status, 200, range);
    assert.equal(reply.body.length, SIZE, range);
  }
});

test('If-Range with the strong ETag or the exact date resumes; anything else restarts', async (t) => {
  const server = await origin(t);
  const head = await get(server.url('/file'), {}, 'HEAD');
  const etag = head.headers.etag ?? '';
  const lastModified = head.headers['last-modified'] ?? '';
  const statusWith = async (ifRange: string): Promise<number> =>
    (await get(server.url('/file'), { Range: 'bytes=100-', 'If-Range': ifRange })).status;

  assert.equal(await statusWith(etag), 206);
  assert.equal(await statusWith(lastModified), 206);
  assert.equal(await statusWith('"another"'), 200);
  assert.equal(await statusWith(`W/${etag}`), 200, 'a weak validator never matches');
  assert.equal(await statusWith(new Date(Date.parse(lastModified) + 1000).toUTCString()), 200);

  server.serve('/weak', CONTENT, { etag: 'W/"x"' });
  const weak = await get(server.url('/weak'), { Range: 'bytes=100-', 'If-Range': 'W/"x"' });
  assert.equal(weak.status, 200);
});

test('serve() replaces content and validators; null options omit them', async (t) => {
  const server = await origin(t);
  const before = await get(server.url('/file'), {}, 'HEAD');
  const replacement = makeContent(SIZE, 2);
  server.serve('/file', replacement);
  const after = await get(server.url('/file'));
  assert.deepEqual(after.body, replacement);
  assert.notEqual(after.headers.etag, before.headers.etag);
  assert.ok(Date.parse(after.headers['last-modified'] ?? '') > Date.parse(before.headers['last-modified'] ?? ''));

  const stale = await get(server.url('/file'), { Range: 'bytes=5-', 'If-Range': before.headers.etag ?? '' });
  assert.equal(stale.status, 200);
  assert.deepEqual(stale.body, replacement);

  server.serve('/bare', CONTENT, { etag: null, lastModified: null });
  const bare = await get(server.url('/bare'), {}, 'HEAD');
  assert.equal(bare.headers.etag, undefined);
  assert.equal(bare.headers['last-modified'], undefined);

  const fixed = new Date('2024-01-02T03:04:05Z');
  server.serve('/fixed', CONTENT, { etag: '"pinned"', lastModified: fixed });
  const pinned = await get(server.url('/fixed'), {}, 'HEAD');
  assert.equal(pinned.headers.etag, '"pinned"');
  assert.equal(pinned.headers['last-modified'], fixed.toUTCString());
});

test('unknown paths get 404 and other methods 405', async (t) => {
  const server = await origin(t);
  assert.equal((await get(server.url('/missing'))).status, 404);
  const post = await get(server.url('/file'), {}, 'POST');
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
});

test('throttling paces each response', async (t) => {
  const server = await origin(t, { throttleBytesPerSecond: 100_000 });
  server.serve('/small', CONTENT.subarray(0, 50_000));
  const { value: reply, ms } = await timed(get(server.url('/small')));
  assert.equal(reply.body.length, 50_000);
  assert.ok(ms >= 400, `50 kB at 100 kB/s took ${ms} ms`);
});

// ---- Recording and scripting --------------------------------------------------------------

test('every request is recorded with its raw headers, status and body bytes', async (t) => {
  const server = await origin(t);
  await get(server.url('/file?sig=a%2Fb'), { Range: 'bytes=0-99', 'If-Range': '"abc"', 'Accept-Encoding': 'identity' });
  await get(server.url('/missing'));

  assert.equal(server.requests.length, 2);
  const [first] = server.requestsFor('/file');
  assert.ok(first);
  assert.equal(first.method, 'GET');
  assert.equal(first.target, '/file?sig=a%2Fb');
  assert.equal(first.range, 'bytes=0-99');
  assert.equal(first.ifRange, '"abc"');
  assert.equal(first.headers['accept-encoding'], 'identity');
  assert.equal(first.headers.authorization, undefined);
  assert.ok(first.rawHeaders.includes('Accept-Encoding'));
  assert.equal(first.status, 200, 'the If-Range did not match');
  assert.equal(first.bytesSent, SIZE);
  assert.equal(server.bytesSent('/file'), SIZE);
  assert.equal(server.requestsFor('/missing')[0]?.status, 404);
});

test('duplicated Range headers stay visible in rawHeaders', async (t) => {
  const server = await origin(t);
  const socket = await rawConnect(server.origin);
  const response = readAll(socket);
  socket.end('GET /file HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\nRange: bytes=0-1\r\nConnection: close\r\n\r\n');
  await response;
  const rawNames = server.requests[0]?.rawHeaders.filter((_, index) => index % 2 === 0) ?? [];
  assert.equal(rawNames.filter((name) => name.toLowerCase() === 'range').length, 2);
});

test('scripted faults hit the next requests in order, then normal service resumes', async (t) => {
  const server = await origin(t);
  server.script('/file', { kind: 'status', status: 503 }, { kind: 'status', status: 429 });
  assert.equal((await get(server.url('/file'))).status, 503);
  assert.equal((await get(server.url('/other'))).status, 404, 'faults only match their path');
  assert.equal((await get(server.url('/file'))).status, 429);
  assert.equal((await get(server.url('/file'))).status, 200);
});

test('a permanent fault lasts until clear(); scripted faults go first', async (t) => {
  const server = await origin(t);
  server.always('/file', { kind: 'status', status: 500 });
  server.script('/file', { kind: 'status', status: 502 });
  assert.equal((await get(server.url('/file'))).status, 502);
  assert.equal((await get(server.url('/file'))).status, 500);
  assert.equal((await get(server.url('/file'))).status, 500);
  server.clear('/file');
  assert.equal((await get(server.url('/file'))).status, 200);
});

// ---- Each misbehaviour --------------------------------------------------------------------

test('ignore-range answers a Range request with the full file', async (t) => {
  const server = await origin(t);
  server.script('/file', { kind: 'ignore-range' });
  const reply = await get(server.url('/file'), { Range: 'bytes=100-' });
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['content-range'], undefined);
  assert.deepEqual(reply.body, CONTENT);
});

test('status sends the code, Retry-After and body', async (t) => {
  const server = await origin(t);
  server.script('/file', { kind: 'status', status: 503, retryAfter: '7', body: 'busy' });
  const reply = await get(server.url('/file'));
  assert.equal(reply.status, 503);
  assert.equal(reply.headers['retry-after'], '7');
  assert.equal(reply.headers['content-length'], '4');
  assert.equal(reply.body.toString(), 'busy');
});

test('truncate sends the promised length, fewer bytes, then drops the connection', async (t) => {
  const server = await origin(t);
  server.script('/file', { kind: 'truncate', afterBytes: 70_000 });
  const reply = await get(server.url('/file'), { Range: 'bytes=1000-' });
  assert.equal(reply.status, 206);
  assert.equal(reply.headers['content-length'], String(SIZE - 1000));
  assert.equal(reply.complete, false);
  assert.deepEqual(reply.body, CONTENT.subarray(1000, 71_000));
  assert.equal(server.bytesSent('/file'), 70_000);
});

test('stall sends some bytes, then nothing, until close() releases the socket', async (t) => {
  const server = await origin(t);
  server.script('/file', { kind: 'stall', afterBytes: 1000 });
  const response = await open(server.url('/file'));
  const closed = new Promise<void>((resolve) => response.once('close', resolve));
  response.on('error', () => undefined);
  const chunks = await received(response, 1000);
  await delay(200);
  assert.equal(Buffer.concat(chunks).length, 1000, 'nothing after the stall point');
  assert.equal(response.complete, false);

  const { ms } = await timed(Promise.all([server.close(), closed]));
  assert.ok(ms < 1000, `close() took ${ms} ms`);
});

test('oversize sends extra bytes, counted by Content-Length or chunked', async (t) => {
  const server = await origin(t);
  server.script(
    '/file',
    { kind: 'oversize', extraBytes: 10, framing: 'content-length' },
    { kind: 'oversize', extraBytes: 10, framing: 'chunked' },
  );
  const counted = await get(server.url('/file'));
  assert.equal(counted.headers['content-length'], String(SIZE + 10));
  assert.equal(counted.body.length, SIZE + 10);
  assert.deepEqual(counted.body.subarray(0, SIZE), CONTENT);

  const chunked = await get(server.url('/file'));
  assert.equal(chunked.headers['content-length'], undefined);
  assert.equal(chunked.headers['transfer-encoding'], 'chunked');
  assert.equal(chunked.body.length, SIZE + 10);
  assert.equal(chunked.complete, true);
});

test('gzip encodes the body even when identity was asked for', async (t) => {
  const server = await origin(t);
  server.script('/file', { kind: 'gzip' });
  const reply = await get(server.url('/file'), { 'Accept-Encoding': 'identity' });
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['content-encoding'], 'gzip');
  assert.deepEqual(gunzipSync(reply.body), CONTENT);
});

test('multipart answers a single range with multipart/byteranges', async (t) => {
  const server = await origin(t);
  server.script('/file', { kind: 'multipart' });
  const reply = await get(server.url('/file'), { Range: 'bytes=10-19' });
  assert.equal(reply.status, 206);
  const boundary = /^multipart\/byteranges; boundary=(.+)$/.exec(reply.headers['content-type'] ?? '')?.[1];
  assert.ok(boundary);
  const text = reply.body.toString('latin1');
  assert.ok(text.startsWith(`--${boundary}\r\n`));
  assert.ok(text.includes(`Content-Range: bytes 10-19/${SIZE}\r\n\r\n${CONTENT.subarray(10, 20).toString('latin1')}\r\n`));
  assert.ok(text.endsWith(`--${boundary}--\r\n`));
});

test('wrong-range-start shifts Content-Range and body together', async (t) => {
  const server = await origin(t);
  server.script('/file', { kind: 'wrong-range-start', delta: -100 }, { kind: 'wrong-range-start', delta: 50 });
  const earlier = await get(server.url('/file'), { Range: 'bytes=1000-' });
  assert.equal(earlier.status, 206);
  assert.equal(earlier.headers['content-range'], `bytes 900-${SIZE - 1}/${SIZE}`);
  assert.deepEqual(earlier.body, CONTENT.subarray(900));

  const later = await get(server.url('/file'), { Range: 'bytes=1000-1999' });
  assert.equal(later.headers['content-range'], `bytes 1050-1999/${SIZE}`);
  assert.deepEqual(later.body, CONTENT.subarray(1050, 2000));
});

test('a fault that cannot apply is reported as a 500 naming the problem', async (t) => {
  const server = await origin(t);
  server.script('/file', { kind: 'wrong-range-start', delta: -1 });
  const reply = await get(server.url('/file'), { Range: 'bytes=0-' });
  assert.equal(reply.status, 500);
  assert.match(reply.body.toString(), /shifted by -1/);
});

test('wrong-total claims another file size', async (t) => {
  const server = await origin(t);
  server.script('/file', { kind: 'wrong-total', total: SIZE + 1 });
  const reply = await get(server.url('/file'), { Range: 'bytes=100-' });
  assert.equal(reply.status, 206);
  assert.equal(reply.headers['content-range'], `bytes 100-${SIZE - 1}/${SIZE + 1}`);
  assert.deepEqual(reply.body, CONTENT.subarray(100));
});

test('etag-on-206 carries a foreign ETag', async (t) => {
  const server = await origin(t);
  server.script('/file', { kind: 'etag-on-206', etag: '"other"' });
  const reply = await get(server.url('/file'), { Range: 'bytes=100-' });
  assert.equal(reply.status, 206);
  assert.equal(reply.headers.etag, '"other"');
  assert.deepEqual(reply.body, CONTENT.subarray(100));
});

test('redirects pass Location through unchanged, also to another origin', async (t) => {
  const server = await origin(t);
  const other = await origin(t);
  server.script(
    '/file',
    { kind: 'redirect', status: 307, location: '/signed?X-Sig=a%2Fb%3D&e=1' },
    { kind: 'redirect', status: 302, location: other.url('/file') },
  );
  const relative = await get(server.url('/file'));
  assert.equal(relative.status, 307);
  assert.equal(relative.headers.location, '/signed?X-Sig=a%2Fb%3D&e=1');

  const crossOrigin = await get(server.url('/file'));
  assert.equal(crossOrigin.status, 302);
  const followed = await get(crossOrigin.headers.location ?? '');
  assert.deepEqual(followed.body, CONTENT);
  assert.equal(other.requests.length, 1);
});

test('redirect-loop points every request back at itself', async (t) => {
  const server = await origin(t);
  server.always('/file', { kind: 'redirect-loop', status: 301 });
  for (let hop = 0; hop < 3; hop++) {
    const reply = await get(server.url('/file?n=1'));
    assert.equal(reply.status, 301);
    assert.equal(reply.headers.location, '/file?n=1');
  }
});

test('range-not-satisfiable answers 416 with or without Content-Range', async (t) => {
  const server = await origin(t);
  server.script(
    '/file',
    { kind: 'range-not-satisfiable', contentRange: true },
    { kind: 'range-not-satisfiable', contentRange: false },
  );
  const withHeader = await get(server.url('/file'), { Range: 'bytes=0-' });
  assert.equal(withHeader.status, 416);
  assert.equal(withHeader.headers['content-range'], `bytes */${SIZE}`);
  const without = await get(server.url('/file'), { Range: 'bytes=0-' });
  assert.equal(without.status, 416);
  assert.equal(without.headers['content-range'], undefined);
});

test('slowloris trickles header bytes and never finishes the head', async (t) => {
  const server = await origin(t);
  server.script('/file', { kind: 'slowloris', intervalMs: 50 });
  const socket = await rawConnect(server.origin);
  const everything = readAll(socket);
  socket.write('GET /file HTTP/1.1\r\nHost: x\r\n\r\n');
  await delay(400);
  await server.close();
  const statusLine = 'HTTP/1.1 200 OK\r\n';
  const text = await everything;
  assert.ok(text.startsWith(statusLine));
  const trickled = text.slice(statusLine.length);
  assert.ok(trickled.length >= 3, `only ${JSON.stringify(trickled)} after 400 ms`);
  assert.ok(`X-Slowloris: ${'a'.repeat(trickled.length)}`.startsWith(trickled), JSON.stringify(trickled));
});

test('no-answer reads the request and stays silent until close()', async (t) => {
  const server = await origin(t);
  server.script('/file', { kind: 'no-answer' });
  const socket = await rawConnect(server.origin);
  const everything = readAll(socket);
  socket.write('GET /file HTTP/1.1\r\nHost: x\r\n\r\n');
  await delay(200);
  assert.equal(server.requests.length, 1);
  assert.equal(server.requests[0]?.status, undefined);
  const { ms } = await timed(server.close());
  assert.equal(await everything, '');
  assert.ok(ms < 1000, `close() took ${ms} ms`);
});

test('content-length-lie promises more than it sends and closes cleanly', async (t) => {
  const server = await origin(t);
  server.script('/file', { kind: 'content-length-lie', extraBytes: 5 });
  const reply = await get(server.url('/file'));
  assert.equal(reply.headers['content-length'], String(SIZE + 5));
  assert.deepEqual(reply.body, CONTENT);
  assert.equal(reply.complete, false);
});

test('hold sends the head, then the body only once its promise resolves', async (t) => {
  const server = await origin(t);
  let release = (): void => undefined;
  server.script('/file', { kind: 'hold', until: new Promise<void>((resolve) => (release = resolve)) });
  const response = await open(server.url('/file'), { Range: 'bytes=10-' });
  assert.equal(response.statusCode, 206);
  const reply = collect(response);
  await delay(100);
  assert.equal(server.requests[0]?.bytesSent, 0, 'nothing of the body before the gate opens');
  release();
  const { body, complete } = await reply;
  assert.deepEqual(body, CONTENT.subarray(10));
  assert.equal(complete, true);
});

test('peakConcurrent counts the requests to one path that were open at the same moment', async (t) => {
  const server = await origin(t);
  server.serve('/other', CONTENT);
  await get(server.url('/file'));
  await get(server.url('/file'));
  assert.equal(server.peakConcurrent('/file'), 1, 'one after the other');
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  server.script('/file', { kind: 'hold', until: gate }, { kind: 'hold', until: gate });
  const both = [open(server.url('/file')), open(server.url('/file'))];
  await Promise.all(both);
  await get(server.url('/other'));
  assert.equal(server.peakConcurrent('/file'), 2, 'both held at once');
  assert.equal(server.peakConcurrent('/other'), 1);
  assert.equal(server.peakConcurrent(), 3, 'over every path');
  release();
  await Promise.all(both.map(async (response) => collect(await response)));
  assert.equal(server.peakConcurrent('/missing'), 0);
});

test('close() is quick with stalled, silent and trickling connections open', async () => {
  const server = await startOrigin({ throttleBytesPerSecond: 1 });
  server.serve('/file', CONTENT);
  server.script(
    '/file',
    { kind: 'stall', afterBytes: 0 },
    { kind: 'no-answer' },
    { kind: 'slowloris' },
  );
  const sockets = await Promise.all([1, 2, 3, 4].map(() => rawConnect(server.origin)));
  const ends = sockets.map((socket) => readAll(socket));
  // The fourth is a normal response at one byte per second: a throttled download in progress.
  for (const socket of sockets) socket.write('GET /file HTTP/1.1\r\nHost: x\r\n\r\n');
  await delay(100);
  const { ms } = await timed(Promise.all([server.close(), ...ends]));
  assert.ok(ms < 1000, `close() took ${ms} ms`);
});

// ---- A production server ----------------------------------------------------------------

test('nginx serves ranges and logs them', { skip: nginxSkipReason() }, async (t) => {
  const root = await useTempDir(t, 'nginx-root');
  await writeFile(join(root, 'model.bin'), CONTENT);
  const nginx = await startNginx({ root });
  t.after(() => nginx.stop());

  const reply = await get(nginx.url('/model.bin'), { Range: 'bytes=100-199' });
  assert.equal(reply.status, 206);
  assert.equal(reply.headers['content-range'], `bytes 100-199/${SIZE}`);
  assert.deepEqual(reply.body, CONTENT.subarray(100, 200));

  const [line = ''] = await nginx.waitForAccessLog(1);
  assert.deepEqual(parseAccessLogLine(line), {
    request: 'GET /model.bin HTTP/1.1',
    status: 206,
    range: 'bytes=100-199',
    ifRange: '-',
    bodyBytesSent: 100,
  });
});

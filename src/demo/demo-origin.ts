import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DemoFile } from './demo-content.js';

/**
 * The local server the demo downloads from: a small but correct HTTP/1.1 file server on
 * 127.0.0.1 (single byte ranges, If-Range with strong ETags or exact Last-Modified dates, 416 for
 * a range past the end), throttled to one shared rate so that progress can be watched. It plays
 * the part of Hugging Face's CDN; nothing leaves the machine.
 */
export interface DemoOrigin {
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  url(path: string): string;
  /** Serves `file` at `path` with the given strong ETag. */
  serve(path: string, file: DemoFile, etag: string): void;
  /** Requests received so far, oldest first (at most the last {@link MAX_LOGGED}). */
  readonly requests: readonly DemoRequest[];
  /** Faults to play, switched on and off while the origin runs (the browser demo's switches). */
  readonly faults: DemoFaults;
  /** Drops every open connection at once, as a lost Wi-Fi link does. */
  cutConnections(): void;
  close(): Promise<void>;
}

export interface DemoFaults {
  /** Every new connection is dropped before an answer: the network is down. */
  refuse: boolean;
  /** Responses stop sending bytes (the connection stays open): a stall. */
  stall: boolean;
}

export interface DemoRequest {
  method: string;
  path: string;
  range: string | undefined;
  ifRange: string | undefined;
  status: number;
}

const MAX_LOGGED = 1000;
/** Bytes written per turn of the throttle: smooth progress without hundreds of timers a second. */
const CHUNK_BYTES = 128 * 1024;
/** All files share one Last-Modified, well in the past, as files on a CDN do. */
const LAST_MODIFIED = new Date(Date.UTC(2025, 0, 15, 12, 0, 0)).toUTCString();

export async function startDemoOrigin(options: { bytesPerSecond: number }): Promise<DemoOrigin> {
  const files = new Map<string, { file: DemoFile; etag: string }>();
  const requests: DemoRequest[] = [];
  const pacer = new Pacer(options.bytesPerSecond);
  const faults: DemoFaults = { refuse: false, stall: false };
  const server = createServer((req, res) => {
    if (faults.refuse) {
      req.socket.destroy();
      return;
    }
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const served = files.get(path);
    const plan = served ? planResponse(req, served.file, served.etag) : { status: 404, headers: { 'Content-Type': 'text/plain' }, first: 0, length: 0 };
    requests.push({ method: req.method ?? '', path, range: req.headers.range, ifRange: single(req.headers['if-range']), status: plan.status });
    if (requests.length > MAX_LOGGED) requests.shift();
    send(req, res, plan, served?.file, pacer, faults).catch(() => res.destroy());
  });
  // Connections kept alive by a client must not keep the demo from exiting.
  server.keepAliveTimeout = 2000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (path) => origin + path,
    serve: (path, file, etag) => void files.set(path, { file, etag }),
    requests,
    faults,
    cutConnections: () => server.closeAllConnections(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface Plan {
  status: number;
  headers: OutgoingHttpHeaders;
  first: number;
  length: number;
}

/**
 * RFC 9110 §13.2.2 order: If-Range decides whether Range counts at all, then Range decides between
 * 206, 416 and 200 (a range this server does not support is ignored, as §14.2 allows).
 */
function planResponse(req: IncomingMessage, file: DemoFile, etag: string): Plan {
  const headers: OutgoingHttpHeaders = {
    'Accept-Ranges': 'bytes',
    'Content-Type': file.path.endsWith('.json') ? 'application/json' : 'application/octet-stream',
    ETag: etag,
    'Last-Modified': LAST_MODIFIED,
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return { status: 405, headers: { Allow: 'GET, HEAD' }, first: 0, length: 0 };
  }
  const ifRange = single(req.headers['if-range']);
  const rangeApplies = req.method === 'GET' && (ifRange === undefined || ifRange === etag || ifRange === LAST_MODIFIED);
  const range = rangeApplies ? parseRange(req.headers.range, file.size) : undefined;
  if (range === 'unsatisfiable') {
    return { status: 416, headers: { ...headers, 'Content-Range': `bytes */${file.size}` }, first: 0, length: 0 };
  }
  if (range === undefined) return { status: 200, headers: { ...headers, 'Content-Length': file.size }, first: 0, length: file.size };
  const length = range.last - range.first + 1;
  return {
    status: 206,
    headers: { ...headers, 'Content-Range': `bytes ${range.first}-${range.last}/${file.size}`, 'Content-Length': length },
    first: range.first,
    length,
  };
}

/** One `bytes=first-last`, `bytes=first-` or `bytes=-suffix`; anything else is ignored (undefined). */
function parseRange(header: string | undefined, size: number): { first: number; last: number } | 'unsatisfiable' | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, firstText = '', lastText = ''] = match;
  if (firstText === '') {
    if (lastText === '') return undefined;
    const suffix = Number(lastText);
    return suffix === 0 ? 'unsatisfiable' : { first: Math.max(0, size - suffix), last: size - 1 };
  }
  const first = Number(firstText);
  const last = lastText === '' ? size - 1 : Math.min(Number(lastText), size - 1);
  if (lastText !== '' && Number(lastText) < first) return undefined;
  if (first >= size) return 'unsatisfiable';
  return { first, last };
}

async function send(req: IncomingMessage, res: ServerResponse, plan: Plan, file: DemoFile | undefined, pacer: Pacer, faults: DemoFaults): Promise<void> {
  const bodyless = req.method === 'HEAD' || !file || plan.status !== 200 && plan.status !== 206;
  res.writeHead(plan.status, bodyless && plan.headers['Content-Length'] === undefined ? { ...plan.headers, 'Content-Length': 0 } : plan.headers);
  if (bodyless) {
    res.end();
    return;
  }
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  for (let offset = plan.first; offset < plan.first + plan.length && !gone.signal.aborted; offset += CHUNK_BYTES) {
    while (faults.stall && !gone.signal.aborted) await sleep(100, undefined, { signal: gone.signal }).catch(() => undefined);
    const chunk = file.read(offset, Math.min(CHUNK_BYTES, plan.first + plan.length - offset));
    await pacer.take(chunk.length, gone.signal);
    if (!res.write(chunk)) await drained(res, gone.signal);
  }
  res.end();
}

function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * One rate for the whole server, however many connections share it: each chunk books the next
 * slot of a virtual clock and waits for it, so four connections get a quarter each and the bundle
 * takes the same time with one connection or many.
 */
class Pacer {
  private nextFreeAt = 0;

  constructor(private readonly bytesPerSecond: number) {}

  async take(bytes: number, signal: AbortSignal): Promise<void> {
    const now = performance.now();
    this.nextFreeAt = Math.max(now, this.nextFreeAt) + (bytes / this.bytesPerSecond) * 1000;
    const wait = this.nextFreeAt - now;
    if (wait >= 1) await sleep(wait, undefined, { signal }).catch(() => undefined);
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

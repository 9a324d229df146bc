// A real HTTP origin on 127.0.0.1 for end-to-end tests. Normal service is a correct HTTP/1.1 file
// server (single byte ranges, If-Range, 416); on request it misbehaves in each of the ways the
// download engine must survive, and it records every request it receives so a test can assert on
// exactly what the client sent.
import { createHash } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';

export interface OriginFileOptions {
  /** Sent byte for byte. Default: a strong `"<first 16 hex of the body's SHA-256>"`; null: no ETag. */
  etag?: string | null;
  /** Default: one hour before serve() (and later than any earlier version of the path); null: none. */
  lastModified?: Date | null;
}

export type RedirectStatus = 301 | 302 | 303 | 307 | 308;

/**
 * One fault, applied to one request. "The requested range" below is the request's single byte
 * range when it has a satisfiable one, otherwise the whole file; faults that answer 206 use it even
 * when the request had no Range header, so that a queued fault always shows.
 */
export type Misbehaviour =
  /** 200 with the full body even though a Range header was sent. */
  | { kind: 'ignore-range' }
  /** Any status with an optional Retry-After value and body (Content-Length is always correct). */
  | { kind: 'status'; status: number; retryAfter?: string; body?: string | Buffer }
  /** The normal response's headers, at most `afterBytes` of its body, then the socket is destroyed. */
  | { kind: 'truncate'; afterBytes: number }
  /** The normal response's headers and at most `afterBytes` of its body, then silence; the socket stays open. */
  | { kind: 'stall'; afterBytes: number }
  /**
   * The normal response followed by `extraBytes` more body bytes, framed either with a
   * Content-Length covering them or with chunked encoding and no Content-Length.
   */
  | { kind: 'oversize'; extraBytes: number; framing: 'content-length' | 'chunked' }
  /**
   * `Content-Encoding: gzip` whatever the Accept-Encoding; ranges address the gzipped bytes, as
   * they would on a server that really stores the file encoded.
   */
  | { kind: 'gzip' }
  /** 206 `multipart/byteranges` with one part holding the requested range. */
  | { kind: 'multipart' }
  /**
   * 206 starting `delta` bytes (may be negative) away from the requested start and ending where the
   * requested range ends, like a cache answering from the wrong offset; the body matches Content-Range.
   */
  | { kind: 'wrong-range-start'; delta: number }
  /** 206 for the requested range whose Content-Range claims `total` as the file size. */
  | { kind: 'wrong-total'; total: number }
  /** 206 for the requested range carrying `etag` instead of the stored ETag. */
  | { kind: 'etag-on-206'; etag: string }
  /** A redirect; `location` is sent exactly as given (absolute or relative, no re-encoding). */
  | { kind: 'redirect'; status: RedirectStatus; location: string }
  /** A redirect (default 302) to the request's own target, query included. */
  | { kind: 'redirect-loop'; status?: RedirectStatus }
  /** 416 whatever was asked, with or without `Content-Range: bytes *\/<size>`. */
  | { kind: 'range-not-satisfiable'; contentRange: boolean }
  /**
   * The status line, then one byte of a never-ending header every `intervalMs` (default 1000), so
   * the response head never completes.
   */
  | { kind: 'slowloris'; intervalMs?: number }
  /** Reads the request and never writes a byte; the connection stays open. */
  | { kind: 'no-answer' }
  /** The normal response whose Content-Length claims `extraBytes` more than is sent, then a clean close. */
  | { kind: 'content-length-lie'; extraBytes: number }
  /**
   * The normal response's headers, then not a byte of the body until `until` resolves, then the
   * normal body: holds a client mid-download (and so holding its install lock) for exactly as long
   * as a test needs, with no timing guesswork.
   */
  | { kind: 'hold'; until: Promise<void> }
  /**
   * 200 with `Transfer-Encoding: chunked` whose first chunk size is not hexadecimal, written with
   * the head in one packet: a body no HTTP parser can read, failing while the client is still
   * deciding what to do with the status (as a reply to a Range request, it once crashed the CLI).
   */
  | { kind: 'garbage-chunked' }
  /** The normal response with one more header of `bytes` bytes: more than any client accepts. */
  | { kind: 'oversized-headers'; bytes: number };

export interface RecordedRequest {
  method: string;
  /** The path of the request target, without the query: what serve(), script() and requestsFor() match. */
  path: string;
  /** The request target exactly as received, query included. */
  target: string;
  headers: Record<string, string | string[] | undefined>;
  /** Name/value pairs as received, duplicates and original case preserved. */
  rawHeaders: string[];
  range?: string;
  ifRange?: string;
  /** The status the origin answered with; absent when it never answered. */
  status?: number;
  /** Body bytes handed to the kernel for this response. */
  bytesSent: number;
}

export interface Origin {
  /** `http://127.0.0.1:PORT` + `path`; `path` must start with `/` and may carry a query. */
  url(path: string): string;
  readonly origin: string;
  serve(path: string, body: Buffer, options?: OriginFileOptions): void;
  /** The n-th request to `path` from now on gets the n-th fault; later ones are served normally. */
  script(path: string, ...faults: Misbehaviour[]): void;
  /** Every request to `path` gets `fault` until clear(); scripted faults still take precedence. */
  always(path: string, fault: Misbehaviour): void;
  /** Drops scripted and permanent faults for `path`, or for every path. Served files stay. */
  clear(path?: string): void;
  readonly requests: RecordedRequest[];
  requestsFor(path: string): RecordedRequest[];
  /** Body bytes handed to the kernel, for one path or in total. */
  bytesSent(path?: string): number;
  /**
   * The most requests to `path` (or to any path) that were open at the same moment, from arrival
   * until their response closed: how a test sees, from outside, that two downloads of one file
   * overlapped.
   */
  peakConcurrent(path?: string): number;
  /** Stops listening and destroys every connection, stalled ones included. */
  close(): Promise<void>;
}

export interface OriginOptions {
  /** Caps each response body at this rate, so a test can stop a client mid-download. */
  throttleBytesPerSecond?: number;
}

export async function startOrigin(options: OriginOptions = {}): Promise<Origin> {
  const origin = new TestOrigin(options.throttleBytesPerSecond);
  await origin.listen();
  return origin;
}

interface StoredFile {
  body: Buffer;
  etag: string | null;
  /** Already formatted as an HTTP-date: If-Range dates are compared with it as strings. */
  lastModified: string | null;
  lastModifiedMs: number | null;
}

interface ResponsePlan {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Buffer;
}

/** Everything a responder needs about the request being answered. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  record: RecordedRequest;
  file: StoredFile | undefined;
  /** Aborted when the response closes, so pending waits stop as soon as the client is gone. */
  signal: AbortSignal;
  throttleBytesPerSecond: number | undefined;
}

const CHUNK_SIZE = 64 * 1024;
const EMPTY = Buffer.alloc(0);
const HOUR_MS = 60 * 60 * 1000;

class TestOrigin implements Origin {
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly files = new Map<string, StoredFile>();
  private readonly scripted = new Map<string, Misbehaviour[]>();
  private readonly permanent = new Map<string, Misbehaviour>();
  private readonly open = new Map<string, number>();
  private readonly peaks = new Map<string, number>();
  private openTotal = 0;
  private peakTotal = 0;
  private port = 0;

  constructor(private readonly throttleBytesPerSecond: number | undefined) {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    if (!path.startsWith('/')) throw new Error(`origin path must start with "/": ${path}`);
    return this.origin + path;
  }

  serve(path: string, body: Buffer, options: OriginFileOptions = {}): void {
    const lastModifiedMs = this.lastModifiedFor(path, options.lastModified);
    this.files.set(path, {
      body,
      etag: options.etag === undefined ? defaultEtag(body) : options.etag,
      lastModified: lastModifiedMs === null ? null : new Date(lastModifiedMs).toUTCString(),
      lastModifiedMs,
    });
  }

  script(path: string, ...faults: Misbehaviour[]): void {
    this.scripted.set(path, [...(this.scripted.get(path) ?? []), ...faults]);
  }

  always(path: string, fault: Misbehaviour): void {
    this.permanent.set(path, fault);
  }

  clear(path?: string): void {
    if (path === undefined) {
      this.scripted.clear();
      this.permanent.clear();
    } else {
      this.scripted.delete(path);
      this.permanent.delete(path);
    }
  }

  requestsFor(path: string): RecordedRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  bytesSent(path?: string): number {
    const requests = path === undefined ? this.requests : this.requestsFor(path);
    return requests.reduce((total, request) => total + request.bytesSent, 0);
  }

  peakConcurrent(path?: string): number {
    return path === undefined ? this.peakTotal : (this.peaks.get(path) ?? 0);
  }

  private countOpen(path: string, res: ServerResponse): void {
    const open = (this.open.get(path) ?? 0) + 1;
    this.open.set(path, open);
    this.peaks.set(path, Math.max(open, this.peaks.get(path) ?? 0));
    this.peakTotal = Math.max(++this.openTotal, this.peakTotal);
    res.once('close', () => {
      this.open.set(path, (this.open.get(path) ?? 1) - 1);
      this.openTotal--;
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  // A replaced file must look changed to a client that validates with Last-Modified alone, so its
  // default date is at least one second (the resolution of HTTP-dates) after the previous one.
  private lastModifiedFor(path: string, requested: Date | null | undefined): number | null {
    if (requested === null) return null;
    if (requested !== undefined) return requested.getTime();
    const hourAgo = Math.floor((Date.now() - HOUR_MS) / 1000) * 1000;
    const previous = this.files.get(path)?.lastModifiedMs;
    return previous == null ? hourAgo : Math.max(hourAgo, previous + 1000);
  }

  private nextFault(path: string): Misbehaviour | undefined {
    return this.scripted.get(path)?.shift() ?? this.permanent.get(path);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const target = req.url ?? '/';
    const path = target.split('?', 1)[0] ?? target;
    const record: RecordedRequest = {
      method: req.method ?? '',
      path,
      target,
      headers: { ...req.headers },
      rawHeaders: [...req.rawHeaders],
      range: req.headers.range,
      ifRange: singleHeader(req.headers['if-range']),
      bytesSent: 0,
    };
    this.requests.push(record);
    this.countOpen(path, res);

    const controller = new AbortController();
    res.once('close', () => controller.abort());
    const exchange: Exchange = {
      req,
      res,
      record,
      file: this.files.get(path),
      signal: controller.signal,
      throttleBytesPerSecond: this.throttleBytesPerSecond,
    };
    const fault = this.nextFault(path);
    respond(exchange, fault).catch((error: unknown) => reportFailure(exchange, error));
  }
}

// Node joins repeated headers it has no special rule for with ", ", so only its types allow an array.
function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The ETag the origin sends for a body served without one of its own: strong, from its SHA-256. */
export function defaultEtag(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
}

// A response that was cut short because the client went away is expected; anything else is a bug
// in the test setup and is reported to the client as a 500 whose body says what went wrong.
function reportFailure(exchange: Exchange, error: unknown): void {
  if (exchange.signal.aborted) return;
  const { res, record } = exchange;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const message = Buffer.from(`test origin: ${error instanceof Error ? error.message : String(error)}`);
  res.writeHead(500, { 'Content-Length': message.length, 'Content-Type': 'text/plain' });
  record.status = 500;
  res.end(message);
}

async function respond(exchange: Exchange, fault: Misbehaviour | undefined): Promise<void> {
  if (fault === undefined) return deliver(exchange, normalResponse(exchange));
  switch (fault.kind) {
    case 'ignore-range':
      return deliver(exchange, fullPlan(requireFile(exchange, fault)));
    case 'status':
      return deliver(exchange, statusPlan(fault.status, fault.retryAfter, fault.body));
    case 'truncate':
      return deliverPrefixThen(exchange, normalResponse(exchange), fault.afterBytes, 'destroy');
    case 'stall':
      return deliverPrefixThen(exchange, normalResponse(exchange), fault.afterBytes, 'hang');
    case 'oversize':
      return deliver(exchange, oversizePlan(normalResponse(exchange), fault.extraBytes, fault.framing));
    case 'gzip':
      return deliver(exchange, gzipPlan(exchange, requireFile(exchange, fault)));
    case 'multipart':
      return deliver(exchange, multipartPlan(exchange, requireFile(exchange, fault)));
    case 'wrong-range-start':
      return deliver(exchange, shiftedRangePlan(exchange, requireFile(exchange, fault), fault.delta));
    case 'wrong-total':
      return deliver(exchange, wrongTotalPlan(exchange, requireFile(exchange, fault), fault.total));
    case 'etag-on-206':
      return deliver(exchange, foreignEtagPlan(exchange, requireFile(exchange, fault), fault.etag));
    case 'redirect':
      return deliver(exchange, redirectPlan(fault.status, fault.location));
    case 'redirect-loop':
      return deliver(exchange, redirectPlan(fault.status ?? 302, exchange.record.target));
    case 'range-not-satisfiable': {
      const size = requireFile(exchange, fault).body.length;
      return deliver(exchange, unsatisfiablePlan(size, fault.contentRange));
    }
    case 'slowloris':
      return slowloris(exchange, fault.intervalMs ?? 1000);
    case 'no-answer':
      return;
    case 'content-length-lie':
      return deliverWithLyingLength(exchange, normalResponse(exchange), fault.extraBytes);
    case 'hold':
      return deliverWhen(exchange, normalResponse(exchange), fault.until);
    case 'garbage-chunked':
      return garbageChunked(exchange);
    case 'oversized-headers': {
      const plan = normalResponse(exchange);
      return deliver(exchange, { ...plan, headers: { ...plan.headers, 'X-Padding': 'a'.repeat(fault.bytes) } });
    }
  }
}

function requireFile(exchange: Exchange, fault: Misbehaviour): StoredFile {
  if (exchange.file === undefined) {
    throw new Error(`fault "${fault.kind}" needs a file served at ${exchange.record.path}`);
  }
  return exchange.file;
}

// ---- Normal service -------------------------------------------------------------------------

function normalResponse(exchange: Exchange): ResponsePlan {
  const { req, file } = exchange;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return textPlan(405, 'method not allowed', { Allow: 'GET, HEAD' });
  }
  if (file === undefined) return textPlan(404, 'not found');
  return rangedPlan(req, file, file.body);
}

/**
 * RFC 9110 §13.2.2 order: If-Range decides whether Range is considered at all, then Range decides
 * between 206, 416 and (for a range set this server does not support) 200. Range is defined for GET
 * only (§14.2), so HEAD always describes the full representation.
 */
function rangedPlan(req: IncomingMessage, file: StoredFile, representation: Buffer): ResponsePlan {
  if (req.method !== 'GET' || !ifRangeMatches(singleHeader(req.headers['if-range']), file)) {
    return fullPlan(file, representation);
  }
  const range = parseRange(req.headers.range, representation.length);
  switch (range.kind) {
    case 'none':
      return fullPlan(file, representation);
    case 'unsatisfiable':
      return unsatisfiablePlan(representation.length, true);
    case 'satisfiable':
      return partialPlan(file, representation, range.first, range.last, representation.length);
  }
}

/**
 * RFC 9110 §13.1.5: an entity tag matches only by strong comparison (weak tags never do); a date
 * matches only if it is exactly the Last-Modified value. No If-Range means no condition.
 */
function ifRangeMatches(ifRange: string | undefined, file: StoredFile): boolean {
  if (ifRange === undefined) return true;
  if (ifRange.startsWith('W/')) return false;
  if (ifRange.startsWith('"')) return file.etag !== null && !file.etag.startsWith('W/') && ifRange === file.etag;
  return file.lastModified !== null && ifRange === file.lastModified;
}

type ParsedRange =
  | { kind: 'none' }
  | { kind: 'unsatisfiable' }
  | { kind: 'satisfiable'; first: number; last: number };

/**
 * A single `bytes=first-last`, `bytes=first-` or `bytes=-suffix` (RFC 9110 §14.1.2). Anything else
 * (no header, several ranges, another unit, last < first) is ignored, as §14.2 permits, and the
 * full representation is sent.
 */
function parseRange(header: string | undefined, size: number): ParsedRange {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/i.exec(header.trim());
  if (match === null) return { kind: 'none' };
  const [, firstText = '', lastText = ''] = match;
  if (firstText === '') {
    if (lastText === '') return { kind: 'none' };
    const suffix = Number(lastText);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'satisfiable', first: Math.max(0, size - suffix), last: size - 1 };
  }
  const first = Number(firstText);
  const last = lastText === '' ? Infinity : Number(lastText);
  if (last < first) return { kind: 'none' };
  if (first >= size) return { kind: 'unsatisfiable' };
  return { kind: 'satisfiable', first, last: Math.min(last, size - 1) };
}

/** The request's satisfiable range, or the whole file: what the 206-forcing faults answer with. */
function requestedRange(exchange: Exchange, size: number): { first: number; last: number } {
  if (size === 0) throw new Error('a 206 fault needs a non-empty file');
  const range = parseRange(exchange.req.headers.range, size);
  return range.kind === 'satisfiable' ? range : { first: 0, last: size - 1 };
}

function representationHeaders(file: StoredFile): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
  if (file.etag !== null) headers['ETag'] = file.etag;
  if (file.lastModified !== null) headers['Last-Modified'] = file.lastModified;
  return headers;
}

function fullPlan(file: StoredFile, representation: Buffer = file.body): ResponsePlan {
  return {
    status: 200,
    headers: { ...representationHeaders(file), 'Content-Length': representation.length },
    body: representation,
  };
}

function partialPlan(file: StoredFile, representation: Buffer, first: number, last: number, total: number): ResponsePlan {
  const body = representation.subarray(first, last + 1);
  return {
    status: 206,
    headers: {
      ...representationHeaders(file),
      'Content-Range': `bytes ${first}-${last}/${total}`,
      'Content-Length': body.length,
    },
    body,
  };
}

function unsatisfiablePlan(size: number, withContentRange: boolean): ResponsePlan {
  const headers: OutgoingHttpHeaders = { 'Content-Length': 0 };
  if (withContentRange) headers['Content-Range'] = `bytes */${size}`;
  return { status: 416, headers, body: EMPTY };
}

function textPlan(status: number, text: string, extraHeaders: OutgoingHttpHeaders = {}): ResponsePlan {
  const body = Buffer.from(text);
  return { status, headers: { ...extraHeaders, 'Content-Type': 'text/plain', 'Content-Length': body.length }, body };
}

// ---- Faulty responses -----------------------------------------------------------------------

function statusPlan(status: number, retryAfter: string | undefined, body: string | Buffer = EMPTY): ResponsePlan {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const headers: OutgoingHttpHeaders = { 'Content-Length': bytes.length };
  if (retryAfter !== undefined) headers['Retry-After'] = retryAfter;
  return { status, headers, body: bytes };
}

function redirectPlan(status: RedirectStatus, location: string): ResponsePlan {
  return { status, headers: { Location: location, 'Content-Length': 0 }, body: EMPTY };
}

function oversizePlan(plan: ResponsePlan, extraBytes: number, framing: 'content-length' | 'chunked'): ResponsePlan {
  const body = Buffer.concat([plan.body, Buffer.alloc(extraBytes)]);
  const headers = { ...plan.headers };
  if (framing === 'content-length') headers['Content-Length'] = body.length;
  // Without a Content-Length, Node frames the body with chunked transfer coding.
  else delete headers['Content-Length'];
  return { ...plan, headers, body };
}

function gzipPlan(exchange: Exchange, file: StoredFile): ResponsePlan {
  const plan = rangedPlan(exchange.req, file, gzipSync(file.body));
  return { ...plan, headers: { ...plan.headers, 'Content-Encoding': 'gzip' } };
}

function multipartPlan(exchange: Exchange, file: StoredFile): ResponsePlan {
  const size = file.body.length;
  const { first, last } = requestedRange(exchange, size);
  const boundary = 'modelhaul-test-boundary';
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Type: application/octet-stream\r\n` +
        `Content-Range: bytes ${first}-${last}/${size}\r\n\r\n`,
    ),
    file.body.subarray(first, last + 1),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const headers: OutgoingHttpHeaders = {
    ...representationHeaders(file),
    'Content-Type': `multipart/byteranges; boundary=${boundary}`,
    'Content-Length': body.length,
  };
  return { status: 206, headers, body };
}

function shiftedRangePlan(exchange: Exchange, file: StoredFile, delta: number): ResponsePlan {
  const size = file.body.length;
  const { first, last } = requestedRange(exchange, size);
  const shiftedFirst = first + delta;
  if (shiftedFirst < 0 || shiftedFirst > last) {
    throw new Error(`range start ${first} shifted by ${delta} falls outside ${first}-${last} of a ${size}-byte file`);
  }
  return partialPlan(file, file.body, shiftedFirst, last, size);
}

function wrongTotalPlan(exchange: Exchange, file: StoredFile, total: number): ResponsePlan {
  const { first, last } = requestedRange(exchange, file.body.length);
  return partialPlan(file, file.body, first, last, total);
}

function foreignEtagPlan(exchange: Exchange, file: StoredFile, etag: string): ResponsePlan {
  const { first, last } = requestedRange(exchange, file.body.length);
  const plan = partialPlan(file, file.body, first, last, file.body.length);
  return { ...plan, headers: { ...plan.headers, ETag: etag } };
}

// ---- Putting bytes on the wire --------------------------------------------------------------

function sendHead(exchange: Exchange, plan: ResponsePlan): Buffer {
  exchange.res.writeHead(plan.status, plan.headers);
  exchange.record.status = plan.status;
  // Faults that send few or no body bytes rely on the head reaching the client right away.
  exchange.res.flushHeaders();
  return exchange.req.method === 'HEAD' ? EMPTY : plan.body;
}

async function deliver(exchange: Exchange, plan: ResponsePlan): Promise<void> {
  const body = sendHead(exchange, plan);
  await writeBody(exchange, body);
  exchange.res.end();
}

async function deliverPrefixThen(
  exchange: Exchange,
  plan: ResponsePlan,
  prefixBytes: number,
  then: 'destroy' | 'hang',
): Promise<void> {
  const body = sendHead(exchange, plan);
  await writeBody(exchange, body.subarray(0, prefixBytes));
  // writeBody resolves once the bytes are in the kernel, so destroying now does not lose them.
  if (then === 'destroy') exchange.res.destroy();
}

// A client that goes away during the hold ends it too, so a test that never opens the gate
// leaves no response pending forever.
async function deliverWhen(exchange: Exchange, plan: ResponsePlan, until: Promise<void>): Promise<void> {
  const body = sendHead(exchange, plan);
  const gone = new Promise<void>((resolve) => exchange.signal.addEventListener('abort', () => resolve(), { once: true }));
  await Promise.race([until, gone]);
  await writeBody(exchange, body);
  exchange.res.end();
}

// `Connection: close` makes Node end the socket after the short body, so the client sees a clean
// end of stream rather than waiting for the bytes that Content-Length promised.
async function deliverWithLyingLength(exchange: Exchange, plan: ResponsePlan, extraBytes: number): Promise<void> {
  const headers = { ...plan.headers, 'Content-Length': plan.body.length + extraBytes, Connection: 'close' };
  await deliver(exchange, { ...plan, headers });
}

/**
 * Writes `body` in chunks, each awaited until the kernel has it: that respects backpressure, makes
 * `bytesSent` count only bytes that really left the process, and lets the throttle pace the
 * response. Rejects (with the abort reason) as soon as the client disconnects.
 */
async function writeBody(exchange: Exchange, body: Buffer): Promise<void> {
  const rate = exchange.throttleBytesPerSecond;
  // About ten writes per second when throttled, so the pace is smooth without many timers.
  const chunkSize = rate === undefined ? CHUNK_SIZE : Math.max(1, Math.min(CHUNK_SIZE, Math.floor(rate / 10)));
  const started = performance.now();
  for (let offset = 0; offset < body.length; offset += chunkSize) {
    if (rate !== undefined) {
      const due = started + (offset / rate) * 1000 - performance.now();
      if (due > 0) await delay(due, undefined, { signal: exchange.signal });
    }
    const chunk = body.subarray(offset, offset + chunkSize);
    await writeChunk(exchange, chunk);
    exchange.record.bytesSent += chunk.length;
  }
}

function writeChunk(exchange: Exchange, chunk: Buffer): Promise<void> {
  const { res, signal } = exchange;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(new Error('the response closed before the body was written'));
    signal.addEventListener('abort', onAbort, { once: true });
    res.write(chunk, (error) => {
      signal.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    });
  });
}

// Written to the raw socket: Node's response object frames a chunked body correctly.
function garbageChunked(exchange: Exchange): void {
  const socket = exchange.req.socket;
  socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\nzzzz\r\nnot a chunk\r\n');
  exchange.record.status = 200;
  socket.end();
}

// Written to the raw socket: Node's response object cannot emit a head that never ends.
function slowloris(exchange: Exchange, intervalMs: number): void {
  const socket = exchange.req.socket;
  const header = 'X-Slowloris: ';
  socket.write('HTTP/1.1 200 OK\r\n');
  exchange.record.status = 200;
  let sent = 0;
  const timer = setInterval(() => socket.write(header[sent++] ?? 'a'), intervalMs);
  socket.once('close', () => clearInterval(timer));
}

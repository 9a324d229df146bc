import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelLifecycle } from '../lifecycle/create-lifecycle.js';
import type { ModelLifecycle } from '../lifecycle/options.js';
import type { Manifest } from '../manifest/types.js';
import { DEMO_PAGE_CSP, DEMO_PAGE_CSS, DEMO_PAGE_ICON, demoPageHtml } from './browser-demo-page.js';
import { demoBundle, type DemoBundle } from './demo-bundle.js';
import { startDemoOrigin, type DemoOrigin } from './demo-origin.js';

/**
 * The server behind `modelhaul demo --browser`: a page with the download modal, driven by a real
 * lifecycle that installs the demo bundle from the demo origin. The page gets snapshots as
 * server-sent events and sends actions and fault switches as POSTs.
 *
 * Only this machine's browser may use it, and only through the printed URL: it listens on
 * 127.0.0.1; every path starts with a random token (a page on another origin cannot guess it);
 * the Host header must name 127.0.0.1 or localhost at this port (a DNS-rebinding page sends its
 * own name); and a request that carries an Origin or Sec-Fetch-Site header must come from this
 * very origin (a POST always carries one, so another local page cannot drive the lifecycle even
 * with the token).
 */

/** The part of a model lifecycle the demo drives. */
export type DrivenLifecycle = Pick<ModelLifecycle, 'start' | 'pause' | 'resume' | 'cancel' | 'retry' | 'getSnapshot' | 'subscribe' | 'dispose'>;

/** What the demo hands its lifecycle factory: the bundle, where to install it, and the network switch. */
export interface DemoLifecycleInputs {
  manifest: Manifest;
  dir: string;
  isOnline: () => boolean;
  watchOnline: (onChange: () => void) => () => void;
}

export interface BrowserDemoOptions {
  /** 0 (the default) for any free port. */
  port?: number;
  /** An empty folder the demo installs into; the caller removes it. */
  workDir: string;
  /** Makes the lifecycle the page drives. Default {@link createDemoLifecycle}. */
  createLifecycle?: (inputs: DemoLifecycleInputs) => DrivenLifecycle;
  /** The demo origin's rate. Default {@link BROWSER_DEMO_BYTES_PER_SECOND}. */
  bytesPerSecond?: number;
  /** The built `modelhaul/ui` folder. Default: resolved from this package's exports. */
  uiDir?: string;
}

export interface BrowserDemo {
  /** The page, token included: what a person opens. */
  readonly url: string;
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  readonly faults: Readonly<DemoFaultState>;
  close(): Promise<void>;
}

export interface DemoFaultState {
  cut: boolean;
  stall: boolean;
  offline: boolean;
  damaged: boolean;
}

/** About 7 MB/s: the ~200 MB bundle takes about half a minute, long enough to try a fault or two. */
export const BROWSER_DEMO_BYTES_PER_SECOND = 7_000_000;
/**
 * Quicker than an app's defaults: a stall is noticed after 5 s (not 30) and a retry comes after
 * 6 s, so a person trying the fault switches sees stall, countdown and recovery within a minute.
 */
const DEMO_STALL_TIMEOUT_MS = 5_000;
const DEMO_RETRY_DELAY_MS = 6_000;

/** The real lifecycle, with the demo's quicker stall timeout and retry delay. */
export function createDemoLifecycle(inputs: DemoLifecycleInputs): DrivenLifecycle {
  return createModelLifecycle({ ...inputs, stallTimeoutMs: DEMO_STALL_TIMEOUT_MS, retryDelay: () => DEMO_RETRY_DELAY_MS });
}

const ACTIONS = new Set(['start', 'pause', 'resume', 'cancel', 'retry']);
const FAULTS = new Set(['cut', 'stall', 'offline', 'damaged']);
const MAX_BODY_BYTES = 1024;
const HEARTBEAT_MS = 15_000;

export async function startBrowserDemo(options: BrowserDemoOptions): Promise<BrowserDemo> {
  const uiDir = options.uiDir ?? path.dirname(fileURLToPath(import.meta.resolve('modelhaul/ui')));
  const origin = await startDemoOrigin({ bytesPerSecond: options.bytesPerSecond ?? BROWSER_DEMO_BYTES_PER_SECOND });
  try {
    return await serve(options, origin, demoBundle(origin), uiDir);
  } catch (error) {
    await origin.close();
    throw error;
  }
}

async function serve(options: BrowserDemoOptions, origin: DemoOrigin, bundle: DemoBundle, uiDir: string): Promise<BrowserDemo> {
  const token = randomBytes(18).toString('base64url');
  const dir = path.join(options.workDir, 'models');
  const faults: DemoFaultState = { cut: false, stall: false, offline: false, damaged: false };
  const onlineWatchers = new Set<() => void>();
  const clients = new Set<ServerResponse>();
  let lifecycle: DrivenLifecycle;
  let unsubscribe: () => void = () => undefined;

  const broadcast = (event: string, data: unknown): void => {
    const message = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of clients) client.write(message);
  };
  const startLifecycle = (): void => {
    lifecycle = (options.createLifecycle ?? createDemoLifecycle)({
      manifest: bundle.manifest,
      dir,
      isOnline: () => !faults.offline,
      watchOnline: (onChange) => {
        onlineWatchers.add(onChange);
        return () => void onlineWatchers.delete(onChange);
      },
    });
    unsubscribe = lifecycle.subscribe((snapshot) => broadcast('snapshot', snapshot));
    broadcast('snapshot', lifecycle.getSnapshot());
  };
  const setFault = (fault: keyof DemoFaultState, on: boolean): void => {
    faults[fault] = on;
    if (fault === 'cut') {
      origin.faults.refuse = on;
      if (on) origin.cutConnections();
    } else if (fault === 'stall') {
      origin.faults.stall = on;
    } else if (fault === 'offline') {
      for (const onChange of onlineWatchers) onChange();
    } else {
      bundle.serveDamaged(on);
      // Transfers under way ask again at once, and get the damaged bytes from the first one.
      if (on) origin.cutConnections();
    }
    broadcast('faults', faults);
  };
  let resetting: Promise<void> | undefined;
  const reset = async (): Promise<void> => {
    unsubscribe();
    await lifecycle.dispose();
    await rm(dir, { recursive: true, force: true });
    startLifecycle();
  };

  startLifecycle();
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, 'text/plain; charset=utf-8', error instanceof Error ? error.message : String(error));
      else res.destroy();
    });
  });
  let port = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refusal = refuse(req, port, token);
    if (refusal) return reply(res, refusal.status, 'text/plain; charset=utf-8', refusal.reason + '\n');
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    // The page's relative URLs need the trailing slash.
    if (pathname === `/${token}`) return reply(res, 308, 'text/plain; charset=utf-8', '', { Location: `/${token}/` });
    const route = pathname.slice(token.length + 2);
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (route === '') return reply(res, 200, 'text/html; charset=utf-8', demoPageHtml());
      if (route === 'demo.css') return reply(res, 200, 'text/css; charset=utf-8', DEMO_PAGE_CSS);
      if (route === 'icon.svg') return reply(res, 200, 'image/svg+xml', DEMO_PAGE_ICON);
      const script = /^ui\/([\w-]+\.js)$/.exec(route)?.[1];
      if (script) return reply(res, 200, 'text/javascript; charset=utf-8', await readFile(path.join(uiDir, script), 'utf8'));
      if (route === 'events') return openEvents(res);
      return reply(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
    if (req.method !== 'POST') return reply(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD, POST' });
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return reply(res, 415, 'text/plain; charset=utf-8', 'send JSON\n');
    const body = await readJson(req).catch(() => undefined);
    if (!body) return reply(res, 400, 'text/plain; charset=utf-8', 'send one small JSON object\n');
    if (route === 'action' && typeof body['action'] === 'string' && ACTIONS.has(body['action'])) {
      lifecycle[body['action'] as 'start' | 'pause' | 'resume' | 'cancel' | 'retry']();
    } else if (route === 'fault' && typeof body['fault'] === 'string' && FAULTS.has(body['fault']) && typeof body['on'] === 'boolean') {
      setFault(body['fault'] as keyof DemoFaultState, body['on']);
    } else if (route === 'reset') {
      resetting ??= reset().finally(() => (resetting = undefined));
      await resetting;
    } else {
      return reply(res, 400, 'text/plain; charset=utf-8', 'unknown request\n');
    }
    res.writeHead(204, SECURITY_HEADERS).end();
  }

  function openEvents(res: ServerResponse): void {
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
    res.write('retry: 1000\n\n');
    res.write(`event: snapshot\ndata: ${JSON.stringify(lifecycle.getSnapshot())}\n\n`);
    res.write(`event: faults\ndata: ${JSON.stringify(faults)}\n\n`);
    clients.add(res);
    res.once('close', () => clients.delete(res));
  }

  const heartbeat = setInterval(() => {
    for (const client of clients) client.write(': still here\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    clearInterval(heartbeat);
    unsubscribe();
    await lifecycle.dispose();
    throw error;
  });
  port = (server.address() as AddressInfo).port;
  const address = `http://127.0.0.1:${port}`;
  return {
    url: `${address}/${token}/`,
    origin: address,
    faults,
    async close() {
      clearInterval(heartbeat);
      unsubscribe();
      for (const client of clients) client.end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await lifecycle.dispose();
      await origin.close();
    },
  };
}

const SECURITY_HEADERS: OutgoingHttpHeaders = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy': DEMO_PAGE_CSP,
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};

function reply(res: ServerResponse, status: number, type: string, body: string, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * Why a request may not use the demo, or undefined when it may: the Host must be this server by a
 * loopback name, the path must start with the token, and a browser's Origin and Sec-Fetch-Site,
 * when sent, must say the request comes from the demo's own page.
 */
export function refuse(req: IncomingMessage, port: number, token: string): { status: number; reason: string } | undefined {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (!hosts.includes(req.headers.host ?? '')) return { status: 421, reason: 'wrong Host: use the URL modelhaul printed' };
  const first = (req.url ?? '').split('/', 2)[1] ?? '';
  if (!sameSecret(first, token)) return { status: 403, reason: 'missing or wrong token: use the URL modelhaul printed' };
  const origin = req.headers.origin;
  if (origin !== undefined && !hosts.some((host) => origin === `http://${host}`)) return { status: 403, reason: 'requests from other pages are refused' };
  if (req.method === 'POST' && origin === undefined) return { status: 403, reason: 'a POST must say where it comes from (Origin)' };
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return { status: 403, reason: 'requests from other sites are refused' };
  return undefined;
}

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

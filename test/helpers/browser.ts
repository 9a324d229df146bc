// A real headless Chromium for the tests of the download modal, and a loopback server for the
// pages it loads. Debian's chromium, driven by playwright-core (which never downloads a browser of
// its own); without it the browser tests skip with a message saying so.
import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ModalHarness } from '../browser/harness-api.js';

export const CHROMIUM_PATH = process.env['MODELHAUL_CHROMIUM'] ?? '/usr/bin/chromium';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST_UI = join(ROOT, 'dist', 'ui');
const BROWSER_SCRIPTS = join(ROOT, 'test', 'browser');

/**
 * A policy as strict as an Electron app's should be: scripts and styles only from the page's own
 * origin, no inline anything, and Trusted Types, so that `innerHTML` with a string would fail too.
 */
export const STRICT_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** Records every CSP violation from the first moment of each page, before the page's own scripts. */
const VIOLATION_RECORDER = `
globalThis.modelhaulViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  globalThis.modelhaulViolations.push({ directive: event.effectiveDirective, blockedURI: event.blockedURI, sample: event.sample });
});`;

export function chromiumAvailable(): boolean {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Launches Chromium for the tests in `t` (closed when they end), or skips `t` with the reason.
 * playwright-core gives every launch a fresh temporary profile (`--user-data-dir`) and removes it
 * on close.
 */
export async function useBrowser(t: TestContext): Promise<Browser | undefined> {
  if (!chromiumAvailable()) {
    t.skip(`Chromium is not installed at ${CHROMIUM_PATH}: the browser tests need Debian's chromium (scripts/ensure-system-packages.sh installs it when run as root)`);
    return undefined;
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  return browser;
}

/** A new page with the CSP-violation recorder in place; its console errors are collected. */
export async function newPage(browser: Browser, options: { colorScheme?: 'light' | 'dark'; width?: number; height?: number } = {}): Promise<{ page: Page; consoleErrors: string[] }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 900, height: options.height ?? 1000 },
    colorScheme: options.colorScheme ?? 'light',
    reducedMotion: 'no-preference',
    locale: 'en-US',
  });
  const page = await context.newPage();
  await page.addInitScript({ content: VIOLATION_RECORDER });
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  return { page, consoleErrors };
}

export type Route = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface PageServer {
  readonly origin: string;
  /** Serves `html` at `path` under {@link STRICT_CSP}. */
  page(path: string, html: string): void;
  /** Handles requests before the built-in routes; return true when handled. */
  route(handler: Route): void;
}

/**
 * A loopback server for the test pages: the built element from dist/ui/ at `/modelhaul/ui/`, the
 * page scripts of test/browser/ (TypeScript, stripped to JavaScript as served) at `/browser/`,
 * and the pages the tests register.
 */
export async function usePageServer(t: TestContext): Promise<PageServer> {
  const pages = new Map<string, string>();
  const routes: Route[] = [];
  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String(error));
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const route of routes) if (await route(req, res)) return;
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const html = pages.get(path);
    if (html !== undefined) return send(res, 200, 'text/html; charset=utf-8', html, { 'Content-Security-Policy': STRICT_CSP });
    const built = /^\/modelhaul\/ui\/([\w-]+\.js(?:\.map)?)$/.exec(path);
    if (built?.[1]) return send(res, 200, built[1].endsWith('.map') ? 'application/json' : 'text/javascript', await readFile(join(DIST_UI, built[1]), 'utf8').catch(() => missingBuild(built[1] ?? '')));
    const script = /^\/browser\/([\w-]+)\.js$/.exec(path);
    if (script?.[1]) {
      const source = await readFile(join(BROWSER_SCRIPTS, `${script[1]}.ts`), 'utf8');
      const { code } = await transform(source, { loader: 'ts', format: 'esm', target: 'es2022' });
      return send(res, 200, 'text/javascript', code);
    }
    return send(res, 404, 'text/plain', 'not found');
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    page: (path, html) => void pages.set(path, html),
    route: (handler) => void routes.push(handler),
  };
}

function missingBuild(file: string): never {
  throw new Error(`dist/ui/${file} is missing: run \`npm run build\` before the browser tests`);
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

/** The modal test page: the element's module, then the harness; `body` goes into <body>. */
export function modalPage(body = '<main><h1>Notes</h1><p>An app that uses models on this computer.</p></main>'): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>modelhaul-download</title>
<script type="module" src="/modelhaul/ui/index.js"></script>
<script type="module" src="/browser/harness.js"></script>
</head>
<body>
${body}
</body>
</html>`;
}

/** Calls `harness[method](...args)` in the page. */
export function inPage<M extends keyof ModalHarness>(page: Page, method: M, ...args: Parameters<ModalHarness[M]>): Promise<ReturnType<ModalHarness[M]>> {
  return page.evaluate(
    ([name, values]) => {
      const harness = (globalThis as unknown as { harness: Record<string, (...a: unknown[]) => unknown> }).harness;
      return harness[name]?.(...values);
    },
    [method, args] as [string, unknown[]],
  ) as Promise<ReturnType<ModalHarness[M]>>;
}

/**
 * Waits until `expression` is truthy in the page. Polled from here, one evaluation at a time:
 * Playwright's own waitForFunction polls inside the page with `new Function`, which a CSP without
 * 'unsafe-eval' refuses; an evaluation through the debugging protocol is not subject to it.
 */
export async function waitInPage(page: Page, expression: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression}`);
    await delay(50);
  }
}

/** Waits until the page's harness module has run. */
export async function harnessReady(page: Page): Promise<void> {
  await waitInPage(page, "'harness' in globalThis && customElements.get('modelhaul-download') !== undefined");
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[]; failureSummary?: string }>;
}

let axeSource: Promise<string> | undefined;

/**
 * Runs axe-core on the page (injected through the debugging protocol, which a CSP does not block)
 * and returns its violations, each as one readable line.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  axeSource ??= readFile(fileURLToPath(import.meta.resolve('axe-core/axe.min.js')), 'utf8');
  if (!(await page.evaluate("typeof axe === 'object'"))) await page.evaluate(await axeSource);
  const result = await page.evaluate<{ violations: AxeViolation[] }>("axe.run(document, { resultTypes: ['violations'] })");
  return result.violations.map(
    (violation) => `${violation.id} (${violation.impact ?? '?'}): ${violation.help} at ${violation.nodes.map((node) => JSON.stringify(node.target) + ' ' + (node.failureSummary ?? '')).join('; ')}`,
  );
}

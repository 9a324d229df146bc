// The server of `modelhaul demo --browser`: who may use it (the token, Host, Origin and
// Sec-Fetch-Site checks) and how the page and the lifecycle talk (server-sent events out, POSTs
// in, fault switches reaching the demo origin), in a real Chromium. The lifecycle here is a
// recording stand-in that answers each call with the snapshot a lifecycle would send: this file
// is about the transport; the installs themselves are the lifecycle's tests.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test, type TestContext } from 'node:test';
import type { LifecyclePhase, LifecycleSnapshot } from '../src/lifecycle/snapshot.js';
import { startBrowserDemo, type BrowserDemo, type DemoLifecycleInputs, type DrivenLifecycle } from '../src/demo/browser-demo.js';
import { snapshotIn } from './fixtures/snapshots.js';
import { newPage, useBrowser } from './helpers/browser.js';
import { useTempDir } from './helpers/tmp.js';

/** Records every call; answers start/pause/... with the phase a lifecycle would move to. */
class RecordingLifecycle implements DrivenLifecycle {
  readonly calls: string[] = [];
  private readonly listeners = new Set<(snapshot: LifecycleSnapshot) => void>();
  private snapshot = snapshotIn('missing');

  constructor(readonly inputs: DemoLifecycleInputs) {
    inputs.watchOnline(() => this.move(inputs.isOnline() ? 'downloading' : 'offline'));
  }

  private move(phase: LifecyclePhase): void {
    this.snapshot = snapshotIn(phase);
    for (const listener of this.listeners) listener(this.snapshot);
  }

  start(): void {
    this.calls.push('start');
    this.move(this.inputs.isOnline() ? 'downloading' : 'offline');
  }
  pause(): void {
    this.calls.push('pause');
    this.move('paused');
  }
  resume(): void {
    this.calls.push('resume');
    this.move('downloading');
  }
  cancel(): void {
    this.calls.push('cancel');
    this.move('missing');
  }
  retry(): void {
    this.calls.push('retry');
    this.move('downloading');
  }
  getSnapshot(): LifecycleSnapshot {
    return this.snapshot;
  }
  subscribe(listener: (snapshot: LifecycleSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  dispose(): Promise<void> {
    this.calls.push('dispose');
    return Promise.resolve();
  }
}

async function startDemo(t: TestContext): Promise<{ demo: BrowserDemo; lifecycles: RecordingLifecycle[] }> {
  const workDir = await useTempDir(t, 'browser-demo');
  const lifecycles: RecordingLifecycle[] = [];
  const demo = await startBrowserDemo({
    workDir,
    createLifecycle: (inputs) => {
      const lifecycle = new RecordingLifecycle(inputs);
      lifecycles.push(lifecycle);
      return lifecycle;
    },
  });
  t.after(() => demo.close());
  return { demo, lifecycles };
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with exactly the headers given (fetch would not let a test set Host). */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (text: string) => (body += text));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

test('the browser demo serves only its own page, and only with the token', async (t) => {
  const { demo, lifecycles } = await startDemo(t);
  const { host } = new URL(demo.url);
  const json = { 'Content-Type': 'application/json', Origin: demo.origin };
  const action = JSON.stringify({ action: 'start' });

  const page = await raw(demo.url);
  assert.equal(page.status, 200);
  assert.match(page.body, /<modelhaul-download>/);
  assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
  assert.doesNotMatch(String(page.headers['content-security-policy']), /unsafe-inline/);
  assert.equal((await raw(demo.url.replace(/\/$/, ''))).status, 308, 'the token path without its slash redirects');

  assert.equal((await raw(`${demo.origin}/`)).status, 403, 'no token');
  assert.equal((await raw(`${demo.origin}/events`)).status, 403, 'no token, events');
  assert.equal((await raw(`${demo.origin}/${'x'.repeat(24)}/`)).status, 403, 'a wrong token');
  assert.equal((await raw(`${demo.origin}/action`, { method: 'POST', headers: json, body: action })).status, 403, 'an action without the token');
  // DNS rebinding: a page at evil.example that resolves to 127.0.0.1 sends its own Host.
  assert.equal((await raw(demo.url, { headers: { Host: `evil.example:${new URL(demo.origin).port}` } })).status, 421);
  // Another local page that somehow knows the token still cannot act: its Origin is not ours.
  const foreign = await raw(new URL('action', demo.url).href, { method: 'POST', headers: { ...json, Origin: 'http://127.0.0.1:9' }, body: action });
  assert.equal(foreign.status, 403);
  const noOrigin = await raw(new URL('action', demo.url).href, { method: 'POST', headers: { 'Content-Type': 'application/json', Host: host }, body: action });
  assert.equal(noOrigin.status, 403, 'a POST without Origin');
  const crossSite = await raw(new URL('action', demo.url).href, { method: 'POST', headers: { ...json, 'Sec-Fetch-Site': 'cross-site' }, body: action });
  assert.equal(crossSite.status, 403, 'Sec-Fetch-Site: cross-site');
  const form = await raw(new URL('action', demo.url).href, { method: 'POST', headers: { ...json, 'Content-Type': 'text/plain' }, body: action });
  assert.equal(form.status, 415, 'a body that is not JSON (a form post needs no preflight)');
  assert.deepEqual(lifecycles[0]?.calls, [], 'a refused request reached the lifecycle');

  const allowed = await raw(new URL('action', demo.url).href, { method: 'POST', headers: json, body: action });
  assert.equal(allowed.status, 204);
  assert.deepEqual(lifecycles[0]?.calls, ['start']);
  const unknown = await raw(new URL('action', demo.url).href, { method: 'POST', headers: json, body: JSON.stringify({ action: 'dispose' }) });
  assert.equal(unknown.status, 400, 'only the five actions');
  assert.deepEqual(lifecycles[0]?.calls, ['start']);
});

test('the browser demo page: snapshots in over server-sent events, actions and fault switches out', async (t) => {
  const browser = await useBrowser(t);
  if (!browser) return;
  const { demo, lifecycles } = await startDemo(t);
  const { page, consoleErrors } = await newPage(browser);
  await page.goto(demo.url);

  const dialog = (name: string) => page.getByRole('dialog', { name, exact: true });
  await dialog('Download models').waitFor();
  await page.getByRole('button', { name: 'Download', exact: true }).click();
  await dialog('Downloading models').waitFor();
  assert.deepEqual(lifecycles[0]?.calls, ['start']);

  // The switches are behind the modal: continue in background first, as a person would.
  await page.getByRole('button', { name: 'Continue in background' }).click();
  assert.match((await page.locator('#models-summary').textContent()) ?? '', /Downloading models · 35%/);
  await page.getByRole('switch', { name: /Go offline/ }).check();
  // The lifecycle is told (watchOnline, then isOnline() says false) and the app shows the modal.
  await dialog('Waiting for the network').waitFor();
  assert.equal(demo.faults.offline, true);
  assert.equal(lifecycles[0]?.inputs.isOnline(), false);
  await page.getByRole('button', { name: 'Continue in background' }).click();
  await page.getByRole('switch', { name: /Go offline/ }).uncheck();
  await dialog('Downloading models').waitFor();

  await page.getByRole('button', { name: 'Continue in background' }).click();
  await page.getByRole('switch', { name: /Cut the connection/ }).check();
  await waitUntil(() => demo.faults.cut);
  // The demo origin now drops every connection: a real request to it fails.
  const file = lifecycles[0]?.inputs.manifest.artifacts[0]?.url ?? '';
  await assert.rejects(fetch(file), 'the origin still answers with "Cut the connection" on');
  await page.getByRole('button', { name: 'Continue in background' }).click();
  await page.getByRole('switch', { name: /Cut the connection/ }).uncheck();
  await waitUntil(() => !demo.faults.cut);
  const response = await fetch(file, { headers: { Range: 'bytes=0-9' } });
  assert.equal(response.status, 206);
  await response.arrayBuffer();

  await page.getByRole('button', { name: 'Continue in background' }).click();
  await page.getByRole('button', { name: /Start over/ }).click();
  await waitUntil(() => lifecycles.length === 2);
  assert.deepEqual(lifecycles[0]?.calls.at(-1), 'dispose');
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(await page.evaluate('globalThis.modelhaulViolations'), []);
});

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

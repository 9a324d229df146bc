// `modelhaul demo --browser` end to end: the real lifecycle and engine installing the demo bundle
// from the demo origin on loopback, the page in a real Chromium, a person's clicks. Download,
// progress, the connection cut (retry-wait), resumed from the bytes kept, Ready; offline and
// back; damaged files refused (failed) and a retry that succeeds. And the command itself: the
// URL on a line of its own, the token required, Ctrl+C ending it cleanly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { startBrowserDemo } from '../src/demo/browser-demo.js';
import { CLI_PATH, runCli } from './helpers/cli.js';
import { newPage, useBrowser } from './helpers/browser.js';
import { useTempDir } from './helpers/tmp.js';

const PLAIN = { NO_COLOR: undefined, FORCE_COLOR: undefined, CI: undefined };
/** About 5 s for the bundle: long enough to act during the download, short for the suite. */
const TEST_BYTES_PER_SECOND = 40_000_000;

function dialog(page: Page, name: string) {
  return page.getByRole('dialog', { name, exact: true });
}

async function percentDone(page: Page): Promise<number> {
  return Number(await page.getByRole('progressbar', { name: 'Download progress' }).getAttribute('aria-valuenow'));
}

/** Hides the modal, flips a fault switch, and waits for the page to show the modal again. */
async function flip(page: Page, name: RegExp, on: boolean): Promise<void> {
  await page.getByRole('button', { name: /^(Continue in background|Not now)$/ }).click();
  const control = page.getByRole('switch', { name });
  await (on ? control.check() : control.uncheck());
  await page.getByRole('dialog').waitFor();
}

test('the browser demo end to end: download, cut, resume, Ready; offline; damaged files refused, then retried', { timeout: 150_000 }, async (t) => {
  const browser = await useBrowser(t);
  if (!browser) return;
  const workDir = await useTempDir(t, 'browser-demo-e2e');
  const demo = await startBrowserDemo({ workDir, bytesPerSecond: TEST_BYTES_PER_SECOND });
  t.after(() => demo.close());
  const { page, consoleErrors } = await newPage(browser);
  await page.goto(demo.url);

  // Sizes before starting, then the download.
  await dialog(page, 'Download models').waitFor();
  assert.match((await page.getByRole('dialog').textContent()) ?? '', /Total\s*198 MB/);
  await page.getByRole('button', { name: 'Download', exact: true }).click();
  await dialog(page, 'Downloading models').waitFor();
  const bar = page.getByRole('progressbar', { name: 'Download progress' });
  await bar.and(page.locator('[aria-valuenow]:not([aria-valuenow="0"])')).waitFor({ timeout: 10_000 });

  // The connection cut: the engine's quick retries fail too, and the lifecycle waits to retry.
  await flip(page, /Cut the connection/, true);
  await dialog(page, 'Connection interrupted').waitFor({ timeout: 20_000 });
  assert.match((await page.locator('[part="countdown"]').textContent()) ?? '', /^Trying again in \d+ sec\.$|^Trying again now\.$/);
  const kept = await percentDone(page);
  assert.ok(kept > 0, 'nothing was kept from before the cut');
  await flip(page, /Cut the connection/, false);
  await page.getByRole('button', { name: 'Retry now' }).click();
  await dialog(page, 'Downloading models').waitFor();
  // Resumed from the bytes on disk, not started over.
  assert.ok((await percentDone(page)) >= kept, `progress fell from ${kept}% after the retry`);
  await dialog(page, 'Ready').waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('.feature[data-ready="true"]').count(), 3, 'every feature switched on');

  // Start over: offline while downloading waits calmly and goes on by itself.
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('button', { name: /Start over/ }).click();
  await dialog(page, 'Download models').waitFor({ timeout: 20_000 });
  await page.getByRole('button', { name: 'Download', exact: true }).click();
  await dialog(page, 'Downloading models').waitFor();
  await flip(page, /Go offline/, true);
  await dialog(page, 'Waiting for the network').waitFor({ timeout: 10_000 });
  await flip(page, /Go offline/, false);
  await dialog(page, 'Downloading models').waitFor({ timeout: 10_000 });

  // Damaged files: refused by their checksums, never installed; a retry with good files succeeds.
  await flip(page, /Hand out damaged files/, true);
  await dialog(page, 'Download failed').waitFor({ timeout: 60_000 });
  const alert = page.getByRole('alert');
  assert.match((await alert.textContent()) ?? '', /damaged on the way/);
  await page.getByText('Details', { exact: true }).click();
  assert.match((await page.locator('[part="code"]').textContent()) ?? '', /CHECKSUM_MISMATCH/);
  await flip(page, /Hand out damaged files/, false);
  await page.getByRole('button', { name: 'Retry', exact: true }).click();
  await dialog(page, 'Ready').waitFor({ timeout: 60_000 });

  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(await page.evaluate('globalThis.modelhaulViolations'), []);
});

test('modelhaul demo --browser prints the page URL on a line of its own, requires the token, and stops cleanly on Ctrl+C', { timeout: 60_000 }, async (t) => {
  const browser = await useBrowser(t);
  if (!browser) return;
  const tmp = await useTempDir(t, 'browser-demo-cli');
  const child = spawn(process.execPath, [CLI_PATH, 'demo', '--browser', '--port', '0'], { env: { ...process.env, ...PLAIN, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      const line = /^(http:\/\/127\.0\.0\.1:\d+\/[\w-]{16,}\/)$/m.exec(stdout)?.[1];
      if (line) resolve(line);
    });
    void exited.then(() => reject(new Error(`the demo exited before printing its URL; stderr:\n${stderr}`)));
  });

  const withoutToken = await fetch(new URL('/', url));
  assert.equal(withoutToken.status, 403);
  await withoutToken.text();
  const { page } = await newPage(browser);
  await page.goto(url);
  await dialog(page, 'Download models').waitFor();
  await page.close();

  child.kill('SIGINT');
  assert.equal(await exited, 0, `exit code; stderr:\n${stderr}`);
  assert.match(stdout, /Removed the demo folder/);
  assert.deepEqual(await readdir(tmp), [], 'the demo left something in the temp dir');
});

test('modelhaul demo: --port without --browser, a bad port and a port in use are usage errors', async (t) => {
  const alone = await runCli(['demo', '--port', '8080']);
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /--port goes with --browser/);
  const bad = await runCli(['demo', '--browser', '--port', '70000']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /port number from 0 to 65535/);

  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const tmp = await useTempDir(t, 'browser-demo-port');
  const busy = await runCli(['demo', '--browser', '--port', String((taken.address() as AddressInfo).port)], { env: { TMPDIR: tmp } });
  assert.equal(busy.code, 2, busy.stderr);
  assert.match(busy.stderr, /the port is in use; choose another with --port/);
  assert.deepEqual(await readdir(tmp), [], 'the demo folder is left behind');
});

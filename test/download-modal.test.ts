// <modelhaul-download> in a real headless Chromium, on a page under a strict
// Content-Security-Policy: every phase from snapshot fixtures (roles, names, values, focus,
// Escape), axe-core with no violations in light and dark, reduced motion and forced colours.
// With MODELHAUL_UPDATE_SCREENSHOTS=1 it also writes the PNGs in docs/images/.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { LifecyclePhase } from '../src/lifecycle/snapshot.js';
import { ALL_PHASES, snapshotIn } from './fixtures/snapshots.js';
import { axeViolations, harnessReady, inPage, modalPage, newPage, usePageServer, useBrowser, waitInPage, type PageServer } from './helpers/browser.js';

const SCREENSHOTS = process.env['MODELHAUL_UPDATE_SCREENSHOTS'] === '1';
const IMAGES = fileURLToPath(new URL('../docs/images/', import.meta.url));

/** What a person (or a screen reader) meets in each phase. */
const EXPECTED: Record<LifecyclePhase, { name: string; buttons: string[]; valueNow: `${number}` | null | 'none'; valueText?: RegExp; alert?: RegExp }> = {
  checking: { name: 'Checking model files', buttons: ['Continue in background'], valueNow: null },
  missing: { name: 'Download models', buttons: ['Not now', 'Download'], valueNow: 'none' },
  downloading: { name: 'Downloading models', buttons: ['Cancel', 'Pause', 'Continue in background'], valueNow: '35', valueText: /^1\.2 of 3\.4 GB, about 5 min left$/ },
  paused: { name: 'Download paused', buttons: ['Cancel', 'Continue in background', 'Resume'], valueNow: '35', valueText: /^1\.2 of 3\.4 GB$/ },
  offline: { name: 'Waiting for the network', buttons: ['Cancel', 'Pause', 'Continue in background'], valueNow: '35' },
  'retry-wait': { name: 'Connection interrupted', buttons: ['Cancel', 'Continue in background', 'Retry now'], valueNow: '35' },
  verifying: { name: 'Checking downloaded files', buttons: ['Continue in background'], valueNow: null },
  blocked: { name: 'Not enough disk space', buttons: ['Not now', 'Retry'], valueNow: 'none', alert: /^Free up 1\.5 GB on this disk, then choose Retry\.Details/ },
  failed: { name: 'Download failed', buttons: ['Not now', 'Retry'], valueNow: 'none', alert: /^A downloaded file was damaged on the way and was thrown away\. Choose Retry to download it again\.Details/ },
  ready: { name: 'Ready', buttons: ['Done'], valueNow: 'none' },
};

async function openModalPage(browser: Browser, server: PageServer, options: { colorScheme?: 'light' | 'dark' } = {}): Promise<Page> {
  const { page } = await newPage(browser, options);
  await page.goto(`${server.origin}/modal.html`);
  await harnessReady(page);
  return page;
}

async function visibleButtons(page: Page): Promise<string[]> {
  const names: string[] = [];
  for (const button of await page.getByRole('button').all()) if (await button.isVisible()) names.push((await button.textContent()) ?? '');
  return names;
}

test('the download modal in a real browser', async (t) => {
  const browser = await useBrowser(t);
  if (!browser) return;
  const server = await usePageServer(t);
  server.page('/modal.html', modalPage());
  if (SCREENSHOTS) await mkdir(IMAGES, { recursive: true });

  await t.test('every phase: a modal dialog with its name, its buttons, its progress value, no axe violations', async () => {
    const page = await openModalPage(browser, server);
    for (const phase of ALL_PHASES) {
      const expected = EXPECTED[phase];
      await inPage(page, 'mount', snapshotIn(phase));
      assert.deepEqual(await inPage(page, 'openState'), { element: true, dialog: true, modal: true }, phase);
      const dialog = page.getByRole('dialog', { name: expected.name, exact: true });
      assert.equal(await dialog.count(), 1, `${phase}: no dialog named "${expected.name}"`);
      assert.deepEqual(await visibleButtons(page), expected.buttons, phase);
      // Focus goes to the phase's main action, inside the dialog.
      assert.equal(await inPage(page, 'focused'), expected.buttons.at(-1), phase);

      const bar = page.getByRole('progressbar', { name: 'Download progress' });
      if (expected.valueNow === 'none') {
        assert.equal(await bar.isVisible(), false, `${phase}: a progress bar where nothing is measured`);
      } else {
        assert.equal(await bar.isVisible(), true, phase);
        assert.equal(await bar.getAttribute('aria-valuenow'), expected.valueNow, `${phase}: aria-valuenow`);
        if (expected.valueText) assert.match((await bar.getAttribute('aria-valuetext')) ?? '', expected.valueText, phase);
      }
      const alert = page.getByRole('alert');
      if (expected.alert) {
        assert.match((await alert.textContent()) ?? '', expected.alert, phase);
        // The code is under a disclosure, closed at first.
        const code = page.locator('[part="code"]');
        assert.equal(await code.isVisible(), false, `${phase}: the error code shows before Details is opened`);
        await page.getByText('Details', { exact: true }).click();
        assert.equal(await code.isVisible(), true, phase);
      } else {
        assert.equal(((await alert.textContent()) ?? '').trim(), '', `${phase}: an alert with nothing wrong`);
      }
      assert.deepEqual(await axeViolations(page), [], `${phase}: axe`);
      if (SCREENSHOTS && SCREENSHOT_PHASES.includes(phase)) await screenshot(page, phase === 'missing' ? 'ready-to-download' : phase);
    }
    assert.deepEqual(await inPage(page, 'violations'), [], 'CSP violations');
  });

  await t.test('dark colour scheme: dark surfaces and still no axe violations (contrast included)', async () => {
    const page = await openModalPage(browser, server, { colorScheme: 'dark' });
    for (const phase of ['missing', 'downloading', 'retry-wait', 'failed', 'ready'] as const) {
      await inPage(page, 'mount', snapshotIn(phase));
      const { 'background-color': background } = await inPage(page, 'style', 'dialog', ['background-color']);
      assert.ok(luminance(background ?? '') < 0.1, `${phase}: dialog background ${background} is not dark`);
      if (phase === 'failed') await page.getByText('Details', { exact: true }).click();
      assert.deepEqual(await axeViolations(page), [], `${phase} (dark): axe`);
      if (SCREENSHOTS && phase === 'downloading') await screenshot(page, 'downloading-dark');
    }
  });

  await t.test('Escape hides the modal and sends "background", never "cancel"; it opens again as it was', async () => {
    const page = await openModalPage(browser, server);
    await inPage(page, 'mount', snapshotIn('downloading'));
    await page.keyboard.press('Escape');
    // The dialog's close event comes in a task of its own.
    await waitInPage(page, '!harness.openState().element');
    assert.deepEqual(await inPage(page, 'openState'), { element: false, dialog: false, modal: false });
    assert.deepEqual(await inPage(page, 'actions'), ['background']);
    // Snapshots keep coming while it is hidden; showing it again shows the latest.
    await inPage(page, 'set', snapshotIn('downloading', Date.now(), { bytes: 2_000_000_000 }));
    await inPage(page, 'open');
    assert.equal(await page.getByRole('progressbar').getAttribute('aria-valuenow'), '58');
    await page.getByRole('button', { name: 'Continue in background' }).click();
    assert.deepEqual(await inPage(page, 'actions'), ['background', 'background']);
    assert.equal((await inPage(page, 'openState')).dialog, false);
  });

  await t.test('buttons send their actions; focus follows to the button that takes the place of the one pressed', async () => {
    const page = await openModalPage(browser, server);
    await inPage(page, 'mount', snapshotIn('missing'));
    await page.keyboard.press('Enter');
    assert.deepEqual(await inPage(page, 'actions'), ['start'], 'Enter on the focused Download');
    await inPage(page, 'set', snapshotIn('downloading'));
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await inPage(page, 'set', snapshotIn('paused'));
    assert.equal(await inPage(page, 'focused'), 'Resume');
    await page.keyboard.press('Enter');
    await inPage(page, 'set', snapshotIn('downloading'));
    await page.getByRole('button', { name: 'Cancel' }).click();
    await inPage(page, 'set', snapshotIn('failed'));
    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    assert.deepEqual(await inPage(page, 'actions'), ['start', 'pause', 'resume', 'cancel', 'retry']);
  });

  await t.test('retry-wait counts down each second and "Retry now" sends retry', async () => {
    const page = await openModalPage(browser, server);
    await inPage(page, 'mount', snapshotIn('retry-wait', Date.now() - 8_400));
    const countdown = page.locator('[part="countdown"]');
    assert.equal(await countdown.textContent(), 'Trying again in 4 sec.');
    await countdown.filter({ hasText: 'Trying again in 3 sec.' }).waitFor({ timeout: 2_500 });
    await page.getByRole('button', { name: 'Retry now' }).click();
    assert.deepEqual(await inPage(page, 'actions'), ['retry']);
  });

  await t.test('the status region announces milestones, not every snapshot', async () => {
    const page = await openModalPage(browser, server);
    await inPage(page, 'mount', snapshotIn('missing'));
    const now = Date.now();
    // 60 snapshots inside the first quarter (the speech model is already installed in the fixture).
    for (let i = 0; i < 60; i++) await inPage(page, 'set', snapshotIn('downloading', now, { bytes: 500_000_000 + i * 5_000_000, bytesPerSecond: 7e6 + i * 1e4 }));
    await inPage(page, 'set', snapshotIn('downloading', now, { bytes: 900_000_000 }));
    await inPage(page, 'set', snapshotIn('downloading', now, { bytes: 950_000_000 }));
    await inPage(page, 'set', snapshotIn('paused', now));
    await inPage(page, 'set', snapshotIn('ready', now));
    assert.deepEqual(await inPage(page, 'announcements'), [
      'Download started. Speech recognition is ready.',
      '25% downloaded.',
      'Download paused.',
      'All model files are ready.',
    ]);
  });

  await t.test('strings are replaceable and numbers follow the page language', async () => {
    const page = await openModalPage(browser, server);
    const strings = { headingDownloading: 'Modelle werden geladen', pause: 'Anhalten', progressValue: '{done} von {total}', timeLeft: 'noch etwa {time}' };
    await inPage(page, 'mount', snapshotIn('downloading'), { strings, lang: 'de' });
    assert.equal(await page.getByRole('dialog', { name: 'Modelle werden geladen' }).count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Anhalten' }).count(), 1);
    const text = (await page.getByRole('progressbar').getAttribute('aria-valuetext')) ?? '';
    assert.equal(text.replace(/\s/g, ' '), '1,2 von 3,4 GB, noch etwa 5 Min.');
  });

  await t.test('under a strict CSP (no unsafe-inline, Trusted Types) the element in the markup is styled and violates nothing', async () => {
    server.page('/markup.html', modalPage('<main><h1>Notes</h1></main><modelhaul-download open></modelhaul-download>'));
    const { page, consoleErrors } = await newPage(browser);
    await page.goto(`${server.origin}/markup.html`);
    await harnessReady(page);
    await inPage(page, 'set', snapshotIn('downloading'));
    assert.deepEqual(await inPage(page, 'openState'), { element: true, dialog: true, modal: true });
    // The sheet is in force: the rounded corners and the bar's width come from it and the CSSOM.
    assert.deepEqual(await inPage(page, 'style', 'dialog', ['border-top-left-radius']), { 'border-top-left-radius': '14px' });
    // The bar eases to its width; wait for it to get there.
    await waitInPage(page, `Math.abs(harness.width('[part="progress-bar"]') / harness.width('[part="progress-track"]') - 0.35) < 0.01`);
    assert.deepEqual(await inPage(page, 'violations'), []);
    assert.deepEqual(consoleErrors, []);
    // The recorder does see a violation when there is one: an inline style attribute is refused.
    await page.evaluate("document.body.append(Object.assign(document.createElement('p'), { id: 'probe' })); document.getElementById('probe').setAttribute('style', 'color: red')");
    await waitInPage(page, 'globalThis.modelhaulViolations.length > 0');
    assert.equal((await inPage(page, 'violations'))[0]?.directive, 'style-src-attr');
  });

  await t.test('reduced motion stops the moving bar; without it, the indeterminate bar slides', async () => {
    const page = await openModalPage(browser, server);
    await inPage(page, 'mount', snapshotIn('verifying'));
    const moving = await inPage(page, 'style', '[part="progress-bar"]', ['animation-name', 'transition-duration']);
    assert.equal(moving['animation-name'], 'modelhaul-slide');
    await page.emulateMedia({ reducedMotion: 'reduce' });
    const still = await inPage(page, 'style', '[part="progress-bar"]', ['animation-name', 'transition-duration']);
    assert.deepEqual(still, { 'animation-name': 'none', 'transition-duration': '0s' });
  });

  await t.test('forced colours: the bar takes the system highlight and the track keeps a visible edge', async () => {
    const page = await openModalPage(browser, server);
    await inPage(page, 'mount', snapshotIn('downloading'));
    await page.emulateMedia({ forcedColors: 'active' });
    const highlight = await inPage(page, 'systemColor', 'Highlight');
    const bar = await inPage(page, 'style', '[part="progress-bar"]', ['background-color']);
    assert.equal(bar['background-color'], highlight);
    const track = await inPage(page, 'style', '[part="progress-track"]', ['border-top-width', 'border-top-style']);
    assert.deepEqual(track, { 'border-top-width': '1px', 'border-top-style': 'solid' });
    assert.deepEqual(await axeViolations(page), []);
  });
});

const SCREENSHOT_PHASES: readonly LifecyclePhase[] = ['missing', 'downloading', 'offline', 'retry-wait', 'failed', 'ready'];

async function screenshot(page: Page, name: string): Promise<void> {
  // Without the focus ring, which a pointer user does not see either.
  await page.evaluate("document.querySelector('modelhaul-download').shadowRoot.activeElement?.blur()");
  const dialog = page.locator('dialog');
  const box = await dialog.boundingBox();
  assert.ok(box, 'the dialog has no box');
  const margin = 28;
  await page.screenshot({
    path: join(IMAGES, `download-modal-${name}.png`),
    clip: { x: box.x - margin, y: box.y - margin, width: box.width + 2 * margin, height: box.height + 2 * margin },
    animations: 'disabled',
  });
}

/** Relative luminance of a computed `rgb(...)` colour, 0 (black) to 1 (white). */
function luminance(color: string): number {
  const [r = 0, g = 0, b = 0] = (/rgba?\(([^)]+)\)/.exec(color)?.[1] ?? '').split(',').map((part) => Number(part.trim()) / 255);
  const linear = (c: number): number => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

// The Electron bridge end to end without Electron: the real lifecycle (real engine, real origin) in
// "main", the built preload run as a sandboxed renderer runs it, and fakes of ipcMain, frames,
// ipcRenderer and contextBridge that structured-clone every message as Electron does. Plus what
// must hold of the package itself: the library never loads electron, the entry points resolve.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { ipcMain as ElectronIpcMain, ipcRenderer as ElectronIpcRenderer, net as ElectronNet, powerMonitor as ElectronPowerMonitor } from 'electron';
import type { createBridge } from '../src/electron/bridge-client.js';
import { exposeModelLifecycle, serveModelLifecycle, type ElectronInputs, type ExposeOptions } from '../src/electron/main.js';
import { parseAllowedOrigins } from '../src/electron/sender-origin.js';
import type { LifecycleSnapshot } from '../src/index.js';
import { makeContent } from './helpers/content.js';
import { FakeFrame, FakeIpcMain, loadPreload } from './helpers/electron-fakes.js';
import { useOrigin } from './helpers/install-run.js';
import { manifestOf, useLifecycle, waitForSnapshot } from './helpers/lifecycle.js';
import { serveArtifact } from './helpers/served-artifact.js';
import { useTempDir } from './helpers/tmp.js';

// Compile-time: Electron's own objects fit where the bridge takes them, as they are.
const fits: [
  typeof ElectronIpcMain extends ExposeOptions['ipcMain'] ? true : never,
  typeof ElectronNet extends ElectronInputs['net'] ? true : never,
  typeof ElectronPowerMonitor extends ElectronInputs['powerMonitor'] ? true : never,
  typeof ElectronIpcRenderer extends Parameters<typeof createBridge>[0] ? true : never,
] = [true, true, true, true];
void fits;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const APP = 'app://bundle';

async function bridgeBench(t: TestContext, bodySize = 300_000) {
  const origin = await useOrigin(t);
  const stt = serveArtifact(origin, 'stt', makeContent(bodySize, 41), { kind: 'stt' });
  const dir = join(await useTempDir(t, 'bridge'), 'models');
  const watched = useLifecycle(t, { manifest: manifestOf(stt), dir, retryDelay: () => 20 });
  const ipcMain = new FakeIpcMain();
  const exposure = exposeModelLifecycle(watched.lifecycle, { ipcMain, allowedOrigins: [APP, 'http://localhost:5173'] });
  t.after(() => exposure.dispose());
  return { origin, watched, ipcMain, exposure };
}

test('the preload is one CommonJS file that requires nothing but electron and gives the page named functions only, never ipcRenderer', async (t) => {
  const { ipcMain } = await bridgeBench(t);
  const frame = new FakeFrame(ipcMain, `${APP}/index.html`);
  const { bridge, exposedKeys, required } = await loadPreload(frame);
  assert.deepEqual(required, ['electron']);
  assert.deepEqual(exposedKeys, ['modelhaul'], 'one key on window');
  assert.deepEqual(Object.keys(bridge).sort(), ['cancel', 'check', 'getSnapshot', 'onSnapshot', 'pause', 'resume', 'retry', 'start', 'whenReady']);
  for (const [name, value] of Object.entries(bridge)) assert.equal(typeof value, 'function', `${name} is a function`);
  assert.ok(!Object.values(bridge).includes(frame.ipcRenderer), 'ipcRenderer is not handed out');
});

test('a page drives the real lifecycle through preload, contextBridge and ipcMain, and gets every phase as a plain snapshot', async (t) => {
  const { origin, watched, ipcMain } = await bridgeBench(t);
  const frame = new FakeFrame(ipcMain, `${APP}/index.html`);
  const { bridge } = await loadPreload(frame);
  await watched.until((s) => s.phase === 'missing', 'missing');

  const received: LifecycleSnapshot[] = [];
  const argumentCounts = new Set<number>();
  const unsubscribe = bridge.onSnapshot((...args: unknown[]) => {
    argumentCounts.add(args.length);
    received.push(args[0] as LifecycleSnapshot);
  });
  const first = await bridge.getSnapshot();
  assert.equal(first.phase, 'missing');
  const afterStart = await bridge.start();
  assert.equal(afterStart.phase, 'downloading', 'an action answers with the snapshot right after it');
  const sttReady = await bridge.whenReady({ kinds: ['stt'] });
  assert.equal(sttReady.capabilities.stt.ready, true);
  await assert.rejects(bridge.whenReady({ kinds: ['tts'] }), /no artifact of kind "tts"/);
  await waitForSnapshot(watched.lifecycle, (s) => s.phase === 'ready', 'ready');
  await waitUntilReceived(received, (s) => s.phase === 'ready');

  const phases = received.map((s) => s.phase).filter((p, i, all) => i === 0 || all[i - 1] !== p);
  assert.deepEqual(phases, ['missing', 'downloading', 'verifying', 'ready']);
  assert.deepEqual([...argumentCounts], [1], 'the callback gets the snapshot and nothing else (no event, no sender)');
  assert.deepEqual(received.at(-1), watched.lifecycle.getSnapshot(), 'what the page got is the snapshot, unchanged by cloning');
  const sequences = received.map((s) => s.sequence);
  assert.deepEqual(sequences, [...new Set(sequences)].sort((a, b) => a - b), 'in order, each once');
  assert.equal(origin.requestsFor('/stt.bin').length, 1);

  unsubscribe();
  const sentBefore = frame.sent;
  assert.equal(frame.ipcRenderer.listenerCount('modelhaul:lifecycle:snapshot'), 0);
  await bridge.check();
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(frame.sent, sentBefore, 'an unsubscribed page gets no more pushes');
});

test('pages from other origins, and frames that are gone, are refused: nothing reaches the lifecycle', async (t) => {
  const { watched, ipcMain } = await bridgeBench(t);
  await watched.until((s) => s.phase === 'missing', 'missing');
  const evilFrame = new FakeFrame(ipcMain, 'https://evil.example/ad.html');
  const evil = await loadPreload(evilFrame);
  await assert.rejects(evil.bridge.start(), /not allowed/);
  await assert.rejects(evil.bridge.getSnapshot(), /not allowed/);
  await assert.rejects(evilFrame.ipcRenderer.invoke('modelhaul:lifecycle:subscribe'), /not allowed/, 'nor may it subscribe');
  const otherPort = await loadPreload(new FakeFrame(ipcMain, 'http://localhost:5174/'));
  await assert.rejects(otherPort.bridge.start(), /not allowed/);
  const goneFrame = new FakeFrame(ipcMain, `${APP}/index.html`);
  const gone = await loadPreload(goneFrame);
  goneFrame.close();
  await assert.rejects(gone.bridge.start(), /not allowed/);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(watched.lifecycle.getSnapshot().phase, 'missing', 'no refused call started anything');

  const devServer = await loadPreload(new FakeFrame(ipcMain, 'http://localhost:5173/src/index.html'));
  assert.equal((await devServer.bridge.getSnapshot()).phase, 'missing', 'any page of an allowed origin is let in');
  devServer.bridge.onSnapshot(() => undefined);
  await devServer.bridge.start();
  await watched.until((s) => s.phase === 'ready', 'ready');
  assert.equal(evilFrame.sent, 0, 'and the refused page never got a snapshot');
  assert.throws(() => parseAllowedOrigins([]), TypeError);
  assert.throws(() => parseAllowedOrigins(['not a url']), TypeError);
  assert.deepEqual([...parseAllowedOrigins(['file://', 'app://bundle/index.html', 'http://localhost:5173/'])], ['file://', APP, 'http://localhost:5173']);
});

test('snapshots go to every subscribed window; closed, vanished and navigated-away frames are forgotten', async (t) => {
  const { watched, ipcMain } = await bridgeBench(t, 1_500_000);
  const frames = [0, 1, 2, 3].map(() => new FakeFrame(ipcMain, `${APP}/index.html`));
  const bridges = await Promise.all(frames.map((frame) => loadPreload(frame)));
  const received = frames.map(() => [] as LifecycleSnapshot[]);
  bridges.forEach(({ bridge }, i) => bridge.onSnapshot((snapshot) => received[i]!.push(snapshot)));
  await waitUntilReceived(received[3]!, () => true);

  const [closed, vanished, navigated, staying] = frames as [FakeFrame, FakeFrame, FakeFrame, FakeFrame];
  closed.close();
  vanished.vanish();
  navigated.url = 'https://elsewhere.example/';
  const counts = frames.map((frame) => frame.sent);
  await bridges[3]!.bridge.start();
  await waitForSnapshot(watched.lifecycle, (s) => s.phase === 'ready', 'ready');
  await waitUntilReceived(received[3]!, (s) => s.phase === 'ready');

  assert.ok(staying.sent > counts[3]!, 'the open window kept getting snapshots');
  for (const frame of [closed, vanished, navigated]) {
    assert.equal(frame.sent, counts[frames.indexOf(frame)], `nothing more was sent to ${frame.url}`);
    assert.equal(frame.sentWhenGone, 0, 'not even tried');
  }
  assert.equal(closed.contents.listenerCount('destroyed'), 0, 'no listener left on a closed window');
});

test('serveModelLifecycle: Electron’s net.isOnline and powerMonitor drive the lifecycle, and dispose removes every handler and listener', async (t) => {
  const origin = await useOrigin(t);
  const stt = serveArtifact(origin, 'stt', makeContent(200_000, 42), { kind: 'stt' });
  const dir = join(await useTempDir(t, 'bridge-serve'), 'models');
  const ipcMain = new FakeIpcMain();
  let online = false;
  const net = { isOnline: () => online };
  const powerMonitor = new EventEmitter();
  assert.throws(
    () => serveModelLifecycle({ manifest: manifestOf(stt), dir, electron: { ipcMain, net, powerMonitor }, allowedOrigins: [] }),
    TypeError,
    'a lifecycle without a single allowed origin is a mistake, refused before anything starts',
  );
  const lifecycle = serveModelLifecycle({ manifest: manifestOf(stt), dir, onlinePollMs: 20, electron: { ipcMain, net, powerMonitor }, allowedOrigins: [APP] });
  t.after(() => lifecycle.dispose());
  assert.equal(powerMonitor.listenerCount('resume'), 1);
  const { bridge } = await loadPreload(new FakeFrame(ipcMain, `${APP}/`));
  await waitForSnapshot(lifecycle, (s) => s.phase === 'missing', 'missing');
  assert.equal((await bridge.start()).phase, 'offline', 'net.isOnline() says no');
  assert.equal(origin.requests.length, 0);
  online = true;
  await waitForSnapshot(lifecycle, (s) => s.phase === 'ready', 'ready once net.isOnline() says yes (polled)');

  powerMonitor.emit('resume');
  assert.equal(lifecycle.getSnapshot().phase, 'ready', 'a wake changes nothing when nothing runs');
  await lifecycle.dispose();
  assert.equal(ipcMain.handlers.size, 0, 'every handler removed');
  assert.equal(powerMonitor.listenerCount('resume') + powerMonitor.listenerCount('suspend'), 0, 'and every powerMonitor listener');
});

test('the package: the library and modelhaul/electron never load electron at run time, and both entry points resolve', async () => {
  for (const entry of ['dist/index.js', 'dist/electron/main.js']) {
    const { metafile } = await build({
      absWorkingDir: ROOT,
      entryPoints: [join(ROOT, entry)],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
    });
    const imported = Object.values(metafile.outputs).flatMap((output) => output.imports.map((i) => i.path));
    assert.ok(imported.length > 0, `${entry}: the graph was read`);
    assert.ok(!imported.includes('electron'), `${entry} imports electron: ${imported.join(', ')}`);
  }
  // Safe now that the graph is known: importing electron in Node would try to download its binary.
  const electronEntry = (await import('modelhaul/electron')) as Record<string, unknown>;
  assert.equal(typeof electronEntry.serveModelLifecycle, 'function');
  assert.equal(typeof electronEntry.exposeModelLifecycle, 'function');
  assert.equal(typeof electronEntry.electronLifecycleInputs, 'function');
  assert.equal(fileURLToPath(import.meta.resolve('modelhaul/preload')), join(ROOT, 'dist', 'preload.cjs'));
  const main = (await import('modelhaul')) as Record<string, unknown>;
  assert.equal(typeof main.createModelLifecycle, 'function');
});

async function waitUntilReceived(received: LifecycleSnapshot[], predicate: (s: LifecycleSnapshot) => boolean): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!received.some(predicate)) {
    if (performance.now() > deadline) throw new Error(`no matching snapshot among ${received.length} received`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

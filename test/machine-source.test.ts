// This machine as a source: a file installed for one bundle serves another bundle that needs the
// same SHA-256, by a copy (a reflink where the file system has them, never a hard link) that is
// staged, hashed and promoted like a download. The bundles have the shape of the built-in
// voice-assistant and voice-assistant-lite (same ids, kinds, labels and paths) with small
// synthetic files served by the test origin; every install is the real CLI.
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUILTIN_BUNDLES } from '../src/manifest/bundles.js';
import { runCli, type CliEvent, type CliResult, type ManifestArtifact } from './helpers/cli.js';
import { makeContent, sha256Hex } from './helpers/content.js';
import { assertExit, eventsOf, summarize, useOrigin } from './helpers/install-run.js';
import { jsonInstallArgs } from './helpers/served-artifact.js';
import { useTempDir } from './helpers/tmp.js';
import type { Origin } from './helpers/origin.js';

const MACHINE = 'this machine';

/** The built-in bundle `name` with each file replaced by a small one of the same identity on the origin. */
async function syntheticBundle(origin: Origin, work: string, name: string): Promise<{ manifest: string; artifacts: ManifestArtifact[]; bodies: Map<string, Buffer> }> {
  const bundle = BUILTIN_BUNDLES[name]!;
  const bodies = new Map<string, Buffer>();
  const artifacts = bundle.artifacts.map((real, index) => {
    // The content depends on the id only, so a file shared by both bundles is the same file.
    const body = makeContent(256 * 1024 + index * 1000, Number.parseInt(sha256Hex(Buffer.from(real.id)).slice(0, 8), 16));
    bodies.set(real.id, body);
    origin.serve(`/${real.id}`, body);
    return { id: real.id, kind: real.kind, label: real.label, url: origin.url(`/${real.id}`), size: body.length, sha256: sha256Hex(body), path: real.path };
  });
  const manifest = join(work, `${name}.json`);
  await writeFile(manifest, JSON.stringify({ schemaVersion: 1, name, artifacts }));
  return { manifest, artifacts, bodies };
}

function installedEvent(result: CliResult, id: string): CliEvent {
  const [event] = eventsOf(result, 'installed', id);
  assert.ok(event, `${id} installed: ${summarize(result)}`);
  return event;
}

test('voice-assistant-lite after voice-assistant downloads only Whisper tiny; the rest is copied from the first install, never hard-linked', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'machine');
  const index = join(work, 'index');
  const env = { MODELHAUL_MACHINE_INDEX: index };
  const full = await syntheticBundle(origin, work, 'voice-assistant');
  const lite = await syntheticBundle(origin, work, 'voice-assistant-lite');
  const first = await runCli(jsonInstallArgs(full.manifest, join(work, 'voice-assistant')), { env });
  assertExit(first, 0);
  assert.equal(origin.requests.length, 4, 'the first bundle is downloaded');

  const second = await runCli(jsonInstallArgs(lite.manifest, join(work, 'voice-assistant-lite')), { env });
  assertExit(second, 0);
  assert.deepEqual(origin.requests.slice(4).map((r) => r.path), ['/stt-whisper-tiny-en'], 'only the file the first bundle did not have');
  const shared = lite.artifacts.filter((a) => a.id !== 'stt-whisper-tiny-en');
  for (const artifact of shared) {
    const installed = installedEvent(second, artifact.id);
    assert.deepEqual(installed.bytesBySource, { [MACHINE]: artifact.size }, artifact.id);
    assert.equal(installed.bytesFetched, 0);
    assert.equal(eventsOf(second, 'start', artifact.id)[0]?.source, MACHINE);
    const copy = join(work, 'voice-assistant-lite', ...artifact.path.split('/'));
    const original = join(work, 'voice-assistant', ...artifact.path.split('/'));
    assert.ok((await readFile(copy)).equals(lite.bodies.get(artifact.id)!), artifact.id);
    const [copyStats, originalStats] = [await stat(copy), await stat(original)];
    assert.notEqual(copyStats.ino, originalStats.ino, `${artifact.id}: a file of its own`);
    assert.equal(copyStats.nlink, 1, `${artifact.id}: not a hard link`);
  }
  const done = second.events.find((e) => e.event === 'done');
  assert.deepEqual(done?.bytesBySource, {
    [MACHINE]: shared.reduce((sum, a) => sum + a.size, 0),
    [origin.origin]: lite.bodies.get('stt-whisper-tiny-en')!.length,
  });
  // An app writing into its copy changes nothing in the other bundle.
  const voice = 'tts/en_US-lessac-medium.onnx';
  await appendFile(join(work, 'voice-assistant-lite', ...voice.split('/')), 'changed by the app');
  assert.ok((await readFile(join(work, 'voice-assistant', ...voice.split('/')))).equals(full.bodies.get('tts-piper-en-us-lessac-medium')!));

  // A person is told what was copied.
  const text = await runCli(['install', '--manifest', lite.manifest, '--dir', join(work, 'third'), '--retry-delay', '0.05'], { env: { ...env, CI: undefined, NO_COLOR: undefined } });
  assertExit(text, 0);
  assert.match(text.stdout, /✓ Done: 4 installed \([\d.]+ [kM]?B downloaded, [\d.]+ [kM]?B copied from files already on this machine\)/);
});

test('stale and lying index entries cost a download, never a wrong file, and are removed when read', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'machine-stale');
  const index = join(work, 'index');
  const env = { MODELHAUL_MACHINE_INDEX: index };
  const full = await syntheticBundle(origin, work, 'voice-assistant');
  const [whisper, qwen, piper, config] = full.artifacts as [ManifestArtifact, ManifestArtifact, ManifestArtifact, ManifestArtifact];
  assertExit(await runCli(jsonInstallArgs(full.manifest, join(work, 'a')), { env }), 0);
  assertExit(await runCli(jsonInstallArgs(full.manifest, join(work, 'b')), { env }), 0);
  assert.equal(origin.requests.length, 4, 'b is copied from a');

  // Qwen: changed in a, gone with b. Whisper: gone in a and b, and a planted entry claims its
  // SHA-256 for a file of the right size with other bytes.
  await appendFile(join(work, 'a', ...qwen.path.split('/')), 'x');
  await rm(join(work, 'b'), { recursive: true });
  await rm(join(work, 'a', ...whisper.path.split('/')));
  const impostor = join(work, 'impostor.bin');
  await writeFile(impostor, makeContent(whisper.size, 999));
  const impostorStats = await stat(impostor, { bigint: true });
  await mkdir(join(index, whisper.sha256), { recursive: true });
  await writeFile(join(index, whisper.sha256, 'planted.json'), JSON.stringify({
    format: 'modelhaul-machine-index', version: 1, path: impostor, sha256: whisper.sha256, size: whisper.size,
    mtimeNs: impostorStats.mtimeNs.toString(), ino: impostorStats.ino.toString(), recordedAt: new Date().toISOString(),
  }));

  const third = await runCli(jsonInstallArgs(full.manifest, join(work, 'c')), { env });
  assertExit(third, 0);
  assert.deepEqual(origin.requests.slice(4).map((r) => r.path).sort(), [`/${qwen.id}`, `/${whisper.id}`]);
  for (const artifact of [piper, config]) assert.deepEqual(installedEvent(third, artifact.id).bytesBySource, { [MACHINE]: artifact.size });
  for (const artifact of full.artifacts) {
    assert.ok((await readFile(join(work, 'c', ...artifact.path.split('/')))).equals(full.bodies.get(artifact.id)!), artifact.id);
  }
  // What is left in the index: c's file for every artifact, and a's for piper and its config.
  const entries = async (sha256: string): Promise<number> => (await readdir(join(index, sha256))).filter((n) => n.endsWith('.json')).length;
  assert.equal(await entries(whisper.sha256), 1, 'the lying entry and the removed files are forgotten');
  assert.equal(await entries(qwen.sha256), 1, 'the changed and the removed file are forgotten');
  assert.equal(await entries(piper.sha256), 2);
});

// Mirrors and failover through the real CLI: sources tried in order (--mirror, MODELHAUL_MIRRORS,
// the manifest's mirrors, then the manifest URL), each skipped for what it cannot do (down, 404,
// refusing credentials, damaged bytes, another size), a resume that crosses sources, a SIGKILL in
// the middle of a mirror's download, and the bytes each source gave. The mirrors are real
// servers: nginx serving an install dir that an earlier install filled, and the misbehaving origin.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli, spawnCli, waitForEvent, waitForExit, writeManifest, type CliEvent, type CliResult, type ManifestArtifact } from './helpers/cli.js';
import { makeContent } from './helpers/content.js';
import { dirPaths, readResumeRecord, recordedBytes, waitUntil } from './helpers/install-dir.js';
import { assertExit, describeRequests, eventsOf, headerValues, summarize, useOrigin } from './helpers/install-run.js';
import { nginxSkipReason, parseAccessLogLine, startNginx } from './helpers/nginx.js';
import { startOrigin } from './helpers/origin.js';
import { jsonInstallArgs, serveArtifact } from './helpers/served-artifact.js';
import { useTempDir } from './helpers/tmp.js';

const MiB = 1024 * 1024;
/** Nothing listens on the discard port: a connection there is refused, like a mirror that is down. */
const DOWN = 'http://127.0.0.1:9/models';

function onlyEvent(result: CliResult, name: string, id: string): CliEvent {
  const events = eventsOf(result, name, id);
  assert.equal(events.length, 1, `one ${name} event for ${id}: ${summarize(result)}`);
  return events[0]!;
}

function doneEvent(result: CliResult): CliEvent {
  const done = result.events.find((event) => event.event === 'done');
  assert.ok(done, summarize(result));
  return done;
}

/** The failover events of `id` as [from, to, error code]. */
function failovers(result: CliResult, id: string): Array<[unknown, unknown, unknown]> {
  return eventsOf(result, 'failover', id).map((event) => [event.from, event.to, (event.error as { code?: unknown }).code]);
}

async function installInto(t: TestContext, artifacts: ManifestArtifact[], ...extra: string[]): Promise<{ dir: string; result: CliResult; manifest: string }> {
  const work = await useTempDir(t, 'mirror');
  const manifest = await writeManifest(work, artifacts);
  const dir = join(work, 'models');
  const result = await runCli(jsonInstallArgs(manifest, dir, ...extra));
  return { dir, result, manifest };
}

test('nginx serving an install dir is a mirror; mirrors that are down, refuse credentials or lack the file are skipped in order', { skip: nginxSkipReason() }, async (t) => {
  const origin = await useOrigin(t);
  const refusing = await useOrigin(t);
  const empty = await useOrigin(t);
  const bodies = { voice: makeContent(3 * MiB, 401), config: makeContent(5000, 402) };
  const artifacts = [
    serveArtifact(origin, 'voice', bodies.voice, { path: 'tts/voice.onnx' }),
    serveArtifact(origin, 'voice-config', bodies.config, { path: 'tts/voice.onnx.json' }),
  ];
  // The mirror is the install dir of an earlier, ordinary install: nginx serves it as it is.
  const first = await installInto(t, artifacts);
  assertExit(first.result, 0);
  const nginx = await startNginx({ root: first.dir });
  t.after(() => nginx.stop());
  refusing.always('/models/tts/voice.onnx', { kind: 'status', status: 401 });
  refusing.always('/models/tts/voice.onnx.json', { kind: 'status', status: 403 });
  const requestsBefore = origin.requests.length;

  const { dir, result } = await installInto(t, artifacts, '--mirror', DOWN, '--mirror', refusing.url('/models'), '--mirror', empty.url('/models/'), '--mirror', nginx.origin);
  assertExit(result, 0);
  assert.equal(origin.requests.length, requestsBefore, 'the manifest URLs were never asked');
  for (const [artifact, body] of [[artifacts[0]!, bodies.voice], [artifacts[1]!, bodies.config]] as const) {
    assert.ok((await readFile(join(dir, ...artifact.path.split('/')))).equals(body), artifact.id);
    assert.deepEqual(failovers(result, artifact.id), [
      [DOWN, refusing.url('/models'), 'NETWORK'],
      [refusing.url('/models'), empty.url('/models'), 'HTTP_STATUS'],
      [empty.url('/models'), nginx.origin, 'HTTP_STATUS'],
    ], artifact.id);
    // Down: retried on the same source first (twice, as a source with a fallback), then left.
    assert.equal(eventsOf(result, 'retry', artifact.id).length, 2, summarize(result));
    assert.deepEqual(onlyEvent(result, 'installed', artifact.id).bytesBySource, { [nginx.origin]: body.length });
    assert.equal(onlyEvent(result, 'start', artifact.id).source, nginx.origin);
  }
  // A refusal or a 404 is asked once: no retry can change it.
  assert.deepEqual(refusing.requests.map((r) => [r.path, r.status]).sort(), [['/models/tts/voice.onnx', 401], ['/models/tts/voice.onnx.json', 403]]);
  assert.deepEqual(empty.requests.map((r) => [r.path, r.status]).sort(), [['/models/tts/voice.onnx', 404], ['/models/tts/voice.onnx.json', 404]]);
  const served = (await nginx.waitForAccessLog(2)).map(parseAccessLogLine).map((entry) => [entry.request, entry.status]).sort();
  assert.deepEqual(served, [['GET /tts/voice.onnx HTTP/1.1', 200], ['GET /tts/voice.onnx.json HTTP/1.1', 200]]);
  assert.deepEqual(doneEvent(result).bytesBySource, { [nginx.origin]: bodies.voice.length + bodies.config.length });
});

test('a mirror with a damaged copy or a file of another size is skipped, and the manifest URL serves the artifact', async (t) => {
  const origin = await useOrigin(t);
  const mirror = await useOrigin(t);
  const damagedBody = makeContent(2 * MiB, 411);
  const resizedBody = makeContent(MiB, 412);
  const damaged = serveArtifact(origin, 'damaged', damagedBody);
  const resized = serveArtifact(origin, 'resized', resizedBody);
  const flipped = Buffer.from(damagedBody);
  flipped[123_456] = flipped[123_456]! ^ 0x01;
  mirror.serve('/m/models/damaged.bin', flipped);
  mirror.serve('/m/models/resized.bin', resizedBody.subarray(0, MiB - 10));

  const { result } = await installInto(t, [damaged, resized], '--mirror', mirror.url('/m'));
  assertExit(result, 0);
  assert.deepEqual(failovers(result, 'damaged'), [[mirror.url('/m'), origin.origin, 'CHECKSUM_MISMATCH']]);
  assert.deepEqual(failovers(result, 'resized'), [[mirror.url('/m'), origin.origin, 'SIZE_MISMATCH']]);
  assert.match(String(onlyEvent(result, 'restart', 'damaged').reason), new RegExp(`from ${mirror.url('/m')} did not match`));
  // The damaged copy was fetched once and never retried from the same mirror.
  assert.equal(mirror.requestsFor('/m/models/damaged.bin').length, 1);
  assert.deepEqual(origin.requestsFor('/damaged.bin').map((r) => r.range), [undefined], 'the good copy from zero, plainly');
  assert.deepEqual(onlyEvent(result, 'installed', 'damaged').bytesBySource, { [mirror.url('/m')]: damagedBody.length, [origin.origin]: damagedBody.length });
});

test('resume across sources: half from a mirror that then fails, the rest from the manifest URL with a plain Range, verified', async (t) => {
  const origin = await useOrigin(t);
  const mirror = await useOrigin(t);
  const body = makeContent(4 * MiB, 421);
  const artifact = serveArtifact(origin, 'model', body);
  mirror.serve('/models/model.bin', body);
  mirror.script('/models/model.bin', { kind: 'truncate', afterBytes: 2 * MiB });
  mirror.always('/models/model.bin', { kind: 'status', status: 404 });

  const { result } = await installInto(t, [artifact], '--mirror', mirror.origin, '--connections', '1');
  assertExit(result, 0);
  const fromMirror = mirror.bytesSent('/models/model.bin');
  const resume = origin.requestsFor('/model.bin');
  assert.equal(resume.length, 1, describeRequests(resume));
  assert.deepEqual(headerValues(resume[0]!, 'range'), [`bytes=${fromMirror}-`], 'continued where the mirror stopped');
  assert.deepEqual(headerValues(resume[0]!, 'if-range'), [], "the mirror's ETag is never sent to another source");
  assert.equal(resume[0]!.status, 206);
  const bySource = { [mirror.origin]: fromMirror, [origin.origin]: body.length - fromMirror };
  assert.deepEqual(onlyEvent(result, 'installed', 'model').bytesBySource, bySource);
  assert.deepEqual(doneEvent(result).bytesBySource, bySource);
  assert.equal(eventsOf(result, 'restart', 'model').length, 0, 'nothing was discarded');

  // A person sees the same: where each attempt downloads from, the hand-over, and the split.
  mirror.clear('/models/model.bin');
  mirror.script('/models/model.bin', { kind: 'truncate', afterBytes: 2 * MiB });
  mirror.always('/models/model.bin', { kind: 'status', status: 404 });
  const work = await useTempDir(t, 'mirror-text');
  const manifest = await writeManifest(work, [artifact]);
  const text = await runCli(['install', '--manifest', manifest, '--dir', join(work, 'models'), '--retry-delay', '0.05', '--mirror', mirror.origin, '--connections', '1'], {
    env: { CI: undefined, NO_COLOR: undefined, FORCE_COLOR: undefined },
  });
  assertExit(text, 0);
  const lines = text.stdout.split('\n');
  assert.ok(lines.includes(`Test artifact model: downloading 4.19 MB via ${mirror.origin}`), text.stdout);
  assert.ok(lines.some((line) => line.startsWith(`Test artifact model: ${mirror.origin} failed (HTTP_STATUS: `) && line.endsWith(`; trying ${origin.origin}`)), text.stdout);
  assert.ok(lines.some((line) => line.startsWith('Test artifact model: resuming from ') && line.endsWith(`via ${origin.origin}`)), text.stdout);
  const summary = /^✓ Done: 1 installed \(4\.19 MB downloaded: ([\d.]+ [kM]?B) from (\S+), ([\d.]+ [kM]?B) from (\S+)\) in /m.exec(text.stdout);
  assert.ok(summary, text.stdout);
  assert.deepEqual([summary[2], summary[4]], [mirror.origin, origin.origin]);
});

test('a mirror that handed out damaged bytes costs none of the good bytes of the source that finished the file', async (t) => {
  const origin = await useOrigin(t);
  const mirror = await useOrigin(t);
  const size = 4 * MiB;
  const body = makeContent(size, 431);
  const artifact = serveArtifact(origin, 'model', body);
  const damaged = Buffer.from(body);
  damaged[1000] = damaged[1000]! ^ 0xff;
  mirror.serve('/models/model.bin', damaged);
  mirror.script('/models/model.bin', { kind: 'truncate', afterBytes: MiB });
  mirror.always('/models/model.bin', { kind: 'status', status: 503 });

  const { dir, result } = await installInto(t, [artifact], '--mirror', mirror.origin, '--connections', '1');
  assertExit(result, 0);
  assert.ok((await readFile(join(dir, 'models', 'model.bin'))).equals(body));
  const fromMirror = size - origin.requestsFor('/model.bin')[0]!.bytesSent;
  // The manifest URL sent the rest once, then exactly the mirror's range: never its own bytes again.
  assert.deepEqual(origin.requestsFor('/model.bin').map((r) => [r.range, r.status]), [[`bytes=${fromMirror}-`, 206], [`bytes=0-${fromMirror - 1}`, 206]]);
  assert.equal(origin.bytesSent('/model.bin'), size);
  const restart = onlyEvent(result, 'restart', 'model');
  assert.equal(restart.discardedBytes, fromMirror);
  // What an app shows after the discard: the origin's bytes stay, the mirror's go.
  assert.equal(restart.bytesKept, size - fromMirror);
  assert.match(String(restart.reason), new RegExp(`${fromMirror} bytes from ${mirror.origin} are fetched again from ${origin.origin}`));
});

test('SIGKILL in the middle of a mirror download; the next run, with the mirror gone, continues from the manifest URL', async (t) => {
  const origin = await useOrigin(t);
  const mirror = await startOrigin({ throttleBytesPerSecond: 4_000_000 });
  let mirrorOpen = true;
  t.after(() => (mirrorOpen ? mirror.close() : undefined));
  const size = 8 * MiB;
  const body = makeContent(size, 441);
  const artifact = serveArtifact(origin, 'model', body);
  mirror.serve('/models/model.bin', body);
  const work = await useTempDir(t, 'mirror-kill');
  const manifest = await writeManifest(work, [artifact]);
  const dir = join(work, 'models');
  const paths = dirPaths(dir);
  const args = jsonInstallArgs(manifest, dir, '--mirror', mirror.origin, '--connections', '1');

  const child = spawnCli(args);
  t.after(() => child.kill('SIGKILL'));
  await waitForEvent(child, (event) => event.event === 'progress' && Number(event.bytes) >= size * 0.4);
  await waitUntil(async () => {
    const record = await readResumeRecord(paths.resumeRecord('model'));
    return record !== undefined && recordedBytes(record) > 0 ? record : undefined;
  }, 'a checkpoint');
  child.kill('SIGKILL');
  await waitForExit(child);
  const kept = await readResumeRecord(paths.resumeRecord('model'));
  assert.ok(kept);
  const durable = recordedBytes(kept);
  assert.deepEqual(kept.sources, [{ start: 0, end: durable, source: mirror.origin }], 'the record says whose bytes these are');
  assert.equal(kept.validatorsFrom, mirror.url('/models/model.bin'));

  await mirror.close();
  mirrorOpen = false;
  const second = await runCli(args);
  assertExit(second, 0);
  assert.deepEqual(failovers(second, 'model'), [[mirror.origin, origin.origin, 'NETWORK']]);
  assert.deepEqual(origin.requestsFor('/model.bin').map((r) => [r.range, r.ifRange, r.status]), [[`bytes=${durable}-`, undefined, 206]]);
  const installed = onlyEvent(second, 'installed', 'model');
  assert.equal(installed.resumedFrom, durable);
  assert.deepEqual(installed.bytesBySource, { [origin.origin]: size - durable });
  assert.ok((await readFile(join(dir, 'models', 'model.bin'))).equals(body));
});

test('mirrors come from --mirror, else MODELHAUL_MIRRORS, then the manifest, then the manifest URL; OCI manifest mirrors that are down or absent are skipped', async (t) => {
  const origin = await useOrigin(t);
  const mirrors = await useOrigin(t);
  const body = makeContent(10_000, 451);
  const artifact = serveArtifact(origin, 'model', body);
  const work = await useTempDir(t, 'mirror-order');
  const manifestPath = join(work, 'manifest.json');
  await writeFile(manifestPath, JSON.stringify({
    schemaVersion: 1,
    name: 'test-bundle',
    mirrors: [mirrors.url('/from-manifest'), 'oci://127.0.0.1:1/models/test:1', 'oci-layout:/media/usb/models:1'],
    artifacts: [artifact],
  }));
  const asked = (): string[] => mirrors.requests.map((r) => r.path.split('/')[1]!);

  const fromEnv = await runCli(jsonInstallArgs(manifestPath, join(work, 'a')), { env: { MODELHAUL_MIRRORS: `${mirrors.url('/from-env-1')}, ${mirrors.url('/from-env-2')}` } });
  assertExit(fromEnv, 0);
  assert.deepEqual(asked(), ['from-env-1', 'from-env-2', 'from-manifest']);
  assert.equal(onlyEvent(fromEnv, 'start', 'model').source, origin.origin);
  // A registry nobody listens on and a folder that is not there are tried in their turn, then left.
  assert.deepEqual(failovers(fromEnv, 'model').slice(-2), [
    ['oci://127.0.0.1:1/models/test:1', 'oci-layout:/media/usb/models:1', 'NETWORK'],
    ['oci-layout:/media/usb/models:1', origin.origin, 'NOT_FOUND'],
  ]);

  mirrors.requests.length = 0;
  const fromFlag = await runCli(jsonInstallArgs(manifestPath, join(work, 'b'), '--mirror', mirrors.url('/from-flag')), { env: { MODELHAUL_MIRRORS: mirrors.url('/from-env-1') } });
  assertExit(fromFlag, 0);
  assert.deepEqual(asked(), ['from-flag', 'from-manifest'], '--mirror replaces MODELHAUL_MIRRORS');
});

test('bad mirrors, OCI references included, are refused with exit 2 naming the mirror before anything is downloaded', async (t) => {
  const origin = await useOrigin(t);
  const artifact = serveArtifact(origin, 'model', makeContent(1000, 461));
  const work = await useTempDir(t, 'mirror-bad');
  const manifest = await writeManifest(work, [artifact]);
  const cases: Array<[string, RegExp]> = [
    ['ftp://127.0.0.1/models', /SOURCE_INVALID: mirror "ftp:\/\/127\.0\.0\.1\/models": must be https:\/\/HOST\/PREFIX/],
    ['http://example.com/models', /SOURCE_INVALID: .*http is only allowed for loopback hosts/],
    ['https://mirror.example/models?token=1', /SOURCE_INVALID: .*must not have a query/],
    ['oci://127.0.0.1:5000/Models/Voice:1', /SOURCE_INVALID: mirror "oci:\/\/127\.0\.0\.1:5000\/Models\/Voice:1": repository "Models\/Voice" must be lowercase/],
    ['oci://127.0.0.1:5000', /SOURCE_INVALID: mirror "oci:\/\/127\.0\.0\.1:5000": needs a registry host and a repository/],
    ['oci://127.0.0.1:5000/models/voice@sha256:abc', /SOURCE_INVALID: mirror "oci:\/\/127\.0\.0\.1:5000\/models\/voice@sha256:abc": digest "sha256:abc" must be sha256:/],
    ['oci-layout:', /SOURCE_INVALID: mirror "oci-layout:": needs the path of an OCI image-layout folder/],
  ];
  for (const [mirror, message] of cases) {
    const result = await runCli(['install', '--manifest', manifest, '--dir', join(work, 'models'), '--mirror', mirror]);
    assert.equal(result.code, 2, `${mirror}: ${result.stderr}`);
    assert.match(result.stderr, message, mirror);
    assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
  }
  const fromEnv = await runCli(['install', '--manifest', manifest, '--dir', join(work, 'models')], { env: { MODELHAUL_MIRRORS: 'oci://127.0.0.1:5000/models/Voice:1' } });
  assert.equal(fromEnv.code, 2, fromEnv.stderr);
  assert.match(fromEnv.stderr, /SOURCE_INVALID: mirror "oci:\/\/127\.0\.0\.1:5000\/models\/Voice:1": repository/);
  const badInManifest = join(work, 'bad.json');
  await writeFile(badInManifest, JSON.stringify({ schemaVersion: 1, name: 'x', mirrors: ['https://ok.example/m', 'ftp://x'], artifacts: [artifact] }));
  const refused = await runCli(['install', '--manifest', badInManifest, '--dir', join(work, 'models')]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /MANIFEST_INVALID: mirrors\[1\]: must be https:\/\/HOST\/PREFIX/);
  assert.equal(origin.requests.length, 0);
});

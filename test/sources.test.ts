// The small pure parts behind mirrors: the syntax of a source, who wrote which bytes, turning one
// source's bytes back into holes, and whom a checksum mismatch is blamed on.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { parseManifest } from '../src/manifest/parse.js';
import { parseSourceSpec, splitSourceList } from '../src/manifest/source-spec.js';
import { parseBundleReference } from '../src/oci/reference.js';
import { resolveMirrors } from '../src/sources/source-list.js';
import { SegmentTable } from '../src/download/segments.js';
import { SourceSpans } from '../src/download/source-spans.js';
import { planAfterMismatch } from '../src/download/mismatch-blame.js';

const http = { allowHttp: false };

test('source syntax: mirrors, registries and layout folders parse; everything else is SOURCE_INVALID naming the problem', () => {
  assert.deepEqual(parseSourceSpec('https://mirror.lan/models/', http), { kind: 'mirror', text: 'https://mirror.lan/models/', prefix: 'https://mirror.lan/models' });
  assert.deepEqual(parseSourceSpec('http://127.0.0.1:8080', http), { kind: 'mirror', text: 'http://127.0.0.1:8080', prefix: 'http://127.0.0.1:8080' });
  // Registries and folders are read by the reference parser of --manifest oci://.
  const registry = parseSourceSpec('oci://Registry.lan:5000/models/voice', http);
  assert.deepEqual(registry.kind === 'bundle' && registry.ref, parseBundleReference('oci://Registry.lan:5000/models/voice'));
  assert.deepEqual(registry.kind === 'bundle' && registry.ref.kind === 'registry' && [registry.ref.registry, registry.ref.repository, registry.ref.tag], ['registry.lan:5000', 'models/voice', 'latest']);
  const pinned = parseSourceSpec(`oci://registry.lan/models/voice@sha256:${'a'.repeat(64)}`, http);
  assert.deepEqual(pinned.kind === 'bundle' && [pinned.ref.digest, pinned.ref.tag], [`sha256:${'a'.repeat(64)}`, undefined]);
  const layout = parseSourceSpec('oci-layout:/media/usb/models:v1', http);
  assert.deepEqual(layout.kind === 'bundle' && layout.ref.kind === 'layout' && [layout.ref.path, layout.ref.tag], ['/media/usb/models', 'v1']);
  for (const [text, problem] of [
    ['ftp://mirror.lan/models', /must be https:\/\/HOST\/PREFIX/],
    ['http://mirror.lan/models', /http is only allowed for loopback hosts/],
    ['https://user:secret@mirror.lan/models', /must not contain a user name or password/],
    ['https://mirror.lan/models#top', /must not have a query or a fragment/],
    ['oci://registry.lan', /needs a registry host and a repository/],
    ['oci://registry.lan/models:bad tag', /tag "bad tag"/],
    ['oci://registry.lan/models@sha256:abc', /digest "sha256:abc"/],
    ['oci-layout:', /needs the path/],
  ] as const) {
    assert.throws(() => parseSourceSpec(text, http), (error: { code?: string; message?: string }) => error.code === 'SOURCE_INVALID' && problem.test(error.message ?? ''), text);
  }
  assert.equal(parseSourceSpec('http://mirror.lan/models', { allowHttp: true }).kind, 'mirror');
  assert.deepEqual(splitSourceList(' https://a.lan/m,https://b.lan/m \n https://c.lan/m '), ['https://a.lan/m', 'https://b.lan/m', 'https://c.lan/m']);
  assert.deepEqual(splitSourceList(undefined), []);
});

test('a manifest keeps its mirrors; a bad one is MANIFEST_INVALID naming it, plain http to a remote host INSECURE_URL', () => {
  const artifact = { id: 'a', kind: 'other', label: 'A', url: 'https://host.example/a.bin', size: 1, sha256: 'a'.repeat(64), path: 'a.bin' };
  const parsed = parseManifest({ schemaVersion: 1, name: 'x', mirrors: ['https://mirror.lan/m', 'oci://registry.lan/m:1'], artifacts: [artifact] });
  assert.deepEqual(parsed.mirrors, ['https://mirror.lan/m', 'oci://registry.lan/m:1']);
  assert.equal('mirrors' in parseManifest({ schemaVersion: 1, name: 'x', artifacts: [artifact] }), false);
  assert.throws(() => parseManifest({ schemaVersion: 1, name: 'x', mirrors: ['https://ok.lan', 'oci://r.lan'], artifacts: [artifact] }), { code: 'MANIFEST_INVALID', message: /^mirrors\[1\]: needs a registry host and a repository/ });
  assert.throws(() => parseManifest({ schemaVersion: 1, name: 'x', mirrors: ['http://mirror.example/m'], artifacts: [artifact] }), { code: 'INSECURE_URL', message: /^mirrors\[0\]: http is only allowed/ });
  assert.throws(() => parseManifest({ schemaVersion: 1, name: 'x', mirrors: 'https://mirror.lan', artifacts: [artifact] }), { code: 'MANIFEST_INVALID', message: /^mirrors: expected an array, found a string/ });
});

test('mirrors in order, each once: a registry with its tag written out, a folder by its absolute path, the bundle installed from left out', () => {
  const artifact = { id: 'a', kind: 'other', label: 'A', url: 'https://host.example/a.bin', size: 1, sha256: 'a'.repeat(64), path: 'a.bin' };
  const manifest = parseManifest({ schemaVersion: 1, name: 'x', mirrors: ['https://mirror.lan/m/', 'oci-layout:usb/models:1', 'oci://registry.lan/models/other:2'], artifacts: [artifact] });
  const mirrors = resolveMirrors(['oci://Registry.lan/models/voice', 'oci://registry.lan/models/voice:latest', 'https://mirror.lan/m', 'oci-layout:usb/models:1'], manifest, {
    allowHttp: false,
    bundleSource: 'oci://registry.lan/models/other:2',
  });
  assert.deepEqual(mirrors.map((mirror) => mirror.name), ['oci://registry.lan/models/voice:latest', 'https://mirror.lan/m', `oci-layout:${path.resolve('usb/models')}:1`]);
  assert.throws(() => resolveMirrors(['oci://registry.lan'], manifest, { allowHttp: false }), { code: 'SOURCE_INVALID', message: /^mirror "oci:\/\/registry\.lan": needs a registry host/ });
});

test('source spans: later writes replace earlier ones, neighbours merge, and only claimed bytes reach the record', () => {
  const spans = new SourceSpans();
  spans.assign(0, 100, 'a');
  spans.assign(100, 200, 'a');
  spans.assign(150, 300, 'b');
  spans.assign(50, 60, 'b');
  assert.deepEqual(spans.all, [
    { start: 0, end: 50, source: 'a' },
    { start: 50, end: 60, source: 'b' },
    { start: 60, end: 150, source: 'a' },
    { start: 150, end: 300, source: 'b' },
  ]);
  assert.deepEqual(spans.bytesBySource(), { a: 140, b: 160 });
  // Two segments: [0, 200) with 120 bytes durable, [200, 300) with 50.
  assert.deepEqual(spans.within([{ start: 0, end: 200, done: 120 }, { start: 200, end: 300, done: 50 }]), [
    { start: 0, end: 50, source: 'a' },
    { start: 50, end: 60, source: 'b' },
    { start: 60, end: 120, source: 'a' },
    { start: 200, end: 250, source: 'b' },
  ]);
});

test("forgetting a source's bytes leaves holes and keeps every other byte claimed", () => {
  const table = new SegmentTable(1000, [{ start: 0, end: 600, done: 600 }, { start: 600, end: 1000, done: 300 }]);
  assert.equal(table.forgetRange(100, 200), 100);
  assert.equal(table.forgetRange(650, 950), 250, 'only written bytes count');
  assert.deepEqual(table.durableSnapshot(), [
    { start: 0, end: 100, done: 100 },
    { start: 100, end: 200, done: 0 },
    { start: 200, end: 600, done: 400 },
    { start: 600, end: 650, done: 50 },
    { start: 650, end: 900, done: 0 },
    { start: 900, end: 1000, done: 0 },
  ]);
  assert.equal(table.writtenBytes, 550);
  assert.equal(table.firstIdle()?.start, 100, 'the first hole is fetched first');
});

test('a mismatch is blamed on a source this run gave up on before any other, the fewest bytes first, never the one in use', () => {
  const spans = new SourceSpans([
    { start: 0, end: 300, source: 'mirror-a' },
    { start: 300, end: 400, source: 'mirror-b' },
    { start: 400, end: 1000, source: 'origin' },
  ]);
  assert.deepEqual(planAfterMismatch(spans, 'origin', ['mirror-a']), { kind: 'forget-source', source: 'mirror-a' });
  assert.deepEqual(planAfterMismatch(spans, 'origin', []), { kind: 'forget-source', source: 'mirror-b' });
  assert.deepEqual(planAfterMismatch(spans, 'mirror-b', []), { kind: 'forget-source', source: 'mirror-a' });
  assert.deepEqual(planAfterMismatch(new SourceSpans([{ start: 0, end: 1000, source: 'origin' }]), 'origin', ['mirror-a']), { kind: 'blame-all', source: 'origin' });
  assert.deepEqual(planAfterMismatch(new SourceSpans([{ start: 0, end: 1000, source: 'mirror-a' }]), 'origin', ['mirror-a']), { kind: 'blame-all', source: 'mirror-a' });
  assert.deepEqual(planAfterMismatch(new SourceSpans(), 'origin', []), { kind: 'blame-all', source: 'origin' });
});

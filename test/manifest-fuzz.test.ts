// Property tests for the two promises the manifest module makes to the rest of modelhaul:
// (a) whatever the input, parsing either yields a manifest or throws an InstallError that names a
//     field; (b) a path that checkRelativePath accepts stays inside the install dir on POSIX and on
//     Windows. Run counts are bounded so the whole file takes a few seconds.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InstallError } from '../src/errors.js';
import { parseManifest, parseManifestText } from '../src/manifest/parse.js';
import { checkRelativePath } from '../src/manifest/path-safety.js';

const MANIFEST_CODES = new Set(['MANIFEST_INVALID', 'MANIFEST_VERSION', 'INSECURE_URL']);

function validManifest(): { [key: string]: unknown } {
  return {
    schemaVersion: 1,
    name: 'fuzz',
    artifacts: [
      {
        id: 'stt-a',
        kind: 'stt',
        label: 'Speech',
        url: 'https://example.com/a.bin',
        size: 10,
        sha256: 'a'.repeat(64),
        path: 'stt/a.bin',
      },
      {
        id: 'llm-b',
        kind: 'llm',
        label: 'Model',
        url: 'http://127.0.0.1:8080/b.gguf',
        size: 20,
        sha256: 'b'.repeat(64),
        path: 'llm/b.gguf',
      },
    ],
  };
}

type Container = { [key: string]: unknown } | unknown[];

/** Every object and array inside `value`, the root included, so a mutation can pick one. */
function containers(value: unknown, found: Container[] = []): Container[] {
  if (typeof value === 'object' && value !== null) {
    found.push(value as Container);
    for (const child of Object.values(value)) containers(child, found);
  }
  return found;
}

type Mutation =
  | { op: 'delete'; pick: number; key: number }
  | { op: 'replace'; pick: number; key: number; value: unknown }
  | { op: 'duplicate'; pick: number; key: number }
  | { op: 'add'; pick: number; name: string; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat(), key: fc.nat() }),
  fc.record({ op: fc.constant('replace' as const), pick: fc.nat(), key: fc.nat(), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ op: fc.constant('duplicate' as const), pick: fc.nat(), key: fc.nat() }),
  fc.record({
    op: fc.constant('add' as const),
    pick: fc.nat(),
    name: fc.oneof(fc.constantFrom('sha265', 'description', '$schema', 'schemaVersion', 'x'), fc.string()),
    value: fc.jsonValue({ maxDepth: 1 }),
  }),
);

/** Applies mutations in turn to a fresh valid manifest: the inputs that are almost right. */
function mutate(mutations: readonly Mutation[]): unknown {
  const root: unknown = validManifest();
  for (const change of mutations) {
    const all = containers(root);
    const target = all[change.pick % all.length];
    if (target === undefined) continue;
    const keys = Array.isArray(target) ? target.map((_, i) => i) : Object.keys(target);
    if (change.op === 'add') {
      if (!Array.isArray(target)) target[change.name] = change.value;
      continue;
    }
    if (keys.length === 0) continue;
    const key = keys[change.key % keys.length];
    if (Array.isArray(target) && typeof key === 'number') {
      if (change.op === 'delete') target.splice(key, 1);
      else if (change.op === 'replace') target[key] = change.value;
      else target.splice(key, 0, structuredClone(target[key]));
    } else if (!Array.isArray(target) && typeof key === 'string') {
      if (change.op === 'delete') delete target[key];
      else if (change.op === 'replace') target[key] = change.value;
      else target[`${key}Copy`] = structuredClone(target[key]);
    }
  }
  return root;
}

/** The contract: a manifest, or an InstallError with a manifest code naming a field. */
function assertParsesOrNamesField(run: () => unknown): void {
  let result: unknown;
  try {
    result = run();
  } catch (error) {
    assert.ok(error instanceof InstallError, `threw a non-InstallError: ${String(error)}`);
    assert.ok(MANIFEST_CODES.has(error.code), `unexpected code ${error.code}`);
    const field = error.details.field;
    if (field === undefined) {
      // Only JSON syntax errors name no field; they name the source instead.
      assert.equal(error.code, 'MANIFEST_INVALID');
      assert.equal(typeof error.details.source, 'string');
      return;
    }
    assert.equal(typeof field, 'string');
    assert.ok(String(field).length > 0, 'empty field');
    assert.ok(error.message.startsWith(`${String(field)}`), `message ${error.message} does not name ${String(field)}`);
    return;
  }
  // Whatever was accepted must be accepted again unchanged, and its paths must be safe.
  assert.deepEqual(parseManifest(result, { allowHttp: true }), result);
}

describe('parseManifest fuzzing', () => {
  it('random JSON values give a manifest or a field-naming InstallError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, allowHttp) => {
        assertParsesOrNamesField(() => parseManifest(value, { allowHttp }));
      }),
      { numRuns: 1000 },
    );
  });

  it('mutated valid manifests give a manifest or a field-naming InstallError', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (mutations, allowHttp) => {
        const input = mutate(mutations);
        assertParsesOrNamesField(() => {
          const manifest = parseManifest(input, { allowHttp });
          accepted += 1;
          return manifest;
        });
        // The same input as JSON text must behave the same way.
        assertParsesOrNamesField(() => parseManifestText(JSON.stringify(input), 'fuzz.json', { allowHttp }));
      }),
      { numRuns: 1500 },
    );
    // Mutations that keep the manifest valid (adding `description`, duplicating a key) exist; if
    // none were seen, the generator has drifted and the property above proves little.
    assert.ok(accepted > 0, 'no mutated manifest was accepted');
  });

  it('arbitrary text gives a manifest or an InstallError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.string({ unit: 'binary' })), (text) => {
        assertParsesOrNamesField(() => parseManifestText(text, 'fuzz.json'));
      }),
      { numRuns: 1000 },
    );
  });
});

// Pieces that traversal and Windows-path tricks are made of, weighted towards ordinary names so
// that a good share of the generated paths is accepted and the property below has teeth.
const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'models', 'x.bin', 'llm', 'é', '模型', '\u{1F600}', 'file.tar.gz') },
  { weight: 4, arbitrary: fc.constant('/') },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      '..', '.', '\\', '//', 'C:', 'c:', 'C:\\', '\\\\host\\share', '//host/share', '\\\\?\\', '%2e', '%2e%2e',
      '%2f', '\u0000', '\u001b', ' ', '.', '...', 'CON', 'nul', 'COM1', 'lpt9.txt', 'con.', ':', '::$DATA',
      '.modelhaul', '~', '$', '\u200b', '\uff0e\uff0e', 'cafe\u0301', '\uD800',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
);
const candidatePath = fc.array(piece, { maxLength: 10 }).map((pieces) => pieces.join(''));

describe('checkRelativePath fuzzing', () => {
  it('an accepted path stays strictly inside the install dir on POSIX and Windows', () => {
    const posixRoot = '/srv/install';
    const windowsRoot = 'C:\\Users\\me\\install';
    let accepted = 0;
    fc.assert(
      fc.property(candidatePath, (candidate) => {
        if (checkRelativePath(candidate) !== null) return;
        accepted += 1;
        for (const character of ['\\', ':', '\u0000']) assert.ok(!candidate.includes(character), JSON.stringify(candidate));
        const posix = path.posix.resolve(posixRoot, candidate);
        assert.ok(posix.startsWith(`${posixRoot}/`), `${JSON.stringify(candidate)} -> ${posix}`);
        const windows = path.win32.resolve(windowsRoot, candidate);
        assert.ok(windows.startsWith(`${windowsRoot}\\`), `${JSON.stringify(candidate)} -> ${windows}`);
        // Already canonical: joining it to a dir is all any caller needs to do.
        assert.equal(path.posix.normalize(candidate), candidate);
        // Node >= 20.19 prefixes `.\` when the path without its last character is a device name
        // ("nula", "COM1~": it slices to a colon that is not there); harmless, so it is ignored.
        assert.equal(path.win32.normalize(candidate).replace(/^\.\\/, ''), candidate.replaceAll('/', '\\'));
      }),
      { numRuns: 5000 },
    );
    assert.ok(accepted > 200, `only ${accepted} paths were accepted; the generator proves little`);
  });

  it('never throws, whatever the string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (candidate) => {
        const reason = checkRelativePath(candidate);
        assert.ok(reason === null || (typeof reason === 'string' && reason.length > 0));
      }),
      { numRuns: 1000 },
    );
  });
});

// The manifest format, rule by rule: each rule has an input that breaks it and the exact message a
// person sees, so that a change to the wording or the order of checks is a visible decision.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InstallError } from '../src/errors.js';
import { loadManifestFile, MAX_MANIFEST_BYTES, parseManifest, parseManifestText } from '../src/manifest/parse.js';
import { ARTIFACT_FIELDS, MANIFEST_FIELDS, manifestSchema } from '../src/manifest/schema.js';
import { MODELHAUL_VERSION } from '../src/version.js';

type Json = Record<string, unknown>;

const SHA_A = 'a'.repeat(64);
const SHA_B = '0123456789abcdef'.repeat(4);

function validManifest(): Json & { artifacts: Json[] } {
  return {
    schemaVersion: 1,
    name: 'test-bundle',
    artifacts: [
      {
        id: 'stt-small',
        kind: 'stt',
        label: 'Speech recognition (small)',
        url: 'https://example.com/models/stt.bin',
        size: 1234,
        sha256: SHA_A,
        path: 'stt/stt.bin',
      },
      {
        id: 'llm-tiny.q4',
        kind: 'llm',
        label: 'Language model (tiny)',
        url: 'https://example.com/models/llm.gguf',
        size: 5678,
        sha256: SHA_B,
        path: 'llm/llm.gguf',
      },
    ],
  };
}

/** The valid manifest with some fields of one artifact replaced (`undefined` deletes the field). */
function withArtifact(index: number, patch: Json): Json {
  const manifest = validManifest();
  const artifact = { ...manifest.artifacts[index], ...patch };
  for (const [key, value] of Object.entries(patch)) if (value === undefined) delete artifact[key];
  manifest.artifacts[index] = artifact;
  return manifest;
}

/** The valid manifest with some top-level fields replaced (`undefined` deletes the field). */
function withTop(patch: Json): Json {
  const manifest: Json = { ...validManifest(), ...patch };
  for (const [key, value] of Object.entries(patch)) if (value === undefined) delete manifest[key];
  return manifest;
}

function expectError(action: () => unknown, code: string, message: string): InstallError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof InstallError, `expected an InstallError, got ${String(caught)}`);
  assert.equal(caught.message, message);
  assert.equal(caught.code, code);
  return caught;
}

async function expectRejection(promise: Promise<unknown>, code: string, message: string): Promise<InstallError> {
  const caught = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(caught instanceof InstallError, `expected an InstallError, got ${String(caught)}`);
  assert.equal(caught.message, message);
  assert.equal(caught.code, code);
  return caught;
}

/** Asserts that `input` is rejected with `message`, and that `details.field` is its field part. */
function expectProblem(input: unknown, message: string, code = 'MANIFEST_INVALID', allowHttp = false): InstallError {
  const error = expectError(() => parseManifest(input, { allowHttp }), code, message);
  const separator = message.indexOf(': ');
  assert.equal(error.details.field, message.slice(0, separator));
  assert.equal(error.details.problem, message.slice(separator + 2));
  return error;
}

describe('parseManifest: a valid manifest', () => {
  it('returns a plain copy with the documented fields only', () => {
    const input = { $schema: 'https://example.com/schema.json', ...validManifest(), description: 'for tests' };
    const manifest = parseManifest(input);
    assert.deepEqual(manifest, { ...validManifest(), description: 'for tests' });
    assert.notEqual(manifest, input);
    assert.notEqual(manifest.artifacts[0], input.artifacts[0]);
    assert.ok(!('$schema' in manifest));
  });

  it('accepts every kind, the largest safe size, and a one-character id', () => {
    for (const kind of ['stt', 'llm', 'tts', 'other']) parseManifest(withArtifact(0, { kind }));
    parseManifest(withArtifact(0, { size: Number.MAX_SAFE_INTEGER }));
    parseManifest(withArtifact(0, { id: '7' }));
    parseManifest(withArtifact(0, { id: 'a'.repeat(128) }));
  });
});

describe('manifestSchema', () => {
  it('knows the same fields as the lists used for "did you mean" suggestions', () => {
    const schema = manifestSchema({ allowHttp: false });
    assert.deepEqual(Object.keys(schema.shape), [...MANIFEST_FIELDS]);
    assert.deepEqual(Object.keys(schema.shape.artifacts.def.element.shape), [...ARTIFACT_FIELDS]);
  });
});

describe('parseManifest: the document', () => {
  it('must be a JSON object', () => {
    expectProblem([], 'manifest: expected a JSON object, found an array');
    expectProblem(null, 'manifest: expected a JSON object, found null');
    expectProblem('{}', 'manifest: expected a JSON object, found a string');
    expectProblem(undefined, 'manifest: is required');
  });

  it('rejects unknown top-level fields, suggesting the likely one', () => {
    expectProblem(withTop({ extra: true }), 'extra: unknown field');
    const misspelt = withTop({ artifacts: undefined, artifcts: validManifest().artifacts });
    expectProblem(misspelt, 'artifcts: unknown field (did you mean "artifacts"?)');
    expectProblem(withTop({ 'two words': 1 }), '["two words"]: unknown field');
  });

  it('treats a "__proto__" key from JSON.parse as an unknown field, not a prototype', () => {
    const input: unknown = JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(validManifest()).slice(1)}`);
    expectProblem(input, '__proto__: unknown field');
  });

  it('allows a string description and $schema, nothing else', () => {
    expectProblem(withTop({ description: 5 }), 'description: expected a string, found a number');
    expectProblem(withTop({ $schema: null }), '$schema: expected a string, found null');
  });

  it('reports a hostile JS value as MANIFEST_INVALID', () => {
    const hostile = new Proxy(validManifest(), {
      get() {
        throw new Error('boom');
      },
    });
    expectProblem(hostile, 'manifest: could not be read (boom)');
  });
});

describe('parseManifest: schemaVersion', () => {
  it('is required and must be 1', () => {
    expectProblem(withTop({ schemaVersion: undefined }), 'schemaVersion: is required');
    for (const version of ['1', 0, -1, 1.5, null, true]) {
      expectProblem(withTop({ schemaVersion: version }), 'schemaVersion: must be 1');
    }
  });

  it('above 1 asks for a newer modelhaul, before looking at any other field', async () => {
    const packageJson = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal(MODELHAUL_VERSION, packageJson.version);
    const error = expectError(
      () => parseManifest({ schemaVersion: 2, somethingNew: [] }),
      'MANIFEST_VERSION',
      `schemaVersion 2 needs a newer modelhaul (this is ${packageJson.version}, which reads schemaVersion 1)`,
    );
    assert.equal(error.details.field, 'schemaVersion');
    assert.equal(error.details.found, 2);
  });

  it('that is not a safe integer is invalid, not "newer"', () => {
    expectProblem(withTop({ schemaVersion: 2.5 }), 'schemaVersion: must be 1');
    expectProblem(withTop({ schemaVersion: 2 ** 60 }), 'schemaVersion: must be 1');
  });
});

describe('parseManifest: name and artifacts', () => {
  it('name is a non-empty line of at most 200 characters', () => {
    expectProblem(withTop({ name: undefined }), 'name: is required');
    expectProblem(withTop({ name: 3 }), 'name: expected a string, found a number');
    expectProblem(withTop({ name: '' }), 'name: must not be empty');
    expectProblem(withTop({ name: '   ' }), 'name: must not be empty');
    expectProblem(withTop({ name: 'x'.repeat(201) }), 'name: must be at most 200 characters long');
    expectProblem(withTop({ name: 'evil\u001b[2J' }), 'name: must not contain control characters or line breaks');
  });

  it('artifacts is a non-empty array of objects', () => {
    expectProblem(withTop({ artifacts: undefined }), 'artifacts: is required');
    expectProblem(withTop({ artifacts: {} }), 'artifacts: expected an array, found an object');
    expectProblem(withTop({ artifacts: [] }), 'artifacts: must list at least one artifact');
    expectProblem(withTop({ artifacts: [validManifest().artifacts[0], 'x'] }), 'artifacts[1]: expected an object, found a string');
  });
});

describe('parseManifest: artifact fields', () => {
  it('every field is required', () => {
    for (const field of ['id', 'kind', 'label', 'url', 'size', 'sha256', 'path']) {
      expectProblem(withArtifact(1, { [field]: undefined }), `artifacts[1].${field}: is required`);
    }
  });

  it('rejects unknown fields, naming the typo and the field it probably meant', () => {
    expectProblem(
      withArtifact(0, { sha256: undefined, sha265: SHA_A }),
      'artifacts[0].sha265: unknown field (did you mean "sha256"?)',
    );
    expectProblem(withArtifact(0, { sha265: SHA_A }), 'artifacts[0].sha265: unknown field');
    expectProblem(withArtifact(0, { mirrors: [] }), 'artifacts[0].mirrors: unknown field');
    expectProblem(withArtifact(0, { description: 'x' }), 'artifacts[0].description: unknown field');
  });

  it('id: lowercase letters, digits, dot, underscore, dash; at most 128; unique', () => {
    const rule = "must start with a lowercase letter or digit and use only a-z, 0-9, '.', '_' and '-'";
    for (const id of ['Whisper', '-lead', '.lead', 'has space', 'a/b', 'ünï']) {
      expectProblem(withArtifact(0, { id }), `artifacts[0].id: ${rule}`);
    }
    expectProblem(withArtifact(0, { id: '' }), 'artifacts[0].id: must not be empty');
    expectProblem(withArtifact(0, { id: 'a'.repeat(129) }), 'artifacts[0].id: must be at most 128 characters long');
    expectProblem(withArtifact(0, { id: 7 }), 'artifacts[0].id: expected a string, found a number');
    expectProblem(withArtifact(1, { id: 'stt-small' }), 'artifacts[1].id: duplicates artifacts[0].id');
  });

  it('kind is one of stt, llm, tts, other', () => {
    expectProblem(withArtifact(0, { kind: 'vision' }), 'artifacts[0].kind: must be one of "stt", "llm", "tts", "other"');
    expectProblem(withArtifact(0, { kind: 'STT' }), 'artifacts[0].kind: must be one of "stt", "llm", "tts", "other"');
  });

  it('label is a non-empty line of at most 200 characters', () => {
    expectProblem(withArtifact(0, { label: '' }), 'artifacts[0].label: must not be empty');
    expectProblem(withArtifact(0, { label: 'x'.repeat(201) }), 'artifacts[0].label: must be at most 200 characters long');
    expectProblem(withArtifact(0, { label: 'two\nlines' }), 'artifacts[0].label: must not contain control characters or line breaks');
  });

  it('size is a positive safe integer', () => {
    for (const size of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1, 1e300]) {
      expectProblem(withArtifact(0, { size }), 'artifacts[0].size: expected a positive whole number of bytes');
    }
    expectProblem(withArtifact(0, { size: '1234' }), 'artifacts[0].size: expected a number, found a string');
    expectProblem(withArtifact(0, { size: Number.NaN }), 'artifacts[0].size: expected a number, found NaN');
  });

  it('sha256 is exactly 64 lowercase hex characters', () => {
    expectProblem(withArtifact(1, { sha256: SHA_A.slice(1) }), 'artifacts[1].sha256: expected 64 hex characters');
    expectProblem(withArtifact(1, { sha256: `${SHA_A}0` }), 'artifacts[1].sha256: expected 64 hex characters');
    expectProblem(withArtifact(1, { sha256: 'g'.repeat(64) }), 'artifacts[1].sha256: expected 64 hex characters');
    expectProblem(withArtifact(1, { sha256: `sha256:${SHA_A}` }), 'artifacts[1].sha256: expected 64 hex characters');
    expectProblem(withArtifact(1, { sha256: SHA_B.toUpperCase() }), 'artifacts[1].sha256: expected lowercase hex characters');
  });

  it('url follows the URL policy, and an insecure URL is INSECURE_URL naming the field', () => {
    expectProblem(
      withArtifact(0, { url: 'http://example.com/x.bin' }),
      'artifacts[0].url: http is only allowed for loopback hosts; use https or --allow-http',
      'INSECURE_URL',
    );
    parseManifest(withArtifact(0, { url: 'http://example.com/x.bin' }), { allowHttp: true });
    parseManifest(withArtifact(0, { url: 'http://127.0.0.1:8080/x.bin' }));
    expectProblem(withArtifact(0, { url: 'ftp://example.com/x' }), 'artifacts[0].url: must use https (found "ftp:")');
    expectProblem(
      withArtifact(0, { url: 'https://user:secret@example.com/x' }),
      'artifacts[0].url: must not contain a user name or password; pass a token with the token option instead',
    );
  });

  it('path follows the path rules', () => {
    expectProblem(withArtifact(0, { path: '../outside.bin' }), "artifacts[0].path: must not contain '..' segments (they lead out of the install dir)");
    expectProblem(withArtifact(0, { path: '/etc/passwd' }), 'artifacts[0].path: must be relative to the install dir, not absolute');
    expectProblem(withArtifact(0, { path: '' }), 'artifacts[0].path: must not be empty');
  });
});

describe('parseManifest: paths of different artifacts', () => {
  it('may not be equal', () => {
    expectProblem(withArtifact(1, { path: 'stt/stt.bin' }), 'artifacts[1].path: duplicates artifacts[0].path ("stt/stt.bin")');
  });

  it('may not differ only in case or Unicode normalization', () => {
    expectProblem(
      withArtifact(1, { path: 'STT/Stt.bin' }),
      'artifacts[1].path: names the same file as artifacts[0].path ("stt/stt.bin") on case-insensitive file systems',
    );
    const nfc = 'caf\u00e9.bin';
    const nfd = 'cafe\u0301.bin';
    const manifest = validManifest();
    manifest.artifacts[0] = { ...manifest.artifacts[0], path: nfc };
    manifest.artifacts[1] = { ...manifest.artifacts[1], path: nfd };
    expectProblem(
      manifest,
      `artifacts[1].path: names the same file as artifacts[0].path (${JSON.stringify(nfc)}) on case-insensitive file systems`,
    );
  });

  it('may not make one a folder of the other, in either order', () => {
    expectProblem(
      withArtifact(1, { path: 'stt/stt.bin/inner' }),
      'artifacts[1].path: would be inside artifacts[0].path ("stt/stt.bin"), which is a file',
    );
    expectProblem(
      withArtifact(1, { path: 'STT' }),
      'artifacts[1].path: would be a folder for artifacts[0].path ("stt/stt.bin"), so it cannot be a file',
    );
  });

  it('may share folders', () => {
    parseManifest(withArtifact(1, { path: 'stt/other.bin' }));
  });
});

describe('parseManifest: several problems', () => {
  it('names the first one in document order and lists all of them', () => {
    // `path` comes before `id` in this object, although the schema checks `id` first.
    const manifest = validManifest();
    const rest = { ...manifest.artifacts[0] };
    delete rest.id;
    delete rest.path;
    manifest.artifacts[0] = { path: 'a\\b', ...rest, id: 'Bad' };
    manifest.artifacts[1] = { ...manifest.artifacts[1], sha256: 'xyz' };
    const error = expectProblem(manifest, "artifacts[0].path: must separate folders with '/', not backslashes");
    assert.equal(error.details.problemCount, 3);
    assert.equal(
      error.details.problems,
      [
        "artifacts[0].path: must separate folders with '/', not backslashes",
        `artifacts[0].id: must start with a lowercase letter or digit and use only a-z, 0-9, '.', '_' and '-'`,
        'artifacts[1].sha256: expected 64 hex characters',
      ].join('\n'),
    );
  });

  it('lists at most 20 and counts the rest', () => {
    const artifacts = Array.from({ length: 30 }, (_, i) => ({ ...validManifest().artifacts[0], id: `a${i}`, path: `p${i}`, size: 0 }));
    const error = expectProblem(withTop({ artifacts }), 'artifacts[0].size: expected a positive whole number of bytes');
    assert.equal(error.details.problemCount, 30);
    const lines = String(error.details.problems).split('\n');
    assert.equal(lines.length, 21);
    assert.equal(lines[20], '... and 10 more');
  });

  it('uses the code of the first problem when an insecure URL is among others', () => {
    const manifest = validManifest();
    manifest.artifacts[0] = { ...manifest.artifacts[0], url: 'http://example.com/a' };
    manifest.artifacts[1] = { ...manifest.artifacts[1], size: -1 };
    const error = expectProblem(manifest, 'artifacts[0].url: http is only allowed for loopback hosts; use https or --allow-http', 'INSECURE_URL');
    assert.equal(error.details.problemCount, 2);
  });
});

describe('parseManifestText', () => {
  const text = JSON.stringify(validManifest(), null, 2);

  it('parses JSON text, with or without a byte-order mark', () => {
    assert.deepEqual(parseManifestText(text), validManifest());
    assert.deepEqual(parseManifestText(`\uFEFF${text}`, 'bom.json'), validManifest());
  });

  it('reports a JSON syntax error with the source, line and column', () => {
    const broken = '{\n  "schemaVersion": 1,\n  "name": "x"\n  "artifacts": []\n}';
    const error = expectError(
      () => parseManifestText(broken, 'models.json'),
      'MANIFEST_INVALID',
      "models.json: not valid JSON at line 4, column 3 (Expected ',' or '}' after property value)",
    );
    assert.equal(error.details.source, 'models.json');
    assert.equal(error.details.line, 4);
    assert.equal(error.details.column, 3);
    assert.ok(error.cause instanceof SyntaxError);
  });

  it('locates a truncated document at its end, and names an empty one', () => {
    expectError(() => parseManifestText('{\n"a": [1,', 'cut.json'), 'MANIFEST_INVALID', 'cut.json: not valid JSON at line 2, column 9 (Unexpected end of JSON input)');
    expectError(() => parseManifestText(' \n'), 'MANIFEST_INVALID', 'manifest: empty, expected a JSON manifest');
  });

  it('keeps the field message and adds the source to the details', () => {
    const error = expectError(
      () => parseManifestText(JSON.stringify(withArtifact(1, { sha256: 'abc' })), 'models.json'),
      'MANIFEST_INVALID',
      'artifacts[1].sha256: expected 64 hex characters',
    );
    assert.equal(error.details.source, 'models.json');
  });

  it('passes allowHttp on', () => {
    const insecure = JSON.stringify(withArtifact(0, { url: 'http://example.com/x' }));
    expectError(() => parseManifestText(insecure, 'm.json'), 'INSECURE_URL', 'artifacts[0].url: http is only allowed for loopback hosts; use https or --allow-http');
    parseManifestText(insecure, 'm.json', { allowHttp: true });
  });
});

describe('loadManifestFile', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelhaul-manifest-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and validates a file', async () => {
    const file = join(dir, 'ok.json');
    await writeFile(file, JSON.stringify(validManifest()));
    assert.deepEqual(await loadManifestFile(file), validManifest());
  });

  it('names the file in a JSON syntax error', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{"schemaVersion": 1,}');
    await expectRejection(loadManifestFile(file), 'MANIFEST_INVALID', `${file}: not valid JSON at line 1, column 21 (Expected double-quoted property name)`);
  });

  it('is NOT_FOUND for a missing file, a path through a file, and a directory', async () => {
    const missing = join(dir, 'missing.json');
    const error = await expectRejection(loadManifestFile(missing), 'NOT_FOUND', `manifest file not found: ${missing}`);
    assert.equal(error.details.path, missing);
    const file = join(dir, 'plain.json');
    await writeFile(file, '{}');
    await expectRejection(loadManifestFile(join(file, 'x')), 'NOT_FOUND', `manifest file not found: ${join(file, 'x')}`);
    const folder = join(dir, 'folder.json');
    await mkdir(folder);
    await expectRejection(loadManifestFile(folder), 'NOT_FOUND', `manifest file ${folder} is a directory`);
  });

  it('is PERMISSION_DENIED for an unreadable file', { skip: process.getuid?.() === 0 ? 'root reads any file' : process.platform === 'win32' }, async () => {
    const file = join(dir, 'secret.json');
    await writeFile(file, JSON.stringify(validManifest()));
    await chmod(file, 0o000);
    await expectRejection(loadManifestFile(file), 'PERMISSION_DENIED', `cannot read manifest file ${file}: permission denied`);
  });

  it('refuses a file that is too large or not UTF-8', async () => {
    const large = join(dir, 'model.bin');
    await writeFile(large, Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20));
    await expectRejection(loadManifestFile(large), 'MANIFEST_INVALID', `${large}: larger than 4 MiB, too large for a manifest`);
    const latin1 = join(dir, 'latin1.json');
    await writeFile(latin1, Buffer.from('{"name": "caf\xe9"}', 'latin1'));
    await expectRejection(loadManifestFile(latin1), 'MANIFEST_INVALID', `${latin1}: not UTF-8 text`);
  });
});

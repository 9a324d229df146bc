// Artifact paths: what a manifest may name inside the install dir, and which two paths collide.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRelativePath, findPathConflicts, pathCollisionKey } from '../src/manifest/path-safety.js';

describe('checkRelativePath', () => {
  const rejected: [string, string][] = [
    ['', 'must not be empty'],
    ['a'.repeat(1025), 'must be at most 1024 characters long'],
    ['a\u0000b', 'must not contain control characters (found U+0000)'],
    ['a\nb', 'must not contain control characters (found U+000A)'],
    ['a\u009bb', 'must not contain control characters (found U+009B)'],
    ['models/\u202Egnp.exe', 'must not contain bidirectional control characters (found U+202E), which make it display as another path'],
    ['a\u2066b', 'must not contain bidirectional control characters (found U+2066), which make it display as another path'],
    ['a\u200Fb', 'must not contain bidirectional control characters (found U+200F), which make it display as another path'],
    ['a\uD800b', 'must be well-formed Unicode text (found a lone surrogate)'],
    ['\\\\host\\share\\x.bin', 'must not be a UNC path (\\\\host\\share); use a path relative to the install dir'],
    ['//host/share/x.bin', 'must not be a UNC path (\\\\host\\share); use a path relative to the install dir'],
    ['C:\\models\\x.bin', 'must not start with a drive letter; use a path relative to the install dir'],
    ['D:x.bin', 'must not start with a drive letter; use a path relative to the install dir'],
    ['c:', 'must not start with a drive letter; use a path relative to the install dir'],
    ['/etc/passwd', 'must be relative to the install dir, not absolute'],
    ['\\windows\\x', 'must be relative to the install dir, not absolute'],
    ['models\\x.bin', "must separate folders with '/', not backslashes"],
    ['model.bin:hidden', "must not contain ':' (Windows reads it as a drive or an NTFS stream)"],
    ['a/b:c', "must not contain ':' (Windows reads it as a drive or an NTFS stream)"],
    ['what?.bin', "must not contain '?', which Windows does not allow in file names"],
    ['a*b', "must not contain '*', which Windows does not allow in file names"],
    ['a/', "must not contain empty segments (a trailing or doubled '/')"],
    ['a//b', "must not contain empty segments (a trailing or doubled '/')"],
    ['.', "must not contain '.' segments"],
    ['a/./b', "must not contain '.' segments"],
    ['..', "must not contain '..' segments (they lead out of the install dir)"],
    ['a/../../b', "must not contain '..' segments (they lead out of the install dir)"],
    ['.modelhaul/lock', "must not use '.modelhaul': names starting with '.modelhaul' are reserved for modelhaul's own files"],
    ['a/.ModelHaul-x', "must not use '.ModelHaul-x': names starting with '.modelhaul' are reserved for modelhaul's own files"],
    ['model.', "must not have a segment ending in a dot or a space ('model.'); Windows strips them"],
    ['dir /x', "must not have a segment ending in a dot or a space ('dir '); Windows strips them"],
    ['...', "must not have a segment ending in a dot or a space ('...'); Windows strips them"],
    ['CON', "must not use 'CON', which is a reserved device name on Windows"],
    ['a/nul.txt', "must not use 'nul.txt', which is a reserved device name on Windows"],
    ['Aux.tar.gz', "must not use 'Aux.tar.gz', which is a reserved device name on Windows"],
    ['com1', "must not use 'com1', which is a reserved device name on Windows"],
    ['LPT9.bin', "must not use 'LPT9.bin', which is a reserved device name on Windows"],
    ['prn .txt', "must not use 'prn .txt', which is a reserved device name on Windows"],
    ['COM\u00b9', "must not use 'COM\u00b9', which is a reserved device name on Windows"],
    ['conin$', "must not use 'conin$', which is a reserved device name on Windows"],
    [`a/${'é'.repeat(128)}`, 'must not have a segment longer than 255 bytes'],
  ];
  for (const [path, reason] of rejected) {
    it(`rejects ${JSON.stringify(path.length > 40 ? `${path.slice(0, 40)}...` : path)}`, () => {
      assert.equal(checkRelativePath(path), reason);
    });
  }

  it('accepts ordinary relative paths', () => {
    for (const path of [
      'a',
      'stt/ggml-base.en.bin',
      'llm/qwen2.5-0.5b-instruct-q4_k_m.gguf',
      '.cache/x',
      'modelhaul/x',
      'x.modelhaul',
      'CONSOLE',
      'com10',
      'nul1.bin',
      'config/con-fig.json',
      '%2e%2e/x',
      '..foo/bar',
      'voix/français/modèle.onnx',
      '日本語/モデル.bin',
      'emoji/\u{1F600}.bin',
      `${`${'a'.repeat(200)}/`.repeat(5)}${'a'.repeat(19)}`, // 1024 characters, the limit
    ]) {
      assert.equal(checkRelativePath(path), null, path);
    }
  });
});

describe('pathCollisionKey and findPathConflicts', () => {
  it('folds case and Unicode normalization', () => {
    assert.equal(pathCollisionKey('LLM/Model.GGUF'), 'llm/model.gguf');
    assert.equal(pathCollisionKey('cafe\u0301'), pathCollisionKey('CAF\u00c9'));
    // One upper case, two lower cases: NTFS compares upper-cased names, so these collide there.
    assert.equal(pathCollisionKey('\u03b1\u03c3'), pathCollisionKey('\u03b1\u03c2'));
    assert.equal(pathCollisionKey('\u017fx'), pathCollisionKey('sx'));
  });

  it('reports each conflict once, against the earliest artifact', () => {
    assert.deepEqual(findPathConflicts(['a/b.bin', 'A/B.bin', 'a', 'c', 'c/d/e', undefined, 'x']), [
      { index: 1, otherIndex: 0, kind: 'same' },
      { index: 2, otherIndex: 0, kind: 'dir-over-file' },
      { index: 4, otherIndex: 3, kind: 'file-in-file' },
    ]);
    assert.deepEqual(findPathConflicts(['a/b', 'a/c', 'ab', 'a.b']), []);
  });
});

// The bundles modelhaul knows by name: each is a valid manifest, found by its name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_BUNDLES, findBundle } from '../src/manifest/bundles.js';
import { parseManifest, parseManifestText } from '../src/manifest/parse.js';
import { pathCollisionKey } from '../src/manifest/path-safety.js';

describe('built-in bundles', () => {
  const names = Object.keys(BUILTIN_BUNDLES);

  it('are voice-assistant and voice-assistant-lite', () => {
    assert.deepEqual(names.sort(), ['voice-assistant', 'voice-assistant-lite']);
  });

  for (const name of names) {
    describe(name, () => {
      const bundle = BUILTIN_BUNDLES[name];
      assert.ok(bundle);

      it('passes parseManifest unchanged, and carries its own name', () => {
        assert.deepEqual(parseManifest(bundle), bundle);
        assert.deepEqual(parseManifestText(JSON.stringify(bundle)), bundle);
        assert.equal(bundle.name, name);
      });

      it('downloads over https from Hugging Face resolve URLs', () => {
        for (const artifact of bundle.artifacts) {
          const url = new URL(artifact.url);
          assert.equal(url.protocol, 'https:');
          assert.equal(url.hostname, 'huggingface.co');
          assert.match(url.pathname, /^\/[^/]+\/[^/]+\/resolve\/[^/]+\/.+[^/]$/);
        }
      });

      it('puts each file under its kind, named as in its URL', () => {
        for (const artifact of bundle.artifacts) {
          const fileName = new URL(artifact.url).pathname.split('/').at(-1);
          assert.equal(artifact.path, `${artifact.kind}/${fileName}`);
        }
      });

      it('has unique ids and paths, one artifact of each of stt, llm, tts (plus the voice config)', () => {
        const ids = bundle.artifacts.map((artifact) => artifact.id);
        const paths = bundle.artifacts.map((artifact) => pathCollisionKey(artifact.path));
        assert.equal(new Set(ids).size, ids.length);
        assert.equal(new Set(paths).size, paths.length);
        assert.deepEqual(bundle.artifacts.map((artifact) => artifact.kind), ['stt', 'llm', 'tts', 'tts']);
      });

      it('is frozen', () => {
        assert.ok(Object.isFrozen(bundle));
        assert.ok(Object.isFrozen(bundle.artifacts));
        assert.ok(bundle.artifacts.every((artifact) => Object.isFrozen(artifact)));
      });
    });
  }

  it('differ only in the speech recognition model', () => {
    const full = BUILTIN_BUNDLES['voice-assistant'];
    const lite = BUILTIN_BUNDLES['voice-assistant-lite'];
    assert.ok(full && lite);
    assert.equal(full.artifacts[0]?.id, 'stt-whisper-base-en');
    assert.equal(lite.artifacts[0]?.id, 'stt-whisper-tiny-en');
    assert.deepEqual(full.artifacts.slice(1), lite.artifacts.slice(1));
  });

  it('findBundle finds them by name and nothing else', () => {
    assert.equal(findBundle('voice-assistant'), BUILTIN_BUNDLES['voice-assistant']);
    assert.equal(findBundle('voice-assistant-lite'), BUILTIN_BUNDLES['voice-assistant-lite']);
    for (const name of ['Voice-Assistant', 'toString', '__proto__', 'constructor', '']) {
      assert.equal(findBundle(name), undefined, name);
    }
  });
});

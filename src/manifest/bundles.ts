/**
 * The manifests that ship with modelhaul, so that `modelhaul install voice-assistant` works
 * without a manifest file. Each artifact pins the size and SHA-256 of the file at its URL; the pin
 * is what makes a URL on a moving branch (`resolve/main`) safe to ship, since a changed upstream
 * file fails verification instead of being installed.
 */
import type { Artifact, Manifest } from './types.js';

const WHISPER_BASE_EN: Artifact = {
  id: 'stt-whisper-base-en',
  kind: 'stt',
  label: 'Speech recognition (Whisper base.en)',
  url: 'https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-base.en.bin',
  size: 147964211,
  sha256: 'a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002',
  path: 'stt/ggml-base.en.bin',
};

const WHISPER_TINY_EN: Artifact = {
  id: 'stt-whisper-tiny-en',
  kind: 'stt',
  label: 'Speech recognition (Whisper tiny.en)',
  url: 'https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-tiny.en.bin',
  size: 77704715,
  sha256: '921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f',
  path: 'stt/ggml-tiny.en.bin',
};

const QWEN_05B_INSTRUCT_Q4KM: Artifact = {
  id: 'llm-qwen2.5-0.5b-instruct-q4km',
  kind: 'llm',
  label: 'Language model (Qwen2.5 0.5B Instruct, Q4_K_M)',
  url: 'https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/9217f5db79a29953eb74d5343926648285ec7e67/qwen2.5-0.5b-instruct-q4_k_m.gguf',
  size: 491400032,
  sha256: '74a4da8c9fdbcd15bd1f6d01d621410d31c6fc00986f5eb687824e7b93d7a9db',
  path: 'llm/qwen2.5-0.5b-instruct-q4_k_m.gguf',
};

const PIPER_LESSAC_MEDIUM: Artifact = {
  id: 'tts-piper-en-us-lessac-medium',
  kind: 'tts',
  label: 'Voice (Piper, Lessac, US English)',
  url: 'https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0/en/en_US/lessac/medium/en_US-lessac-medium.onnx',
  size: 63201294,
  sha256: '5efe09e69902187827af646e1a6e9d269dee769f9877d17b16b1b46eeaaf019f',
  path: 'tts/en_US-lessac-medium.onnx',
};

// Piper needs the voice's JSON config next to the .onnx file, under the same name plus ".json".
const PIPER_LESSAC_MEDIUM_CONFIG: Artifact = {
  id: 'tts-piper-en-us-lessac-medium-config',
  kind: 'tts',
  label: 'Voice settings (Piper, Lessac)',
  url: 'https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0/en/en_US/lessac/medium/en_US-lessac-medium.onnx.json',
  size: 4885,
  sha256: 'efe19c417bed055f2d69908248c6ba650fa135bc868b0e6abb3da181dab690a0',
  path: 'tts/en_US-lessac-medium.onnx.json',
};

/**
 * The built-in bundles by name. They are deep-frozen: they are shared by every caller in the
 * process, and a caller that edits one would change what the next install fetches.
 *
 * - `voice-assistant`: Whisper base.en, Qwen2.5 0.5B Instruct (Q4_K_M), Piper Lessac voice (~700 MB).
 * - `voice-assistant-lite`: the same with Whisper tiny.en (~630 MB) for slower machines.
 *
 * @example
 * ```ts
 * for (const name of Object.keys(BUILTIN_BUNDLES)) console.log(name);
 * ```
 */
export const BUILTIN_BUNDLES: Readonly<Record<string, Manifest>> = deepFreeze({
  'voice-assistant': {
    schemaVersion: 1,
    name: 'voice-assistant',
    description: 'An offline voice assistant: speech recognition, a small language model and a voice.',
    artifacts: [WHISPER_BASE_EN, QWEN_05B_INSTRUCT_Q4KM, PIPER_LESSAC_MEDIUM, PIPER_LESSAC_MEDIUM_CONFIG],
  },
  'voice-assistant-lite': {
    schemaVersion: 1,
    name: 'voice-assistant-lite',
    description: 'The voice assistant with the smaller Whisper tiny.en, for slower machines.',
    artifacts: [WHISPER_TINY_EN, QWEN_05B_INSTRUCT_Q4KM, PIPER_LESSAC_MEDIUM, PIPER_LESSAC_MEDIUM_CONFIG],
  },
});

/**
 * The built-in bundle called `name`, or `undefined`. Only the bundles' own names match, never
 * inherited keys like `toString` or `__proto__`.
 *
 * @example
 * ```ts
 * const manifest = findBundle('voice-assistant-lite');
 * if (!manifest) throw new Error(`no bundle; choose one of ${Object.keys(BUILTIN_BUNDLES).join(', ')}`);
 * ```
 */
export function findBundle(name: string): Manifest | undefined {
  return Object.hasOwn(BUILTIN_BUNDLES, name) ? BUILTIN_BUNDLES[name] : undefined;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

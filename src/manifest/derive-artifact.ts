/**
 * Sensible defaults for a new manifest entry, derived from its URL alone, so that
 * `modelhaul manifest add URL` needs nothing else for the common case:
 *
 * | URL ends in                                      | id                          | kind  | path                          |
 * | ------------------------------------------------ | --------------------------- | ----- | ----------------------------- |
 * | `.../Qwen2.5-0.5B-Instruct-Q4_K_M.gguf`          | `qwen2.5-0.5b-instruct-q4_k_m.gguf` | `llm` | `llm/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf` |
 * | `.../whisper.cpp/resolve/main/ggml-base.en.bin`  | `ggml-base.en.bin`          | `stt` | `stt/ggml-base.en.bin`        |
 * | `.../piper-voices/.../en_US-lessac-medium.onnx`  | `en_us-lessac-medium.onnx`  | `tts` | `tts/en_US-lessac-medium.onnx` |
 */
import { InstallError } from '../errors.js';
import { checkRelativePath } from './path-safety.js';
import { ARTIFACT_ID_PATTERN, MAX_ID_LENGTH, MAX_LABEL_LENGTH } from './schema.js';
import type { ArtifactKind } from './types.js';

/** The fields of an artifact that do not depend on the file's bytes. */
export interface ArtifactNaming {
  id: string;
  kind: ArtifactKind;
  label: string;
  path: string;
}

/**
 * Fills in what `given` leaves out from the URL's file name: the id (lowercased, reduced to
 * `[a-z0-9][a-z0-9._-]*`), the kind ({@link guessKind}), the label (the file name) and the path
 * (`<kind>/<file name>`). Given values are kept as they are; the manifest schema judges them.
 *
 * @throws {InstallError} `MANIFEST_INVALID` when a field is needed but the URL has no usable file
 *   name (it ends in `/`, say), naming the option that would supply it.
 *
 * @example
 * ```ts
 * deriveArtifactNaming('https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-base.en.bin');
 * // { id: 'ggml-base.en.bin', kind: 'stt', label: 'ggml-base.en.bin', path: 'stt/ggml-base.en.bin' }
 * ```
 */
export function deriveArtifactNaming(url: string, given: Partial<ArtifactNaming> = {}): ArtifactNaming {
  const fileName = fileNameOfUrl(url);
  const need = (field: keyof ArtifactNaming): never => {
    // Every name the URL would have given and the command line did not: one hint, each option once.
    const missing = (['id', 'label', 'path'] as const).filter((name) => given[name] === undefined).map((name) => `--${name}`);
    const options = missing.length > 1 ? `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}` : `--${field}`;
    throw new InstallError('MANIFEST_INVALID', `Cannot derive the artifact's ${field} from ${url}: the URL does not end in a file name`, {
      hint: `Pass ${options}.`,
      details: { field },
    });
  };
  const kind = given.kind ?? guessKind(url);
  const id = given.id ?? (fileName !== undefined ? idFromFileName(fileName) : undefined) ?? need('id');
  const label = given.label ?? (fileName !== undefined ? labelFromFileName(fileName) : undefined) ?? need('label');
  const path = given.path ?? (fileName !== undefined ? pathFor(kind, fileName) : undefined) ?? need('path');
  return { id, kind, label, path };
}

/**
 * The last segment of the URL's path, percent-decoded; undefined when there is none.
 *
 * @example
 * ```ts
 * fileNameOfUrl('https://example.com/models/my%20model.gguf?download=1'); // 'my model.gguf'
 * ```
 */
export function fileNameOfUrl(url: string): string | undefined {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const last = pathname.split('/').pop() ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(last);
  } catch {
    decoded = last;
  }
  return decoded === '' || decoded === '.' || decoded === '..' || decoded.includes('/') ? undefined : decoded;
}

/**
 * What a file is probably for, from its URL: `.gguf` is a language model, Whisper files
 * (`whisper` in the URL, or `ggml-*.bin`) are speech recognition, `.onnx` files and Piper voices
 * are text to speech, and anything else is `other`.
 */
export function guessKind(url: string): ArtifactKind {
  let where: string;
  try {
    where = decodeURIComponent(new URL(url).pathname).toLowerCase();
  } catch {
    where = url.toLowerCase();
  }
  const name = where.split('/').pop() ?? '';
  if (name.endsWith('.gguf')) return 'llm';
  if (where.includes('whisper') || /^ggml-.*\.bin$/.test(name)) return 'stt';
  if (name.endsWith('.onnx') || name.endsWith('.onnx.json') || where.includes('piper')) return 'tts';
  return 'other';
}

/**
 * An artifact id from a file name: lower case, every run of characters outside `[a-z0-9._-]`
 * replaced by one `-`, leading characters that may not start an id dropped, at most 128
 * characters. Undefined when nothing usable is left.
 *
 * @example
 * ```ts
 * idFromFileName('Qwen2.5 0.5B (Q4_K_M).gguf'); // 'qwen2.5-0.5b-q4_k_m-.gguf'
 * ```
 */
export function idFromFileName(fileName: string): string | undefined {
  const id = fileName
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, MAX_ID_LENGTH);
  return ARTIFACT_ID_PATTERN.test(id) ? id : undefined;
}

function labelFromFileName(fileName: string): string | undefined {
  // Control characters would be refused by the schema (they could rewrite the terminal).
  const label = fileName.replace(/\p{Cc}+/gu, ' ').trim().slice(0, MAX_LABEL_LENGTH);
  return label === '' ? undefined : label;
}

function pathFor(kind: ArtifactKind, fileName: string): string | undefined {
  const direct = `${kind}/${fileName}`;
  if (checkRelativePath(direct) === null) return direct;
  // Characters Windows refuses, controls, and the dots and spaces it strips, become `_`.
  const cleaned = fileName
    .replace(/[<>:"|?*\\\p{Cc}]/gu, '_')
    .replace(/[. ]+$/, '_')
    .replace(/^\.modelhaul/i, '_modelhaul');
  const fallback = `${kind}/${cleaned}`;
  return checkRelativePath(fallback) === null ? fallback : undefined;
}

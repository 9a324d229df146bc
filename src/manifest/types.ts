/**
 * What an artifact is for. Apps use it to group files in their UI ("Speech recognition",
 * "Language model", "Voice"); modelhaul itself treats every kind the same way.
 */
export type ArtifactKind = 'stt' | 'llm' | 'tts' | 'other';

/**
 * One file to install: where to fetch it, what it must hash to, and where it goes.
 *
 * The properties are `readonly` so that a validated manifest can be shared (the built-in bundles
 * are frozen); a mutable object literal is still assignable to this type.
 *
 * @example
 * ```ts
 * const whisper: Artifact = {
 *   id: 'stt-whisper-base-en',
 *   kind: 'stt',
 *   label: 'Speech recognition (Whisper base.en)',
 *   url: 'https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-base.en.bin',
 *   size: 147964211,
 *   sha256: 'a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002',
 *   path: 'stt/ggml-base.en.bin',
 * };
 * ```
 */
export interface Artifact {
  /** Stable identifier, `^[a-z0-9][a-z0-9._-]*$`, unique within the manifest. */
  readonly id: string;
  readonly kind: ArtifactKind;
  /** Human-readable name shown in progress output. */
  readonly label: string;
  /** Where to download from: https, or http to a loopback host (or with `allowHttp`). */
  readonly url: string;
  /** Exact size in bytes; a positive safe integer. */
  readonly size: number;
  /** Expected SHA-256 of the whole file: 64 lowercase hex characters. */
  readonly sha256: string;
  /** Relative POSIX path inside the install dir, e.g. `llm/model.gguf`. */
  readonly path: string;
}

/**
 * A validated manifest (format version 1): the list of files an app needs.
 * Obtain one from `parseManifest()`, `loadManifestFile()` or the built-in bundles, never by
 * casting JSON, so that every path and URL has passed the safety rules.
 *
 * @example
 * ```ts
 * const manifest: Manifest = parseManifest(JSON.parse(text));
 * for (const artifact of manifest.artifacts) console.log(artifact.path, artifact.size);
 * ```
 */
export interface Manifest {
  readonly schemaVersion: 1;
  /** Short name of the bundle, e.g. `voice-assistant`. */
  readonly name: string;
  /** Optional free text for people reading the manifest; modelhaul does not use it. */
  readonly description?: string;
  /**
   * Optional sources to try before each artifact's URL, in order, in the syntax of `--mirror`
   * (`https://host/prefix` serves `<prefix>/<artifact.path>`). Mirrors the user gives come first.
   */
  readonly mirrors?: readonly string[];
  /** At least one artifact; ids and paths are unique. */
  readonly artifacts: readonly Artifact[];
}

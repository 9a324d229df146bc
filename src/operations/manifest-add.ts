import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { InstallError } from '../errors.js';
import { loadManifestFile, parseManifest } from '../manifest/parse.js';
import { deriveArtifactNaming, type ArtifactNaming } from '../manifest/derive-artifact.js';
import { findPathConflicts } from '../manifest/path-safety.js';
import { MAX_NAME_LENGTH } from '../manifest/schema.js';
import { checkUrl } from '../manifest/url-policy.js';
import type { Artifact, ArtifactKind, Manifest } from '../manifest/types.js';
import { writeFileAtomic } from '../store/durable-fs.js';
import { fsError, hasErrorCode } from '../store/fs-error.js';
import { abortedError } from '../errors.js';
import type { Credentials } from '../http/credentials.js';
import { digestUrl, type DigestSource } from '../http/digest-url.js';
import { hashFile } from '../hash/hash-file.js';

export interface AddArtifactOptions {
  /** The manifest file to append to; created (with its folder) when it does not exist. */
  manifestPath: string;
  /** Where the artifact is downloaded from; recorded as is. */
  url: string;
  /** Defaults derived from the URL; see `deriveArtifactNaming`. */
  id?: string;
  kind?: ArtifactKind;
  label?: string;
  path?: string;
  /** Take size and SHA-256 from this local copy instead of the network. */
  file?: string;
  /** Allow plain http URLs to hosts other than loopback. Default false. */
  allowHttp?: boolean;
  /** Authorization header values by exact origin, for a gated or private file. */
  credentials?: Credentials;
  signal?: AbortSignal;
  stallTimeoutMs?: number;
  /** Hashing progress, for a download (`total` is the Content-Length, if any) or a `file`. */
  onProgress?: (progress: { phase: 'downloading' | 'hashing'; bytes: number; total: number | undefined }) => void;
}

export interface AddArtifactResult {
  /** Absolute path of the manifest written. */
  manifestPath: string;
  /** True when the manifest file did not exist before. */
  created: boolean;
  artifact: Artifact;
  /** Where size and SHA-256 came from: a HEAD's linked headers, a download, or the local `file`. */
  source: DigestSource | 'file';
  manifest: Manifest;
}

type RawManifest = Record<string, unknown> & { artifacts: unknown[] };

/**
 * Appends one artifact to a manifest file, creating `{ schemaVersion: 1, name, artifacts: [] }`
 * (the name taken from the file name) if the file does not exist. Fields not given are derived
 * from the URL; size and SHA-256 come from the local `file` if given, else from the URL (see
 * `digestUrl`: a Hugging Face HEAD when it suffices, otherwise a streamed download).
 *
 * Everything that can be checked without the file's bytes is checked first (the existing
 * manifest, a duplicate id or path, the new entry's fields), so a mistake costs no download.
 * The manifest is read again just before writing, so an edit made during a long download is
 * kept, and the result must pass `parseManifest`. It is written atomically (temp file, fsync,
 * rename) as 2-space JSON with a final newline; other top-level fields (`$schema`,
 * `description`) are kept, the original formatting is not.
 *
 * @throws {InstallError} `MANIFEST_INVALID` (an invalid existing manifest, a duplicate id or path,
 *   an invalid field; `details.field` names it), `INSECURE_URL`, `NOT_FOUND` for a missing
 *   `file`, the network codes of `digestUrl`, or a file-system code.
 *
 * @example
 * ```ts
 * const { artifact } = await addArtifactToManifest({
 *   manifestPath: 'models.json',
 *   url: 'https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-tiny.en.bin',
 *   id: 'stt-whisper-tiny-en',
 * });
 * ```
 */
export async function addArtifactToManifest(options: AddArtifactOptions): Promise<AddArtifactResult> {
  const allowHttp = options.allowHttp ?? false;
  const policy = checkUrl(options.url, { allowHttp });
  if (!policy.ok) throw new InstallError(policy.code, `url: ${policy.reason}`, { details: { field: 'url' } });
  const manifestPath = await resolveManifestPath(options.manifestPath);
  const given: Partial<ArtifactNaming> = {};
  if (options.id !== undefined) given.id = options.id;
  if (options.kind !== undefined) given.kind = options.kind;
  if (options.label !== undefined) given.label = options.label;
  if (options.path !== undefined) given.path = options.path;
  const naming = deriveArtifactNaming(options.url, given);

  // Before any download: the existing manifest, duplicates, and the new entry's own fields (with
  // a stand-in size and hash, which are the only fields not known yet).
  const existing = await readRawManifest(manifestPath, allowHttp);
  checkNotListed(existing?.raw ?? newManifest(manifestPath), naming, manifestPath);
  const entry = (size: number, sha256: string): Artifact => ({ id: naming.id, kind: naming.kind, label: naming.label, url: options.url, size, sha256, path: naming.path });
  appendValidated(existing?.raw ?? newManifest(manifestPath), entry(1, '0'.repeat(64)), allowHttp);

  const { size, sha256, source } = await measure(options);

  const latest = await readRawManifest(manifestPath, allowHttp);
  const raw = latest?.raw ?? newManifest(manifestPath);
  checkNotListed(raw, naming, manifestPath);
  const artifact = entry(size, sha256);
  const { next, manifest } = appendValidated(raw, artifact, allowHttp);
  try {
    await mkdir(path.dirname(manifestPath), { recursive: true });
    await writeFileAtomic(manifestPath, JSON.stringify(next, null, 2) + '\n');
  } catch (error) {
    throw fsError(error, 'write the manifest', manifestPath);
  }
  return { manifestPath, created: latest === undefined, artifact, source, manifest };
}

async function measure(options: AddArtifactOptions): Promise<{ size: number; sha256: string; source: DigestSource | 'file' }> {
  const signal = options.signal;
  if (options.file !== undefined) {
    const file = path.resolve(options.file);
    let size: number;
    try {
      const stats = await stat(file);
      if (!stats.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
      size = stats.size;
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT') || hasErrorCode(error, 'ENOTDIR') || hasErrorCode(error, 'EISDIR')) {
        throw new InstallError('NOT_FOUND', `No file at ${file}`, { hint: 'Check the path given to --file.', details: { field: 'file', path: file } });
      }
      throw fsError(error, 'read', file);
    }
    if (size === 0) {
      throw new InstallError('SIZE_MISMATCH', `${file} is empty`, { hint: 'A manifest artifact must have at least one byte.', details: { path: file } });
    }
    try {
      const digest = await hashFile(file, {
        ...(signal ? { signal } : {}),
        onProgress: (bytes) => options.onProgress?.({ phase: 'hashing', bytes, total: size }),
      });
      return { ...digest, source: 'file' };
    } catch (error) {
      if (signal?.aborted) throw abortedError(signal, 'Adding the artifact was cancelled');
      throw fsError(error, 'read', file);
    }
  }
  return digestUrl(options.url, {
    allowHttp: options.allowHttp ?? false,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(signal ? { signal } : {}),
    ...(options.stallTimeoutMs !== undefined ? { stallTimeoutMs: options.stallTimeoutMs } : {}),
    onProgress: (bytes, total) => options.onProgress?.({ phase: 'downloading', bytes, total }),
  });
}

/** A symlinked manifest is edited where it lives, rather than replaced by a file. */
async function resolveManifestPath(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch {
    return path.resolve(file);
  }
}

/** The manifest as written (validated first), or undefined when there is no file yet. */
async function readRawManifest(file: string, allowHttp: boolean): Promise<{ raw: RawManifest } | undefined> {
  try {
    await stat(file);
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return undefined;
    // Anything else is reported by the loader, with its own message.
  }
  // The loader has the size cap, the UTF-8 check and the field-by-field messages; the text is
  // then read again as plain JSON, to keep the fields the loader leaves out (`$schema`).
  const manifest = await loadManifestFile(file, { allowHttp });
  const text = await readFile(file, 'utf8');
  const value = JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text) as RawManifest;
  if (!Array.isArray(value.artifacts) || value.artifacts.length !== manifest.artifacts.length) {
    throw new InstallError('MANIFEST_INVALID', `${file} changed while it was read`, { details: { source: file } });
  }
  return { raw: value };
}

function newManifest(file: string): RawManifest {
  const stem = path.basename(file).replace(/\.[^.]*$/, '');
  const name = stem.replace(/\p{Cc}+/gu, ' ').trim().slice(0, MAX_NAME_LENGTH);
  return { schemaVersion: 1, name: name === '' ? 'manifest' : name, artifacts: [] };
}

/** Refuses an id or path the manifest already has, with a message that says which entry has it. */
function checkNotListed(raw: RawManifest, naming: ArtifactNaming, file: string): void {
  const listed = raw.artifacts as Array<{ id?: unknown; path?: unknown }>;
  const sameId = listed.findIndex((artifact) => artifact.id === naming.id);
  if (sameId >= 0) {
    throw new InstallError('MANIFEST_INVALID', `${file} already has an artifact with id ${JSON.stringify(naming.id)} (artifacts[${sameId}])`, {
      hint: 'Choose another id with --id, or remove the existing entry from the manifest first.',
      details: { field: 'id', source: file },
    });
  }
  const paths = [...listed.map((artifact) => (typeof artifact.path === 'string' ? artifact.path : undefined)), naming.path];
  const newIndex = paths.length - 1;
  const conflict = findPathConflicts(paths).find((c) => c.index === newIndex || c.otherIndex === newIndex);
  if (conflict) {
    const otherIndex = conflict.index === newIndex ? conflict.otherIndex : conflict.index;
    const other = listed[otherIndex];
    throw new InstallError(
      'MANIFEST_INVALID',
      `${file}: path ${JSON.stringify(naming.path)} collides with the path ${JSON.stringify(other?.path)} of artifact ${JSON.stringify(other?.id)} (artifacts[${otherIndex}])`,
      { hint: 'Choose another path with --path.', details: { field: 'path', source: file } },
    );
  }
}

function appendValidated(raw: RawManifest, artifact: Artifact, allowHttp: boolean): { next: RawManifest; manifest: Manifest } {
  const next: RawManifest = { ...raw, artifacts: [...raw.artifacts, { ...artifact }] };
  return { next, manifest: parseManifest(next, { allowHttp }) };
}

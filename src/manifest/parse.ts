/**
 * Turning untrusted input (a JS value, JSON text, a file) into a validated {@link Manifest}, and
 * every way that can fail into one InstallError whose message names the field:
 * `artifacts[1].sha256: expected 64 hex characters`.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { InstallError, type ErrorDetails } from '../errors.js';
import { MODELHAUL_VERSION } from '../version.js';
import { describeProblems } from './problems.js';
import { manifestSchema, SCHEMA_VERSION, type ManifestSchemaOutput } from './schema.js';
import type { Manifest } from './types.js';

/** Options for {@link parseManifest}, {@link parseManifestText} and {@link loadManifestFile}. */
export interface ParseManifestOptions {
  /** Accept `http:` URLs to any host, not only loopback (the CLI's `--allow-http`). */
  allowHttp?: boolean;
}

/** A manifest file larger than this is refused: it is almost certainly a model file. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

// How many problems `details.problems` lists; a random JSON blob can have thousands.
const MAX_LISTED_PROBLEMS = 20;

/**
 * Validates a manifest that is already a JS value (from `JSON.parse`, or an app's own constant)
 * and returns a fresh, plain {@link Manifest} holding only the documented fields.
 *
 * @throws {InstallError} `MANIFEST_VERSION` for an integer `schemaVersion` above 1; otherwise
 * `MANIFEST_INVALID` or `INSECURE_URL`, with the message `<field>: <problem>` for the first
 * problem in document order and `details` holding `field`, `problem`, `problemCount` and every
 * problem as one line of `problems`.
 *
 * @example
 * ```ts
 * try {
 *   manifest = parseManifest(JSON.parse(text), { allowHttp: false });
 * } catch (error) {
 *   // error.message === 'artifacts[1].sha256: expected 64 hex characters'
 *   // error.details.field === 'artifacts[1].sha256'
 * }
 * ```
 */
export function parseManifest(input: unknown, options: ParseManifestOptions = {}): Manifest {
  return validate(input, options, undefined);
}

/**
 * Parses JSON text and validates it as a manifest. A leading byte-order mark is ignored (Windows
 * editors write one). `source` names the text in messages and in `details.source`, usually the
 * file's path.
 *
 * @throws {InstallError} `MANIFEST_INVALID` for a JSON syntax error, with the line and column when
 * the JSON parser reports a position; otherwise as {@link parseManifest}.
 *
 * @example
 * ```ts
 * parseManifestText('{"schemaVersion": 1,}', 'models.json');
 * // InstallError: models.json: not valid JSON at line 1, column 21 (Expected double-quoted property name)
 * ```
 */
export function parseManifestText(text: string, source = 'manifest', options: ParseManifestOptions = {}): Manifest {
  const json = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (json.trim() === '') {
    throw new InstallError('MANIFEST_INVALID', `${source}: empty, expected a JSON manifest`, {
      details: { source, problem: 'empty' },
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw jsonSyntaxError(json, source, error);
  }
  return validate(value, options, source);
}

/**
 * Reads a UTF-8 JSON manifest file and validates it. Pipes work too (`--manifest <(curl ...)`).
 *
 * @throws {InstallError} `NOT_FOUND` when there is no file at `path` (or it is a directory),
 * `PERMISSION_DENIED` when it may not be read, `MANIFEST_INVALID` when it is larger than
 * {@link MAX_MANIFEST_BYTES}, not UTF-8 or not a valid manifest, `INSECURE_URL` or
 * `MANIFEST_VERSION` as {@link parseManifest}, `FILESYSTEM` for any other I/O error.
 *
 * @example
 * ```ts
 * const manifest = await loadManifestFile('models.json', { allowHttp: false });
 * ```
 */
export async function loadManifestFile(path: string, options: ParseManifestOptions = {}): Promise<Manifest> {
  return parseManifestText(await readManifestText(path), path, options);
}

type Schema = ReturnType<typeof manifestSchema>;

// Two schemas at most (allowHttp true or false); building one per call would be wasted work.
const schemas = new Map<boolean, Schema>();

function schemaFor(allowHttp: boolean): Schema {
  let schema = schemas.get(allowHttp);
  if (!schema) {
    schema = manifestSchema({ allowHttp });
    schemas.set(allowHttp, schema);
  }
  return schema;
}

function validate(input: unknown, options: ParseManifestOptions, source: string | undefined): Manifest {
  rejectNewerVersion(input, source);
  let result: ReturnType<Schema['safeParse']>;
  try {
    result = schemaFor(options.allowHttp ?? false).safeParse(input);
  } catch (error) {
    // Only a hostile JS value gets here (a getter or Proxy that throws); JSON never does.
    const problem = `could not be read (${error instanceof Error ? error.message : String(error)})`;
    throw new InstallError('MANIFEST_INVALID', `manifest: ${problem}`, {
      details: withSource({ field: 'manifest', problem }, source),
      cause: error,
    });
  }
  if (result.success) return toManifest(result.data);

  const problems = describeProblems(input, result.error.issues);
  const first = problems[0] ?? { field: 'manifest', problem: 'is not valid', code: 'MANIFEST_INVALID' as const };
  const lines = problems.map(({ field, problem }) => `${field}: ${problem}`);
  const listed = lines.slice(0, MAX_LISTED_PROBLEMS);
  if (lines.length > listed.length) listed.push(`... and ${lines.length - listed.length} more`);
  throw new InstallError(first.code, `${first.field}: ${first.problem}`, {
    details: withSource(
      { field: first.field, problem: first.problem, problemCount: problems.length, problems: listed.join('\n') },
      source,
    ),
  });
}

/**
 * A manifest of a newer format is reported as such before any field is looked at: judged by the
 * rules of version 1 it would fail with errors that only confuse ("unknown field ...").
 */
function rejectNewerVersion(input: unknown, source: string | undefined): void {
  let version: unknown;
  try {
    version = typeof input === 'object' && input !== null && Object.hasOwn(input, 'schemaVersion')
      ? (input as { schemaVersion: unknown }).schemaVersion
      : undefined;
  } catch {
    return; // a hostile value; the schema pass reports it
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version <= SCHEMA_VERSION) return;
  const message =
    `schemaVersion ${version} needs a newer modelhaul ` +
    `(this is ${MODELHAUL_VERSION}, which reads schemaVersion ${SCHEMA_VERSION})`;
  throw new InstallError('MANIFEST_VERSION', message, {
    details: withSource(
      { field: 'schemaVersion', found: version, supported: SCHEMA_VERSION, modelhaulVersion: MODELHAUL_VERSION },
      source,
    ),
  });
}

function toManifest(data: ManifestSchemaOutput): Manifest {
  // Rebuilt field by field so that the result holds only the documented fields (no `$schema`) in
  // a stable order, and shares no object with the caller's input.
  const artifacts = data.artifacts.map(({ id, kind, label, url, size, sha256, path }) => ({
    id,
    kind,
    label,
    url,
    size,
    sha256,
    path,
  }));
  const { schemaVersion, name, description, mirrors } = data;
  return {
    schemaVersion,
    name,
    ...(description === undefined ? {} : { description }),
    ...(mirrors === undefined ? {} : { mirrors: [...mirrors] }),
    artifacts,
  };
}

function jsonSyntaxError(json: string, source: string, error: unknown): InstallError {
  const raw = error instanceof Error ? error.message : String(error);
  const location = locateSyntaxError(json, raw);
  // V8 ends with "in JSON at position N" (newer versions add "(line L column C)"); editors show
  // lines and columns, so that is what the message gives.
  const reason = raw.replace(/ in JSON at position \d+(?: \(line \d+ column \d+\))?$/, '');
  const where = location ? ` at line ${location.line}, column ${location.column}` : '';
  const details: ErrorDetails = { source, problem: reason };
  if (location) Object.assign(details, location);
  return new InstallError('MANIFEST_INVALID', `${source}: not valid JSON${where} (${reason})`, {
    details,
    cause: error,
  });
}

/** The 1-based line and column of a JSON.parse error, when its message gives a position. */
function locateSyntaxError(json: string, message: string): { line: number; column: number } | undefined {
  const lineColumn = /\(line (\d+) column (\d+)\)/.exec(message);
  if (lineColumn) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  const position = /at position (\d+)/.exec(message)?.[1];
  const offset =
    position !== undefined ? Number(position) : message.includes('Unexpected end of JSON input') ? json.length : undefined;
  if (offset === undefined) return undefined;
  const before = json.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}

async function readManifestText(path: string): Promise<string> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    if ((await handle.stat()).isDirectory()) throw fileError(path, { code: 'EISDIR' });
    // Read with a cap instead of trusting stat's size, so that a pipe works and /dev/zero or a
    // model file passed by mistake fails fast instead of filling memory.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_MANIFEST_BYTES) {
        const limit = `${MAX_MANIFEST_BYTES / 1024 / 1024} MiB`;
        throw new InstallError('MANIFEST_INVALID', `${path}: larger than ${limit}, too large for a manifest`, {
          hint: 'Pass the manifest JSON file, not a model file.',
          details: { source: path },
        });
      }
      chunks.push(buffer.subarray(0, bytesRead));
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
    } catch (error) {
      throw new InstallError('MANIFEST_INVALID', `${path}: not UTF-8 text`, {
        hint: 'Save the manifest as UTF-8 JSON.',
        details: { source: path },
        cause: error,
      });
    }
  } catch (error) {
    throw error instanceof InstallError ? error : fileError(path, error);
  } finally {
    // Closing a read-only handle cannot lose data; a failure here must not mask the outcome.
    await handle?.close().catch(() => undefined);
  }
}

function fileError(path: string, error: unknown): InstallError {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  const cause = error instanceof Error ? error : undefined;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new InstallError('NOT_FOUND', `manifest file not found: ${path}`, {
        hint: 'Check the path of the manifest file.',
        details: { path },
        cause,
      });
    case 'EISDIR':
      return new InstallError('NOT_FOUND', `manifest file ${path} is a directory`, {
        hint: 'Pass the path of a manifest JSON file, not of a directory.',
        details: { path },
        cause,
      });
    case 'EACCES':
    case 'EPERM':
      return new InstallError('PERMISSION_DENIED', `cannot read manifest file ${path}: permission denied`, {
        hint: 'Make the manifest file readable by this user, or pass another file.',
        details: { path },
        cause,
      });
    default: {
      const reason = error instanceof Error ? error.message : String(error);
      return new InstallError('FILESYSTEM', `cannot read manifest file ${path}: ${reason}`, {
        details: { path },
        cause,
      });
    }
  }
}

function withSource(details: ErrorDetails, source: string | undefined): ErrorDetails {
  return source === undefined ? details : { ...details, source };
}

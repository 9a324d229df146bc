import { ERROR_CODES, type ErrorCode } from './error-codes.js';

export { ERROR_CODES, ALL_ERROR_CODES, type ErrorCode } from './error-codes.js';

/** Extra facts about a failure: HTTP status, expected and found values, bytes needed, paths. */
export type ErrorDetails = Record<string, string | number | boolean | null | undefined>;

/** The plain-JSON shape of an {@link InstallError}: what crosses Electron IPC or `--json` output. */
export interface SerializedInstallError {
  name: 'InstallError';
  code: ErrorCode;
  message: string;
  hint: string;
  retryable: boolean;
  artifactId?: string;
  details: ErrorDetails;
  cause?: { name: string; message: string; code?: string };
}

export interface InstallErrorOptions {
  /** One sentence telling a person what to do next; defaults to the code's hint. */
  hint?: string;
  /** Whether the engine's retry policy treats this failure as transient; defaults per code. */
  retryable?: boolean;
  artifactId?: string;
  details?: ErrorDetails;
  cause?: unknown;
}

/**
 * The one error type modelhaul throws and reports. It carries a stable `code`, a human `hint`, a
 * `retryable` flag, the artifact it concerns and the facts behind it, and turns into plain JSON
 * with `toJSON()` so that it survives `JSON.stringify` and Electron IPC unchanged.
 *
 * @example
 * ```ts
 * try {
 *   await installBundle(manifest, { dir });
 * } catch (error) {
 *   if (isInstallError(error) && error.code === 'LOCKED') showBusy(error.hint);
 * }
 * ```
 */
export class InstallError extends Error {
  override readonly name = 'InstallError';
  readonly code: ErrorCode;
  readonly hint: string;
  readonly retryable: boolean;
  readonly artifactId: string | undefined;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options: InstallErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint ?? ERROR_CODES[code].hint;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    this.artifactId = options.artifactId;
    this.details = definedOnly(options.details ?? {});
  }

  /** A copy of this error attributed to one artifact (errors from shared code start without one). */
  forArtifact(artifactId: string): InstallError {
    if (this.artifactId === artifactId) return this;
    const copy = new InstallError(this.code, this.message, {
      hint: this.hint,
      retryable: this.retryable,
      artifactId,
      details: this.details,
      cause: this.cause,
    });
    copy.stack = this.stack;
    return copy;
  }

  toJSON(): SerializedInstallError {
    const json: SerializedInstallError = {
      name: 'InstallError',
      code: this.code,
      message: this.message,
      hint: this.hint,
      retryable: this.retryable,
      details: this.details,
    };
    if (this.artifactId !== undefined) json.artifactId = this.artifactId;
    const cause = describeCause(this.cause);
    if (cause) json.cause = cause;
    return json;
  }
}

/**
 * Drops details whose value is undefined (`errno: code` when there is no errno): JSON drops them
 * anyway, so keeping them would make an error differ from its own copy after IPC.
 */
function definedOnly(details: ErrorDetails): ErrorDetails {
  return Object.fromEntries(Object.entries(details).filter(([, value]) => value !== undefined));
}

function describeCause(cause: unknown): SerializedInstallError['cause'] | undefined {
  if (cause === undefined || cause === null) return undefined;
  if (cause instanceof Error) {
    // A structural look rather than NodeJS.ErrnoException: this file is also compiled for the
    // browser (the download modal imports the snapshot types), where Node's types do not exist.
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string'
      ? { name: cause.name, message: cause.message, code }
      : { name: cause.name, message: cause.message };
  }
  let message: string;
  try {
    message = typeof cause === 'string' ? cause : (JSON.stringify(cause) ?? typeof cause);
  } catch {
    message = typeof cause; // a bigint or a cyclic object
  }
  return { name: typeof cause, message };
}

/**
 * True for an {@link InstallError} or its serialized form, also across realms (an error that came
 * through Electron IPC or `JSON.parse` is no longer an instance of the class).
 */
export function isInstallError(value: unknown): value is InstallError | SerializedInstallError {
  if (value instanceof InstallError) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<SerializedInstallError>;
  return (
    candidate.name === 'InstallError' &&
    typeof candidate.code === 'string' &&
    Object.hasOwn(ERROR_CODES, candidate.code) &&
    typeof candidate.hint === 'string' &&
    typeof candidate.retryable === 'boolean'
  );
}

/** Rebuilds an {@link InstallError} from its JSON form, for the receiving side of IPC. */
export function installErrorFromJSON(json: SerializedInstallError): InstallError {
  const options: InstallErrorOptions = {
    hint: json.hint,
    retryable: json.retryable,
    details: json.details,
  };
  if (json.artifactId !== undefined) options.artifactId = json.artifactId;
  if (json.cause !== undefined) options.cause = json.cause;
  return new InstallError(json.code, json.message, options);
}

/**
 * The one way modelhaul makes an ABORTED error: what every operation throws when its
 * `AbortSignal` fires (Ctrl+C, SIGTERM, an app's cancel). The abort reason becomes the cause; the
 * message says what stopped, so a log tells a cancelled install from a cancelled lock wait.
 *
 * @example
 * ```ts
 * if (signal.aborted) throw abortedError(signal, 'The verification was cancelled');
 * ```
 */
export function abortedError(
  signal: AbortSignal | undefined,
  message = 'The install was cancelled',
  details: ErrorDetails = {},
): InstallError {
  return new InstallError('ABORTED', message, { cause: signal?.reason, details });
}

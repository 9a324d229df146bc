/**
 * Where the bytes of an artifact come from. The download engine (src/download) resumes, retries,
 * fans out over connections, checkpoints and verifies; it never builds a URL. It asks a
 * {@link SourceLocation} for a byte range of an artifact, named by its SHA-256 and size, and gets
 * the raw body back with its validators. The manifest's own URL, a static mirror and an OCI
 * registry are each one implementation of this seam.
 */
import type { Readable } from 'node:stream';
import type { InstallError } from '../errors.js';
import type { Artifact } from '../manifest/types.js';
import type { ResponseHeaders } from '../http/open-response.js';

/** The source name of a copy of a file already installed on this machine, in events and summaries. */
export const MACHINE_SOURCE = 'this machine';

/**
 * One request for bytes of an artifact. A fresh download asks for everything with `ranged: false`
 * (no Range header at all); a resume or a further connection asks for `first..last`.
 *
 * @example
 * ```ts
 * const rest: ByteRangeRequest = { first: 1_048_576, last: artifact.size - 1, ranged: true, ifRange: '"v1"' };
 * ```
 */
export interface ByteRangeRequest {
  /** First byte wanted, from 0. */
  first: number;
  /** Last byte wanted, inclusive: `size - 1` for "to the end". */
  last: number;
  /** False for the whole artifact without a Range header (then `first` is 0 and `last` is `size - 1`). */
  ranged: boolean;
  /**
   * A validator this same location sent with the bytes on disk (a strong ETag, or a strong
   * Last-Modified date), to be sent as `If-Range`. The engine never passes one that came from
   * another location; without one the final SHA-256 decides whether the joined bytes are right.
   */
  ifRange?: string | undefined;
}

/**
 * A source's answer, in HTTP terms whatever the transport: 200 with the whole artifact, 206 with
 * `Content-Range` for the range asked, or 416 when nothing is left from `first`. The body is the
 * raw bytes, never decoded; the engine counts them itself and checks every header against the
 * request before a byte reaches the disk.
 *
 * @example
 * ```ts
 * // a local file served as a source: exactly the bytes asked for, with a content-addressed ETag
 * const response: SourceResponse = {
 *   status: 206,
 *   headers: { 'content-range': `bytes ${first}-${last}/${size}`, 'content-length': String(last - first + 1), etag: `"sha256:${sha256}"` },
 *   body: createReadStream(file, { start: first, end: last }),
 *   url: `file://${file}`,
 *   redirected: false,
 * };
 * ```
 */
export interface SourceResponse {
  status: 200 | 206 | 416;
  /**
   * Lowercase header names. The engine reads `content-range`, `content-length`,
   * `content-encoding`, `content-type`, `accept-ranges`, and the validators `etag`,
   * `last-modified` and `date`, which it stores with the bytes for the next `If-Range`.
   */
  headers: ResponseHeaders;
  body: Readable & { dump?: () => Promise<void> };
  /** Where the bytes came from after redirects: for messages only, never persisted (it may be signed). */
  url: string;
  redirected: boolean;
}

/**
 * What a failure means for the source that had it:
 * - `retry-here`: transient (a reset, a stall, 5xx, 429, an expired signed redirect): back off
 *   and ask the same source again, resuming from the bytes on disk;
 * - `try-next`: this source cannot serve this artifact (404, 401/403 it refuses credentials for,
 *   another size, a re-encoded body, a refused redirect): skip it for this artifact and go on
 *   with the next one. A source whose retries run out is skipped too.
 */
export type SourceVerdict = 'retry-here' | 'try-next';

/**
 * An artifact at one source: the handle the engine downloads through.
 *
 * @example
 * ```ts
 * const location = mirror.locate(artifact);
 * const response = await location?.open({ first: 0, last: artifact.size - 1, ranged: false }, signal);
 * ```
 */
export interface SourceLocation {
  /** The source's name in events and in the bytes-per-source summary, e.g. `https://mirror.lan/models`. */
  readonly source: string;
  /**
   * Identifies where validators come from: an ETag stored with bytes from this location is sent
   * back as `If-Range` only to a location with the same string. For HTTP sources it is the URL
   * first requested for the artifact (before redirects), so two mirrors on one host never take
   * each other's ETags for their own.
   */
  readonly validatorsFrom: string;
  /**
   * Sends one request for bytes of the artifact. Resolves once the answer's headers are in, with
   * a status of 200, 206 or 416; anything else is thrown as an {@link InstallError} (usually
   * `HTTP_STATUS`, `NETWORK`, `STALLED` or `REDIRECT`) that {@link classify} can judge. The source
   * attaches its own credentials, refreshes them when it can (a registry's Bearer token on a 401),
   * and follows redirects without sending them to another host.
   */
  open(request: ByteRangeRequest, signal: AbortSignal): Promise<SourceResponse>;
  /** Whether a failure while opening or reading from this location is worth retrying here. */
  classify(error: InstallError): SourceVerdict;
}

/**
 * A place that may hold artifacts: the manifest's URLs, a static mirror, a registry, a folder.
 * Sources are tried in order; the first that has an artifact serves it until it fails.
 *
 * @example
 * ```ts
 * const sources: ArtifactSource[] = [mirrorSource('https://mirror.lan/models', http), manifestUrlSource(http)];
 * const locations = sources.map((s) => s.locate(artifact)).filter((l) => l !== undefined);
 * ```
 */
export interface ArtifactSource {
  /** The source as the user wrote it (a mirror's URL), or a description (`manifest URL`). */
  readonly name: string;
  /** Where this source keeps `artifact`, or undefined when it cannot have it (no request is made). */
  locate(artifact: Artifact): SourceLocation | undefined;
}

/**
 * Credentials a source sends to its own origin. Static ones (`--token`) never change; a
 * registry's Bearer token is fetched on a challenge and refreshed when the registry answers 401.
 *
 * @example
 * ```ts
 * const basic: SourceAuth = { authorization: () => `Basic ${Buffer.from('user:pass').toString('base64')}` };
 * ```
 */
export interface SourceAuth {
  /** The `Authorization` value for a request to `origin` (the source's own origin), if any. */
  authorization(origin: string): string | undefined | Promise<string | undefined>;
  /**
   * Called when the source's own origin (not a redirect target) answers 401, with its
   * `WWW-Authenticate` challenge. Resolves true when new credentials were obtained and the
   * request is worth sending once more; false leaves the 401 to be reported.
   */
  refresh?(challenge: { origin: string; wwwAuthenticate: string | undefined }, signal: AbortSignal): Promise<boolean>;
}

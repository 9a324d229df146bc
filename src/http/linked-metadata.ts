/**
 * The size and SHA-256 of a Hugging Face file without downloading it. A `HEAD` on a resolve URL
 * (`/<owner>/<repo>/resolve/<revision>/<file>`) of a file stored with Git LFS is answered with a
 * redirect to the CDN carrying `X-Linked-Size` (the file's size) and `X-Linked-Etag` (the LFS
 * object id, which is the file's SHA-256) (docs/rules.md rule 14).
 *
 * Resolve URLs are recognized by the shape of their path on any host, not by the host name:
 * Hugging Face mirrors and self-hosted hubs use the same layout, and a server that does not send
 * the headers costs one HEAD before the file is streamed as it would have been anyway. The same
 * rule is what lets the tests exercise this path against a loopback server.
 */
import { request } from 'undici';
import { InstallError } from '../errors.js';
import { USER_AGENT } from '../defaults.js';
import type { Dispatchers } from './dispatchers.js';
import { authorizationFor, type Credentials } from './credentials.js';
import { networkError, redactUrl } from './network-error.js';
import { statusError } from './status-error.js';
import { MAX_REDIRECTS } from './open-response.js';

/** `/<owner>/<repo>/resolve/<rev>/<path>`, also `/<repo>/...` (legacy) and `/datasets|spaces/...`. */
const RESOLVE_PATH = /^\/(?:(?:datasets|spaces)\/)?[^/]+(?:\/[^/]+)?\/resolve\/[^/]+\/[^/].*$/;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Statuses a download would fail with too: reported at once, with the token and licence hints. */
const REFUSED_STATUSES = new Set([401, 403, 404, 410]);

/** Size and SHA-256 as a Hugging Face HEAD reports them. */
export interface LinkedMetadata {
  size: number;
  sha256: string;
}

/**
 * True for an http(s) URL whose path has the shape of a Hugging Face resolve URL, on any host.
 *
 * @example
 * ```ts
 * isResolveUrl('https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-base.en.bin'); // true
 * isResolveUrl('https://example.com/models/ggml-base.en.bin');                                // false
 * ```
 */
export function isResolveUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return (parsed.protocol === 'https:' || parsed.protocol === 'http:') && RESOLVE_PATH.test(parsed.pathname);
}

/**
 * Reads `X-Linked-Size` and `X-Linked-Etag` from response headers (lowercase names). Undefined
 * unless both are there and the ETag is a SHA-256 (64 hex digits, quoted or not, `W/` allowed):
 * for a file not stored with LFS the ETag is a 40-digit git blob id, which is not the file's hash.
 */
export function parseLinkedMetadata(headers: Readonly<Record<string, string | undefined>>): LinkedMetadata | undefined {
  const sizeText = headers['x-linked-size']?.trim();
  const etagText = headers['x-linked-etag']?.trim();
  if (sizeText === undefined || etagText === undefined || !/^\d+$/.test(sizeText)) return undefined;
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size) || size <= 0) return undefined;
  const etag = /^(?:W\/)?"?([0-9a-fA-F]{64})"?$/.exec(etagText)?.[1];
  return etag === undefined ? undefined : { size, sha256: etag.toLowerCase() };
}

export interface HeadLinkedOptions {
  url: string;
  credentials?: Credentials | undefined;
  dispatchers: Dispatchers;
  signal: AbortSignal;
}

/**
 * Sends a HEAD to a resolve URL and returns the linked size and SHA-256, or undefined when the
 * server does not give them. Redirects within the same origin (a renamed repo) are followed; a
 * redirect to another origin (the CDN) is not, because the headers belong to the resolve
 * response itself. The Authorization header goes only to the origin it was configured for.
 *
 * @throws {InstallError} `HTTP_STATUS` for 401, 403, 404 and 410 (a download would fail the same
 *   way, and the hint explains tokens and gated models), `NETWORK` or `STALLED`.
 */
export async function headLinkedMetadata(options: HeadLinkedOptions): Promise<LinkedMetadata | undefined> {
  let url = options.url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity' };
    const authorization = authorizationFor(url, options.credentials);
    if (authorization !== undefined) headers.authorization = authorization;
    let status: number;
    let responseHeaders: Record<string, string | undefined>;
    try {
      const response = await request(url, { method: 'HEAD', headers, signal: options.signal, dispatcher: options.dispatchers.for(url) });
      status = response.statusCode;
      responseHeaders = flatten(response.headers);
      await response.body.dump().catch(() => undefined);
    } catch (error) {
      throw networkError(error, url, options.signal);
    }
    const linked = parseLinkedMetadata(responseHeaders);
    if (linked) return linked;
    if (REFUSED_STATUSES.has(status)) {
      throw statusError({ status, headers: responseHeaders, url, manifestUrl: options.url, redirected: hop > 0 });
    }
    const location = responseHeaders.location;
    if (!REDIRECT_STATUSES.has(status) || location === undefined) return undefined;
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      return undefined;
    }
    if (next.origin !== new URL(url).origin) return undefined;
    url = next.href;
  }
  throw new InstallError('REDIRECT', `More than ${MAX_REDIRECTS} redirects starting at ${redactUrl(options.url)}`, {
    details: { url: redactUrl(options.url) },
  });
}

function flatten(raw: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(raw)) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}

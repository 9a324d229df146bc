import type { Readable } from 'node:stream';
import { InstallError } from '../errors.js';
import { checkUrl } from '../manifest/url-policy.js';
import type { Dispatchers } from './dispatchers.js';
import { authorizationFor, type Credentials } from './credentials.js';
import { networkError, redactUrl } from './network-error.js';

export const MAX_REDIRECTS = 10;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface OpenResponseOptions {
  /** The URL from the manifest: every attempt starts here again (docs/rules.md rule 13). */
  url: string;
  /** Request headers for this attempt, built fresh by the caller; kept across redirect hops. */
  headers: Readonly<Record<string, string>>;
  method?: 'GET' | 'HEAD';
  credentials?: Credentials | undefined;
  allowHttp: boolean;
  dispatchers: Dispatchers;
  signal: AbortSignal;
}

/** A response whose headers have arrived and whose body has not been read yet. */
export interface OpenedResponse {
  status: number;
  headers: ResponseHeaders;
  body: Readable & { dump?: () => Promise<void> };
  /** Where the response came from after redirects (never persisted: it may be a signed URL). */
  url: string;
  redirected: boolean;
}

/** Response headers by lowercase name; a header sent twice is joined with ", " (and so fails strict parsers). */
export type ResponseHeaders = Readonly<Record<string, string | undefined>>;

/**
 * Sends one GET (or HEAD), following redirects itself so that each hop can be checked: at most
 * {@link MAX_REDIRECTS} hops, no loops, no scheme other than http(s), no https → http downgrade,
 * http only where the manifest policy allows it, `Location` used as sent, and the Authorization
 * header attached per hop only for the origin it was configured for (rules 11 and 12).
 */
export async function openResponse(options: OpenResponseOptions): Promise<OpenedResponse> {
  const visited = new Set<string>();
  let url = options.url;
  for (let hop = 0; ; hop++) {
    visited.add(url);
    const response = await sendOnce(url, options);
    const location = response.headers.location;
    if (!REDIRECT_STATUSES.has(response.status) || location === undefined) {
      return { ...response, url, redirected: hop > 0 };
    }
    await discard(response.body);
    const next = resolveRedirect(url, location, options.allowHttp);
    if (visited.has(next)) {
      throw new InstallError('REDIRECT', `Redirect loop: ${redactUrl(next)} was already visited`, {
        details: { url: redactUrl(options.url), location: redactUrl(next) },
      });
    }
    if (hop + 1 > MAX_REDIRECTS) {
      throw new InstallError('REDIRECT', `More than ${MAX_REDIRECTS} redirects starting at ${redactUrl(options.url)}`, {
        details: { url: redactUrl(options.url), hops: hop + 1 },
      });
    }
    url = next;
  }
}

async function sendOnce(
  url: string,
  options: OpenResponseOptions,
): Promise<{ status: number; headers: ResponseHeaders; body: OpenedResponse['body'] }> {
  const headers: Record<string, string> = { ...options.headers };
  const authorization = authorizationFor(url, options.credentials);
  if (authorization !== undefined) headers.authorization = authorization;
  try {
    // Not undici's request(url): it re-serializes the URL, which percent-encodes characters such as
    // `'` in a signed query and so breaks its signature (rule 11).
    const parsed = new URL(url);
    const response = await options.dispatchers.for(url).request({
      origin: parsed.origin,
      path: parsed.pathname + (rawQuery(url) ?? parsed.search),
      method: options.method ?? 'GET',
      headers,
      signal: options.signal,
    });
    // A body can fail before anyone reads it (a malformed chunked body arrives with the head, while
    // the caller is still deciding what to do with the response): without a listener that 'error'
    // would end the whole process. Whoever reads the body still gets the error from the stream.
    response.body.on('error', () => undefined);
    return { status: response.statusCode, headers: flattenHeaders(response.headers), body: response.body };
  } catch (error) {
    throw networkError(error, url, options.signal);
  }
}

function resolveRedirect(from: string, location: string, allowHttp: boolean): string {
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    throw new InstallError('REDIRECT', `Redirect to an invalid location: ${location}`, {
      details: { url: redactUrl(from) },
    });
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw new InstallError('REDIRECT', `Redirect to a non-HTTP scheme refused: ${target.protocol}`, {
      details: { url: redactUrl(from), location: redactUrl(target.href) },
    });
  }
  if (new URL(from).protocol === 'https:' && target.protocol === 'http:') {
    throw new InstallError('REDIRECT', `Redirect from https to http refused: ${redactUrl(target.href)}`, {
      details: { url: redactUrl(from), location: redactUrl(target.href) },
    });
  }
  const policy = checkUrl(target.href, { allowHttp });
  if (!policy.ok) {
    throw new InstallError('REDIRECT', `Redirect refused: ${policy.reason}`, {
      details: { url: redactUrl(from), location: redactUrl(target.href) },
    });
  }
  // An absolute Location is passed through as sent: re-serializing can re-encode a signed query.
  if (isAbsoluteHttpUrl(location)) return location;
  const query = rawQuery(location);
  return query === undefined ? target.href : `${target.origin}${target.pathname}${query}`;
}

/**
 * The query of `url` exactly as written, `?` included, or undefined when it has none or has
 * characters that cannot go on a request line as they are (then the URL parser's encoding is used).
 */
function rawQuery(url: string): string | undefined {
  // A `?` after the `#` belongs to the fragment, which is never sent.
  const hash = url.indexOf('#');
  const withoutFragment = hash < 0 ? url : url.slice(0, hash);
  const start = withoutFragment.indexOf('?');
  if (start < 0) return undefined;
  const query = withoutFragment.slice(start);
  return /^\?[\x21-\x7e]*$/.test(query) ? query : undefined;
}

function isAbsoluteHttpUrl(location: string): boolean {
  return /^https?:\/\/\S+$/i.test(location);
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): ResponseHeaders {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(raw)) {
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** Reads and throws away a body we do not need, so the connection can be reused; never throws. */
export async function discard(body: OpenedResponse['body']): Promise<void> {
  try {
    if (body.dump) await body.dump();
    else body.destroy();
  } catch {
    body.destroy();
  }
}

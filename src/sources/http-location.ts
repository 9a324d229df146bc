import { InstallError } from '../errors.js';
import type { Artifact } from '../manifest/types.js';
import type { Credentials } from '../http/credentials.js';
import type { Dispatchers } from '../http/dispatchers.js';
import { discard, openResponse } from '../http/open-response.js';
import { statusError } from '../http/status-error.js';
import type { ByteRangeRequest, SourceAuth, SourceLocation, SourceResponse, SourceVerdict } from './source.js';

/** What every HTTP source shares in one install: connections, credentials and the URL policy. */
export interface HttpContext {
  dispatchers: Dispatchers;
  /** Authorization values by exact origin (`--token`); sent per hop only to the origin named. */
  credentials: Credentials | undefined;
  allowHttp: boolean;
  userAgent: string;
}

export interface HttpLocationOptions {
  /** The source's name in events and summaries. */
  source: string;
  artifact: Artifact;
  /** The URL to ask for the artifact; every attempt starts here again (RESUME-SEMANTICS rule 13). */
  url: string;
  http: HttpContext;
  /** The source's own credentials, on top of `http.credentials`. */
  auth?: SourceAuth | undefined;
  /** Words for a person when this location answers 404 or 410 ("the mirror does not have it"). */
  notFoundHint?: string | undefined;
}

/**
 * An artifact at an HTTP(S) URL: one GET per request, with exactly one Range header when a range
 * is wanted, `If-Range` only with the validator the engine passed, and `Accept-Encoding: identity`
 * so that ranges address the bytes of the file itself (rules 4 and 9). Redirects are followed by
 * {@link openResponse}, which attaches an Authorization header per hop only to the origin it was
 * configured for (rules 11 and 12).
 */
export function httpLocation(options: HttpLocationOptions): SourceLocation {
  const { artifact, url, http, auth } = options;
  const origin = new URL(url).origin;
  return {
    source: options.source,
    validatorsFrom: url,
    classify: classifyHttpFailure,
    async open(request: ByteRangeRequest, signal: AbortSignal): Promise<SourceResponse> {
      const headers = requestHeaders(request, artifact.size, http.userAgent);
      for (let refreshed = false; ; refreshed = true) {
        const credentials = await credentialsFor(origin, http.credentials, auth);
        const response = await openResponse({ url, headers, credentials, allowHttp: http.allowHttp, dispatchers: http.dispatchers, signal });
        const { status } = response;
        if (status === 200 || status === 206 || status === 416) return { ...response, status };
        await discard(response.body);
        // A registry's token expires or lacks a scope: one fresh token, one more try. Only the
        // source's own origin may challenge; a 401 from a redirect target is a storage backend's.
        if (status === 401 && !response.redirected && !refreshed && auth?.refresh) {
          if (await auth.refresh({ origin, wwwAuthenticate: response.headers['www-authenticate'] }, signal)) continue;
        }
        const error = statusError({ status, headers: response.headers, url: response.url, manifestUrl: url, redirected: response.redirected });
        throw withHint(error, status, options.notFoundHint).forArtifact(artifact.id);
      }
    },
  };
}

/**
 * The HTTP reading of a failure: what the server may fix by itself (network trouble, stalls,
 * 408/429/5xx, an expired signed redirect) is retried here; what says "not here" (404, 410, 401,
 * 403, any other status, a file of another size, a re-encoded body, a refused redirect) moves on.
 */
export function classifyHttpFailure(error: InstallError): SourceVerdict {
  switch (error.code) {
    case 'NETWORK':
    case 'STALLED':
      return 'retry-here';
    case 'HTTP_STATUS':
      return error.retryable ? 'retry-here' : 'try-next';
    default:
      return 'try-next';
  }
}

/** Headers for one request, built fresh every time (rule 4). */
function requestHeaders(request: ByteRangeRequest, size: number, userAgent: string): Record<string, string> {
  const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': userAgent };
  if (request.ranged) {
    headers.range = request.last === size - 1 ? `bytes=${request.first}-` : `bytes=${request.first}-${request.last}`;
    if (request.ifRange !== undefined) headers['if-range'] = request.ifRange;
  }
  return headers;
}

async function credentialsFor(origin: string, configured: Credentials | undefined, auth: SourceAuth | undefined): Promise<Credentials | undefined> {
  const own = await auth?.authorization(origin);
  return own === undefined ? configured : { ...configured, [origin]: own };
}

function withHint(error: InstallError, status: number, notFoundHint: string | undefined): InstallError {
  if (notFoundHint === undefined || (status !== 404 && status !== 410)) return error;
  return new InstallError(error.code, error.message, { hint: notFoundHint, retryable: error.retryable, details: error.details });
}

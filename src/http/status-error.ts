import { InstallError } from '../errors.js';
import { parseRetryAfter } from './retry-delay.js';
import { redactUrl } from './network-error.js';
import type { ResponseHeaders } from './open-response.js';

/** Statuses that say "try again later" (docs/rules.md rule 16). */
const TRANSIENT_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);
/** Statuses a CDN gives for an expired signed URL: worth resolving the manifest URL again (rule 13). */
const EXPIRED_TARGET_STATUSES = new Set([401, 403, 410]);

export interface StatusErrorContext {
  status: number;
  headers: ResponseHeaders;
  /** The URL that answered (after redirects). */
  url: string;
  /** The URL from the manifest. */
  manifestUrl: string;
  redirected: boolean;
}

/**
 * The error for an HTTP status that is not a success. Transient statuses are retryable and carry
 * the server's Retry-After; 401/403/410 from a redirect target are retryable too, because the next
 * attempt resolves the manifest URL again and gets a freshly signed target.
 */
export function statusError(context: StatusErrorContext): InstallError {
  const { status, headers } = context;
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  const expiredTarget = context.redirected && EXPIRED_TARGET_STATUSES.has(status);
  const retryable = TRANSIENT_STATUSES.has(status) || expiredTarget;
  return new InstallError('HTTP_STATUS', `${redactUrl(context.url)} answered HTTP ${status}`, {
    retryable,
    hint: hintForStatus(status, context.manifestUrl, expiredTarget),
    details: {
      status,
      url: redactUrl(context.url),
      retryAfterMs,
    },
  });
}

function hintForStatus(status: number, manifestUrl: string, expiredTarget: boolean): string {
  const huggingFace = isHuggingFace(manifestUrl);
  if (expiredTarget) {
    return 'The download link the server redirected to has expired or was refused; modelhaul asks the manifest URL for a new one, run the same command again if this persists.';
  }
  switch (status) {
    case 401:
      return huggingFace
        ? 'This file needs a Hugging Face access token: set HF_TOKEN (or pass --token) to a token from huggingface.co/settings/tokens.'
        : 'The server requires credentials for this file; configure them for this origin and run the same command again.';
    case 403:
      return huggingFace
        ? 'Access was refused: if this is a gated model, accept its licence on the model page while logged in, then use a token of that account (HF_TOKEN or --token).'
        : 'The server refused access to this file; check that your credentials allow it.';
    case 404:
    case 410:
      return 'The file is no longer at this URL; the manifest may be out of date, ask its author for a new one.';
    case 408:
    case 425:
    case 429:
      return 'The server asked to slow down; modelhaul waits and retries, run the same command again later if this persists.';
    default:
      return status >= 500
        ? 'The server had a problem; modelhaul retried, run the same command again later to resume.'
        : 'The server refused the request; check the URL in the manifest.';
  }
}

function isHuggingFace(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'huggingface.co' || host.endsWith('.huggingface.co') || host === 'hf.co';
  } catch {
    return false;
  }
}

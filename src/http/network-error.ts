import { abortedError, InstallError } from '../errors.js';

const STALL_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Classifies an error thrown while talking to a server. Everything that is not a stall, a cancel
 * or already an {@link InstallError} is a network failure, and network failures are transient:
 * the next attempt resumes from the bytes on disk (RESUME-SEMANTICS rule 16).
 */
export function networkError(error: unknown, url: string, signal?: AbortSignal): InstallError {
  if (error instanceof InstallError) return error;
  if (signal?.aborted) return abortedError(signal);
  const code = (error as { code?: unknown } | undefined)?.code;
  const reason = error instanceof Error ? error.message : String(error);
  const host = safeHost(url);
  if (typeof code === 'string' && STALL_CODES.has(code)) {
    return new InstallError('STALLED', `${host} stopped sending data (${reason})`, {
      cause: error,
      details: { url: redactUrl(url), errno: code },
    });
  }
  return new InstallError('NETWORK', `Connection to ${host} failed: ${reason}`, {
    cause: error,
    details: { url: redactUrl(url), errno: typeof code === 'string' ? code : undefined },
  });
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/**
 * The URL without its query string: signed CDN URLs carry credentials there, and errors end up
 * in logs and bug reports.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.search) parsed.search = '?…';
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}

import { abortedError, InstallError } from '../errors.js';

const STALL_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Certificate and handshake failures (OpenSSL's codes, Node's ERR_TLS_* and ERR_SSL_*): no retry
 * can make a certificate valid, and "check your internet connection" would send a person looking
 * in the wrong place.
 */
const TLS_CODE = /CERT|^ERR_TLS_|^ERR_SSL_|^UNABLE_TO_(GET|VERIFY)_|SELF_SIGNED/;

/**
 * The server broke HTTP: headers beyond the limit, or a body whose framing the parser rejects
 * (llhttp's HPE_* codes). The end of a connection in the middle of a body is not one of these: it
 * is a dropped connection, resumed like any other (docs/rules.md rule 10).
 */
function isProtocolViolation(code: string): boolean {
  if (code === 'UND_ERR_HEADERS_OVERFLOW') return true;
  return code.startsWith('HPE_') && code !== 'HPE_INVALID_EOF_STATE' && code !== 'HPE_CLOSED_CONNECTION';
}

/**
 * Classifies an error thrown while talking to a server. A stall, a cancel, a TLS failure and a
 * server that breaks the protocol each get their own code; everything else is a network failure,
 * and network failures are transient: the next attempt resumes from the bytes on disk
 * (docs/rules.md rule 16).
 */
export function networkError(error: unknown, url: string, signal?: AbortSignal): InstallError {
  if (error instanceof InstallError) return error;
  if (signal?.aborted) return abortedError(signal);
  const code = (error as { code?: unknown } | undefined)?.code;
  const reason = error instanceof Error ? error.message : String(error);
  const host = safeHost(url);
  const details = { url: redactUrl(url), errno: typeof code === 'string' ? code : undefined };
  if (typeof code === 'string' && STALL_CODES.has(code)) {
    return new InstallError('STALLED', `${host} stopped sending data (${reason})`, { cause: error, details });
  }
  if (typeof code === 'string' && TLS_CODE.test(code)) {
    return new InstallError('TLS', `The TLS connection to ${host} was refused: ${reason} (${code})`, { cause: error, details });
  }
  if (typeof code === 'string' && isProtocolViolation(code)) {
    return new InstallError('PROTOCOL', `${host} sent a response that breaks HTTP: ${reason} (${code})`, { cause: error, details });
  }
  return new InstallError('NETWORK', `Connection to ${host} failed: ${reason}`, { cause: error, details });
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

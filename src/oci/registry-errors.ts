import type { Readable } from 'node:stream';
import { InstallError } from '../errors.js';
import { parseRetryAfter } from '../http/retry-delay.js';
import { redactUrl } from '../http/network-error.js';
import type { ResponseHeaders } from '../http/open-response.js';

/** An error of the distribution API's JSON body: `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"..."}]}`. */
export interface RegistryErrorEntry {
  code: string;
  message: string;
}

/** What a failed registry request was about, for the message and hint. */
export interface RegistryErrorContext {
  registry: string;
  repository: string;
  /** What was asked for, e.g. `manifest 1.0` or `blob sha256:...`. */
  subject: string;
  /** The URL that answered. */
  url: string;
  /** Credentials were sent (and so were refused), rather than none being known. */
  hadCredentials: boolean;
}

const TRANSIENT_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);
const NOT_FOUND_CODES = new Set(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN', 'BLOB_UNKNOWN', 'BLOB_UPLOAD_UNKNOWN']);
const BODY_LIMIT = 64 * 1024;

/**
 * Reads the registry's error body (at most 64 KiB, never failing) and turns the status into an
 * {@link InstallError}: 401/403 into `AUTH_REQUIRED` saying how to log in, a 404 or an unknown
 * name into `NOT_FOUND`, transient statuses into a retryable `HTTP_STATUS`. The registry's own
 * error codes go into `details.registryCodes`, comma-separated.
 */
export async function registryError(status: number, headers: ResponseHeaders, body: Readable | undefined, context: RegistryErrorContext): Promise<InstallError> {
  const entries = body === undefined ? [] : parseErrorBody(await readLimited(body));
  const registryCodes = entries.map((entry) => entry.code).join(',') || undefined;
  const said = entries[0] ? `: ${entries[0].code} ${entries[0].message}` : '';
  const details = { status, url: redactUrl(context.url), registry: context.registry, repository: context.repository, registryCodes };
  const where = `${context.registry}/${context.repository}`;
  if (status === 401 || status === 403 || entries.some((entry) => entry.code === 'DENIED' || entry.code === 'UNAUTHORIZED')) {
    return context.hadCredentials
      ? new InstallError('AUTH_REQUIRED', `${context.registry} refused the credentials for ${where} (HTTP ${status}${said})`, {
          hint: `Check the user name, password and its rights on ${context.repository}, then log in again with \`modelhaul login ${context.registry}\`.`,
          details,
        })
      : new InstallError('AUTH_REQUIRED', `${context.registry} needs credentials for ${where} (HTTP ${status}${said})`, {
          hint: `Log in with \`modelhaul login ${context.registry}\` (or \`docker login ${context.registry}\`), then run the same command again.`,
          details,
        });
  }
  if (status === 404 || entries.some((entry) => NOT_FOUND_CODES.has(entry.code))) {
    return new InstallError('NOT_FOUND', `${where} has no ${context.subject} (HTTP ${status}${said})`, {
      hint: `Check the repository and tag (\`oras repo tags ${where}\` lists the tags), and that the bundle was pushed.`,
      details,
    });
  }
  const retryable = TRANSIENT_STATUSES.has(status);
  return new InstallError('HTTP_STATUS', `${context.registry} answered HTTP ${status} for ${context.subject} of ${context.repository}${said}`, {
    retryable,
    hint: retryable
      ? 'The registry had a problem; run the same command again later.'
      : 'The registry refused the request; the message names its reason.',
    details: { ...details, retryAfterMs: parseRetryAfter(headers['retry-after']) },
  });
}

/** The `errors` of a distribution API error body; an empty list for anything else. */
export function parseErrorBody(text: string): RegistryErrorEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return [];
  }
  const errors = (json as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors
    .filter((entry): entry is { code: unknown; message?: unknown } => typeof entry === 'object' && entry !== null && 'code' in entry)
    .map((entry) => ({ code: String(entry.code), message: typeof entry.message === 'string' ? entry.message : '' }));
}

/** Reads a small body as text, stopping at 64 KiB; a broken body reads as what arrived. */
export async function readLimited(body: Readable, limit = BODY_LIMIT): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= limit) break;
    }
  } catch {
    // What arrived is all there is to show.
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

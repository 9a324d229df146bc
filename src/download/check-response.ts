import { InstallError } from '../errors.js';
import { parseContentRange } from '../http/content-range.js';
import { isWeakEtag } from '../http/validators.js';
import { redactUrl } from '../http/network-error.js';
import type { SourceResponse } from '../sources/source.js';

/** What was asked for: the whole file, or the bytes from `first` to `last` (inclusive). */
export interface RangeRequest {
  first: number;
  /** Inclusive last byte; `size - 1` for an open-ended `bytes=first-`. */
  last: number;
  /** False for a plain GET with no Range header (a fresh download). */
  ranged: boolean;
}

/** How a response may be used. */
export type ResponsePlan =
  /** 200: the whole file from byte 0 (for a ranged request: the server ignored or refused the range). */
  | { kind: 'whole'; length: number | undefined }
  /** 206 exactly as asked. */
  | { kind: 'range'; first: number; last: number }
  /** 416: nothing left to send from that offset (RESUME-SEMANTICS rule 8). */
  | { kind: 'unsatisfiable' };

export interface CheckContext {
  artifactId: string;
  size: number;
  /** The ETag stored with the bytes on disk, if any, when it came from the location that answered. */
  storedEtag: string | undefined;
}

/**
 * Decides, from status and headers alone, whether a response's body may go into the partial file
 * and where. Nothing is ever appended on a mismatch: a 206 that is not exactly what was asked for
 * is refused (rules 5, 6), a 200 means "start over" (rule 7), an encoded body is refused (rule 9),
 * and a declared size other than the manifest's fails before a byte is written.
 */
export function checkResponse(response: SourceResponse, request: RangeRequest, context: CheckContext): ResponsePlan {
  const { status, headers } = response;
  const where = { url: redactUrl(response.url), status };
  if (status === 416) return { kind: 'unsatisfiable' };
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new InstallError('CONTENT_ENCODING', `The server sent the file with Content-Encoding: ${encoding}`, {
      artifactId: context.artifactId,
      details: { ...where, contentEncoding: encoding },
    });
  }
  const contentLength = parseLength(headers['content-length']);
  if (status === 200) {
    if (contentLength !== undefined && contentLength !== context.size) {
      throw sizeMismatch(context, contentLength, where);
    }
    return { kind: 'whole', length: contentLength };
  }
  return checkPartialContent(response, request, context, contentLength);
}

function checkPartialContent(
  response: SourceResponse,
  request: RangeRequest,
  context: CheckContext,
  contentLength: number | undefined,
): ResponsePlan {
  const { headers } = response;
  const where = { url: redactUrl(response.url), status: response.status };
  const refuse = (why: string, extra: Record<string, string | number | undefined> = {}): InstallError =>
    new InstallError('RANGE_NOT_HONOURED', `Refused a 206 response: ${why}`, {
      artifactId: context.artifactId,
      details: { ...where, requested: `bytes=${request.first}-${request.last}`, ...extra },
    });
  if (!request.ranged) throw refuse('it answers a request that asked for no range');
  const contentType = headers['content-type']?.toLowerCase() ?? '';
  if (contentType.startsWith('multipart/byteranges')) throw refuse('multipart/byteranges for a single range');
  const range = parseContentRange(headers['content-range']);
  if (range.total !== context.size) throw sizeMismatch(context, range.total, where);
  if (range.first !== request.first || range.last !== request.last) {
    throw refuse(`Content-Range ${headers['content-range']} does not match the request`, {
      contentRange: headers['content-range'],
    });
  }
  if (contentLength !== undefined && contentLength !== range.last - range.first + 1) {
    throw refuse(`Content-Length ${contentLength} does not match Content-Range ${headers['content-range']}`);
  }
  const etag = headers.etag;
  if (etag !== undefined && context.storedEtag !== undefined && !sameEntityTag(etag, context.storedEtag)) {
    throw refuse(`its ETag ${etag} differs from the stored ${context.storedEtag}`, { etag });
  }
  return { kind: 'range', first: range.first, last: range.last };
}

function sizeMismatch(
  context: CheckContext,
  found: number,
  where: Record<string, string | number>,
): InstallError {
  return new InstallError(
    'SIZE_MISMATCH',
    `The server's file is ${found} bytes, the manifest says ${context.size}`,
    { artifactId: context.artifactId, details: { ...where, expected: context.size, found } },
  );
}

/**
 * Strong comparison when the stored tag is strong; when it is weak (we resumed without If-Range,
 * rule 3) a weak comparison still catches a representation that changed under us. A malformed tag
 * (unquoted, say) was never sent as If-Range either, and the very same bytes back still say "same
 * representation"; refusing them would make every resume from such a server start over.
 */
function sameEntityTag(received: string, stored: string): boolean {
  if (!isWeakEtag(stored)) return received === stored;
  const opaque = (tag: string): string => (isWeakEtag(tag) ? tag.slice(2) : tag);
  return opaque(received) === opaque(stored);
}

function parseLength(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value.trim())) return undefined;
  const length = Number(value.trim());
  return Number.isSafeInteger(length) ? length : undefined;
}

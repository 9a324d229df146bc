import { createHash } from 'node:crypto';
import { InstallError } from '../errors.js';
import { checkUrl } from '../manifest/url-policy.js';
import { Dispatchers } from './dispatchers.js';
import { normalizeCredentials, type Credentials } from './credentials.js';
import { discard, openResponse } from './open-response.js';
import { networkError, redactUrl } from './network-error.js';
import { statusError } from './status-error.js';
import { headLinkedMetadata, isResolveUrl } from './linked-metadata.js';
import { MODELHAUL_VERSION } from '../version.js';

/** How {@link digestUrl} learned the size and SHA-256. */
export type DigestSource = 'linked-headers' | 'download';

export interface UrlDigest {
  size: number;
  sha256: string;
  source: DigestSource;
}

export interface DigestUrlOptions {
  /** Authorization header values by exact origin; never sent to any other origin. */
  credentials?: Credentials;
  /** Allow plain http to hosts other than loopback. Default false. */
  allowHttp?: boolean;
  signal?: AbortSignal;
  /** Longest silence from the server, in milliseconds. Default 30 000. */
  stallTimeoutMs?: number;
  /** Called as the body streams in; `total` is the Content-Length when the server sent one. */
  onProgress?: (bytes: number, total: number | undefined) => void;
}

/**
 * The size and SHA-256 of the file at `url`, for writing a manifest entry. For a Hugging Face
 * resolve URL a HEAD is tried first, and its `X-Linked-Size` and `X-Linked-Etag` are used when
 * present, so that nothing is downloaded. Otherwise the file is streamed through the same HTTP
 * layer as installs (redirects checked hop by hop, proxies from the environment, credentials only
 * to their origin, raw bytes with `Accept-Encoding: identity`) and hashed; nothing is written to
 * disk.
 *
 * @throws {InstallError} `INSECURE_URL` or `MANIFEST_INVALID` for a URL a manifest could not hold,
 *   `HTTP_STATUS`, `REDIRECT`, `CONTENT_ENCODING`, `NETWORK`, `STALLED`, `SIZE_MISMATCH` for a body
 *   that disagrees with its Content-Length or is empty, `ABORTED`.
 *
 * @example
 * ```ts
 * const { size, sha256, source } = await digestUrl('https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-tiny.en.bin');
 * ```
 */
export async function digestUrl(url: string, options: DigestUrlOptions = {}): Promise<UrlDigest> {
  const policy = checkUrl(url, { allowHttp: options.allowHttp ?? false });
  if (!policy.ok) throw new InstallError(policy.code, `url: ${policy.reason}`, { details: { field: 'url' } });
  const signal = options.signal ?? new AbortController().signal;
  const credentials = normalizeCredentials(options.credentials);
  const dispatchers = new Dispatchers({ stallTimeoutMs: options.stallTimeoutMs ?? 30_000 });
  try {
    if (isResolveUrl(url)) {
      const linked = await headLinkedMetadata({ url, credentials, dispatchers, signal });
      if (linked) return { ...linked, source: 'linked-headers' };
    }
    return { ...(await streamDigest(url, credentials, dispatchers, signal, options)), source: 'download' };
  } finally {
    await dispatchers.close();
  }
}

async function streamDigest(
  url: string,
  credentials: Credentials | undefined,
  dispatchers: Dispatchers,
  signal: AbortSignal,
  options: DigestUrlOptions,
): Promise<{ size: number; sha256: string }> {
  const response = await openResponse({
    url,
    headers: { 'accept-encoding': 'identity', 'user-agent': `modelhaul/${MODELHAUL_VERSION}` },
    credentials,
    allowHttp: options.allowHttp ?? false,
    dispatchers,
    signal,
  });
  const where = { url: redactUrl(response.url), status: response.status };
  if (response.status !== 200) {
    await discard(response.body);
    throw statusError({ status: response.status, headers: response.headers, url: response.url, manifestUrl: url, redirected: response.redirected });
  }
  const encoding = response.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    await discard(response.body);
    throw new InstallError('CONTENT_ENCODING', `The server sent the file with Content-Encoding: ${encoding}`, {
      details: { ...where, contentEncoding: encoding },
    });
  }
  const lengthText = response.headers['content-length']?.trim();
  const declared = lengthText !== undefined && /^\d+$/.test(lengthText) ? Number(lengthText) : undefined;
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      // Counted, not trusted (RESUME-SEMANTICS rule 10): a body longer than announced is refused.
      if (declared !== undefined && size > declared) {
        throw new InstallError('SIZE_MISMATCH', `The server sent more than the ${declared} bytes it announced`, {
          details: { ...where, expected: declared, found: size },
        });
      }
      hash.update(chunk);
      options.onProgress?.(size, declared);
    }
  } catch (error) {
    response.body.destroy();
    throw networkError(error, response.url, signal);
  }
  if (declared !== undefined && size < declared) {
    throw new InstallError('NETWORK', `The download ended after ${size} of ${declared} bytes`, {
      details: { ...where, expected: declared, found: size },
    });
  }
  if (size === 0) {
    throw new InstallError('SIZE_MISMATCH', `${redactUrl(url)} is an empty file`, {
      hint: 'A manifest artifact must have at least one byte; check the URL.',
      details: where,
    });
  }
  return { size, sha256: hash.digest('hex') };
}

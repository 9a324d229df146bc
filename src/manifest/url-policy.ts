/**
 * Which artifact URLs modelhaul is willing to fetch. The SHA-256 pin protects the bytes, but not
 * the privacy of what is downloaded nor the tokens sent with it, so plain http is reserved for
 * loopback test servers unless the user opts in.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Options for {@link checkUrl}. */
export interface UrlPolicyOptions {
  /** Accept `http:` to any host (the CLI's `--allow-http`). */
  allowHttp: boolean;
}

/** The verdict of {@link checkUrl}; `reason` reads after the field name, like a path problem. */
export type UrlCheck =
  | { ok: true }
  | { ok: false; code: 'MANIFEST_INVALID' | 'INSECURE_URL'; reason: string };

// The WHATWG parser silently drops leading/trailing spaces and C0 controls and removes tabs and
// newlines anywhere, so the URL it fetches would not be the one written in the manifest. A real
// URL spells these as %20 and friends.
const WHITESPACE_OR_CONTROL = /[\s\p{Cc}]/u;

/**
 * Checks an artifact URL: it must be absolute, use `https:` (or `http:` to a loopback host, or to
 * any host with `allowHttp`), and carry no user name or password.
 *
 * @example
 * ```ts
 * checkUrl('https://huggingface.co/x/resolve/main/y.bin', { allowHttp: false }); // { ok: true }
 * checkUrl('http://127.0.0.1:8080/y.bin', { allowHttp: false });                // { ok: true }
 * checkUrl('http://example.com/y.bin', { allowHttp: false });
 * // { ok: false, code: 'INSECURE_URL', reason: 'http is only allowed for loopback hosts; use https or --allow-http' }
 * ```
 */
export function checkUrl(url: string, options: UrlPolicyOptions): UrlCheck {
  if (url.length === 0) return invalid('must not be empty');
  if (WHITESPACE_OR_CONTROL.test(url)) {
    return invalid('must not contain spaces or control characters; percent-encode them (%20)');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return invalid('is not a valid absolute URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    return invalid(`must use https (found ${JSON.stringify(parsed.protocol)})`);
  }
  // Credentials in a URL end up in logs, progress output and resume records, and would be sent
  // on to every redirect target; tokens go through an option that is scoped to one origin.
  if (parsed.username !== '' || parsed.password !== '') {
    return invalid('must not contain a user name or password; pass a token with the token option instead');
  }
  if (parsed.protocol === 'http:' && !options.allowHttp && !isLoopbackHost(parsed.hostname)) {
    return {
      ok: false,
      code: 'INSECURE_URL',
      reason: 'http is only allowed for loopback hosts; use https or --allow-http',
    };
  }
  return { ok: true };
}

function invalid(reason: string): UrlCheck {
  return { ok: false, code: 'MANIFEST_INVALID', reason };
}

/**
 * True when `hostname` certainly names this machine: `localhost`, an address in 127.0.0.0/8, or
 * `::1` (bracketed as in `URL.hostname`, or bare). Other names that usually resolve to loopback
 * (`*.localhost`, entries in a hosts file) are not trusted, since that depends on the resolver.
 *
 * @example
 * ```ts
 * isLoopbackHost(new URL('http://[::1]:9000/').hostname); // true
 * isLoopbackHost('127.1.2.3');                            // true
 * isLoopbackHost('localhost.example.com');                // false
 * ```
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  // A zone id (`::1%lo`) passes isIPv6 but not the URL parser; URLs never carry one anyway.
  if (!isIPv6(bare) || bare.includes('%')) return false;
  // Let the URL parser canonicalize the many spellings of ::1 (0:0:0:0:0:0:0:1, ::0:1, ...).
  return new URL(`http://[${bare}]/`).hostname === '[::1]';
}

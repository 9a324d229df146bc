import { InstallError, isInstallError } from '../errors.js';
import { isBundleReference, parseBundleReference, type BundleReference } from '../oci/reference.js';
import { checkUrl } from './url-policy.js';

/**
 * A source as a user writes it, after parsing:
 * - `https://host[:port]/prefix`: a web server holding a copy of an install dir; an artifact is
 *   at `<prefix>/<artifact.path>`;
 * - `oci://host[:port]/repository[:tag|@sha256:...]`: a bundle in an OCI registry;
 * - `oci-layout:PATH[:tag|@sha256:...]`: an OCI image-layout folder (a USB copy).
 *
 * The two OCI kinds are read by the same parser as `--manifest oci://...` (src/oci/reference.ts).
 *
 * @example
 * ```ts
 * parseSourceSpec('https://mirror.lan/models/', { allowHttp: false });
 * // { kind: 'mirror', text: 'https://mirror.lan/models/', prefix: 'https://mirror.lan/models' }
 * parseSourceSpec('oci://registry.lan/models/voice:1.0', { allowHttp: false }).kind; // 'bundle'
 * ```
 */
export type SourceSpec =
  | { readonly kind: 'mirror'; readonly text: string; readonly prefix: string }
  | { readonly kind: 'bundle'; readonly text: string; readonly ref: BundleReference };

export interface SourceSpecOptions {
  /** Accept `http:` mirrors to any host, not only loopback (`--allow-http`). */
  allowHttp: boolean;
}

/**
 * Parses one source. Throws `SOURCE_INVALID` naming what is wrong; `describe` says where the text
 * came from (`--mirror`, `MODELHAUL_MIRRORS`) so the message points at it.
 */
export function parseSourceSpec(text: string, options: SourceSpecOptions, describe = 'mirror'): SourceSpec {
  const problem = (reason: string, hint?: string): InstallError =>
    new InstallError('SOURCE_INVALID', `${describe} ${JSON.stringify(text)}: ${reason}`, { ...(hint !== undefined ? { hint } : {}), details: { source: text, problem: reason } });
  if (isBundleReference(text)) {
    try {
      return { kind: 'bundle', text, ref: parseBundleReference(text) };
    } catch (error) {
      if (!isInstallError(error)) throw error;
      // Reported as this mirror's problem (exit 2), with the reference parser's reason and hint.
      throw problem(typeof error.details.problem === 'string' ? error.details.problem : error.message, error.hint);
    }
  }
  const verdict = checkUrl(text, options);
  if (!verdict.ok) {
    throw problem(/must use https/.test(verdict.reason) ? 'must be https://HOST/PREFIX, oci://HOST/REPOSITORY:TAG or oci-layout:PATH' : verdict.reason);
  }
  const url = new URL(text);
  if (url.search !== '' || url.hash !== '' || text.includes('?') || text.includes('#')) {
    throw problem('must not have a query or a fragment: artifact paths are appended to it');
  }
  return { kind: 'mirror', text, prefix: url.href.replace(/\/+$/, '') };
}

/**
 * Splits a list of sources as written in an environment variable: separated by whitespace or
 * commas (a comma inside a URL is written `%2C`).
 *
 * @example
 * ```ts
 * splitSourceList('https://a.lan/m, https://b.lan/m'); // ['https://a.lan/m', 'https://b.lan/m']
 * ```
 */
export function splitSourceList(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter((part) => part !== '');
}

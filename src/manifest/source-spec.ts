import { InstallError } from '../errors.js';
import { checkUrl } from './url-policy.js';

/**
 * A source as a user writes it, after parsing:
 * - `https://host[:port]/prefix`: a web server holding a copy of an install dir; an artifact is
 *   at `<prefix>/<artifact.path>`;
 * - `oci://host[:port]/repository[:tag|@sha256:...]`: a bundle in an OCI registry;
 * - `oci-layout:PATH[:tag|@sha256:...]`: an OCI image-layout folder (a USB copy).
 *
 * @example
 * ```ts
 * parseSourceSpec('https://mirror.lan/models/', { allowHttp: false });
 * // { kind: 'mirror', text: 'https://mirror.lan/models/', prefix: 'https://mirror.lan/models' }
 * ```
 */
export type SourceSpec =
  | { readonly kind: 'mirror'; readonly text: string; readonly prefix: string }
  | { readonly kind: 'oci'; readonly text: string; readonly registry: string; readonly repository: string; readonly tag: string | undefined; readonly digest: string | undefined }
  | { readonly kind: 'oci-layout'; readonly text: string; readonly path: string; readonly tag: string | undefined; readonly digest: string | undefined };

export interface SourceSpecOptions {
  /** Accept `http:` mirrors to any host, not only loopback (`--allow-http`). */
  allowHttp: boolean;
}

const OCI_SCHEME = 'oci://';
const LAYOUT_SCHEME = 'oci-layout:';
// The distribution spec's grammar: lowercase path components joined by separators; tags; digests.
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/**
 * Parses one source. Throws `SOURCE_INVALID` naming what is wrong; `describe` says where the text
 * came from (`--mirror`, `MODELHAUL_MIRRORS`) so the message points at it.
 */
export function parseSourceSpec(text: string, options: SourceSpecOptions, describe = 'mirror'): SourceSpec {
  const problem = (reason: string): InstallError =>
    new InstallError('SOURCE_INVALID', `${describe} ${JSON.stringify(text)}: ${reason}`, { details: { source: text, problem: reason } });
  if (text.startsWith(OCI_SCHEME)) return parseOci(text, problem);
  if (text.startsWith(LAYOUT_SCHEME)) return parseLayout(text, problem);
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

/** Every source in `texts`, parsed; the first bad one throws. */
export function parseSourceSpecs(texts: readonly string[], options: SourceSpecOptions, describe = 'mirror'): SourceSpec[] {
  return texts.map((text) => parseSourceSpec(text, options, describe));
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

function parseOci(text: string, problem: (reason: string) => InstallError): SourceSpec {
  const rest = text.slice(OCI_SCHEME.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) throw problem('needs a registry host and a repository: oci://HOST[:PORT]/REPOSITORY[:TAG]');
  const registry = rest.slice(0, slash);
  if (!HOST.test(registry)) throw problem(`${JSON.stringify(registry)} is not a host name with an optional port`);
  const { name, tag, digest } = splitNameTagDigest(rest.slice(slash + 1), problem);
  if (!REPOSITORY.test(name)) throw problem(`repository ${JSON.stringify(name)} must be lowercase letters, digits and . _ - separators, in /-separated parts`);
  return { kind: 'oci', text, registry: registry.toLowerCase(), repository: name, tag: tag ?? (digest === undefined ? 'latest' : undefined), digest };
}

function parseLayout(text: string, problem: (reason: string) => InstallError): SourceSpec {
  const rest = text.slice(LAYOUT_SCHEME.length);
  const lastSlash = rest.lastIndexOf('/');
  const { name, tag, digest } = splitNameTagDigest(rest.slice(lastSlash + 1), problem);
  const path = rest.slice(0, lastSlash + 1) + name;
  if (path === '') throw problem('needs the path of an OCI image-layout folder: oci-layout:PATH');
  return { kind: 'oci-layout', text, path, tag, digest };
}

function splitNameTagDigest(value: string, problem: (reason: string) => InstallError): { name: string; tag: string | undefined; digest: string | undefined } {
  let name = value;
  let digest: string | undefined;
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
    if (!DIGEST.test(digest)) throw problem(`digest ${JSON.stringify(digest)} must be sha256: followed by 64 lowercase hex characters`);
  }
  let tag: string | undefined;
  const colon = name.lastIndexOf(':');
  if (colon >= 0) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
    if (!TAG.test(tag)) throw problem(`tag ${JSON.stringify(tag)} must be letters, digits, _ . - (at most 128, not starting with . or -)`);
  }
  return { name, tag, digest };
}

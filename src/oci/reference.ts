import { InstallError } from '../errors.js';
import { isLoopbackHost } from '../manifest/url-policy.js';

/**
 * A bundle in an OCI registry: `oci://host[:port]/repo[:tag][@sha256:...]`.
 *
 * @example
 * ```ts
 * const ref = parseOciReference('oci://registry.example.com/models/voice-assistant:1.0');
 * // { kind: 'registry', registry: 'registry.example.com', repository: 'models/voice-assistant', tag: '1.0', ... }
 * ```
 */
export interface RegistryReference {
  readonly kind: 'registry';
  /** `host` or `host:port`, as in the registry's URLs and the Docker config's `auths` keys. */
  readonly registry: string;
  /** The repository path, e.g. `models/voice-assistant`. */
  readonly repository: string;
  /** The tag; `latest` when neither a tag nor a digest is given. Undefined with a digest alone. */
  readonly tag: string | undefined;
  /** `sha256:<64 hex>` when the reference pins the manifest's digest. */
  readonly digest: string | undefined;
  /** The reference as written, for messages. */
  readonly text: string;
}

/**
 * A bundle in an OCI image-layout folder (what `oras cp --to-oci-layout` writes):
 * `oci-layout:PATH`, `oci-layout:PATH:TAG` or `oci-layout:PATH@sha256:...`.
 */
export interface LayoutReference {
  readonly kind: 'layout';
  /** The folder holding `oci-layout`, `index.json` and `blobs/`. */
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
  readonly text: string;
}

export type BundleReference = RegistryReference | LayoutReference;

export const OCI_SCHEME = 'oci://';
export const LAYOUT_SCHEME = 'oci-layout:';

// From the distribution spec: path components of lowercase alphanumerics joined by separators.
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/** True when `text` names a bundle in a registry or an image-layout folder rather than a file. */
export function isBundleReference(text: string): boolean {
  return text.startsWith(OCI_SCHEME) || text.startsWith(LAYOUT_SCHEME);
}

/** Parses `oci://...` or `oci-layout:...`; throws `MANIFEST_INVALID` naming what is wrong. */
export function parseBundleReference(text: string): BundleReference {
  return text.startsWith(LAYOUT_SCHEME) ? parseLayoutReference(text) : parseOciReference(text);
}

/** Parses `oci://host[:port]/repo[:tag][@sha256:...]`. */
export function parseOciReference(text: string): RegistryReference {
  if (!text.startsWith(OCI_SCHEME)) throw invalid(text, `must start with ${OCI_SCHEME}`);
  const rest = text.slice(OCI_SCHEME.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) throw invalid(text, 'needs a registry host and a repository: oci://HOST[:PORT]/REPOSITORY[:TAG]');
  const registry = rest.slice(0, slash);
  if (!HOST.test(registry)) throw invalid(text, `${JSON.stringify(registry)} is not a host name with an optional port`);
  const { name: repository, tag, digest } = splitNameTagDigest(rest.slice(slash + 1), text);
  if (!REPOSITORY.test(repository)) {
    throw invalid(text, `repository ${JSON.stringify(repository)} must be lowercase letters, digits and . _ - separators, in /-separated parts`);
  }
  return { kind: 'registry', registry: registry.toLowerCase(), repository, tag: tag ?? (digest === undefined ? 'latest' : undefined), digest, text };
}

/** Parses `oci-layout:PATH[:TAG][@sha256:...]`; a `:` inside the last path part starts the tag. */
export function parseLayoutReference(text: string): LayoutReference {
  if (!text.startsWith(LAYOUT_SCHEME)) throw invalid(text, `must start with ${LAYOUT_SCHEME}`);
  const rest = text.slice(LAYOUT_SCHEME.length);
  if (rest === '') throw invalid(text, 'needs the path of an OCI image-layout folder: oci-layout:PATH');
  const lastSlash = rest.lastIndexOf('/');
  const head = rest.slice(0, lastSlash + 1);
  const { name, tag, digest } = splitNameTagDigest(rest.slice(lastSlash + 1), text);
  const path = head + name;
  if (path === '') throw invalid(text, 'needs the path of an OCI image-layout folder: oci-layout:PATH');
  return { kind: 'layout', path, tag, digest, text };
}

/** The reference a registry's URLs use for a manifest: the digest when pinned, else the tag. */
export function manifestReference(ref: BundleReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/**
 * The origin modelhaul talks to for a registry: https, or plain http for a loopback host or when
 * the user allows http (`--allow-http`), as for artifact URLs.
 */
export function registryOrigin(registry: string, allowHttp: boolean): string {
  const hostname = registry.replace(/:\d+$/, '');
  return `${isLoopbackHost(hostname) || allowHttp ? 'http' : 'https'}://${registry}`;
}

function splitNameTagDigest(value: string, text: string): { name: string; tag: string | undefined; digest: string | undefined } {
  let name = value;
  let digest: string | undefined;
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(text, `digest ${JSON.stringify(digest)} must be sha256: followed by 64 lowercase hex characters`);
  }
  let tag: string | undefined;
  const colon = name.lastIndexOf(':');
  if (colon >= 0) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(text, `tag ${JSON.stringify(tag)} must be letters, digits, _ . - (at most 128, not starting with . or -)`);
  }
  return { name, tag, digest };
}

function invalid(text: string, reason: string): InstallError {
  return new InstallError('MANIFEST_INVALID', `${text}: ${reason}`, {
    hint: 'Write a registry bundle as oci://HOST[:PORT]/REPOSITORY:TAG (or @sha256:DIGEST), an image-layout folder as oci-layout:PATH[:TAG].',
    // `problem` alone, without the reference, for callers that name the reference themselves.
    details: { field: 'manifest', reference: text, problem: reason },
  });
}

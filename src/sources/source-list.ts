import path from 'node:path';
import type { Manifest } from '../manifest/types.js';
import { parseSourceSpec, type SourceSpec } from '../manifest/source-spec.js';
import { isBundleReference, parseBundleReference, type BundleReference } from '../oci/reference.js';
import { bundleMirrorSource, type BundleMirrorContext } from './bundle-mirror-source.js';
import { manifestUrlSource } from './manifest-url-source.js';
import { mirrorSource } from './mirror-source.js';
import type { ArtifactSource } from './source.js';

/** A mirror ready to be made a source: its name in events and summaries, and what it is. */
export interface ResolvedMirror {
  /** `https://host/prefix` without a trailing slash; `oci://host/repo:tag` or `@sha256:...`; `oci-layout:/abs/path:tag`. */
  readonly name: string;
  readonly spec: SourceSpec;
}

/**
 * The mirrors of an install, in the order they are tried: the caller's (the CLI's `--mirror`,
 * else `MODELHAUL_MIRRORS`), then the manifest's own `mirrors`. A mirror listed twice is tried
 * once, and so is the bundle the manifest was read from (`bundleSource`, tried before them all).
 * Every artifact's URL from the manifest comes after all of them (see {@link installSources}).
 *
 * @throws {InstallError} `SOURCE_INVALID` naming a caller's mirror that does not parse; it is
 * called before the install touches the disk or the network. Nothing is asked of any mirror here:
 * one that turns out to be down or without the bundle is skipped during the install.
 *
 * @example
 * ```ts
 * resolveMirrors(['oci://registry.lan/models/voice:1.0', 'https://mirror.lan/models/'], manifest, { allowHttp: false });
 * // [{ name: 'oci://registry.lan/models/voice:1.0', ... }, { name: 'https://mirror.lan/models', ... }]
 * ```
 */
export function resolveMirrors(callerMirrors: readonly string[], manifest: Manifest, options: { allowHttp: boolean; bundleSource?: string | undefined }): ResolvedMirror[] {
  const { allowHttp } = options;
  const specs = [
    ...callerMirrors.map((text) => parseSourceSpec(text, { allowHttp })),
    // Checked when the manifest was parsed.
    ...(manifest.mirrors ?? []).map((text) => parseSourceSpec(text, { allowHttp }, 'manifest mirror')),
  ];
  const seen = new Set<string>();
  if (options.bundleSource !== undefined && isBundleReference(options.bundleSource)) seen.add(bundleName(parseBundleReference(options.bundleSource)));
  const mirrors: ResolvedMirror[] = [];
  for (const spec of specs) {
    const name = spec.kind === 'mirror' ? spec.prefix : bundleName(spec.ref);
    if (seen.has(name)) continue;
    seen.add(name);
    mirrors.push({ name, spec });
  }
  return mirrors;
}

/** The sources for resolved mirrors, each artifact's own URL last. */
export function installSources(mirrors: readonly ResolvedMirror[], context: BundleMirrorContext): ArtifactSource[] {
  return [
    ...mirrors.map(({ name, spec }) => (spec.kind === 'mirror' ? mirrorSource(spec.prefix, context.http) : bundleMirrorSource(name, spec.ref, context))),
    manifestUrlSource(context.http),
  ];
}

/** One spelling per bundle: the host in lower case, a registry's default tag written out, a folder's absolute path. */
function bundleName(ref: BundleReference): string {
  const pin = ref.digest !== undefined ? `@${ref.digest}` : ref.tag !== undefined ? `:${ref.tag}` : '';
  return ref.kind === 'registry' ? `oci://${ref.registry}/${ref.repository}${pin}` : `oci-layout:${path.resolve(ref.path)}${pin}`;
}

import { InstallError } from '../errors.js';
import type { Manifest } from '../manifest/types.js';
import { parseSourceSpec, type SourceSpec } from '../manifest/source-spec.js';
import type { HttpContext } from './http-location.js';
import { manifestUrlSource } from './manifest-url-source.js';
import { mirrorSource } from './mirror-source.js';
import type { ArtifactSource } from './source.js';

/**
 * The mirrors of an install, in the order they are tried: the caller's (the CLI's `--mirror`,
 * else `MODELHAUL_MIRRORS`), then the manifest's own `mirrors`. A mirror listed twice is tried
 * once. Every artifact's URL from the manifest comes after all of them (see {@link installSources}).
 *
 * @throws {InstallError} `SOURCE_INVALID` for a caller's mirror that does not parse or is of a kind
 * this modelhaul cannot use yet; it is called before the install touches the disk or the network.
 * A manifest may name a kind of source that only a newer modelhaul reads: that one is left out.
 */
export function resolveMirrors(callerMirrors: readonly string[], manifest: Manifest, allowHttp: boolean): SourceSpec[] {
  const fromCaller = callerMirrors.map((text) => parseSourceSpec(text, { allowHttp }));
  for (const spec of fromCaller) {
    if (spec.kind !== 'mirror') throw notSupportedYet(spec);
  }
  const fromManifest = (manifest.mirrors ?? []).map((text) => parseSourceSpec(text, { allowHttp }, 'manifest mirror')).filter((spec) => spec.kind === 'mirror');
  const seen = new Set<string>();
  return [...fromCaller, ...fromManifest].filter((spec) => {
    const key = spec.kind === 'mirror' ? spec.prefix : spec.text;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The sources for resolved mirrors, each artifact's own URL last. */
export function installSources(mirrors: readonly SourceSpec[], http: HttpContext): ArtifactSource[] {
  const sources: ArtifactSource[] = [];
  for (const spec of mirrors) {
    if (spec.kind === 'mirror') sources.push(mirrorSource(spec.prefix, http));
  }
  sources.push(manifestUrlSource(http));
  return sources;
}

function notSupportedYet(spec: SourceSpec): InstallError {
  const what = spec.kind === 'oci' ? 'OCI registries' : 'OCI image-layout folders';
  return new InstallError('SOURCE_INVALID', `mirror ${JSON.stringify(spec.text)}: ${what} are not supported as a source by this modelhaul yet`, {
    hint: 'Use an https:// mirror for now, or leave this one out; the artifacts still come from their manifest URLs.',
    details: { source: spec.text, problem: 'not supported yet' },
  });
}

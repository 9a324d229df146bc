import type { Artifact } from '../manifest/types.js';
import { httpLocation, type HttpContext } from './http-location.js';
import type { ArtifactSource, SourceLocation } from './source.js';

/**
 * The artifact's own URL from the manifest: the source of last resort, tried after every mirror.
 * Its name in events is the URL's origin (`https://huggingface.co`), which is what a person
 * recognises in a summary of bytes per source.
 *
 * @example
 * ```ts
 * const location = manifestUrlSource(http).locate(artifact);
 * location.source; // 'https://huggingface.co'
 * ```
 */
export function manifestUrlSource(http: HttpContext): ArtifactSource {
  return {
    name: 'manifest URL',
    locate: (artifact: Artifact): SourceLocation => httpLocation({ source: new URL(artifact.url).origin, artifact, url: artifact.url, http }),
  };
}

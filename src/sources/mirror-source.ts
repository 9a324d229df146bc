import type { Artifact } from '../manifest/types.js';
import { httpLocation, type HttpContext } from './http-location.js';
import type { ArtifactSource, SourceLocation } from './source.js';

/**
 * A static mirror: any web server holding a copy of an install dir (nginx, a CDN, an S3 bucket
 * behind a web endpoint). The artifact is at `<prefix>/<artifact.path>`, each path segment
 * percent-encoded, so serving the folder a previous `modelhaul install` filled is all it takes.
 * Its name in events and summaries is the mirror as the user wrote it, without a trailing slash.
 *
 * @example
 * ```ts
 * mirrorSource('https://mirror.lan/models', http).locate(artifact)?.validatorsFrom;
 * // 'https://mirror.lan/models/stt/ggml-base.en.bin'
 * ```
 */
export function mirrorSource(prefix: string, http: HttpContext): ArtifactSource {
  const base = prefix.replace(/\/+$/, '');
  return {
    name: base,
    locate: (artifact: Artifact): SourceLocation =>
      httpLocation({
        source: base,
        artifact,
        url: `${base}/${artifact.path.split('/').map(encodeURIComponent).join('/')}`,
        http,
        notFoundHint: 'This mirror does not have the file (or not at PREFIX/<artifact path>); modelhaul went on with the next source.',
      }),
  };
}

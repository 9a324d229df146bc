import type { SourceSpans } from './source-spans.js';

/**
 * What to do when the SHA-256 of a complete partial file does not match:
 * - `forget-source`: the file holds bytes from several sources; discard the suspect's, fetch
 *   those ranges again from the source in use, and check again;
 * - `blame-all`: every byte came from one source (or no suspect is left): that source served the
 *   wrong bytes; discard everything and give it up for this artifact.
 */
export type MismatchPlan = { kind: 'forget-source'; source: string } | { kind: 'blame-all'; source: string };

/**
 * Decides whom to blame for a SHA-256 mismatch. There is no per-chunk hash, so the only evidence
 * is who wrote which bytes (the spans) and how each source behaved in this run. The suspect is
 * chosen so that a wrong guess costs as little as possible and a right one saves everyone else's
 * bytes:
 * 1. never the source in use (it is the one the suspect's bytes will be fetched from again);
 * 2. first a source this run gave up on (it failed, timed out or was refused: the one that went
 *    wrong is most likely the one that is misbehaving), then any other;
 * 3. among those, the one that wrote the fewest bytes.
 * When the bytes of a single source remain, that source is blamed for all of them.
 *
 * @example
 * ```ts
 * // 3 MB from a mirror that then failed, 5 MB from the manifest URL in use: the mirror's go first.
 * planAfterMismatch(spans, 'https://huggingface.co', ['https://mirror.lan/models']);
 * // { kind: 'forget-source', source: 'https://mirror.lan/models' }
 * ```
 */
export function planAfterMismatch(spans: SourceSpans, current: string, givenUp: readonly string[]): MismatchPlan {
  const bytes = spans.bytesBySource();
  const sources = Object.keys(bytes);
  const suspects = sources
    .filter((source) => source !== current)
    .sort((a, b) => Number(givenUp.includes(b)) - Number(givenUp.includes(a)) || bytes[a]! - bytes[b]!);
  const suspect = suspects[0];
  if (suspect !== undefined && sources.length > 1) return { kind: 'forget-source', source: suspect };
  return { kind: 'blame-all', source: sources[0] ?? current };
}

/**
 * The artifact kinds as values, apart from the zod schema, so that `modelhaul manifest add --help`
 * can list them without loading zod.
 */
import type { ArtifactKind } from './types.js';

// An object checked against a mapped type rather than an array, so that adding a kind to
// ArtifactKind without adding it here (or the reverse) is a compile error.
export const KINDS = { stt: 'stt', llm: 'llm', tts: 'tts', other: 'other' } as const satisfies {
  [K in ArtifactKind]: K;
};

/** Every {@link ArtifactKind}, in the order they are listed in messages. */
export const ARTIFACT_KINDS: readonly ArtifactKind[] = Object.values(KINDS);

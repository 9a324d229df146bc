import { InstallError } from '../errors.js';
import type { Artifact, Manifest } from './types.js';

/**
 * The artifacts of `manifest` named by `ids`, in the order given, each once. Commands that take
 * artifact ids from a person (`remove`, `import`) check every id before touching the disk, so a
 * typo in the third id does not leave the first two half-done.
 *
 * @throws {InstallError} `NOT_FOUND` naming every unknown id, with the known ids in the hint and
 *   `details.field === 'id'`.
 *
 * @example
 * ```ts
 * findArtifacts(manifest, ['llm-qwen']); // InstallError: No artifact with id "llm-qwen" in voice-assistant
 * ```
 */
export function findArtifacts(manifest: Manifest, ids: readonly string[]): Artifact[] {
  const byId = new Map(manifest.artifacts.map((artifact) => [artifact.id, artifact]));
  const unique = [...new Set(ids)];
  const unknown = unique.filter((id) => !byId.has(id));
  if (unknown.length > 0) {
    const known = manifest.artifacts.map((artifact) => artifact.id);
    const named = unknown.map((id) => JSON.stringify(id)).join(', ');
    throw new InstallError(
      'NOT_FOUND',
      `${unknown.length === 1 ? 'No artifact with id' : 'No artifacts with ids'} ${named} in ${manifest.name}`,
      {
        hint: `Known ids: ${known.join(', ')}.`,
        details: { field: 'id', unknown: unknown.join(','), known: known.join(',') },
      },
    );
  }
  return unique.map((id) => byId.get(id)!);
}

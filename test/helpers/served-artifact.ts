// Small pieces the CLI-level tests share: the manifest entry for a body (served by a test origin
// or not), the install command line, and a file-exists check.
import { lstat } from 'node:fs/promises';
import type { ManifestArtifact } from './cli.js';
import { sha256Hex } from './content.js';
import type { Origin } from './origin.js';

/** The manifest entry for `content` downloaded from `url`, installed at `models/<id>.bin`. */
export function artifactFor(url: string, content: Buffer, id = 'model', overrides: Partial<ManifestArtifact> = {}): ManifestArtifact {
  return {
    id,
    kind: 'other',
    label: `Test artifact ${id}`,
    url,
    size: content.length,
    sha256: sha256Hex(content),
    path: `models/${id}.bin`,
    ...overrides,
  };
}

/** Serves `body` at `/<id>.bin` on `origin` and returns the manifest entry for it. */
export function serveArtifact(origin: Origin, id: string, body: Buffer, overrides: Partial<ManifestArtifact> = {}): ManifestArtifact {
  origin.serve(`/${id}.bin`, body);
  return artifactFor(origin.url(`/${id}.bin`), body, id, overrides);
}

/** `modelhaul install` with NDJSON output and fast retries, so that a failure shows in seconds. */
export function jsonInstallArgs(manifest: string, dir: string, ...extra: string[]): string[] {
  return ['install', '--manifest', manifest, '--dir', dir, '--json', '--retry-delay', '0.05', '--stall-timeout', '5', ...extra];
}

export async function pathExists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

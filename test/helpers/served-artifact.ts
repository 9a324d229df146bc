// Small pieces the CLI-level tests of the demo, the display, proxies and tokens share: a body
// served by a test origin as a manifest entry, the install command line, and a file-exists check.
import { lstat } from 'node:fs/promises';
import type { ManifestArtifact } from './cli.js';
import { sha256Hex } from './content.js';
import type { Origin } from './origin.js';

/** Serves `body` at `/<id>.bin` on `origin` and returns the manifest entry for it. */
export function serveArtifact(origin: Origin, id: string, body: Buffer, overrides: Partial<ManifestArtifact> = {}): ManifestArtifact {
  origin.serve(`/${id}.bin`, body);
  return {
    id,
    kind: 'other',
    label: `Test artifact ${id}`,
    url: origin.url(`/${id}.bin`),
    size: body.length,
    sha256: sha256Hex(body),
    path: `models/${id}.bin`,
    ...overrides,
  };
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

// An installed bundle to publish: files served by a test origin, installed with the real CLI into
// a temp dir, so that push has verified install records to work from, as a user's dir would.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runCli, type CliOptions, type CliResult, type ManifestArtifact } from './cli.js';
import { makeContent } from './content.js';
import { serveArtifact } from './served-artifact.js';
import { useOrigin } from './install-run.js';
import { useTempDir } from './tmp.js';
import type { Origin } from './origin.js';

export interface InstalledBundle {
  root: string;
  /** The manifest file. */
  manifest: string;
  /** The install dir holding the verified files. */
  dir: string;
  artifacts: ManifestArtifact[];
  contents: Map<string, Buffer>;
  origin: Origin;
}

export interface BundleFile {
  id: string;
  size: number;
  path: string;
  kind?: string;
}

/** A voice: a model and its small `.onnx.json` config, the two layer media types. */
export const VOICE_FILES: BundleFile[] = [
  { id: 'tts-voice', size: 3 * 1024 * 1024 + 17, path: 'tts/voice.onnx', kind: 'tts' },
  { id: 'tts-voice-config', size: 4_321, path: 'tts/voice.onnx.json', kind: 'tts' },
];

/** Serves `files` from a test origin and installs them with `modelhaul install` into a temp dir. */
export async function useInstalledBundle(t: TestContext, files: BundleFile[] = VOICE_FILES, name = 'test-bundle', seed = 1): Promise<InstalledBundle> {
  const root = await useTempDir(t, 'oci');
  const origin = await useOrigin(t);
  const contents = new Map<string, Buffer>();
  const artifacts = files.map((file, index) => {
    const body = makeContent(file.size, seed * 100 + index);
    contents.set(file.id, body);
    return serveArtifact(origin, file.id, body, { path: file.path, kind: file.kind ?? 'other', label: `Test ${file.id}` });
  });
  const manifest = join(root, `${name}.json`);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(manifest, JSON.stringify({ schemaVersion: 1, name, artifacts }, null, 2) + '\n');
  const dir = join(root, 'installed');
  const installed = await runCli(['install', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal(installed.code, 0, installed.stderr);
  return { root, manifest, dir, artifacts, contents, origin };
}

/** `modelhaul push TARGET --manifest M --dir D --json`. */
export function pushArgs(target: string, bundle: InstalledBundle, ...extra: string[]): string[] {
  return ['push', target, '--manifest', bundle.manifest, '--dir', bundle.dir, '--json', ...extra];
}

/** Runs the CLI with `DOCKER_CONFIG` pointing at `dockerConfig`. */
export function runWithConfig(args: string[], dockerConfig: string, options: CliOptions = {}): Promise<CliResult> {
  return runCli(args, { ...options, env: { ...options.env, DOCKER_CONFIG: dockerConfig } });
}

/** Asserts that every file of `bundle` is in `dir`, byte for byte. */
export async function assertSameFiles(bundle: InstalledBundle, dir: string): Promise<void> {
  for (const artifact of bundle.artifacts) {
    const bytes = await readFile(join(dir, ...artifact.path.split('/')));
    assert.ok(bytes.equals(bundle.contents.get(artifact.id)!), `${artifact.path} differs from what was pushed`);
  }
}

import path from 'node:path';
import { defaultDataDir } from '../data-dir.js';
import { InstallError } from '../errors.js';
import { loadManifestFile } from '../manifest/parse.js';
import { BUILTIN_BUNDLES, findBundle } from '../manifest/bundles.js';
import type { Manifest } from '../manifest/types.js';
import { DEFAULT_BUNDLE } from './options.js';

export interface TargetOptions {
  manifest?: string;
  bundle?: string;
  dir?: string;
  allowHttp?: boolean;
}

export interface Target {
  manifest: Manifest;
  /** Where the manifest came from, for messages: a file path or `built-in bundle voice-assistant`. */
  source: string;
  dir: string;
}

/**
 * Resolves what a command works on: the manifest (a file, or a built-in bundle) and the install
 * dir (`--dir`, else `MODELHAUL_DIR`, else the bundle's folder in the user's data folder).
 */
export async function resolveTarget(options: TargetOptions, env: NodeJS.ProcessEnv = process.env): Promise<Target> {
  const { manifest, source } = await resolveManifest(options);
  return { manifest, source, dir: resolveDir(options.dir, manifest.name, env) };
}

export async function resolveManifest(options: TargetOptions): Promise<{ manifest: Manifest; source: string }> {
  if (options.manifest !== undefined && options.bundle !== undefined) {
    throw new InstallError('MANIFEST_INVALID', 'Give either --manifest or --bundle, not both', {
      hint: 'Use --manifest FILE for your own manifest or --bundle NAME for a built-in one.',
    });
  }
  if (options.manifest !== undefined) {
    const manifest = await loadManifestFile(options.manifest, { allowHttp: options.allowHttp ?? false });
    return { manifest, source: options.manifest };
  }
  const name = options.bundle ?? DEFAULT_BUNDLE;
  const manifest = findBundle(name);
  if (!manifest) {
    throw new InstallError('MANIFEST_INVALID', `There is no built-in bundle named ${JSON.stringify(name)}`, {
      hint: `Built-in bundles: ${Object.keys(BUILTIN_BUNDLES).join(', ')} (see \`modelhaul bundles\`).`,
      details: { field: 'bundle' },
    });
  }
  return { manifest, source: `built-in bundle ${name}` };
}

/** The install dir: `--dir`, else `MODELHAUL_DIR`, else `<user data folder>/modelhaul/<bundle name>`. */
export function resolveDir(dir: string | undefined, bundleName: string, env: NodeJS.ProcessEnv = process.env): string {
  if (dir !== undefined && dir !== '') return path.resolve(dir);
  const fromEnv = env.MODELHAUL_DIR;
  if (fromEnv !== undefined && fromEnv !== '') return path.resolve(fromEnv);
  return path.join(defaultDataDir(), safeFolderName(bundleName));
}


function safeFolderName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '');
  return cleaned === '' ? 'bundle' : cleaned;
}

import path from 'node:path';
import { defaultDataDir } from '../data-dir.js';
import { InstallError } from '../errors.js';
import { loadManifestFile } from '../manifest/parse.js';
import { BUILTIN_BUNDLES, findBundle } from '../manifest/bundles.js';
import type { Manifest } from '../manifest/types.js';
import { isBundleReference } from '../oci/reference.js';
import { DEFAULT_BUNDLE } from './options.js';

export interface TargetOptions {
  manifest?: string;
  bundle?: string;
  dir?: string;
  /** Accept http artifact URLs to any host (commands that download nothing accept them all). */
  allowHttp?: boolean;
  /** Talk plain http to a registry that is not on loopback (`--allow-http` of install). */
  allowHttpRegistry?: boolean;
}

export interface Target {
  manifest: Manifest;
  /** Where the manifest came from, for messages: a file path or `built-in bundle voice-assistant`. */
  source: string;
  dir: string;
  /** The registry or image-layout folder the manifest came from (`--manifest oci://...`), whose blobs are tried first. */
  bundleSource?: string | undefined;
}

/**
 * Resolves what a command works on: the manifest (a file, or a built-in bundle) and the install
 * dir (`--dir`, else `MODELHAUL_DIR`, else the bundle's folder in the user's data folder).
 */
export async function resolveTarget(options: TargetOptions, env: NodeJS.ProcessEnv = process.env): Promise<Target> {
  const { manifest, source, bundleSource } = await resolveManifest(options, env);
  return { manifest, source, dir: resolveDir(options.dir, manifest.name, env), bundleSource };
}

/**
 * The manifest a command works on: a file, a bundle in a registry (`oci://HOST/REPO:TAG`) or an
 * image-layout folder (`oci-layout:PATH`), or a built-in bundle.
 */
export async function resolveManifest(
  options: TargetOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ manifest: Manifest; source: string; bundleSource?: string | undefined }> {
  if (options.manifest !== undefined && options.bundle !== undefined) {
    throw new InstallError('MANIFEST_INVALID', 'Give either --manifest or --bundle, not both', {
      hint: 'Use --manifest FILE for your own manifest or --bundle NAME for a built-in one.',
    });
  }
  if (options.manifest !== undefined && isBundleReference(options.manifest)) {
    // Loaded only for a registry or layout: the network and OCI code stay out of a plain `status`.
    const { loadBundleReference } = await import('../oci/load-bundle-reference.js');
    const bundle = await loadBundleReference(options.manifest, { allowHttp: options.allowHttpRegistry ?? false, manifestAllowHttp: options.allowHttp ?? false, env });
    return { manifest: bundle.manifest, source: `${options.manifest} (${bundle.digest})`, bundleSource: options.manifest };
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

import path from 'node:path';

/**
 * Where modelhaul keeps its own files inside an install dir. Everything lives under one private
 * folder, `.modelhaul/`, on the same file system as the installed files, so that promoting a
 * verified file is a `rename`, never a copy (docs/rules.md rule 18).
 *
 * ```
 * <dir>/.modelhaul/lock                    who is writing into this dir
 * <dir>/.modelhaul/staging/<id>.partial    bytes being downloaded
 * <dir>/.modelhaul/staging/<id>.resume.json what of the partial is durable, and its validators
 * <dir>/.modelhaul/installed/<id>.json     what was verified when <id> was promoted
 * ```
 */
export interface InstallLayout {
  readonly dir: string;
  readonly privateDir: string;
  readonly stagingDir: string;
  readonly installedDir: string;
  readonly lockPath: string;
  partialPath(id: string): string;
  resumeRecordPath(id: string): string;
  installRecordPath(id: string): string;
  finalPath(relativePath: string): string;
}

export const PRIVATE_DIR_NAME = '.modelhaul';
export const PARTIAL_SUFFIX = '.partial';
export const RESUME_RECORD_SUFFIX = '.resume.json';

export function installLayout(dir: string): InstallLayout {
  const root = path.resolve(dir);
  const privateDir = path.join(root, PRIVATE_DIR_NAME);
  const stagingDir = path.join(privateDir, 'staging');
  const installedDir = path.join(privateDir, 'installed');
  return {
    dir: root,
    privateDir,
    stagingDir,
    installedDir,
    lockPath: path.join(privateDir, 'lock'),
    partialPath: (id) => path.join(stagingDir, id + PARTIAL_SUFFIX),
    resumeRecordPath: (id) => path.join(stagingDir, id + RESUME_RECORD_SUFFIX),
    installRecordPath: (id) => path.join(installedDir, id + '.json'),
    // Manifest paths are POSIX and already checked to stay inside the dir (manifest/path-safety).
    finalPath: (relativePath) => path.join(root, ...relativePath.split('/')),
  };
}

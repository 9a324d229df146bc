// Real temporary directories for tests that exercise the filesystem, and a cleanup that works even
// after a test made part of the tree read-only (to provoke EACCES) and failed before undoing it.
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A fresh, empty directory under the OS temp dir, named `modelhaul-<prefix>-XXXXXX`. */
export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `modelhaul-${prefix}-`));
}

/** Removes `dir` and everything below it; a missing `dir` is not an error. */
export async function removeTempDir(dir: string): Promise<void> {
  try {
    await restoreDirectoryPermissions(dir);
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return;
    throw error;
  }
  await rm(dir, { recursive: true, force: true });
}

/** {@link makeTempDir}, removed again when the test ends: `const dir = await useTempDir(t, 'x')`. */
export async function useTempDir(t: TestContext, prefix: string): Promise<string> {
  const dir = await makeTempDir(prefix);
  t.after(() => removeTempDir(dir));
  return dir;
}

/**
 * A fresh tmpfs of `mib` MiB mounted at `<temp dir>/disk`, unmounted and removed when the test
 * ends; undefined (and the test skipped with the reason) where mounting is not permitted.
 */
export async function useSmallDisk(t: TestContext, prefix: string, mib: number): Promise<{ work: string; disk: string } | undefined> {
  const work = await makeTempDir(prefix);
  const disk = join(work, 'disk');
  await mkdir(disk);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', disk], { encoding: 'utf8' });
  if (mounted.error !== undefined || mounted.status !== 0) {
    await removeTempDir(work);
    t.skip(`cannot mount a tmpfs here (needs root): ${mounted.error?.message ?? mounted.stderr.trim()}`);
    return undefined;
  }
  // One hook, so that the unmount surely comes before the removal. A child still running after a
  // failed assertion could keep the mount busy: then a lazy unmount.
  t.after(async () => {
    if (spawnSync('umount', [disk]).status !== 0) spawnSync('umount', ['-l', disk]);
    await removeTempDir(work);
  });
  return { work, disk };
}

// Deleting an entry needs write and search permission on its parent, so every directory is made
// accessible before the recursive removal. Each one is chmod-ed before it is listed, because an
// unreadable directory cannot be listed. Symlinks are not followed (Dirent describes the link).
async function restoreDirectoryPermissions(dir: string): Promise<void> {
  await chmod(dir, 0o700);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await restoreDirectoryPermissions(join(dir, entry.name));
  }
}

function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}

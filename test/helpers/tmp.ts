// Real temporary directories for tests that exercise the filesystem, and a cleanup that works even
// after a test made part of the tree read-only (to provoke EACCES) and failed before undoing it.
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
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

import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { hasErrorCode } from './fs-error.js';

/**
 * Makes a directory's entries (a create, rename or unlink inside it) durable. Windows has no
 * directory fsync, and some file systems refuse it (EINVAL, EISDIR); there the rename is as
 * durable as the platform makes it, which is the best anyone can do.
 */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    if (!hasErrorCode(error, 'EINVAL') && !hasErrorCode(error, 'EISDIR')) throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Writes a small file so that a crash leaves either the old content or the new, never a torn
 * mix: temp file in the same dir, fsync, rename over the target, fsync the dir
 * (docs/rules.md rule 21). `mode` is the new file's permissions (0o600 for one holding secrets).
 */
export async function writeFileAtomic(file: string, content: string, mode = 0o644): Promise<void> {
  const dir = path.dirname(file);
  // node:crypto is loaded on the first write rather than with this module: `status`, which reads
  // the records written here but writes nothing, then starts ~5 ms sooner.
  const { randomBytes } = await import('node:crypto');
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    renamed = true;
    await fsyncDir(dir);
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

/** Removes a file, treating "already gone" as success. */
export async function removeFile(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    if (!hasErrorCode(error, 'ENOENT')) throw error;
  }
}

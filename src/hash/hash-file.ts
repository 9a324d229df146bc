import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const READ_CHUNK = 4 * 1024 * 1024;

export interface HashFileOptions {
  signal?: AbortSignal;
  /** Called with the bytes hashed so far, after each read. */
  onProgress?: (bytes: number) => void;
}

/** The SHA-256 (hex) and length of a file, read once in large sequential chunks. */
export async function hashFile(file: string, options: HashFileOptions = {}): Promise<{ sha256: string; size: number }> {
  const handle = await open(file, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    let size = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, size);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
      options.onProgress?.(size);
    }
    return { sha256: hash.digest('hex'), size };
  } finally {
    await handle.close();
  }
}

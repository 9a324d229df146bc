// Puts the machine in the same state before every run, so that no contestant inherits the previous
// one's work: the previous download is already deleted, its dirty pages are flushed, the page
// cache is dropped (root only), and then the origin's file is read back into the cache. A warm
// origin stands in for a network that is not the bottleneck: what is measured is the client's
// own receiving, writing and hashing, which start cold for everyone.
import { execFile } from 'node:child_process';
import { open, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { CacheMode } from './options.js';

const run = promisify(execFile);
const WARM_CHUNK_BYTES = 4 * 1024 * 1024;

export class PageCache {
  private mode: CacheMode;
  /** Why the cache is not dropped, for the report; undefined while it is. */
  notDroppedBecause: string | undefined;

  constructor(mode: CacheMode) {
    this.mode = mode;
    this.notDroppedBecause = mode === 'drop' ? undefined : mode === 'flush' ? 'disabled by --no-drop-caches' : 'disabled for --smoke';
  }

  /** What happens before each run, for the report. */
  describe(): string {
    const flush = this.mode === 'none' ? 'no `sync`' : '`sync`';
    const drop = this.notDroppedBecause === undefined ? 'page cache dropped' : `page cache not dropped (${this.notDroppedBecause})`;
    return `${flush}, ${drop}`;
  }

  /** Flushes, drops the cache if allowed, and warms `originFiles`. */
  async settle(originFiles: readonly string[]): Promise<void> {
    if (this.mode !== 'none') await run('sync');
    if (this.mode === 'drop') await this.drop();
    for (const file of originFiles) await warm(file);
  }

  private async drop(): Promise<void> {
    try {
      await writeFile('/proc/sys/vm/drop_caches', '3\n');
    } catch (error) {
      // Not root, or a container with /proc/sys read-only: measure with a warm cache instead.
      this.mode = 'flush';
      this.notDroppedBecause = `not permitted here (${error instanceof Error ? error.message : String(error)})`;
    }
  }
}

async function warm(path: string): Promise<void> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(WARM_CHUNK_BYTES);
    let position = 0;
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return;
      position += bytesRead;
    }
  } finally {
    await file.close();
  }
}

import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod/mini';
import { writeFileAtomic } from '../store/durable-fs.js';
import { readJsonRecord } from '../store/json-record.js';
import { statIdentity } from '../store/install-record.js';
import { isSameFile } from '../store/file-identity.js';

/**
 * One verified file somewhere on this machine, as it was right after modelhaul promoted it. The
 * identity (size, nanosecond mtime, inode) ties the entry to that very file, as an install record
 * does: a file changed since no longer matches and its entry is dropped.
 */
export interface IndexedFile {
  /** Absolute path of the installed file. */
  path: string;
  sha256: string;
  size: number;
  mtimeNs: string;
  ino: string;
}

/** A file found in the index, and the index file that named it. */
export interface FoundFile extends IndexedFile {
  entryPath: string;
}

interface IndexEntry extends IndexedFile {
  format: 'modelhaul-machine-index';
  version: 1;
  recordedAt: string;
}

const entrySchema = z.object({
  format: z.literal('modelhaul-machine-index'),
  version: z.literal(1),
  path: z.string().check(z.minLength(1)),
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  size: z.int().check(z.positive()),
  mtimeNs: z.string().check(z.regex(/^\d+$/)),
  ino: z.string().check(z.regex(/^\d+$/)),
  recordedAt: z.string(),
});

/**
 * The files modelhaul has installed on this machine, by SHA-256, across install dirs and bundles:
 * what lets a second bundle copy a model the first one already has instead of downloading it.
 *
 * On disk, one small JSON file per installed file, `<dir>/<sha256>/<hash of its path>.json`,
 * written atomically: installs into different dirs never write the same entry, so they need no
 * lock between them. Entries are hints, never trusted for content (a copy is hashed before it is
 * promoted); an entry whose file is gone or changed is removed when it is read. Nothing here ever
 * fails an install: an index that cannot be read or written only means downloading.
 *
 * @example
 * ```ts
 * const index = new MachineIndex(path.join(dataDir, '.machine-index'));
 * await index.record(artifact.sha256, '/home/me/models/stt/ggml-base.en.bin');
 * const copies = await index.find(artifact.sha256, artifact.size);
 * ```
 */
export class MachineIndex {
  constructor(readonly dir: string) {}

  /** Records the file at `file` (absolute) as a verified copy of `sha256`; best effort. */
  async record(sha256: string, file: string, stats?: BigIntStats): Promise<void> {
    try {
      const identity = stats ?? (await statIdentity(file));
      if (!identity?.isFile()) return;
      const entry: IndexEntry = {
        format: 'modelhaul-machine-index',
        version: 1,
        path: path.resolve(file),
        sha256,
        size: Number(identity.size),
        mtimeNs: identity.mtimeNs.toString(),
        ino: identity.ino.toString(),
        recordedAt: new Date().toISOString(),
      };
      const entryPath = this.entryPath(sha256, entry.path);
      const existing = await readJsonRecord(entryPath, entrySchema);
      if (existing.state === 'ok' && sameFile(existing.record, entry)) return;
      await mkdir(path.dirname(entryPath), { recursive: true });
      await writeFileAtomic(entryPath, JSON.stringify(entry) + '\n');
    } catch {
      // A read-only or sandboxed data folder: this machine just cannot be a source next time.
    }
  }

  /**
   * The indexed files with this SHA-256 and size that are still the files that were verified
   * (same size, mtime and inode), removing the entries of those that are not.
   */
  async find(sha256: string, size: number): Promise<FoundFile[]> {
    const folder = path.join(this.dir, sha256);
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      return [];
    }
    const found: FoundFile[] = [];
    for (const name of names.filter((n) => n.endsWith('.json') && !n.startsWith('.'))) {
      const entryPath = path.join(folder, name);
      const read = await readJsonRecord(entryPath, entrySchema).catch(() => undefined);
      if (read?.state !== 'ok') {
        if (read?.state === 'corrupt') await removeIfUnchanged(entryPath, undefined);
        continue;
      }
      const entry = read.record;
      const stats = await statIdentity(entry.path).catch(() => undefined);
      const current = entry.sha256 === sha256 && entry.size === size && stillIndexedFile(entry, stats);
      if (current) found.push({ path: entry.path, sha256, size, mtimeNs: entry.mtimeNs, ino: entry.ino, entryPath });
      else await removeIfUnchanged(entryPath, entry);
    }
    return found;
  }

  /** Drops the entry that named a file whose copy did not hash right. */
  async forget(file: FoundFile): Promise<void> {
    await unlink(file.entryPath).catch(() => undefined);
  }

  private entryPath(sha256: string, file: string): string {
    const name = createHash('sha256').update(path.resolve(file)).digest('hex').slice(0, 32);
    return path.join(this.dir, sha256, `${name}.json`);
  }
}

/** True when `stats` still describes the file an entry was made for. */
export function stillIndexedFile(file: IndexedFile, stats: BigIntStats | undefined): boolean {
  // The one rule for "still the file that was recorded" (docs/rules.md rule 23).
  return stats !== undefined && isSameFile({ size: BigInt(file.size), mtimeNs: BigInt(file.mtimeNs), ino: BigInt(file.ino) }, stats);
}

/** Two index entries that name the same recorded file. */
function sameFile(a: Pick<IndexedFile, 'size' | 'mtimeNs' | 'ino'>, b: Pick<IndexedFile, 'size' | 'mtimeNs' | 'ino'>): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ino === b.ino;
}

/**
 * Removes a stale entry unless another install rewrote it since it was read (its file was
 * installed again): an index is shared by every install on the machine, with no lock.
 */
async function removeIfUnchanged(entryPath: string, seen: IndexEntry | undefined): Promise<void> {
  try {
    const now = await readFile(entryPath, 'utf8');
    if (seen !== undefined) {
      const parsed = entrySchema.safeParse(JSON.parse(now));
      if (!parsed.success || !sameFile(parsed.data, seen) || parsed.data.path !== seen.path) return;
    }
    await unlink(entryPath);
  } catch {
    // Gone already, or unreadable: nothing to clean.
  }
}

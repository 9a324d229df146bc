import type { BigIntStats } from 'node:fs';

/**
 * What tells one file from another at the same path without reading it: its size, its
 * modification time to the nanosecond and its inode (and its device, where that is known). A file
 * rewritten in place changes its mtime; a file put in place of another has another inode.
 *
 * @example
 * ```ts
 * const before = fileIdentity(await stat(file, { bigint: true }));
 * await hashFile(file);
 * if (!isSameFile(before, await stat(file, { bigint: true }))) throw new Error('changed while read');
 * ```
 */
export interface FileIdentity {
  size: bigint;
  mtimeNs: bigint;
  ino: bigint;
  /** Absent for an identity read back from an install record, which does not store it. */
  dev?: bigint;
}

/** The identity of the file `stats` describe. */
export function fileIdentity(stats: BigIntStats): FileIdentity {
  return { size: stats.size, mtimeNs: stats.mtimeNs, ino: stats.ino, dev: stats.dev };
}

/**
 * The one answer modelhaul gives to "is this still the file we installed (or examined)": `stats`
 * describe a regular file with exactly this size, modification time and inode (and device, when
 * `expected` has one). `status`, `gc`, `remove`, `install`, `import` and the install lock all ask
 * it this way (docs/rules.md rule 23), so that none of them trusts a file another calls changed.
 */
export function isSameFile(expected: FileIdentity, stats: BigIntStats): boolean {
  return (
    stats.isFile() &&
    stats.size === expected.size &&
    stats.mtimeNs === expected.mtimeNs &&
    stats.ino === expected.ino &&
    (expected.dev === undefined || stats.dev === expected.dev)
  );
}

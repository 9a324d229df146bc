import { stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import * as z from 'zod/mini';
import type { Artifact } from '../manifest/types.js';
import { readJsonRecord, type RecordRead } from './json-record.js';
import { writeFileAtomic } from './durable-fs.js';
import { hasErrorCode } from './fs-error.js';
import { isSameFile, type FileIdentity } from './file-identity.js';

/**
 * What modelhaul verified when it promoted a file. `status` compares it with `stat()` of the
 * file to answer "installed" with no hashing and no network; a file whose size, mtime or inode
 * moved since is reported as changed rather than trusted (docs/rules.md rule 23).
 */
export interface InstallRecord {
  format: 'modelhaul-installed';
  version: 1;
  id: string;
  path: string;
  url: string;
  size: number;
  sha256: string;
  /** Nanosecond mtime and inode as decimal strings: both can exceed 2^53. */
  mtimeNs: string;
  ino: string;
  verifiedAt: string;
}

const installRecordSchema = z.object({
  format: z.literal('modelhaul-installed'),
  version: z.literal(1),
  id: z.string().check(z.minLength(1)),
  path: z.string().check(z.minLength(1)),
  url: z.string(),
  size: z.int().check(z.positive()),
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  mtimeNs: z.string().check(z.regex(/^\d+$/)),
  ino: z.string().check(z.regex(/^\d+$/)),
  verifiedAt: z.string(),
});

export function readInstallRecord(file: string): Promise<RecordRead<InstallRecord>> {
  return readJsonRecord(file, installRecordSchema);
}

export async function writeInstallRecord(file: string, record: InstallRecord): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(record) + '\n');
}

/** Reads the identity of a file as an install record stores it; undefined when there is no file. */
export async function statIdentity(file: string): Promise<BigIntStats | undefined> {
  try {
    return await stat(file, { bigint: true });
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT') || hasErrorCode(error, 'ENOTDIR')) return undefined;
    throw error;
  }
}

/** The identity of the file as it was right after it was verified and promoted. */
export function recordedIdentity(record: InstallRecord): FileIdentity {
  return { size: BigInt(record.size), mtimeNs: BigInt(record.mtimeNs), ino: BigInt(record.ino) };
}

/** True when the file on disk is, as far as metadata can tell, the one that was verified. */
export function recordMatchesFile(record: InstallRecord, stats: BigIntStats): boolean {
  return isSameFile(recordedIdentity(record), stats);
}

/** The record of a file verified to have `sha256`, tied to the file by its current identity. */
export function installRecordFor(artifact: Artifact, sha256: string, stats: BigIntStats): InstallRecord {
  return {
    format: 'modelhaul-installed',
    version: 1,
    id: artifact.id,
    path: artifact.path,
    url: artifact.url,
    size: artifact.size,
    sha256,
    mtimeNs: stats.mtimeNs.toString(),
    ino: stats.ino.toString(),
    verifiedAt: new Date().toISOString(),
  };
}

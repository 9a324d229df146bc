// Where the benchmark keeps its files: the origin's test files and every contestant's download sit
// in one temp dir on a real disk. On tmpfs a "download" would be a memory copy and the durable
// floor (curl + sync) would cost nothing, so a tmpfs temp dir is traded for `.bench/` in the repo.
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// statfs(2) f_type values of file systems that live in memory.
const MEMORY_FILE_SYSTEMS = new Map([
  [0x01021994, 'tmpfs'],
  [0x858458f6, 'ramfs'],
]);

export interface Workspace {
  root: string;
  /** The directory nginx serves. */
  originDir: string;
  /** Where contestants download to; one subdirectory per run, removed after it. */
  workDir: string;
  /** Why this root was chosen, for the report. */
  note: string;
  remove(): Promise<void>;
}

export interface Fixture {
  /** The name under the origin's root, also its URL path without the leading slash. */
  name: string;
  path: string;
  size: number;
  sha256: string;
}

/** Makes a fresh workspace and checks that it has room for `bytesNeeded`. */
export async function createWorkspace(repoRoot: string, bytesNeeded: number): Promise<Workspace> {
  const { parent, note } = await chooseParent(repoRoot);
  const root = await mkdtemp(join(parent, 'modelhaul-bench-'));
  const originDir = join(root, 'origin');
  const workDir = join(root, 'work');
  await mkdir(originDir);
  await mkdir(workDir);
  const stats = await statfs(root);
  const available = Number(stats.bavail) * Number(stats.bsize);
  if (available < bytesNeeded) {
    await rm(root, { recursive: true, force: true });
    throw new Error(`${parent} has ${formatGiB(available)} free; the benchmark needs about ${formatGiB(bytesNeeded)} (use smaller --size/--large-size)`);
  }
  return { root, originDir, workDir, note, remove: () => rm(root, { recursive: true, force: true }) };
}

async function chooseParent(repoRoot: string): Promise<{ parent: string; note: string }> {
  const temp = tmpdir();
  const kind = MEMORY_FILE_SYSTEMS.get(Number((await statfs(temp)).type));
  if (kind === undefined) return { parent: temp, note: `${temp} (a disk file system, not tmpfs)` };
  const parent = join(repoRoot, '.bench', 'tmp');
  await mkdir(parent, { recursive: true });
  return { parent, note: `${parent} (${temp} is ${kind}, which would skip the disk)` };
}

const GENERATE_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * Writes `size` deterministic, incompressible bytes and returns their SHA-256. The bytes are an
 * AES-256-CTR keystream under a key made from `seed`: standard (the same file on every machine
 * and Node version) and several GB/s with AES-NI, so a 4 GiB file takes seconds.
 */
export async function generateFixture(dir: string, size: number, seed: string): Promise<Fixture> {
  const name = `${seed}-${size}.bin`;
  const path = join(dir, name);
  const key = createHash('sha256').update(`modelhaul-bench:${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(GENERATE_CHUNK_BYTES);
  const hash = createHash('sha256');
  const file = await open(path, 'wx');
  try {
    for (let offset = 0; offset < size; offset += GENERATE_CHUNK_BYTES) {
      const length = Math.min(GENERATE_CHUNK_BYTES, size - offset);
      const chunk = cipher.update(zeros.subarray(0, length));
      hash.update(chunk);
      await file.write(chunk, 0, chunk.length, offset);
    }
  } finally {
    await file.close();
  }
  return { name, path, size, sha256: hash.digest('hex') };
}

function formatGiB(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

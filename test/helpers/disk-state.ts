// Reads an install dir from outside, the way a crash leaves it, and checks modelhaul's promise
// against the bytes actually there: every final path is absent or holds exactly the expected
// file, every install record describes a file that is really there and right, and every resume
// record claims only bytes that the partial file holds and that equal the expected content at
// those offsets. Used after every SIGKILL of the crash soak and by the full-disk and permission
// tests. It reads files, never trusts sizes alone, and knows the on-disk layout as a contract
// (`.modelhaul/staging/<id>.partial`, `<id>.resume.json`, `.modelhaul/installed/<id>.json`).
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from './content.js';
import { dirPaths, type DirPaths } from './install-dir.js';

/** An artifact as the test knows it: where it goes and the exact bytes it must end up with. */
export interface ExpectedArtifact {
  id: string;
  /** The manifest path, POSIX, relative to the install dir. */
  path: string;
  body: Buffer;
}

export interface ArtifactDiskState {
  id: string;
  /** What is at the final path. */
  final: 'absent' | 'correct' | 'wrong';
  installRecord: 'absent' | 'valid' | 'invalid';
  /** The resume record: absent, unreadable, or the bytes it claims by segment. */
  resume: 'absent' | 'corrupt' | { segments: Array<{ start: number; end: number; done: number }>; claimed: number };
  /** Size of the partial file, undefined when there is none. */
  partialBytes: number | undefined;
  /**
   * Bytes the next run can reuse without fetching them again: the whole file when the right file
   * is in place (with or without its install record), else what the resume record claims.
   */
  reusableBytes: number;
}

export interface DirInspection {
  artifacts: ArtifactDiskState[];
  /** Broken promises, each a sentence naming the artifact and what is wrong; empty when all hold. */
  violations: string[];
  /** Temp files of interrupted atomic writes (`.<name>.<hex>.tmp`) in the private folders. */
  tempFiles: string[];
  /** Every entry of the staging folder, temp files included. */
  stagingEntries: string[];
}

/** Reads `dir` and checks the invariant for each of `expected`. Never throws for what it finds. */
export async function inspectInstallDir(dir: string, expected: readonly ExpectedArtifact[]): Promise<DirInspection> {
  const paths = dirPaths(dir);
  const staging = paths.stagingDir;
  const installed = paths.installedDir;
  const violations: string[] = [];
  const artifacts: ArtifactDiskState[] = [];
  for (const artifact of expected) {
    artifacts.push(await inspectArtifact(dir, paths, artifact, violations));
  }
  const stagingEntries = await listDir(staging);
  const tempFiles = [...stagingEntries.map((name) => join(staging, name)), ...(await listDir(installed)).map((name) => join(installed, name))].filter(
    (file) => /\.tmp$/.test(file),
  );
  return { artifacts, violations, tempFiles, stagingEntries };
}

async function inspectArtifact(
  dir: string,
  paths: DirPaths,
  artifact: ExpectedArtifact,
  violations: string[],
): Promise<ArtifactDiskState> {
  const { id, body } = artifact;
  const expectedSha = sha256Hex(body);
  const finalPath = join(dir, ...artifact.path.split('/'));
  const problem = (text: string): void => {
    violations.push(`${id}: ${text}`);
  };

  // 1. The final path: absent, or exactly the expected bytes. Anything else is the one outcome
  //    modelhaul promises never to produce.
  let final: ArtifactDiskState['final'] = 'absent';
  const finalStats = await lstat(finalPath).catch(() => undefined);
  if (finalStats !== undefined) {
    if (!finalStats.isFile()) {
      final = 'wrong';
      problem(`${artifact.path} exists but is not a regular file`);
    } else {
      const content = await readFile(finalPath);
      final = content.equals(body) ? 'correct' : 'wrong';
      if (final === 'wrong') problem(`${artifact.path} holds ${content.length} bytes with SHA-256 ${sha256Hex(content)}, expected ${body.length} bytes with ${expectedSha}`);
    }
  }

  // 2. An install record vouches for a file: that file must be there, be right, and be the very
  //    file (inode, size) the record describes.
  let installRecord: ArtifactDiskState['installRecord'] = 'absent';
  const recordText = await readFile(paths.installRecord(id), 'utf8').catch(() => undefined);
  if (recordText !== undefined) {
    const record = parseJson(recordText);
    const valid =
      record !== undefined &&
      record.sha256 === expectedSha &&
      record.size === body.length &&
      record.path === artifact.path &&
      final === 'correct' &&
      finalStats !== undefined &&
      String(finalStats.ino) === record.ino;
    installRecord = valid ? 'valid' : 'invalid';
    if (!valid) problem(`the install record claims ${artifact.path} is installed, but the file is ${final}${record === undefined ? ' and the record is not JSON' : ''}`);
  }

  // 3. The resume record claims bytes of the partial file: they must be in the file and equal the
  //    expected content at the same offsets. A record is written atomically, so it must always parse.
  let partialBytes: number | undefined;
  let partial: Buffer | undefined;
  const partialPath = paths.partial(id);
  const partialStats = await lstat(partialPath).catch(() => undefined);
  if (partialStats !== undefined) {
    if (!partialStats.isFile()) problem('the partial download is not a regular file');
    else {
      partial = await readFile(partialPath);
      partialBytes = partial.length;
    }
  }
  let resume: ArtifactDiskState['resume'] = 'absent';
  const resumeText = await readFile(paths.resumeRecord(id), 'utf8').catch(() => undefined);
  if (resumeText !== undefined) {
    const record = parseJson(resumeText);
    const segments = record !== undefined ? segmentsOf(record.segments) : undefined;
    if (record === undefined || segments === undefined) {
      resume = 'corrupt';
      problem(`the resume record is not a valid record: ${JSON.stringify(resumeText.slice(0, 200))}`);
    } else {
      const claimed = segments.reduce((sum, s) => sum + s.done, 0);
      resume = { segments, claimed };
      if (record.sha256 !== expectedSha || record.size !== body.length) problem('the resume record was made for another file');
      if (claimed > 0) {
        if (partial === undefined) {
          // Between the rename into place and the removal of the record, the record outlives the
          // partial; the bytes it claims are then in the final file, which must be right.
          if (final !== 'correct') problem(`the resume record claims ${claimed} bytes but there is no partial file and no correct final file`);
        } else {
          for (const segment of segments) {
            if (segment.done === 0) continue;
            const from = segment.start;
            const to = segment.start + segment.done;
            if (to > partial.length) {
              problem(`the resume record claims bytes ${from}-${to - 1} but the partial file holds only ${partial.length} bytes`);
            } else if (!partial.subarray(from, to).equals(body.subarray(from, to))) {
              problem(`the resume record claims bytes ${from}-${to - 1}, which differ from the expected content (first difference at ${firstDifference(partial.subarray(from, to), body.subarray(from, to)) + from})`);
            }
          }
        }
      }
    }
  }

  const reusableBytes = final === 'correct' ? body.length : typeof resume === 'object' ? resume.claimed : 0;
  return { id, final, installRecord, resume, partialBytes, reusableBytes };
}

interface LooseRecord {
  sha256?: unknown;
  size?: unknown;
  path?: unknown;
  ino?: unknown;
  segments?: unknown;
}

function parseJson(text: string): LooseRecord | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

function segmentsOf(value: unknown): Array<{ start: number; end: number; done: number }> | undefined {
  if (!Array.isArray(value)) return undefined;
  const segments: Array<{ start: number; end: number; done: number }> = [];
  for (const item of value) {
    const { start, end, done } = (item ?? {}) as Record<string, unknown>;
    if (typeof start !== 'number' || typeof end !== 'number' || typeof done !== 'number') return undefined;
    if (done < 0 || done > end - start) return undefined;
    segments.push({ start, end, done });
  }
  return segments;
}

function firstDifference(a: Buffer, b: Buffer): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return Math.min(a.length, b.length);
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

// What the end-to-end tests need to look at an install dir from outside: where modelhaul keeps its
// files (the on-disk layout is part of the contract: another process resumes from it), the resume
// record as JSON, and a way to wait for something on disk without a fixed sleep.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { ManifestArtifact } from './cli.js';

export interface DirPaths {
  privateDir: string;
  stagingDir: string;
  installedDir: string;
  lock: string;
  partial(id: string): string;
  resumeRecord(id: string): string;
  installRecord(id: string): string;
}

export function dirPaths(dir: string): DirPaths {
  const privateDir = join(dir, '.modelhaul');
  const stagingDir = join(privateDir, 'staging');
  const installedDir = join(privateDir, 'installed');
  return {
    privateDir,
    stagingDir,
    installedDir,
    lock: join(privateDir, 'lock'),
    partial: (id) => join(stagingDir, `${id}.partial`),
    resumeRecord: (id) => join(stagingDir, `${id}.resume.json`),
    installRecord: (id) => join(installedDir, `${id}.json`),
  };
}

/** The fields of a resume record the tests rely on. */
export interface ResumeRecordJson {
  format: string;
  version: number;
  id: string;
  size: number;
  sha256: string;
  /** The location the validators came from (version 2). */
  validatorsFrom?: string;
  etag?: string;
  segments: Array<{ start: number; end: number; done: number }>;
  /** Which source wrote which durable bytes (version 2). */
  sources?: Array<{ start: number; end: number; source: string }>;
}

export async function readResumeRecord(path: string): Promise<ResumeRecordJson | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as ResumeRecordJson;
  } catch {
    // Absent, or caught between two atomic writes on a file system without atomic rename (never
    // on Linux); the caller polls again.
    return undefined;
  }
}

/** Bytes a resume record vouches for. */
export function recordedBytes(record: ResumeRecordJson): number {
  return record.segments.reduce((sum, segment) => sum + segment.done, 0);
}

/** The highest byte offset a record claims is on disk: the partial file must be at least this long. */
export function recordedExtent(record: ResumeRecordJson): number {
  return Math.max(0, ...record.segments.filter((s) => s.done > 0).map((s) => s.start + s.done));
}


export async function sizeOf(path: string): Promise<number> {
  return (await stat(path)).size;
}

/** Polls `probe` every 20 ms until it returns a value other than undefined. */
export async function waitUntil<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(20);
  }
}



/** Lines of a Node stack trace ("    at fn (file:1:2)"): the CLI must never print one to a person. */
export function stackTraceLines(text: string): string[] {
  return text.split('\n').filter((line) => /^\s+at /.test(line));
}

/**
 * A resume record as modelhaul writes it, spelled out field by field rather than built by the
 * engine's own code, so that a test planting one also pins the on-disk format: one segment over
 * the whole file with `done` bytes claimed, and `overrides` for what a case changes.
 */
export function resumeRecordFor(artifact: ManifestArtifact, done: number, overrides: object = {}): object {
  return {
    format: 'modelhaul-resume',
    version: 1,
    id: artifact.id,
    url: artifact.url,
    size: artifact.size,
    sha256: artifact.sha256,
    segments: [{ start: 0, end: artifact.size, done }],
    updatedAt: new Date().toISOString(),
    ...overrides,
  };
}

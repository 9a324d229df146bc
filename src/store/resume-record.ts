import * as z from 'zod';
import type { Artifact } from '../manifest/types.js';
import { readJsonRecord, type RecordRead } from './json-record.js';
import { writeFileAtomic } from './durable-fs.js';

/**
 * One byte range of a partial file: `[start, end)` of the artifact, of which the first `done`
 * bytes are durably on disk. A single-stream download has one segment covering the whole file;
 * a segmented download has several that partition it.
 */
export interface Segment {
  start: number;
  end: number;
  done: number;
}

/**
 * What modelhaul remembers about a partial download between runs. It never claims more bytes than
 * have been fdatasync'ed (RESUME-SEMANTICS rule 21), and it is tied to the artifact it was made
 * for: a record whose url, size or sha256 differ from the manifest's is discarded.
 */
export interface ResumeRecord {
  format: 'modelhaul-resume';
  version: 1;
  id: string;
  /** The manifest URL, never a redirect target: signed CDN URLs expire (rule 13). */
  url: string;
  size: number;
  sha256: string;
  /** Validators exactly as the server sent them with the bytes on disk. */
  etag?: string | undefined;
  lastModified?: string | undefined;
  date?: string | undefined;
  segments: Segment[];
  updatedAt: string;
}

const segmentSchema = z.object({
  start: z.number().int().nonnegative(),
  end: z.number().int().positive(),
  done: z.number().int().nonnegative(),
});

const resumeRecordSchema = z
  .object({
    format: z.literal('modelhaul-resume'),
    version: z.literal(1),
    id: z.string().min(1),
    url: z.string().min(1),
    size: z.number().int().positive(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    etag: z.string().optional(),
    lastModified: z.string().optional(),
    date: z.string().optional(),
    segments: z.array(segmentSchema).min(1),
    updatedAt: z.string(),
  })
  .refine((record) => segmentsPartition(record.segments, record.size), {
    message: 'segments do not partition the file',
    path: ['segments'],
  });

/** True when the segments are in order, touch end to end, cover `[0, size)` and claim no more than they span. */
export function segmentsPartition(segments: readonly Segment[], size: number): boolean {
  let expectedStart = 0;
  for (const segment of segments) {
    if (segment.start !== expectedStart || segment.end <= segment.start) return false;
    if (segment.done > segment.end - segment.start) return false;
    expectedStart = segment.end;
  }
  return expectedStart === size;
}

/** Bytes of the artifact durably on disk according to these segments. */
export function durableBytes(segments: readonly Segment[]): number {
  return segments.reduce((sum, segment) => sum + segment.done, 0);
}

export function newResumeRecord(artifact: Artifact): ResumeRecord {
  return {
    format: 'modelhaul-resume',
    version: 1,
    id: artifact.id,
    url: artifact.url,
    size: artifact.size,
    sha256: artifact.sha256,
    segments: [{ start: 0, end: artifact.size, done: 0 }],
    updatedAt: new Date().toISOString(),
  };
}

/** True when a record was made for exactly this artifact (same URL, size and SHA-256). */
export function recordMatchesArtifact(record: ResumeRecord, artifact: Artifact): boolean {
  return (
    record.id === artifact.id &&
    record.url === artifact.url &&
    record.size === artifact.size &&
    record.sha256 === artifact.sha256
  );
}

export function readResumeRecord(file: string): Promise<RecordRead<ResumeRecord>> {
  return readJsonRecord(file, resumeRecordSchema as z.ZodType<ResumeRecord>);
}

export async function writeResumeRecord(file: string, record: ResumeRecord): Promise<void> {
  await writeFileAtomic(file, JSON.stringify({ ...record, updatedAt: new Date().toISOString() }) + '\n');
}

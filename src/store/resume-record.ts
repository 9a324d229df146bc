import * as z from 'zod/mini';
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
 * Bytes `[start, end)` of a partial file came from `source` (a source's name, as in events).
 * Kept so that a SHA-256 mismatch can be blamed on the source that served the bytes, and only
 * its bytes discarded.
 */
export interface SourceSpan {
  start: number;
  end: number;
  source: string;
}

/**
 * What modelhaul remembers about a partial download between runs. It never claims more bytes than
 * have been fdatasync'ed (docs/rules.md rule 21). It is tied to the content, not to a URL: a
 * record is used for an artifact with the same id, SHA-256 and size whatever URL or source the
 * bytes came from (the bytes of a digest are the same everywhere), and discarded otherwise.
 */
export interface ResumeRecord {
  format: 'modelhaul-resume';
  version: 2;
  id: string;
  size: number;
  sha256: string;
  /**
   * The location that sent the validators below (a source's URL for this artifact, never a
   * redirect target): they are sent back as `If-Range` only to that same location.
   */
  validatorsFrom?: string | undefined;
  /** Validators exactly as the source sent them with the bytes on disk. */
  etag?: string | undefined;
  lastModified?: string | undefined;
  date?: string | undefined;
  segments: Segment[];
  /** Which source served which durable bytes; bytes not listed came from an unknown source. */
  sources: SourceSpan[];
  updatedAt: string;
}

const segmentSchema = z.object({
  start: z.int().check(z.nonnegative()),
  end: z.int().check(z.positive()),
  done: z.int().check(z.nonnegative()),
});

const sourceSpanSchema = z.object({
  start: z.int().check(z.nonnegative()),
  end: z.int().check(z.positive()),
  source: z.string().check(z.minLength(1)),
});

const common = {
  format: z.literal('modelhaul-resume'),
  id: z.string().check(z.minLength(1)),
  size: z.int().check(z.positive()),
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  etag: z.optional(z.string()),
  lastModified: z.optional(z.string()),
  date: z.optional(z.string()),
  segments: z.array(segmentSchema).check(z.minLength(1)),
  updatedAt: z.string(),
};

const versionTwo = z.object({
  ...common,
  version: z.literal(2),
  validatorsFrom: z.optional(z.string()),
  sources: z.array(sourceSpanSchema).check(z.maxLength(10_000)),
});

// Version 1 (modelhaul 0.1) tied a record to the manifest URL; its validators came from that URL
// and so did its bytes. Read as version 2 so that upgrading modelhaul costs no partial download.
const versionOne = z.pipe(
  z.object({ ...common, version: z.literal(1), url: z.string().check(z.minLength(1)) }),
  z.transform(({ url, version: _version, ...rest }): ResumeRecord => ({
    ...rest,
    version: 2,
    validatorsFrom: url,
    sources: rest.segments.filter((s) => s.done > 0).map((s) => ({ start: s.start, end: s.start + s.done, source: originOf(url) })),
  })),
);

const resumeRecordSchema = z.discriminatedUnion('version', [versionTwo, versionOne]).check(
  z.refine((record) => segmentsPartition(record.segments, record.size), {
    message: 'segments do not partition the file',
    path: ['segments'],
  }),
);

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
    version: 2,
    id: artifact.id,
    size: artifact.size,
    sha256: artifact.sha256,
    segments: [{ start: 0, end: artifact.size, done: 0 }],
    sources: [],
    updatedAt: new Date().toISOString(),
  };
}

/**
 * True when a record was made for this artifact's content: same id (the staging file's name),
 * SHA-256 and size. The URL does not matter: a manifest that moves a file to another host, or a
 * mirror that serves it, continues the same partial download.
 */
export function recordMatchesArtifact(record: ResumeRecord, artifact: Artifact): boolean {
  return record.id === artifact.id && record.size === artifact.size && record.sha256 === artifact.sha256;
}

export function readResumeRecord(file: string): Promise<RecordRead<ResumeRecord>> {
  return readJsonRecord(file, resumeRecordSchema as z.ZodMiniType<ResumeRecord>);
}

export async function writeResumeRecord(file: string, record: ResumeRecord): Promise<void> {
  await writeFileAtomic(file, JSON.stringify({ ...record, updatedAt: new Date().toISOString() }) + '\n');
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

import type { FileHandle } from 'node:fs/promises';
import type { Artifact } from '../manifest/types.js';
import type { InstallEvent } from '../events.js';
import type { InstallLayout } from '../store/layout.js';
import { newResumeRecord, readResumeRecord, writeResumeRecord, type ResumeRecord } from '../store/resume-record.js';
import { createPartial, discardPartial, judgePartial, openExistingPartial } from '../store/partial-file.js';
import { fsError } from '../store/fs-error.js';
import type { ResponseHeaders } from '../http/open-response.js';
import { chooseIfRange } from '../http/validators.js';
import { PrefixHasher } from '../hash/prefix-hasher.js';
import { WorkerHasher } from '../hash/worker-hasher.js';
import type { FileHasher } from '../hash/file-hasher.js';
import { SegmentTable } from './segments.js';
import { SourceSpans } from './source-spans.js';

/** Files at least this large are hashed on a worker thread. */
const WORKER_HASH_MIN_BYTES = 16 * 1024 * 1024;

/**
 * The partial file of one artifact and everything known about its bytes: which ranges are written
 * and durable (segments), which source wrote them (spans), the validators they came with (the
 * resume record) and the running SHA-256. It is opened from what an earlier run left when that
 * can be trusted, and from zero otherwise.
 */
export class PartialDownload {
  readonly partialPath: string;
  readonly recordPath: string;
  file!: FileHandle;
  record!: ResumeRecord;
  segments!: SegmentTable;
  spans!: SourceSpans;
  hasher!: FileHasher;
  /** Bytes from an earlier run this one continues from (0 once they were discarded). */
  resumedFrom = 0;

  private constructor(readonly artifact: Artifact, layout: InstallLayout) {
    this.partialPath = layout.partialPath(artifact.id);
    this.recordPath = layout.resumeRecordPath(artifact.id);
  }

  /**
   * Opens the artifact's partial download: the file and record of an earlier run when the record
   * is for this content (same id, SHA-256 and size, whatever URL it came from) and consistent
   * with the file, otherwise a new empty file (announcing discarded bytes with a `restart` event).
   */
  static async open(artifact: Artifact, layout: InstallLayout, emit: (event: InstallEvent) => void): Promise<PartialDownload> {
    const partial = new PartialDownload(artifact, layout);
    await partial.openOrCreate(emit);
    partial.hasher = partial.createHasher();
    return partial;
  }

  private async openOrCreate(emit: (event: InstallEvent) => void): Promise<void> {
    const read = await readResumeRecord(this.recordPath);
    const existing = await openExistingPartial(this.partialPath, this.artifact.id);
    if (read.state === 'ok' && existing) {
      const fileSize = Number((await existing.stat()).size);
      const consistent = judgePartial(read, this.artifact, await existing.stat({ bigint: true })).usable;
      if (consistent) {
        this.file = existing;
        this.record = read.record;
        this.segments = new SegmentTable(this.artifact.size, read.record.segments);
        this.spans = new SourceSpans(read.record.sources);
        // A single stream's file is cut back to what the record vouches for (docs/rules.md rule 21); segmented
        // files keep their holes, whose bytes are rewritten before anyone reads them.
        const only = read.record.segments.length === 1 ? read.record.segments[0] : undefined;
        if (only && fileSize > only.done) await this.truncate(only.done);
        // Bytes past the artifact's end belong to no segment and would never be rewritten: left
        // there, every run would end in SIZE_MISMATCH at promotion.
        else if (fileSize > this.artifact.size) await this.truncate(this.artifact.size);
        this.resumedFrom = this.segments.durableBytes;
        return;
      }
    }
    const discarded = existing ? Number((await existing.stat()).size) : 0;
    await existing?.close();
    if (read.state === 'corrupt' || (read.state === 'ok' && discarded > 0)) {
      emit({
        event: 'restart',
        id: this.artifact.id,
        reason: read.state === 'corrupt' ? `resume record unreadable (${read.reason})` : 'resume record does not match the manifest or the partial file',
        discardedBytes: discarded,
        bytesKept: 0,
      });
    }
    await discardPartial(this.partialPath, this.recordPath).catch((error: unknown) => {
      throw fsError(error, 'remove an outdated partial download', this.partialPath, this.artifact.id);
    });
    this.file = await createPartial(this.partialPath, this.artifact.id);
    this.record = newResumeRecord(this.artifact);
    this.segments = new SegmentTable(this.artifact.size, this.record.segments);
    this.spans = new SourceSpans();
  }

  /**
   * Large files are hashed on a worker thread, off the thread that receives and writes (the one
   * that bounds a single stream's speed); small ones on this thread, where starting a worker
   * would cost more than the hashing.
   */
  private createHasher(): FileHasher {
    if (this.artifact.size >= WORKER_HASH_MIN_BYTES) {
      try {
        return new WorkerHasher(this.partialPath, this.artifact.size, () => this.segments.contiguousWrittenEnd());
      } catch {
        // No worker threads here (a restricted embedding): hash on this thread instead.
      }
    }
    return new PrefixHasher(this.file, this.artifact.size, this.segments);
  }

  /** The `If-Range` value for a request to a location, only if the validators came from it. */
  ifRangeFor(validatorsFrom: string): string | undefined {
    return this.record.validatorsFrom === validatorsFrom ? chooseIfRange(this.record) : undefined;
  }

  /** Keeps a response's validators, with the location that sent them, for the next resume. */
  adoptValidators(validatorsFrom: string, headers: ResponseHeaders): void {
    this.record.validatorsFrom = validatorsFrom;
    this.record.etag = headers.etag;
    this.record.lastModified = headers['last-modified'];
    this.record.date = headers.date;
  }

  /**
   * Forgets every byte: the record is rewritten to claim nothing before the file is cut back, so
   * a crash in between cannot leave a record claiming bytes the file no longer has. The caller
   * stops checkpoints first. Returns how many written bytes were discarded.
   */
  async reset(): Promise<number> {
    const discarded = this.segments.writtenBytes;
    this.segments.resetToEmpty();
    this.spans.clear();
    // Before the cut: a hasher reading back must never take the shortened file for data.
    this.hasher.reset();
    this.record = newResumeRecord(this.artifact);
    await this.writeRecord();
    await this.truncate(0);
    this.resumedFrom = 0;
    return discarded;
  }

  /**
   * Forgets the bytes `source` wrote, keeping everyone else's: their ranges become holes to fetch
   * again. As with {@link reset}, the record stops claiming them before anything overwrites them.
   */
  async forgetSource(source: string): Promise<number> {
    let forgotten = 0;
    for (const span of this.spans.of(source)) forgotten += this.segments.forgetRange(span.start, span.end);
    this.spans.drop(source);
    this.hasher.reset();
    this.record.segments = this.segments.durableSnapshot();
    this.record.sources = this.spans.within(this.record.segments);
    await this.writeRecord();
    this.resumedFrom = Math.min(this.resumedFrom, this.segments.durableBytes);
    return forgotten;
  }

  /** Removes the partial file and its record: bytes of the wrong file are worth nothing. */
  async discardFiles(): Promise<void> {
    await discardPartial(this.partialPath, this.recordPath).catch(() => undefined);
    this.segments.resetToEmpty();
    this.spans.clear();
  }

  async writeRecord(): Promise<void> {
    try {
      await writeResumeRecord(this.recordPath, this.record);
    } catch (error) {
      throw fsError(error, 'write the resume record', this.recordPath, this.artifact.id);
    }
  }

  async truncate(length: number): Promise<void> {
    try {
      await this.file.truncate(length);
    } catch (error) {
      throw fsError(error, 'truncate the partial download', this.partialPath, this.artifact.id);
    }
  }

  async digest(): Promise<string> {
    try {
      return await this.hasher.digest();
    } catch (error) {
      throw fsError(error, 'read back the partial download to hash it', this.partialPath, this.artifact.id);
    }
  }
}

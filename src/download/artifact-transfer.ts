import type { FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { InstallError } from '../errors.js';
import type { Artifact } from '../manifest/types.js';
import type { InstallEvent } from '../events.js';
import type { InstallLayout } from '../store/layout.js';
import {
  newResumeRecord,
  readResumeRecord,
  recordMatchesArtifact,
  writeResumeRecord,
  type ResumeRecord,
} from '../store/resume-record.js';
import { fsError } from '../store/fs-error.js';
import { openResponse, discard, type OpenedResponse } from '../http/open-response.js';
import { networkError } from '../http/network-error.js';
import { abortedError } from '../errors.js';
import { chooseIfRange } from '../http/validators.js';
import { retryDelayMs } from '../http/retry-delay.js';
import type { Dispatchers } from '../http/dispatchers.js';
import type { Credentials } from '../http/credentials.js';
import { checkResponse, type RangeRequest } from './check-response.js';
import { createPartial, discardPartial, openExistingPartial } from '../store/partial-file.js';
import { PrefixHasher } from '../hash/prefix-hasher.js';
import { WorkerHasher } from '../hash/worker-hasher.js';
import type { FileHasher } from '../hash/file-hasher.js';
import { PositionalWriter } from './positional-writer.js';
import { ProgressMeter } from './progress-meter.js';
import { SegmentTable, type LiveSegment } from './segments.js';

/** Tuning of one artifact's download; the install options fill these in. */
export interface TransferSettings {
  retries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Most connections for one file; 1 is a single stream. */
  connections: number;
  /** A file is split between connections only in pieces at least this large. */
  minSegmentBytes: number;
  /**
   * Make the written bytes durable and record them at least every this many bytes; undefined
   * chooses 0.5% of the file, between 4 and 64 MiB, which bounds what a crash costs to re-fetch.
   */
  checkpointBytes: number | undefined;
  /** ...or this often, whichever comes first. */
  checkpointIntervalMs: number;
  allowHttp: boolean;
  userAgent: string;
}

export interface TransferContext {
  artifact: Artifact;
  layout: InstallLayout;
  dispatchers: Dispatchers;
  credentials: Credentials | undefined;
  signal: AbortSignal;
  settings: TransferSettings;
  emit: (event: InstallEvent) => void;
}

/** A downloaded, verified partial file, ready to be promoted. */
export interface VerifiedPartial {
  file: FileHandle;
  sha256: string;
  resumedFrom: number;
  bytesFetched: number;
}

/** Thrown inside an attempt when the bytes on disk must be discarded and the download start over. */
/** A request whose response may be streamed into `segment`. */
interface OpenedSegment {
  segment: LiveSegment;
  response: OpenedResponse;
  request: RangeRequest;
}

class StartOver extends Error {
  constructor(
    readonly reason: string,
    override readonly cause?: InstallError,
  ) {
    super(reason);
  }
}

/** Files at least this large are hashed on a worker thread. */
const WORKER_HASH_MIN_BYTES = 16 * 1024 * 1024;

/** Restarts from zero allowed in one run before modelhaul gives up on a server that keeps changing. */
const MAX_START_OVERS = 3;

/**
 * Downloads one artifact into its partial file until every byte is on disk and the SHA-256 of
 * the whole file is known, resuming from and checkpointing into the resume record. It does not
 * promote: the caller does, once it has compared the digest. The rules it follows are those of
 * RESUME-SEMANTICS.md, cited by number where they decide something.
 */
export class ArtifactTransfer {
  private readonly artifact: Artifact;
  private readonly partialPath: string;
  private readonly recordPath: string;
  /** Bytes between checkpoints: the setting, or the default for this file's size. */
  private readonly checkpointBytes: number;
  private record!: ResumeRecord;
  private file!: FileHandle;
  private segments!: SegmentTable;
  private hasher!: FileHasher;
  private readonly meter = new ProgressMeter();

  private resumedFrom = 0;
  private bytesFetched = 0;
  private startOvers = 0;
  /** Set when ranges cannot be trusted on this server: every attempt is then a plain GET from zero. */
  private rangesDisabled = false;
  /** Set when bytes of this file came from more than one response without a strong validator (rule 3). */
  private unvalidatedJoin = false;

  private checkpointing: Promise<void> | undefined;
  private checkpointGeneration = 0;
  private lastCheckpointAt = 0;
  private lastCheckpointBytes = 0;
  private backgroundFailure: Error | undefined;
  private fsyncFailed = false;

  constructor(private readonly context: TransferContext) {
    this.artifact = context.artifact;
    this.partialPath = context.layout.partialPath(this.artifact.id);
    this.recordPath = context.layout.resumeRecordPath(this.artifact.id);
    this.checkpointBytes = context.settings.checkpointBytes ?? checkpointBytesFor(this.artifact.size);
  }

  /** Runs the download to a verified partial, or throws an {@link InstallError}. */
  async run(): Promise<VerifiedPartial> {
    await this.openPartial();
    try {
      return await this.downloadAndHash();
    } catch (error) {
      await this.file.close().catch(() => undefined);
      throw error;
    } finally {
      await this.hasher.close();
    }
  }

  /** Bytes that came over the network in this run, for the result of a failed artifact too. */
  get fetchedBytes(): number {
    return this.bytesFetched;
  }

  /** Bytes from an earlier run this one continued from (0 once they were discarded). */
  get reusedBytes(): number {
    return this.resumedFrom;
  }

  /** Bytes of this artifact that are safe on disk, for a failure report ("412 MB kept"). */
  get bytesKept(): number {
    return this.segments?.durableBytes ?? 0;
  }

  private async openPartial(): Promise<void> {
    const read = await readResumeRecord(this.recordPath);
    const existing = await openExistingPartial(this.partialPath, this.artifact.id);
    if (read.state === 'ok' && recordMatchesArtifact(read.record, this.artifact) && existing) {
      const fileSize = Number((await existing.stat()).size);
      const consistent = read.record.segments.every((s) => s.done === 0 || s.start + s.done <= fileSize);
      if (consistent) {
        this.file = existing;
        this.record = read.record;
        this.segments = new SegmentTable(this.artifact.size, read.record.segments);
        // A single stream's file is cut back to what the record vouches for (rule 21); segmented
        // files keep their holes, whose bytes are rewritten before anyone reads them.
        const only = read.record.segments.length === 1 ? read.record.segments[0] : undefined;
        if (only && fileSize > only.done) await this.truncate(only.done);
        // Bytes past the artifact's end belong to no segment and would never be rewritten: left
        // there, every run would end in SIZE_MISMATCH at promotion.
        else if (fileSize > this.artifact.size) await this.truncate(this.artifact.size);
        this.resumedFrom = this.segments.durableBytes;
        this.lastCheckpointBytes = this.resumedFrom;
        this.hasher = this.createHasher();
        return;
      }
    }
    const discarded = existing ? Number((await existing.stat()).size) : 0;
    await existing?.close();
    if (read.state === 'corrupt' || (read.state === 'ok' && discarded > 0)) {
      this.context.emit({
        event: 'restart',
        id: this.artifact.id,
        reason: read.state === 'corrupt' ? `resume record unreadable (${read.reason})` : 'resume record does not match the manifest or the partial file',
        discardedBytes: discarded,
      });
    }
    await discardPartial(this.partialPath, this.recordPath).catch((error: unknown) => {
      throw fsError(error, 'remove an outdated partial download', this.partialPath, this.artifact.id);
    });
    this.file = await createPartial(this.partialPath, this.artifact.id);
    this.record = newResumeRecord(this.artifact);
    this.segments = new SegmentTable(this.artifact.size, this.record.segments);
    this.hasher = this.createHasher();
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

  private async downloadAndHash(): Promise<VerifiedPartial> {
    const { settings, signal } = this.context;
    let attempt = 0;
    let failuresInARow = 0;
    let freshRetryUsed = false;
    for (;;) {
      attempt++;
      const writtenBefore = this.segments.writtenBytes;
      try {
        if (signal.aborted) throw abortedError(signal);
        if (!this.segments.complete) await this.runAttempt(attempt);
        this.context.emit({ event: 'verifying', id: this.artifact.id, bytes: this.segments.writtenBytes, total: this.artifact.size });
        await this.checkpoint();
        const sha256 = await this.digest();
        if (sha256 === this.artifact.sha256) {
          return { file: this.file, sha256, resumedFrom: this.resumedFrom, bytesFetched: this.bytesFetched };
        }
        // Bytes joined from an earlier run or without a validator may be the cause: discard them
        // and try once from zero before calling the upstream file wrong (rule 3).
        if (!freshRetryUsed && (this.resumedFrom > 0 || this.unvalidatedJoin)) {
          freshRetryUsed = true;
          await this.startOver('the SHA-256 of a resumed download did not match; downloading again from zero', true);
          continue;
        }
        throw this.checksumError(sha256);
      } catch (error) {
        if (error instanceof StartOver) {
          await this.settleAfterFailure();
          if (++this.startOvers > MAX_START_OVERS) {
            throw error.cause ?? new InstallError('RANGE_NOT_HONOURED', `Gave up after ${MAX_START_OVERS} restarts: ${error.reason}`, { artifactId: this.artifact.id });
          }
          await this.startOver(error.reason, error.cause !== undefined);
          continue;
        }
        const failure = this.asInstallError(error);
        if (failure.code === 'SIZE_MISMATCH' || failure.code === 'CHECKSUM_MISMATCH') {
          // Bytes of the wrong file are worth nothing; keep nothing of them.
          this.checkpointGeneration++;
          await this.checkpointing?.catch(() => undefined);
          await discardPartial(this.partialPath, this.recordPath).catch(() => undefined);
          this.segments.resetToEmpty();
          throw failure;
        }
        await this.settleAfterFailure();
        if (!failure.retryable || signal.aborted) throw failure;
        failuresInARow = this.segments.writtenBytes > writtenBefore ? 1 : failuresInARow + 1;
        if (failuresInARow > settings.retries) throw failure;
        const retryAfterMs = typeof failure.details.retryAfterMs === 'number' ? failure.details.retryAfterMs : undefined;
        const delayMs = retryDelayMs({
          attempt: failuresInARow,
          baseMs: settings.retryBaseDelayMs,
          maxMs: settings.retryMaxDelayMs,
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        });
        this.context.emit({ event: 'retry', id: this.artifact.id, attempt: attempt + 1, delayMs, error: failure.toJSON() });
        try {
          await sleep(delayMs, undefined, { signal });
        } catch {
          throw abortedError(signal).forArtifact(this.artifact.id);
        }
      }
    }
  }

  /**
   * One attempt: a lead request for the first missing bytes, then, when the server has shown it
   * honours ranges under a strong validator, more connections that take over the rest of the
   * file piece by piece. The first failure of any connection ends the whole attempt.
   */
  private async runAttempt(attempt: number): Promise<void> {
    if (this.rangesDisabled && (this.segments.writtenBytes > 0 || this.segments.all.length > 1)) {
      await this.startOver('the server does not honour byte ranges; downloading from zero', false);
    }
    const attemptController = new AbortController();
    const onOuterAbort = (): void => attemptController.abort(this.context.signal.reason);
    this.context.signal.addEventListener('abort', onOuterAbort, { once: true });
    const streams: Array<Promise<void>> = [];
    let firstFailure: Error | undefined;
    const track = (stream: Promise<void>): void => {
      streams.push(
        stream.catch((error: unknown) => {
          firstFailure ??= asError(error);
          attemptController.abort(error);
        }),
      );
    };
    try {
      const lead = this.segments.firstIdle();
      if (!lead) return;
      lead.active = true;
      const opened = await this.openSegment(lead, attemptController.signal, true);
      if (opened === 'complete') return;
      const connections = this.mayUseMoreConnections(opened.response) ? this.context.settings.connections : 1;
      this.context.emit({
        event: 'start',
        id: this.artifact.id,
        offset: this.segments.writtenBytes,
        total: this.artifact.size,
        attempt,
        connections,
      });
      // Once its own segment is done the lead takes the next unfinished one: a record from a
      // segmented run can leave several, and with one connection nobody else would fetch them.
      track(this.stream(opened, attemptController.signal).then(() => this.helperConnection(attemptController.signal)));
      for (let extra = 1; extra < connections; extra++) track(this.helperConnection(attemptController.signal));
      await Promise.all(streams);
      if (firstFailure !== undefined) throw firstFailure;
    } catch (error) {
      firstFailure ??= asError(error);
      attemptController.abort(error);
      await Promise.all(streams);
      throw firstFailure;
    } finally {
      this.context.signal.removeEventListener('abort', onOuterAbort);
    }
  }

  /** A further connection: takes a piece of the file, fetches it, and takes the next until none is left. */
  private async helperConnection(signal: AbortSignal): Promise<void> {
    for (;;) {
      if (signal.aborted) return;
      const { connections, minSegmentBytes } = this.context.settings;
      const segment = this.segments.claimForNewConnection(pieceBytesFor(this.artifact.size, connections, minSegmentBytes), minSegmentBytes);
      if (!segment) return;
      const opened = await this.openSegment(segment, signal, false);
      if (opened === 'complete') continue;
      await this.stream(opened, signal);
    }
  }

  /**
   * Sends the request for the missing bytes of a segment and checks the answer. The lead request
   * of an attempt may turn a 200 into a fresh download from zero (rule 7) and a 416 into
   * "already complete" or a start over (rule 8); any other connection must get exactly its range.
   */
  private async openSegment(
    segment: LiveSegment,
    signal: AbortSignal,
    lead: boolean,
  ): Promise<OpenedSegment | 'complete'> {
    const request = this.rangeFor(segment);
    const response = await openResponse({
      url: this.artifact.url,
      headers: this.requestHeaders(request),
      credentials: this.context.credentials,
      allowHttp: this.context.settings.allowHttp,
      dispatchers: this.context.dispatchers,
      signal,
    });
    let plan;
    try {
      plan = checkResponse(response, request, {
        artifactId: this.artifact.id,
        size: this.artifact.size,
        manifestUrl: this.artifact.url,
        storedEtag: this.record.etag,
      });
    } catch (error) {
      await discard(response.body);
      if (error instanceof InstallError && error.code === 'RANGE_NOT_HONOURED') {
        // Never append what does not match (rule 5): the bytes on disk are kept only if the next
        // plain download proves them right, which it cannot, so start over without ranges.
        this.rangesDisabled = true;
        throw new StartOver(error.message, error);
      }
      throw error;
    }
    if (plan.kind === 'unsatisfiable') {
      await discard(response.body);
      if (lead && this.segments.writtenBytes === this.artifact.size) return 'complete';
      throw new StartOver('the server answered 416 Range Not Satisfiable for bytes that are missing');
    }
    if (plan.kind === 'whole') {
      if (!request.ranged) {
        this.adoptValidators(response);
        return { segment, response, request };
      }
      if (!lead) {
        await discard(response.body);
        this.rangesDisabled = true;
        throw new StartOver('the server sent the whole file for a range request');
      }
      // The validator no longer matches or the server ignored Range: never append, start over
      // from zero with this very response (rule 7).
      await this.startOver('the server sent the whole file instead of the missing bytes', false);
      const whole = this.segments.all[0]!;
      whole.active = true;
      this.adoptValidators(response);
      return { segment: whole, response, request: { first: 0, last: this.artifact.size - 1, ranged: false } };
    }
    return { segment, response, request };
  }

  private rangeFor(segment: LiveSegment): RangeRequest {
    const first = segment.start + segment.written;
    if (first === 0 && segment.end === this.artifact.size) return { first: 0, last: this.artifact.size - 1, ranged: false };
    return { first, last: segment.end - 1, ranged: true };
  }

  /** Headers for one request, built fresh every time (rule 4). */
  private requestHeaders(request: RangeRequest): Record<string, string> {
    const headers: Record<string, string> = {
      'accept-encoding': 'identity',
      'user-agent': this.context.settings.userAgent,
    };
    if (request.ranged) {
      const openEnded = request.last === this.artifact.size - 1;
      headers.range = openEnded ? `bytes=${request.first}-` : `bytes=${request.first}-${request.last}`;
      const ifRange = chooseIfRange(this.record);
      if (ifRange !== undefined) headers['if-range'] = ifRange;
      else this.unvalidatedJoin = true;
    }
    return headers;
  }

  private mayUseMoreConnections(response: OpenedResponse): boolean {
    const { connections, minSegmentBytes } = this.context.settings;
    if (connections <= 1 || this.rangesDisabled) return false;
    if (this.artifact.size - this.segments.writtenBytes < 2 * minSegmentBytes) return false;
    if (chooseIfRange(this.record) === undefined) return false;
    return response.status === 206 || response.headers['accept-ranges']?.toLowerCase() === 'bytes';
  }

  private adoptValidators(response: OpenedResponse): void {
    this.record.etag = response.headers.etag;
    this.record.lastModified = response.headers['last-modified'];
    this.record.date = response.headers.date;
  }

  /**
   * Streams a response body into its segment. Bytes are counted here, not trusted from headers:
   * a body that goes past what it promised is refused at the first extra byte (rule 10), a body
   * that ends early is a transient failure whose bytes are kept.
   */
  private async stream(opened: OpenedSegment, signal: AbortSignal): Promise<void> {
    const { segment, response, request } = opened;
    const writer = new PositionalWriter(
      this.file,
      (length) => this.afterWrite(segment, length),
      (error) => fsError(error, 'write the partial download', this.partialPath, this.artifact.id),
    );
    const promisedEnd = request.last + 1;
    let position = segment.start + segment.received;
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        if (this.backgroundFailure !== undefined) throw this.backgroundFailure;
        if (position + chunk.length > promisedEnd) {
          throw new InstallError('SIZE_MISMATCH', `The server sent more than the ${promisedEnd - request.first} bytes it announced (manifest size ${this.artifact.size})`, {
            artifactId: this.artifact.id,
            details: { expected: this.artifact.size, foundAtLeast: position + chunk.length },
          });
        }
        // A connection whose segment was split stops at the new boundary: the rest is another's.
        const room = segment.end - position;
        const data = chunk.length > room ? chunk.subarray(0, room) : chunk;
        if (data.length > 0) {
          this.hasher.offer(position, data);
          segment.received += data.length;
          position += data.length;
          await writer.push(position - data.length, data);
          await this.keepDurablePointClose();
        }
        if (position >= segment.end && segment.end < promisedEnd) break;
      }
      await writer.flush();
    } catch (error) {
      if (error instanceof InstallError) {
        // A refused body (too long) or a failing disk: what is still queued is worth nothing.
        await writer.abandon();
      } else {
        // The connection failed or the attempt was cancelled: the bytes that arrived before are
        // good, in order and counted, so they are kept and the next attempt resumes after them
        // (rule 10). Dropping them would re-download up to a write batch per failure, and all of
        // a small file, which then restarts from zero without Range.
        try {
          await writer.flush();
        } catch (writeError) {
          await writer.abandon();
          throw writeError;
        }
      }
      throw networkError(error, response.url, signal);
    } finally {
      segment.active = false;
      if (!response.body.destroyed) response.body.destroy();
    }
    if (segment.start + segment.written < segment.end && !signal.aborted) {
      throw new InstallError('NETWORK', `The response ended after ${position - request.first} of ${promisedEnd - request.first} bytes`, {
        artifactId: this.artifact.id,
        details: { received: position - request.first, expected: promisedEnd - request.first },
      });
    }
  }

  /**
   * Reading pauses while more than a few checkpoints' worth of written bytes wait for their
   * fdatasync. Without it a network faster than the disk runs ahead of the durable point, each
   * sync has more to flush, and a crash costs far more than one checkpoint of re-download; the
   * download then goes at the speed the disk makes bytes durable, which is the real floor.
   */
  private async keepDurablePointClose(): Promise<void> {
    const limit = 3 * this.checkpointBytes;
    while (this.segments.writtenBytes - this.segments.durableBytes > limit && this.backgroundFailure === undefined) {
      await (this.checkpointing ?? this.checkpoint()).catch((error: unknown) => {
        this.backgroundFailure ??= asError(error);
      });
    }
  }

  private afterWrite(segment: LiveSegment, length: number): void {
    segment.written += length;
    this.bytesFetched += length;
    void this.hasher.catchUp();
    const written = this.segments.writtenBytes;
    const rate = this.meter.sample(written);
    if (rate !== undefined) {
      this.context.emit({ event: 'progress', id: this.artifact.id, bytes: written, total: this.artifact.size, bytesPerSecond: rate });
    }
    const { checkpointIntervalMs } = this.context.settings;
    if (
      this.checkpointing === undefined &&
      (written - this.lastCheckpointBytes >= this.checkpointBytes || performance.now() - this.lastCheckpointAt >= checkpointIntervalMs)
    ) {
      this.checkpoint().catch((error: unknown) => {
        this.backgroundFailure ??= asError(error);
      });
    }
  }

  /**
   * Makes what is written durable and then records it: fdatasync the data first, write the
   * record atomically after, so the record never claims bytes a power cut could lose (rule 21).
   * If the fdatasync fails the attempt ends: a second fsync could falsely report success.
   */
  private checkpoint(): Promise<void> {
    if (this.checkpointing) return this.checkpointing.then(() => this.checkpoint());
    const generation = this.checkpointGeneration;
    const snapshot = this.segments.writtenSnapshot();
    const bytes = this.segments.writtenBytes;
    this.lastCheckpointAt = performance.now();
    this.lastCheckpointBytes = bytes;
    const work = (async () => {
      try {
        await this.file.datasync();
      } catch (error) {
        this.fsyncFailed = true;
        throw fsError(error, 'make the partial download durable (fdatasync)', this.partialPath, this.artifact.id);
      }
      if (generation !== this.checkpointGeneration) return;
      this.record.segments = snapshot;
      try {
        await writeResumeRecord(this.recordPath, this.record);
      } catch (error) {
        throw fsError(error, 'write the resume record', this.recordPath, this.artifact.id);
      }
      if (generation === this.checkpointGeneration) {
        this.segments.markDurable(snapshot);
        this.segments.mergeCompleted();
      }
    })();
    this.checkpointing = work.finally(() => {
      this.checkpointing = undefined;
    });
    return this.checkpointing;
  }

  /** After a failed attempt: forget bytes that never reached the file, and checkpoint what did. */
  private async settleAfterFailure(): Promise<void> {
    this.segments.forgetUnwritten();
    const hashed = this.hasher.hashedBytes;
    if (hashed > 0 && this.segments.writtenEndAt(hashed - 1) < hashed) {
      // Bytes hashed in memory never reached the file; hash from the file instead.
      this.hasher.reset();
    }
    await this.checkpointing?.catch(() => undefined);
    this.backgroundFailure = undefined;
    // After a failed fdatasync nothing more is synced by this process: a second fsync may report
    // success for pages the kernel already dropped (rule 21).
    if (!this.fsyncFailed) await this.checkpoint().catch(() => undefined);
  }

  /**
   * Discards every byte and starts over from zero. The record is rewritten to claim nothing
   * before the file is truncated, so a crash in between cannot leave a record claiming bytes
   * the file no longer has.
   */
  private async startOver(reason: string, report: boolean): Promise<void> {
    const discardedBytes = this.segments.writtenBytes;
    this.checkpointGeneration++;
    await this.checkpointing?.catch(() => undefined);
    this.segments.resetToEmpty();
    // Before the cut: a hasher reading back must never take the shortened file for data.
    this.hasher.reset();
    this.record = newResumeRecord(this.artifact);
    try {
      await writeResumeRecord(this.recordPath, this.record);
    } catch (error) {
      throw fsError(error, 'write the resume record', this.recordPath, this.artifact.id);
    }
    await this.truncate(0);
    this.meter.reset();
    this.resumedFrom = 0;
    this.lastCheckpointBytes = 0;
    if (report || discardedBytes > 0) {
      this.context.emit({ event: 'restart', id: this.artifact.id, reason, discardedBytes });
    }
  }

  private async digest(): Promise<string> {
    try {
      return await this.hasher.digest();
    } catch (error) {
      throw fsError(error, 'read back the partial download to hash it', this.partialPath, this.artifact.id);
    }
  }

  private checksumError(found: string): InstallError {
    return new InstallError(
      'CHECKSUM_MISMATCH',
      `SHA-256 mismatch for ${this.artifact.id}: expected ${this.artifact.sha256}, got ${found}; the downloaded bytes were discarded`,
      {
        artifactId: this.artifact.id,
        hint: 'The upstream file changed or was damaged in transit; if the model was updated upstream, update the manifest (size and sha256), otherwise run the same command again.',
        details: { expected: this.artifact.sha256, found, url: this.artifact.url },
      },
    );
  }

  private async truncate(length: number): Promise<void> {
    try {
      await this.file.truncate(length);
    } catch (error) {
      throw fsError(error, 'truncate the partial download', this.partialPath, this.artifact.id);
    }
  }

  private asInstallError(error: unknown): InstallError {
    if (error instanceof InstallError) return error.forArtifact(this.artifact.id);
    if (this.context.signal.aborted) return abortedError(this.context.signal).forArtifact(this.artifact.id);
    return fsError(error, 'download', this.partialPath, this.artifact.id);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The default checkpoint distance: 0.5% of the file, at least 4 MiB, at most 64 MiB. */
export function checkpointBytesFor(size: number): number {
  const mib = 1024 * 1024;
  return Math.min(64 * mib, Math.max(4 * mib, Math.round(size / 200)));
}

/**
 * How much of a file one request of a segmented download asks for: small enough that the
 * contiguous, hashable prefix trails the download front by a few pieces, large enough that the
 * time to first byte of each request stays small against its transfer time.
 */
export function pieceBytesFor(size: number, connections: number, minSegmentBytes: number): number {
  return Math.min(64 * 1024 * 1024, Math.max(minSegmentBytes, Math.round(size / (connections * 4))));
}

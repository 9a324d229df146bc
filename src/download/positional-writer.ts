import type { FileHandle } from 'node:fs/promises';

/** Bytes gathered before one write: big enough to keep syscalls rare, small enough to stay in cache. */
export const WRITE_BATCH_BYTES = 1024 * 1024;
/**
 * ...or for at most this long. Progress is reported per completed write, so on a slow link (a
 * megabyte takes ten seconds at 100 kB/s) a size-only batch would freeze the progress display and
 * keep bytes out of the file, and out of reach of the next checkpoint, for that long.
 */
export const WRITE_BATCH_MS = 100;

/**
 * Gathers a stream's chunks and writes them at explicit positions (never append mode: Linux
 * ignores the position there, RESUME-SEMANTICS rule 20), one write in flight at a time so that
 * the network keeps reading while the disk writes, and the bytes of one stream land in order.
 */
export class PositionalWriter {
  private chunks: Buffer[] = [];
  private gathered = 0;
  private gatheredAt = 0;
  private gatheringSince = 0;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly file: FileHandle,
    /** Called after each completed write with its length and the position it was written at. */
    private readonly onWritten: (length: number, position: number) => void,
    /** Turns a failed write into the error the caller reports. */
    private readonly describeError: (error: unknown) => Error,
  ) {}

  /** Queues `chunk` for `position`, which must follow the previously queued bytes. */
  async push(position: number, chunk: Buffer): Promise<void> {
    if (this.gathered === 0) {
      this.gatheredAt = position;
      this.gatheringSince = performance.now();
    }
    this.chunks.push(chunk);
    this.gathered += chunk.length;
    if (this.gathered >= WRITE_BATCH_BYTES || performance.now() - this.gatheringSince >= WRITE_BATCH_MS) await this.startWrite();
  }

  /** Writes everything queued and waits for it. */
  async flush(): Promise<void> {
    await this.startWrite();
    await this.inFlight;
  }

  /** Drops what is queued but not yet written (the stream failed; those bytes will be fetched again). */
  async abandon(): Promise<void> {
    this.chunks = [];
    this.gathered = 0;
    await this.inFlight?.catch(() => undefined);
  }

  private async startWrite(): Promise<void> {
    // Waiting for the previous write is the back-pressure: the caller's read loop pauses here.
    await this.inFlight;
    if (this.gathered === 0) return;
    const chunks = this.chunks;
    const position = this.gatheredAt;
    const length = this.gathered;
    this.chunks = [];
    this.gathered = 0;
    this.inFlight = writeFully(this.file, chunks, position).then(
      () => this.onWritten(length, position),
      (error: unknown) => {
        throw this.describeError(error);
      },
    );
    // A failed write is reported by the next push() or flush(), which await this promise; until
    // then nothing awaits it, and an unhandled rejection would end the whole process (a full disk
    // crashed the CLI with a stack trace, and would crash an app embedding the library).
    this.inFlight.catch(() => undefined);
  }
}

async function writeFully(file: FileHandle, chunks: Buffer[], position: number): Promise<void> {
  let remaining = chunks;
  let at = position;
  while (remaining.length > 0) {
    const { bytesWritten } = await file.writev(remaining, at);
    at += bytesWritten;
    remaining = dropWritten(remaining, bytesWritten);
  }
}

function dropWritten(chunks: Buffer[], bytesWritten: number): Buffer[] {
  let skip = bytesWritten;
  const rest: Buffer[] = [];
  for (const chunk of chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
    skip = 0;
  }
  return rest;
}

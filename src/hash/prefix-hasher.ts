import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { FileHasher } from './file-hasher.js';

/** How the hasher sees the file: which bytes have been written, by range. */
export interface WrittenRanges {
  /** End (exclusive) of the written bytes of the range containing `offset`, or `offset` when none are. */
  writtenEndAt(offset: number): number;
}

const READ_BACK_CHUNK = 1024 * 1024;

/**
 * SHA-256 over a file in byte order, fed by whatever arrives first: bytes still in memory when
 * they land exactly at the hashed prefix (the common, single-stream case: nothing is read twice),
 * otherwise bytes read back from the file once they are written (a resume's bytes from an earlier
 * run, or a segment that arrived before the segments in front of it, while it is still in the page
 * cache). Either way every byte is hashed once, in order, so the digest is of the file as written.
 */
export class PrefixHasher implements FileHasher {
  private hash: Hash = createHash('sha256');
  private position = 0;
  private readingBack = false;
  private generation = 0;
  private readBuffer: Buffer | undefined;
  private failure: Error | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly file: FileHandle,
    private readonly size: number,
    private readonly written: WrittenRanges,
  ) {}

  /** Bytes hashed so far, from offset 0. */
  get hashedBytes(): number {
    return this.position;
  }

  /**
   * Offers bytes that arrived for `offset`. They are hashed now if they continue the prefix, and
   * skipped otherwise (they will be read back after they are written). Returns whether they were used.
   */
  offer(offset: number, chunk: Buffer): boolean {
    if (this.readingBack || offset !== this.position) return false;
    this.hash.update(chunk);
    this.position += chunk.length;
    this.wake();
    return true;
  }

  /**
   * Hashes whatever written bytes continue the prefix by reading them back from the file. Call it
   * after every completed write; it returns at once when another call is already reading.
   */
  async catchUp(): Promise<void> {
    if (this.readingBack || this.failure !== undefined) return;
    this.readingBack = true;
    const generation = this.generation;
    try {
      while (this.position < this.size) {
        const available = this.written.writtenEndAt(this.position) - this.position;
        if (available <= 0) break;
        const buffer = (this.readBuffer ??= Buffer.allocUnsafe(READ_BACK_CHUNK));
        const length = Math.min(available, buffer.length);
        const { bytesRead } = await this.file.read(buffer, 0, length, this.position);
        if (generation !== this.generation) return;
        if (bytesRead <= 0) throw new Error(`Partial file ended at ${this.position} while reading back written bytes`);
        this.hash.update(buffer.subarray(0, bytesRead));
        this.position += bytesRead;
      }
    } catch (error) {
      if (generation === this.generation) this.failure = error instanceof Error ? error : new Error(String(error));
    } finally {
      if (generation === this.generation) this.readingBack = false;
      this.wake();
    }
  }

  /**
   * Forgets everything hashed: for a download that starts over from zero, or when bytes that were
   * hashed in memory never made it to disk. Any read-back under way is left to finish unheard.
   */
  reset(): void {
    this.generation++;
    this.hash = createHash('sha256');
    this.position = 0;
    this.readingBack = false;
    this.failure = undefined;
    this.wake();
  }

  /** Waits until every byte of the file is hashed and returns the hex digest. */
  async digest(): Promise<string> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (this.position >= this.size) return this.hash.digest('hex');
      if (!this.readingBack) {
        await this.catchUp();
        if (!this.readingBack && this.position < this.size && this.failure === undefined) {
          if (this.written.writtenEndAt(this.position) <= this.position) {
            throw new Error(`Cannot finish the hash: bytes from ${this.position} are not written`);
          }
        }
        continue;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Nothing to release: the hashing runs on this thread. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

import { Worker } from 'node:worker_threads';
import type { FileHasher } from './file-hasher.js';

/** Slots of the memory shared with the worker. */
const AVAILABLE = 0; // bytes from offset 0 that are written and may be hashed (main → worker)
const GENERATION = 1; // bumped when the file starts over from zero (main → worker)
const HASHED = 2; // bytes hashed so far (worker → main)
const STOP = 3; // non-zero: the worker ends (main → worker)

/**
 * The worker's code, run with `eval` rather than from a file: an app that bundles modelhaul, or
 * packs it into an Electron asar archive, has no worker file on disk to point at.
 *
 * It reads the partial file back from the page cache behind the writes and hashes it in order.
 * Reading back costs one memory copy; in exchange SHA-256 runs on another core than the one that
 * receives and writes, which is what bounds a single stream's speed.
 */
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const state = new BigInt64Array(workerData.shared);
const size = workerData.size;
const buffer = Buffer.allocUnsafe(workerData.chunkBytes);
const fd = openSync(workerData.path, 'r');
let generation = -1n;
let hash;
let position = 0;
let emptyReads = 0;
try {
  while (Atomics.load(state, ${STOP}) === 0n) {
    const current = Atomics.load(state, ${GENERATION});
    if (current !== generation) {
      generation = current;
      hash = createHash('sha256');
      position = 0;
      Atomics.store(state, ${HASHED}, 0n);
    }
    if (position >= size) {
      if (hash !== undefined) {
        parentPort.postMessage({ type: 'digest', generation, sha256: hash.digest('hex') });
        hash = undefined;
      }
      Atomics.wait(state, ${GENERATION}, generation, 200);
      continue;
    }
    const available = Atomics.load(state, ${AVAILABLE});
    if (BigInt(position) >= available) {
      Atomics.wait(state, ${AVAILABLE}, available, 200);
      continue;
    }
    const length = Math.min(Number(available) - position, buffer.length);
    const bytesRead = readSync(fd, buffer, 0, length, position);
    if (Atomics.load(state, ${GENERATION}) !== generation) continue;
    if (bytesRead <= 0) {
      // Only a file cut back while starting over reads short; that bumps the generation first.
      if (++emptyReads > 100) throw new Error('the partial file is shorter than the bytes written to it');
      Atomics.wait(state, ${GENERATION}, generation, 50);
      continue;
    }
    emptyReads = 0;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
    Atomics.store(state, ${HASHED}, BigInt(position));
  }
} catch (error) {
  parentPort.postMessage({ type: 'error', message: String(error && error.message || error), code: error && error.code });
} finally {
  closeSync(fd);
}
`;

const READ_CHUNK_BYTES = 4 * 1024 * 1024;

type WorkerMessage =
  | { type: 'digest'; generation: bigint; sha256: string }
  | { type: 'error'; message: string; code?: string };

/**
 * A {@link FileHasher} whose SHA-256 runs on a worker thread. The main thread only publishes how
 * far the file is written contiguously from offset 0; the worker reads those bytes back and
 * hashes them in order, so the digest is of the file as written, and resumed bytes from an
 * earlier run are hashed the same way, concurrently with the download of the rest.
 */
export class WorkerHasher implements FileHasher {
  private readonly state: BigInt64Array;
  private readonly worker: Worker;
  private generation = 0n;
  private digests = new Map<bigint, string>();
  private failure: Error | undefined;
  private waiters: Array<() => void> = [];
  private exited = false;

  constructor(
    path: string,
    private readonly size: number,
    private readonly contiguousWrittenEnd: () => number,
  ) {
    const shared = new SharedArrayBuffer(4 * BigInt64Array.BYTES_PER_ELEMENT);
    this.state = new BigInt64Array(shared);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { shared, path, size, chunkBytes: READ_CHUNK_BYTES },
      // The worker needs none of the loaders or flags the app runs with.
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    this.worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'digest') this.digests.set(message.generation, message.sha256);
      else this.fail(Object.assign(new Error(message.message), { code: message.code }));
      this.wake();
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => {
      this.exited = true;
      if (code !== 0 && Atomics.load(this.state, STOP) === 0n) this.fail(new Error(`The hashing worker stopped (exit code ${code})`));
      this.wake();
    });
  }

  get hashedBytes(): number {
    return Number(Atomics.load(this.state, HASHED));
  }

  /** Bytes in memory are never hashed here: the worker reads them back once written. */
  offer(): boolean {
    return false;
  }

  /** Tells the worker how far the file is now written without a gap. */
  catchUp(): Promise<void> {
    const end = BigInt(this.contiguousWrittenEnd());
    if (end > Atomics.load(this.state, AVAILABLE)) {
      Atomics.store(this.state, AVAILABLE, end);
      Atomics.notify(this.state, AVAILABLE);
    }
    return Promise.resolve();
  }

  /** Starts over from zero; call it before the file is cut back, so no stale read is hashed. */
  reset(): void {
    this.generation++;
    this.digests.clear();
    Atomics.store(this.state, AVAILABLE, 0n);
    Atomics.store(this.state, GENERATION, this.generation);
    Atomics.notify(this.state, GENERATION);
    Atomics.notify(this.state, AVAILABLE);
  }

  async digest(): Promise<string> {
    await this.catchUp();
    for (;;) {
      if (this.failure) throw this.failure;
      const digest = this.digests.get(this.generation);
      if (digest !== undefined) return digest;
      if (this.exited) throw new Error('The hashing worker stopped before the digest');
      if (this.contiguousWrittenEnd() < this.size) {
        throw new Error(`Cannot finish the hash: bytes from ${this.contiguousWrittenEnd()} are not written`);
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    Atomics.store(this.state, STOP, 1n);
    Atomics.notify(this.state, AVAILABLE);
    Atomics.notify(this.state, GENERATION);
    if (!this.exited) await this.worker.terminate().catch(() => undefined);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

/**
 * SHA-256 of a file being written, in byte order. Implementations differ in where the hashing
 * runs: on the receiving thread, fed from memory when possible ({@link PrefixHasher}), or on a
 * worker thread that reads written bytes back ({@link WorkerHasher}).
 */
export interface FileHasher {
  /** Bytes hashed so far, from offset 0. */
  readonly hashedBytes: number;
  /** Offers bytes that just arrived for `offset`; returns whether they were hashed from memory. */
  offer(offset: number, chunk: Buffer): boolean;
  /** Hashes (or lets the worker hash) whatever written bytes continue the prefix. Call after each write. */
  catchUp(): Promise<void>;
  /** Forgets everything: the file starts over from zero. Call before the file is cut back. */
  reset(): void;
  /** Waits until every byte is hashed and returns the hex digest. */
  digest(): Promise<string>;
  /** Releases what the hasher holds (a worker thread). */
  close(): Promise<void>;
}

// Deterministic test payloads: the same (size, seed) always yields the same bytes, so a failing
// test can be replayed, and distinct seeds give unrelated files of equal size (for "the file
// changed on the server" cases).
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';

/**
 * `size` pseudo-random bytes from a xorshift32 stream seeded by `seed`. Not cryptographic: it only
 * has to be fast (hundreds of MB/s) and incompressible enough that no layer can shrink it.
 */
export function makeContent(size: number, seed: number): Buffer {
  const words = new Uint32Array(Math.ceil(size / 4));
  // Spread the seed over all 32 bits so that nearby seeds start far apart; xorshift's only
  // fixed point is 0, which the `|| 1` avoids.
  let state = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0) || 1;
  for (let i = 0; i < words.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    words[i] = state;
  }
  const bytes = Buffer.from(words.buffer, 0, words.byteLength);
  // The stream is defined in little-endian byte order, so the bytes are the same on every host.
  if (endianness() === 'BE') bytes.swap32();
  return bytes.subarray(0, size);
}

/** The size of the small file most HTTP end-to-end tests serve. */
export const SMALL_FILE_SIZE = 300_000;

/**
 * Where those tests cut a response: not a multiple of any chunk or batch size, so no buffering can
 * make a resume look right by chance.
 */
export const CUT = 123_457;

export function sha256Hex(data: Buffer | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

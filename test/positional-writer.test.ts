// The writer between the network and the partial file. Its writes run while the read loop goes on
// gathering the next batch, so a write can fail while nothing awaits it: that failure must reach
// the next push() or flush() as the described error, never escape as an unhandled rejection, which
// ends the process. Found by test/disk-full.test.ts, where a full disk crashed the CLI with a stack
// trace; /dev/full reproduces ENOSPC here without root.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { PositionalWriter, WRITE_BATCH_BYTES } from '../src/download/positional-writer.js';

test('a write that fails while nothing awaits it is reported by the next flush, not as an unhandled rejection', async (t) => {
  if (!existsSync('/dev/full')) {
    t.skip('no /dev/full on this system');
    return;
  }
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  // Every write to /dev/full fails with ENOSPC, like a disk that has just filled up.
  const file = await open('/dev/full', 'r+');
  t.after(() => file.close());
  const written: number[] = [];
  const writer = new PositionalWriter(
    file,
    (length) => written.push(length),
    (error) => new Error(`described: ${(error as NodeJS.ErrnoException).code}`),
  );

  // A full batch starts a write and returns without waiting for it, as in the read loop.
  await writer.push(0, Buffer.alloc(WRITE_BATCH_BYTES));
  await delay(100);
  assert.deepEqual(unhandled, [], 'the failed write did not escape as an unhandled rejection');
  await assert.rejects(writer.flush(), /described: ENOSPC/);
  assert.deepEqual(written, [], 'nothing is reported as written');
});

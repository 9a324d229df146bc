// A file already at an artifact's final path, of the right size but with no install record, is
// hashed and adopted instead of downloaded (a model copied in by hand, or a run killed right after
// its rename). The hash takes a while on a large file, and the file can change under it: the bytes
// hashed are then not the bytes on disk, and a record written for them would vouch for a file
// nobody verified. modelhaul compares the file's identity (inode and nanosecond mtime) before and
// after hashing and adopts only when nothing moved.
//
// Here the change happens during the hash for certain, not by luck: strace holds every read of the
// final path for a while (a slow disk), the test waits until the trace shows the first 4 MiB were
// read, changes the file, and then checks in /proc that the hashing fd is still open (so the
// "after" look has not happened yet). Two changes, each caught by one half of the identity check:
// bytes already hashed rewritten in place (same inode, new mtime), and the file replaced by a
// rename with its mtime copied (new inode, same mtime).
//
// Needs strace (Debian package `strace`) and permission to ptrace; skipped with a message otherwise.
import assert from 'node:assert/strict';
import { mkdir, open, readlink, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { spawnCli, waitForExit, writeManifest } from './helpers/cli.js';
import { makeContent } from './helpers/content.js';
import { inspectInstallDir } from './helpers/disk-state.js';
import { waitUntil } from './helpers/install-dir.js';
import { assertExit, eventsOf, summarize, useOrigin } from './helpers/install-run.js';
import { jsonInstallArgs, serveArtifact } from './helpers/served-artifact.js';
import { readTrace, straceSkipReason, straceWrapper } from './helpers/traced-cli.js';
import { useTempDir } from './helpers/tmp.js';

const MiB = 1024 * 1024;
/** What modelhaul reads per call when it hashes a file (src: hashFile). */
const HASH_READ_BYTES = 4 * MiB;
/** An mtime in whole seconds, which a copy can match to the nanosecond. */
const PLANTED_MTIME_S = 1_700_000_000;

interface Change {
  how: string;
  /** Changes the file at `finalPath` after its first HASH_READ_BYTES were hashed; `other` is a wrong file of the same size. */
  apply: (finalPath: string, other: Buffer) => Promise<void>;
}

const changes: Change[] = [
  {
    how: 'bytes already hashed rewritten in place (same inode, new mtime)',
    apply: async (finalPath, other) => {
      const handle = await open(finalPath, 'r+');
      try {
        await handle.write(other, 0, 64 * 1024, 0);
      } finally {
        await handle.close();
      }
    },
  },
  {
    how: 'the file replaced by a rename, its mtime copied (new inode, same mtime)',
    apply: async (finalPath, other) => {
      const replacement = `${finalPath}.replacement`;
      await writeFile(replacement, other);
      await utimes(replacement, PLANTED_MTIME_S, PLANTED_MTIME_S);
      await rename(replacement, finalPath);
    },
  },
];

for (const change of changes) {
  test(`a same-size file at the final path that changes while it is hashed is not adopted: ${change.how}`, async (t) => {
    const skip = straceSkipReason();
    if (skip !== undefined) {
      t.skip(skip);
      return;
    }
    const origin = await useOrigin(t);
    const work = await useTempDir(t, 'adopt-change');
    const dir = join(work, 'models');
    const body = makeContent(HASH_READ_BYTES + 99, 93);
    const other = makeContent(body.length, 94);
    const artifact = serveArtifact(origin, 'model', body);
    const manifest = await writeManifest(work, [artifact]);
    const finalPath = join(dir, ...artifact.path.split('/'));
    // The right file, copied in by hand: no install record, so the run hashes it to adopt it.
    await mkdir(dirname(finalPath), { recursive: true });
    await writeFile(finalPath, body);
    await utimes(finalPath, PLANTED_MTIME_S, PLANTED_MTIME_S);
    const before = await stat(finalPath, { bigint: true });

    const log = join(work, 'trace.txt');
    // Each read of the final path waits 400 ms before it reads: the hash takes three reads
    // (4 MiB, 99 bytes, end of file), so the file stays open for over a second after the first.
    const child = spawnCli(jsonInstallArgs(manifest, dir), {
      wrapper: straceWrapper({ log, trace: 'pread64', inject: ['pread64:delay_enter=400000'], paths: [finalPath] }),
    });
    t.after(() => child.kill('SIGKILL'));
    const firstRead = await waitUntil(async () => {
      const calls = await readTrace(log).catch(() => []);
      return calls.find((c) => c.name === 'pread64' && c.fdPath === finalPath && c.result === HASH_READ_BYTES && /, 0$/.test(c.args));
    }, 'the first read of the hash in the trace');
    await change.apply(finalPath, other);
    // The hashing fd is still open after the change: the identity is looked at again only after it
    // is closed, so the change fell between the two looks.
    const fd = /^(\d+)</.exec(firstRead.args)?.[1];
    const hashing = await readlink(`/proc/${firstRead.pid}/fd/${fd}`).catch(() => 'closed');
    assert.ok(hashing.startsWith(finalPath), `the hash was still reading when the file changed (fd ${fd}: ${hashing}); otherwise this run proves nothing`);
    const changed = await stat(finalPath, { bigint: true });
    assert.ok(changed.ino !== before.ino || changed.mtimeNs !== before.mtimeNs, 'the change moved the identity');
    assert.ok(changed.ino === before.ino || changed.mtimeNs === before.mtimeNs, 'only one half of the identity moved');

    const result = await waitForExit(child);
    assertExit(result, 0);
    assert.deepEqual(
      eventsOf(result, 'skipped').map((e) => e.reason),
      [],
      `the changed file was not adopted; events: ${summarize(result)}`,
    );
    assert.equal(origin.requestsFor('/model.bin').length, 1, 'the file was downloaded instead');
    assert.equal(eventsOf(result, 'installed', 'model').length, 1);
    const inspection = await inspectInstallDir(dir, [{ id: 'model', path: artifact.path, body }]);
    assert.deepEqual(inspection.violations, []);
    assert.equal(inspection.artifacts[0]?.final, 'correct');
    assert.equal(inspection.artifacts[0]?.installRecord, 'valid');
  });
}

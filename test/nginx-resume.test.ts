// The relaunch resume once more, against a production server (Debian's nginx with limit_rate) so
// that it does not rest on our own origin's reading of the RFCs: nginx's ETag, its If-Range
// handling and its 206 are what the engine must work with.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, spawnCli, waitForEvent, waitForExit, writeManifest } from './helpers/cli.js';
import { makeContent, sha256Hex } from './helpers/content.js';
import { dirPaths, readResumeRecord, recordedBytes, sizeOf, waitUntil } from './helpers/install-dir.js';
import { jsonInstallArgs, pathExists } from './helpers/served-artifact.js';
import { nginxSkipReason, parseAccessLogLine, startNginx } from './helpers/nginx.js';
import { useTempDir } from './helpers/tmp.js';

const SIZE = 8 * 1024 * 1024;

test('nginx: a download SIGKILLed midway resumes with a 206 for bytes=N- under If-Range', { skip: nginxSkipReason() }, async (t) => {
  const work = await useTempDir(t, 'nginx-resume');
  const root = join(work, 'www');
  const dir = join(work, 'models');
  const body = makeContent(SIZE, 71);
  await mkdir(root);
  await writeFile(join(root, 'model.bin'), body);
  const nginx = await startNginx({ root, limitRateBytesPerSecond: 4_000_000 });
  t.after(() => nginx.stop());
  const manifest = await writeManifest(work, [
    { id: 'model', kind: 'llm', label: 'Served by nginx', url: nginx.url('/model.bin'), size: SIZE, sha256: sha256Hex(body), path: 'llm/model.bin' },
  ]);
  const paths = dirPaths(dir);
  const finalPath = join(dir, 'llm', 'model.bin');

  const first = spawnCli(jsonInstallArgs(manifest, dir, '--connections', '1'));
  t.after(() => first.kill('SIGKILL'));
  await waitForEvent(first, (event) => event.event === 'progress' && Number(event.bytes) >= SIZE * 0.4);
  const record = await waitUntil(async () => {
    const read = await readResumeRecord(paths.resumeRecord('model'));
    return read !== undefined && recordedBytes(read) > 0 ? read : undefined;
  }, 'a checkpoint');
  first.kill('SIGKILL');
  await waitForExit(first);
  assert.equal(await pathExists(finalPath), false);
  // The record read before the kill may be one checkpoint behind; the one on disk now is final.
  const kept = (await readResumeRecord(paths.resumeRecord('model'))) ?? record;
  const durable = recordedBytes(kept);
  assert.ok(durable > 0 && durable <= (await sizeOf(paths.partial('model'))));
  assert.match(kept.etag ?? '', /^"[0-9a-f]+-[0-9a-f]+"$/, 'nginx’s strong ETag is kept as sent');
  const [killedLine = ''] = await nginx.waitForAccessLog(1);
  assert.equal(parseAccessLogLine(killedLine).range, '-', 'the first request was a plain GET');

  const second = await runCli(jsonInstallArgs(manifest, dir, '--connections', '1'));
  assert.equal(second.code, 0, second.stderr + JSON.stringify(second.events.filter((e) => e.event !== 'progress')));
  assert.equal(second.events.find((event) => event.event === 'start')?.offset, durable);
  const lines = (await nginx.waitForAccessLog(2)).map(parseAccessLogLine).map((entry) => ({ ...entry, ifRange: unescapeLog(entry.ifRange) }));
  assert.equal(lines.length, 2, JSON.stringify(lines));
  assert.deepEqual(lines[1], {
    request: 'GET /model.bin HTTP/1.1',
    status: 206,
    range: `bytes=${durable}-`,
    ifRange: kept.etag,
    bodyBytesSent: SIZE - durable,
  });
  assert.ok((await readFile(finalPath)).equals(body), 'the file is byte-identical');
  assert.equal(await pathExists(paths.partial('model')), false);
});

/** nginx writes a `"` in a logged header as `\x22`. */
function unescapeLog(value: string): string {
  return value.replace(/\\x([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

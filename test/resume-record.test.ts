// The resume record as read from disk: what a valid record becomes, what counts as corrupt, and
// how a record written by modelhaul 0.1 (version 1, tied to a URL) is read as version 2, so that
// upgrading modelhaul costs no partial download.
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from './helpers/tmp.js';
import { readResumeRecord, type ResumeRecord } from '../src/store/resume-record.js';

const SHA = 'ab'.repeat(32);

async function readWritten(t: TestContext, json: unknown) {
  const file = join(await useTempDir(t, 'resume-record'), 'a.resume.json');
  await writeFile(file, JSON.stringify(json));
  return readResumeRecord(file);
}

const versionTwo: ResumeRecord = {
  format: 'modelhaul-resume',
  version: 2,
  id: 'model',
  size: 1000,
  sha256: SHA,
  validatorsFrom: 'https://cdn.example/model.bin',
  etag: '"v1"',
  segments: [
    { start: 0, end: 500, done: 200 },
    { start: 500, end: 1000, done: 0 },
  ],
  sources: [{ start: 0, end: 200, source: 'https://cdn.example' }],
  updatedAt: '2026-12-01T00:00:00.000Z',
};

describe('readResumeRecord', () => {
  it('reads a version 2 record as it was written', async (t) => {
    const read = await readWritten(t, versionTwo);
    assert.deepEqual(read, { state: 'ok', record: versionTwo });
  });

  it('reads a version 1 record as version 2: its URL gives the validators and the source of its durable bytes', async (t) => {
    const written: Record<string, unknown> = { ...versionTwo, version: 1, url: 'https://cdn.example/model.bin' };
    delete written.sources;
    delete written.validatorsFrom;
    const read = await readWritten(t, written);
    assert.equal(read.state, 'ok');
    assert.ok(read.state === 'ok');
    assert.equal(read.record.version, 2);
    assert.equal(read.record.validatorsFrom, 'https://cdn.example/model.bin');
    assert.equal('url' in read.record, false);
    assert.deepEqual(read.record.sources, [{ start: 0, end: 200, source: 'https://cdn.example' }]);
    assert.deepEqual(read.record.segments, versionTwo.segments);
  });

  for (const [what, record, field] of [
    ['segments that leave a gap', { ...versionTwo, segments: [{ start: 0, end: 400, done: 0 }, { start: 500, end: 1000, done: 0 }] }, 'segments'],
    ['a segment claiming more than it spans', { ...versionTwo, segments: [{ start: 0, end: 1000, done: 1001 }] }, 'segments'],
    ['no segments at all', { ...versionTwo, segments: [] }, 'segments'],
    ['a size that is not a whole number', { ...versionTwo, size: 10.5 }, 'size'],
    ['a digest that is not lowercase hex', { ...versionTwo, sha256: SHA.toUpperCase() }, 'sha256'],
    ['an unknown version', { ...versionTwo, version: 3 }, 'version'],
  ] as const) {
    it(`calls a record with ${what} corrupt, naming the field`, async (t) => {
      const read = await readWritten(t, record);
      assert.equal(read.state, 'corrupt');
      assert.ok(read.state === 'corrupt');
      assert.match(read.reason, new RegExp(field));
    });
  }

  it('calls a file that is not JSON corrupt and a missing file absent', async (t) => {
    const dir = await useTempDir(t, 'resume-record');
    await writeFile(join(dir, 'bad.json'), '{"format":"modelhaul-resume", "segm');
    assert.equal((await readResumeRecord(join(dir, 'bad.json'))).state, 'corrupt');
    assert.equal((await readResumeRecord(join(dir, 'none.json'))).state, 'absent');
  });
});

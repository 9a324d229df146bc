// What the download modal says in each phase, worked out without a browser: the wording, the
// buttons, the progress bar's value and text, and which milestones are announced. The same
// view is what the element puts on screen (test/download-modal.test.ts checks it there).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fill, Formats, mergeStrings } from '../src/ui/download-strings.js';
import { downloadView, type DownloadView } from '../src/ui/download-view.js';
import type { LifecycleSnapshot } from '../src/lifecycle/snapshot.js';
import { ALL_PHASES, snapshotIn } from './fixtures/snapshots.js';

const NOW = Date.UTC(2025, 5, 1, 12);
const english = new Formats('en-US');

function view(snapshot: LifecycleSnapshot | null, strings = mergeStrings(null), formats = english, now = NOW): DownloadView {
  return downloadView({ snapshot, strings, formats, now });
}

test('each phase has its heading and buttons; only a running download offers "Continue in background"', () => {
  const expected: Record<string, { heading: string; buttons: string[] }> = {
    checking: { heading: 'Checking model files', buttons: ['background'] },
    missing: { heading: 'Download models', buttons: ['notNow', 'download'] },
    downloading: { heading: 'Downloading models', buttons: ['cancel', 'pause', 'background'] },
    paused: { heading: 'Download paused', buttons: ['cancel', 'background', 'resume'] },
    offline: { heading: 'Waiting for the network', buttons: ['cancel', 'pause', 'background'] },
    'retry-wait': { heading: 'Connection interrupted', buttons: ['cancel', 'background', 'retryNow'] },
    verifying: { heading: 'Checking downloaded files', buttons: ['background'] },
    blocked: { heading: 'Not enough disk space', buttons: ['notNow', 'retry'] },
    failed: { heading: 'Download failed', buttons: ['notNow', 'retry'] },
    ready: { heading: 'Ready', buttons: ['done'] },
  };
  for (const phase of ALL_PHASES) {
    const shown = view(snapshotIn(phase, NOW));
    assert.equal(shown.heading, expected[phase]?.heading, phase);
    assert.deepEqual(shown.buttons, expected[phase]?.buttons, phase);
  }
});

test('while downloading, the bar says how much of how much and the time left, "calculating" until the ETA is known', () => {
  const downloading = snapshotIn('downloading', NOW);
  const shown = view(downloading).progress;
  assert.deepEqual(shown, { percent: 35, valueText: '1.2 of 3.4 GB, about 5 min left', detail: '7.3 MB/s' });

  assert.equal(view({ ...downloading, etaSeconds: null }).progress?.valueText, '1.2 of 3.4 GB, calculating time left');
  // A stall: the rate has fallen to 0 and the lifecycle drops the ETA; the line says so instead
  // of a stale time or an endless "calculating".
  const stalled = view({ ...downloading, bytesPerSecond: 0, etaSeconds: null }).progress;
  assert.deepEqual(stalled, { percent: 35, valueText: '1.2 of 3.4 GB, waiting for data', detail: '' });
});

test('the bar is indeterminate (no value) while checking and verifying, and absent where nothing is measured', () => {
  assert.equal(view(snapshotIn('checking', NOW)).progress?.percent, null);
  assert.equal(view(snapshotIn('verifying', NOW)).progress?.percent, null);
  assert.equal(view(null).progress?.percent, null);
  for (const phase of ['missing', 'blocked', 'failed', 'ready'] as const) assert.equal(view(snapshotIn(phase, NOW)).progress, null, phase);
  assert.equal(view(snapshotIn('paused', NOW)).progress?.valueText, '1.2 of 3.4 GB');
});

test('before starting: sizes per capability, the total and the free space, with a warning when it is short', () => {
  const missing = view(snapshotIn('missing', NOW));
  assert.deepEqual(
    missing.capabilities.map((item) => [item.name, item.value]),
    [['Speech recognition', '400 MB'], ['Language model', '2.9 GB'], ['Voice', '100 MB'], ['Total', '3.4 GB']],
  );
  assert.deepEqual(missing.space, { text: '181 GB free on this disk', short: false });
  const short = view(snapshotIn('missing', NOW, { freeBytes: 2_000_000_000 }));
  assert.deepEqual(short.space, { text: 'Needs 3.4 GB, but only 2 GB is free on this disk.', short: true });
  const kept = view(snapshotIn('missing', NOW, { bytes: 1_200_000_000 }));
  assert.match(kept.message, /1\.2 GB from an earlier download is kept/);
});

test('retry-wait counts down to the next attempt and shows the hint calmly, not as an alert', () => {
  const snapshot = snapshotIn('retry-wait', NOW);
  const shown = view(snapshot);
  assert.equal(shown.countdown, 'Trying again in 12 sec.');
  assert.equal(view(snapshot, undefined, undefined, NOW + 4_500).countdown, 'Trying again in 8 sec.');
  assert.equal(view(snapshot, undefined, undefined, NOW + 12_000).countdown, 'Trying again now.');
  assert.equal(shown.failure, null);
  assert.equal(shown.notice?.code, 'Error code NETWORK');
  // The lifecycle marks the files the failed attempt was moving as failed; while a retry is coming
  // a person is told what is kept, not "Failed".
  const marked = { ...snapshot, artifacts: snapshot.artifacts.map((artifact) => (artifact.state === 'partial' ? { ...artifact, state: 'failed' as const } : artifact)) };
  assert.deepEqual(view(marked).artifacts.map((item) => item.value), ['Installed', '0.8 of 2.9 GB kept', '40 of 100 MB kept']);
});

test('failures show the hint first and the code apart; DISK_FULL says how much to free', () => {
  const failed = view(snapshotIn('failed', NOW));
  // The snapshot's hint comes first: the lifecycle's, worded for a person in an app.
  assert.equal(failed.failure?.hint, 'A downloaded file was damaged on the way and was thrown away. Choose Retry to download it again.');
  const other = snapshotIn('failed', NOW);
  const notFound = { ...other, error: other.error && { ...other.error, code: 'NOT_FOUND' as const, hint: 'Check the id.' } };
  assert.equal(view(notFound).failure?.hint, 'Check the id.', 'whatever hint the snapshot carries is shown');
  const replaced = mergeStrings({ hints: { CHECKSUM_MISMATCH: 'Replaced.' } });
  assert.equal(view(snapshotIn('failed', NOW), replaced).failure?.hint, 'Replaced.', "an app's hint for a code replaces the snapshot's");
  assert.equal(view(snapshotIn('failed', NOW), mergeStrings({ hints: { CHECKSUM_MISMATCH: '' } })).failure?.hint, failed.failure?.hint, "an empty replacement keeps the snapshot's");
  assert.equal(failed.failure?.code, 'Error code CHECKSUM_MISMATCH');
  assert.match(failed.failure?.message ?? '', /SHA-256 mismatch/);

  const blocked = view(snapshotIn('blocked', NOW));
  assert.equal(blocked.failure?.hint, 'Free up 1.5 GB on this disk, then choose Retry.');
  assert.equal(blocked.failure?.code, 'Error code DISK_FULL');
  assert.match(blocked.failure?.message ?? '', /\/home\/ada\/\.local\/share\/modelhaul\/voice-assistant/);
});

test('every string is replaceable, hints per code included, and numbers follow the language', () => {
  const strings = mergeStrings({
    headingFailed: 'Download fehlgeschlagen',
    progressValue: '{done} von {total}',
    timeLeft: 'noch etwa {time}',
    hints: { CHECKSUM_MISMATCH: 'Die Datei war beschädigt und wurde verworfen.' },
  });
  const german = new Formats('de-DE');
  const downloading = view(snapshotIn('downloading', NOW), strings, german).progress;
  // Intl puts a no-break space between number and unit in some places; which, depends on ICU data.
  assert.equal(downloading?.valueText.replace(/\s/g, ' '), '1,2 von 3,4 GB, noch etwa 5 Min.');
  const failed = view(snapshotIn('failed', NOW), strings, german);
  assert.equal(failed.heading, 'Download fehlgeschlagen');
  assert.equal(failed.failure?.hint, 'Die Datei war beschädigt und wurde verworfen.');
  // Untouched strings keep their defaults.
  assert.equal(view(snapshotIn('paused', NOW), strings, german).heading, 'Download paused');
  assert.equal(fill('{a} and {missing}', { a: 1 }), '1 and {missing}');
});

test('milestones: each phase, each quarter and each capability once; never the bytes', () => {
  const keys = (snapshot: LifecycleSnapshot): string[] => view(snapshot).milestones.map((milestone) => milestone.key);
  const at = (bytes: number): LifecycleSnapshot => snapshotIn('downloading', NOW, { bytes });
  // Bytes and rate move within a quarter: the same keys, so nothing new to announce.
  assert.deepEqual(keys(at(1_000_000_000)), keys({ ...at(1_100_000_000), bytesPerSecond: 1, etaSeconds: 9 }));
  assert.notDeepEqual(keys(at(800_000_000)), keys(at(900_000_000)));
  assert.ok(keys(at(900_000_000)).includes('quarter:1'));
  assert.deepEqual(
    view(at(1_800_000_000)).milestones.find((milestone) => milestone.key === 'quarter:2'),
    { key: 'quarter:2', text: '50% downloaded.' },
  );
  assert.ok(keys(at(900_000_000)).includes('ready:stt'), 'the installed speech model is a milestone');
  // The countdown's ticking is not a milestone; a new attempt is.
  const waiting = snapshotIn('retry-wait', NOW);
  assert.deepEqual(view(waiting, undefined, undefined, NOW).milestones.map((m) => m.key), view(waiting, undefined, undefined, NOW + 3000).milestones.map((m) => m.key));
  assert.notDeepEqual(keys(waiting), keys({ ...waiting, attempt: 3 }));
});

test('durations read as people say them', () => {
  assert.equal(english.duration(8), '8 sec');
  assert.equal(english.duration(42), '45 sec');
  assert.equal(english.duration(300), '5 min');
  assert.equal(english.duration(3 * 3600 + 25 * 60), '3 hr 25 min');
  assert.equal(english.bytes(950), '950 byte');
  assert.equal(english.bytes(147_964_211), '148 MB');
});

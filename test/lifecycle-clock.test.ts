// The parts of the lifecycle that run on time, on a clock the test moves by hand: the rate a person
// sees (it falls to 0 in a stall; an ETA only once it is stable), the snapshot throttle (every phase
// change, otherwise at most five a second), and the retry countdown of a real lifecycle.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { LifecycleClock, LifecycleSnapshot } from '../src/index.js';
import { RateMeter } from '../src/lifecycle/rate-meter.js';
import { SnapshotFeed } from '../src/lifecycle/snapshot-feed.js';
import { makeContent } from './helpers/content.js';
import { useOrigin } from './helpers/install-run.js';
import { manifestOf, useLifecycle } from './helpers/lifecycle.js';
import { serveArtifact } from './helpers/served-artifact.js';
import { useTempDir } from './helpers/tmp.js';

/** A clock whose time moves only when the test says, firing the timers that fall due in order. */
class ManualClock implements LifecycleClock {
  time = 1_000_000;
  private timers: Array<{ at: number; callback: () => void; id: number }> = [];
  private nextId = 0;

  now = (): number => this.time;
  setTimeout = (callback: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, callback, id });
    return id;
  };
  clearTimeout = (handle: unknown): void => {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  };

  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.time = due.at;
      due.callback();
    }
    this.time = until;
  }

  get pending(): number {
    return this.timers.length;
  }
}

test('the rate follows the clock: bytes over the last 3 s, exactly 0 after 3 s without a byte, stable only with a full window', () => {
  const meter = new RateMeter();
  meter.observe(0, 0);
  meter.observe(500, 1_000_000);
  meter.observe(1000, 2_000_000);
  assert.equal(meter.rate(1000), 2_000_000, 'a young history is averaged over at least a second');
  assert.equal(meter.stable(1000), false);
  meter.observe(2000, 4_000_000);
  meter.observe(3000, 6_000_000);
  assert.equal(meter.rate(3000), 2_000_000);
  assert.equal(meter.stable(3000), true, 'three seconds of history');
  // The stall: no more observations with new bytes, only the clock moving on.
  meter.observe(4000, 6_000_000);
  assert.equal(meter.rate(4000), Math.round(4_000_000 / 3), 'falling');
  meter.observe(6000, 6_000_000);
  assert.equal(meter.rate(6000), 0, 'exactly 0 once a whole window passed without a byte');
  assert.equal(meter.stable(6000), false, 'no ETA for a transfer that does not move');
  meter.observe(6500, 100);
  assert.equal(meter.rate(6500), 0, 'bytes discarded: the measurement starts afresh');
});

function snapshotAt(clock: ManualClock, phase: LifecycleSnapshot['phase'], sequence: number): LifecycleSnapshot {
  return { phase, sequence, at: clock.now() } as LifecycleSnapshot;
}

test('listeners get every phase change at once and other changes at most every 200 ms, as they stand then', () => {
  const clock = new ManualClock();
  let state = { phase: 'downloading' as LifecycleSnapshot['phase'], sequence: 0 };
  let current: LifecycleSnapshot | undefined;
  const build = (): LifecycleSnapshot => (current ??= snapshotAt(clock, state.phase, state.sequence));
  const change = (phase = state.phase): void => {
    state = { phase, sequence: state.sequence + 1 };
    current = undefined;
  };
  const feed = new SnapshotFeed(clock, build);
  const seen: Array<{ at: number; phase: string; sequence: number }> = [];
  feed.subscribe((snapshot) => seen.push({ at: clock.now(), phase: snapshot.phase, sequence: snapshot.sequence }));

  for (let i = 0; i < 100; i++) {
    change();
    feed.publish();
    clock.advance(10);
  }
  // A hundred changes over a second: the first at once, then one every 200 ms.
  assert.deepEqual(seen.map((s) => s.at - 1_000_000), [0, 200, 400, 600, 800, 1000]);
  assert.equal(seen.at(-1)?.sequence, 100, 'each delivery carries the state of its moment');

  change('paused');
  feed.publishNow();
  change('downloading');
  feed.publishNow();
  assert.deepEqual(seen.slice(-2).map((s) => s.phase), ['paused', 'downloading'], 'two phase changes in one moment: both delivered');

  seen.length = 0;
  feed.publish();
  assert.deepEqual(seen, [], 'nothing new to say');
  change();
  feed.publish();
  assert.equal(seen.length, 0, 'within 200 ms of the last delivery');
  clock.advance(200);
  assert.equal(seen.length, 1);
  feed.close();
  change();
  feed.publish();
  clock.advance(1000);
  assert.equal(seen.length, 1, 'a closed feed says nothing');
  assert.equal(clock.pending, 0, 'and holds no timer');
});

test('a listener that acts during a delivery sees its own phase change after the current one, in order, as every listener does', () => {
  const clock = new ManualClock();
  let phase: LifecycleSnapshot['phase'] = 'missing';
  let sequence = 0;
  let current: LifecycleSnapshot | undefined;
  const feed = new SnapshotFeed(clock, () => (current ??= snapshotAt(clock, phase, sequence)));
  const first: string[] = [];
  const second: string[] = [];
  feed.subscribe((snapshot) => {
    first.push(snapshot.phase);
    if (snapshot.phase === 'missing') {
      phase = 'downloading';
      sequence++;
      current = undefined;
      feed.publishNow();
    }
  });
  const unsubscribe = feed.subscribe((snapshot) => second.push(snapshot.phase));
  feed.publishNow();
  assert.deepEqual(first, ['missing', 'downloading']);
  assert.deepEqual(second, ['missing', 'downloading']);
  unsubscribe();
  phase = 'ready';
  sequence++;
  current = undefined;
  feed.publishNow();
  assert.deepEqual(second, ['missing', 'downloading'], 'unsubscribed');
});

test('the retry countdown runs on the injected clock: nothing is tried before nextRetryAt, then at once', async (t) => {
  const clock = new ManualClock();
  const origin = await useOrigin(t);
  const model = serveArtifact(origin, 'model', makeContent(50_000, 31));
  origin.script('/model.bin', { kind: 'status', status: 503 });
  const dir = join(await useTempDir(t, 'lc-clock'), 'models');
  const watched = useLifecycle(t, { manifest: manifestOf(model), dir, retries: 0, clock, retryDelay: (attempt) => attempt * 45_000 });
  watched.lifecycle.start();
  const waiting = await watched.until((s) => s.phase === 'retry-wait', 'retry-wait');
  assert.equal(waiting.nextRetryAt, clock.now() + 45_000);
  assert.equal(waiting.at, clock.now(), 'snapshots are stamped with the injected clock');
  clock.advance(44_999);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(origin.requestsFor('/model.bin').length, 1, 'not a millisecond early');
  assert.equal(watched.lifecycle.getSnapshot().phase, 'retry-wait');
  clock.advance(1);
  assert.equal(watched.lifecycle.getSnapshot().phase, 'downloading', 'at once when due');
  await watched.until((s) => s.phase === 'ready', 'ready');
});

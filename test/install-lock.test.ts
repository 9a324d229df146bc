import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { InstallError } from '../src/errors.js';
import type { ErrorCode } from '../src/error-codes.js';
import {
  acquireInstallLock,
  readLockHolder,
  type InstallLock,
  type LockHolder,
} from '../src/store/install-lock.js';
import { processStartOf } from '../src/store/lock-holder.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('fixtures/lock-holder.ts', import.meta.url));

async function tempLockPath(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'modelhaul-lock-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'lock');
}

interface Holder {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  /** Resolves when the child prints `line`; rejects if it exits first. */
  waitFor(line: string): Promise<void>;
  send(line: string): void;
}

/** Starts test/fixtures/lock-holder.ts in its own process; it is SIGKILLed when the test ends. */
function startHolder(t: TestContext, lockPath: string, args: string[] = []): Holder {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, lockPath, ...args], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const seen = new Set<string>();
  const waiters = new Map<string, () => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    seen.add(line);
    waiters.get(line)?.();
  });
  const exited = once(child, 'exit');
  assert.ok(child.pid !== undefined);
  return {
    child,
    pid: child.pid,
    send: (line) => child.stdin.write(`${line}\n`),
    waitFor: (line) =>
      seen.has(line)
        ? Promise.resolve()
        : Promise.race([
            new Promise<void>((resolve) => waiters.set(line, resolve)),
            exited.then(() => {
              if (!seen.has(line)) throw new Error(`holder exited before "${line}": ${stderr}`);
            }),
          ]),
  };
}

/** A live process that has nothing to do with any lock; killed when the test ends. */
function liveUnrelatedProcess(t: TestContext): number {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  assert.ok(child.pid !== undefined);
  return child.pid;
}

/** The pid of a process that has exited and been reaped: nothing answers to it any more. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  assert.ok(child.pid !== undefined);
  return child.pid;
}

function holderJson(fields: Partial<LockHolder>): string {
  const holder: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    tool: 'modelhaul',
    ...fields,
  };
  return `${JSON.stringify(holder)}\n`;
}

async function makeOld(path: string, ageMs = 60_000): Promise<void> {
  const then = new Date(Date.now() - ageMs);
  await utimes(path, then, then);
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<InstallError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected ${code}, but it resolved`),
    (error: unknown) => (caught = error),
  );
  assert.ok(caught instanceof InstallError, `expected an InstallError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('acquireInstallLock', () => {
  it('creates a lock file naming this process, and release removes it', async (t) => {
    const lockPath = await tempLockPath(t);
    const lock = await acquireInstallLock(lockPath);
    const holder = await readLockHolder(lockPath);
    assert.deepEqual(holder, lock.holder);
    assert.equal(holder?.pid, process.pid);
    assert.equal(holder?.hostname, hostname());
    assert.equal(holder?.tool, 'modelhaul');
    assert.ok(Math.abs(Date.parse(holder?.startedAt ?? '') - Date.now()) < 5_000);
    await lock.release();
    assert.equal(await exists(lockPath), false);
    assert.equal(await readLockHolder(lockPath), undefined);
  });

  it('(a) waits while another live process holds the lock, then takes it after release', async (t) => {
    const lockPath = await tempLockPath(t);
    const holder = startHolder(t, lockPath);
    await holder.waitFor('locked');

    const announced: LockHolder[] = [];
    let acquired = false;
    const pending = acquireInstallLock(lockPath, {
      pollMs: 50,
      onWait: (h) => announced.push(h),
    }).then((lock) => {
      acquired = true;
      return lock;
    });
    await sleep(700);
    assert.equal(acquired, false, 'must not take a lock held by a live process');
    assert.deepEqual(
      announced.map((h) => h.pid),
      [holder.pid],
      'onWait is called exactly once, with the holder',
    );

    holder.send('release');
    await holder.waitFor('released');
    const lock = await pending;
    assert.equal((await readLockHolder(lockPath))?.pid, process.pid);
    await lock.release();
  });

  it('(b) takes over promptly from a holder that was SIGKILLed', async (t) => {
    const lockPath = await tempLockPath(t);
    const holder = startHolder(t, lockPath);
    await holder.waitFor('locked');

    let startedWaiting!: () => void;
    const waiting = new Promise<void>((resolve) => (startedWaiting = resolve));
    const pending = acquireInstallLock(lockPath, { onWait: () => startedWaiting() });
    await waiting;

    const exited = once(holder.child, 'exit');
    holder.child.kill('SIGKILL');
    await exited;
    const diedAt = performance.now();
    const lock = await pending;
    const latencyMs = performance.now() - diedAt;
    assert.ok(latencyMs < 600, `took ${Math.round(latencyMs)} ms after the holder died`);
    assert.deepEqual(await readLockHolder(lockPath), lock.holder);
    await lock.release();
  });

  it('(c) never takes over a lock held on another host', async (t) => {
    const lockPath = await tempLockPath(t);
    const otherHost = `${hostname()}-elsewhere.invalid`;
    // Our own pid looks alive here, and a dead pid looks dead here: neither means anything there.
    for (const pid of [process.pid, await deadPid()]) {
      const content = holderJson({ pid, hostname: otherHost });
      await writeFile(lockPath, content);
      const before = await stat(lockPath);

      const started = performance.now();
      const error = await rejectsWith(acquireInstallLock(lockPath, { timeoutMs: 500, pollMs: 50 }), 'LOCKED');
      assert.ok(performance.now() - started >= 490);
      assert.equal(error.details.lockPath, lockPath);
      assert.equal(error.details.pid, pid);
      assert.equal(error.details.hostname, otherHost);
      assert.match(error.message, new RegExp(`process ${pid} on host ${otherHost}`));
      assert.ok(error.message.includes(lockPath));

      assert.equal(await readFile(lockPath, 'utf8'), content);
      assert.equal((await stat(lockPath)).mtimeMs, before.mtimeMs);
      assert.deepEqual(await readdir(join(lockPath, '..')), ['lock'], 'no guard or temp file left');
    }
  });

  it('(d) lets exactly one of several racing processes hold a stale lock at a time', async (t) => {
    const lockPath = await tempLockPath(t);
    const logPath = `${lockPath}.log`;
    const deadHolder = async (): Promise<void> => writeFile(lockPath, holderJson({ pid: await deadPid() }));
    const damaged = async (): Promise<void> => {
      await writeFile(lockPath, '{"pid":');
      await makeOld(lockPath);
    };
    // Several rounds, because a race that is lost only sometimes must still be caught.
    const stale = [deadHolder, damaged, deadHolder];
    for (const makeStale of stale) {
      await rm(logPath, { force: true });
      await makeStale();
      const racers = Array.from({ length: 4 }, () =>
        startHolder(t, lockPath, ['--wait-go', '--hold-ms', '100', '--poll-ms', '10', '--log', logPath]),
      );
      await Promise.all(racers.map((r) => r.waitFor('ready')));
      for (const racer of racers) racer.send('go');
      const codes = await Promise.all(
        racers.map(async (r) => ((await once(r.child, 'exit')) as [number | null])[0]),
      );
      assert.deepEqual(codes, [0, 0, 0, 0]);

      const events = (await readFile(logPath, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => {
          const [event = '', pid = '', time = ''] = line.split(' ');
          return { event, pid: Number(pid), time: Number(time) };
        });
      // The log is appended in real order: a second "acquire" before the matching "release"
      // would mean two holders at once.
      assert.equal(events.length, 8);
      for (let i = 0; i < events.length; i += 2) {
        const acquire = events[i];
        const release = events[i + 1];
        assert.equal(acquire?.event, 'acquire');
        assert.equal(release?.event, 'release');
        assert.equal(release.pid, acquire.pid);
        assert.ok(release.time >= acquire.time);
        const next = events[i + 2];
        if (next !== undefined) assert.ok(next.time >= release.time, 'holding intervals overlap');
      }
      assert.equal(new Set(events.map((e) => e.pid)).size, 4, 'every racer got the lock once');
      assert.deepEqual(await readdir(join(lockPath, '..')), ['lock.log'], 'no lock, guard or temp file left');
    }
  });

  it('(e) release never deletes a lock that is not ours', async (t) => {
    const lockPath = await tempLockPath(t);

    // Our file was replaced by someone else's (as if our lock had been taken over).
    const lock = await acquireInstallLock(lockPath);
    const theirs = holderJson({ pid: await deadPid() });
    await writeFile(lockPath, theirs);
    await lock.release();
    assert.equal(await readFile(lockPath, 'utf8'), theirs);
    await rm(lockPath);

    // A second release after another process took the lock must not remove that lock.
    const first = await acquireInstallLock(lockPath);
    await first.release();
    const holder = startHolder(t, lockPath);
    await holder.waitFor('locked');
    await first.release();
    assert.equal((await readLockHolder(lockPath))?.pid, holder.pid);
    holder.send('release');
    await holder.waitFor('released');
  });

  it('(e) release is idempotent and does not mind a lock file that is already gone', async (t) => {
    const lockPath = await tempLockPath(t);
    const lock = await acquireInstallLock(lockPath);
    await rm(lockPath);
    await lock.release();
    await lock.release();
    await Promise.all([lock.release(), lock.release()]);
  });

  it('(f) stops waiting with ABORTED when the signal aborts', async (t) => {
    const lockPath = await tempLockPath(t);
    const holder = startHolder(t, lockPath);
    await holder.waitFor('locked');

    const controller = new AbortController();
    const pending = acquireInstallLock(lockPath, {
      signal: controller.signal,
      onWait: () => setTimeout(() => controller.abort(new Error('user cancelled')), 100),
    });
    const started = performance.now();
    const error = await rejectsWith(pending, 'ABORTED');
    assert.ok(performance.now() - started < 2_000);
    assert.equal((error.cause as Error).message, 'user cancelled');
    assert.equal((await readLockHolder(lockPath))?.pid, holder.pid, 'the holder keeps its lock');
  });

  it('(f) does not take a free lock when the signal is already aborted', async (t) => {
    const lockPath = await tempLockPath(t);
    await rejectsWith(acquireInstallLock(lockPath, { signal: AbortSignal.abort() }), 'ABORTED');
    assert.equal(await exists(lockPath), false);
  });

  it('(g) takes over a damaged lock file only once it is older than the grace period', async (t) => {
    const lockPath = await tempLockPath(t);
    for (const garbage of ['', 'garbage\u0000{', '{"pid":0,"hostname":"h","startedAt":"x","tool":"modelhaul"}']) {
      await writeFile(lockPath, garbage);

      // Fresh: its creator may still be writing it.
      const error = await rejectsWith(acquireInstallLock(lockPath, { timeoutMs: 300, pollMs: 50 }), 'LOCKED');
      assert.ok(error.message.includes(lockPath));
      assert.equal(await readFile(lockPath, 'utf8'), garbage);

      // Old: its creator died between creating and writing it.
      await makeOld(lockPath);
      const lock = await acquireInstallLock(lockPath, { timeoutMs: 2_000 });
      assert.deepEqual(await readLockHolder(lockPath), lock.holder);
      await lock.release();
    }
  });

  it('takes over a lock whose holder on this host is gone', async (t) => {
    const lockPath = await tempLockPath(t);
    await writeFile(lockPath, holderJson({ pid: await deadPid() }));
    const started = performance.now();
    const lock = await acquireInstallLock(lockPath, { timeoutMs: 2_000 });
    assert.ok(performance.now() - started < 500);
    assert.equal((await readLockHolder(lockPath))?.pid, process.pid);
    await lock.release();
  });

  it('takes over a lock left by an earlier process that had our pid (containers restart as pid 1)', async (t) => {
    const lockPath = await tempLockPath(t);
    const beforeWeStarted = new Date(Date.now() - process.uptime() * 1000 - 3_600_000).toISOString();
    await writeFile(lockPath, holderJson({ pid: process.pid, startedAt: beforeWeStarted }));
    const lock = await acquireInstallLock(lockPath, { timeoutMs: 2_000 });
    assert.notEqual(lock.holder.startedAt, beforeWeStarted);
    await lock.release();
  });

  it('takes over at once a lock whose pid now belongs to another live process (pid reused after a crash or a reboot)', { skip: process.platform !== 'linux' && 'start identities come from /proc' }, async (t) => {
    const lockPath = await tempLockPath(t);
    const unrelated = liveUnrelatedProcess(t);
    const identity = await processStartOf(unrelated);
    assert.ok(identity !== undefined, 'the start identity of a live process can be read');
    const [, bootId, startTime] = /^linux:(.+):(\d+)$/.exec(identity) ?? [];
    for (const recorded of [
      `linux:${bootId}:${Number(startTime) - 1}`, // this boot, a process that started earlier and died
      `linux:00000000-0000-0000-0000-000000000000:${startTime}`, // the same start time in another boot
    ]) {
      await writeFile(lockPath, holderJson({ pid: unrelated, processStart: recorded }));
      const started = performance.now();
      const lock = await acquireInstallLock(lockPath, { timeoutMs: 2_000 });
      assert.ok(performance.now() - started < 1_000, `took over at once from ${recorded}`);
      assert.equal(lock.holder.pid, process.pid);
      assert.equal(lock.holder.processStart, await processStartOf(process.pid), 'the new lock records who holds it');
      await lock.release();
    }
  });

  it('waits for a live holder whose start identity is its own, and for one from a version that recorded none', async (t) => {
    const lockPath = await tempLockPath(t);
    const holder = liveUnrelatedProcess(t);
    const identity = await processStartOf(holder);
    for (const fields of [{ pid: holder, ...(identity === undefined ? {} : { processStart: identity }) }, { pid: holder }]) {
      const text = holderJson(fields);
      await writeFile(lockPath, text);
      await rejectsWith(acquireInstallLock(lockPath, { timeoutMs: 300, pollMs: 50 }), 'LOCKED');
      assert.equal(await readFile(lockPath, 'utf8'), text, 'the lock is untouched');
    }
  });

  it('is not reentrant: a second acquire in the same process waits for the first', async (t) => {
    const lockPath = await tempLockPath(t);
    const first = await acquireInstallLock(lockPath);
    await rejectsWith(acquireInstallLock(lockPath, { timeoutMs: 300, pollMs: 50 }), 'LOCKED');
    const second = acquireInstallLock(lockPath, { pollMs: 20 });
    await sleep(100);
    await first.release();
    await (await second).release();
  });

  it('tries exactly once with timeoutMs 0', async (t) => {
    const lockPath = await tempLockPath(t);
    const first = await acquireInstallLock(lockPath, { timeoutMs: 0 });
    const started = performance.now();
    await rejectsWith(acquireInstallLock(lockPath, { timeoutMs: 0 }), 'LOCKED');
    assert.ok(performance.now() - started < 200);
    await first.release();
  });

  it('waits for a takeover in progress, and breaks a takeover guard left by a dead process', async (t) => {
    const lockPath = await tempLockPath(t);
    const guardPath = `${lockPath}.takeover`;
    await writeFile(lockPath, holderJson({ pid: await deadPid() }));
    await writeFile(guardPath, '');

    // A fresh guard: someone is taking over right now, so stay out.
    await rejectsWith(acquireInstallLock(lockPath, { timeoutMs: 300, pollMs: 50 }), 'LOCKED');
    assert.equal(await exists(guardPath), true);

    // An old guard: its owner died mid-takeover.
    await makeOld(guardPath);
    const lock = await acquireInstallLock(lockPath, { timeoutMs: 2_000 });
    assert.equal(await exists(guardPath), false);
    await lock.release();
    assert.deepEqual(await readdir(join(lockPath, '..')), []);
  });

  it('reports a lock dir that cannot hold files as a file-system error', async (t) => {
    const lockPath = await tempLockPath(t);
    await writeFile(lockPath, 'a file, not a dir');
    await rejectsWith(acquireInstallLock(join(lockPath, 'lock')), 'FILESYSTEM');
  });

  it(
    'reports a read-only install dir as PERMISSION_DENIED',
    { skip: process.getuid?.() === 0 ? 'root ignores file permissions' : false },
    async (t) => {
      const lockPath = await tempLockPath(t);
      const dir = join(lockPath, '..');
      await chmod(dir, 0o555);
      t.after(() => chmod(dir, 0o755));
      await rejectsWith(acquireInstallLock(lockPath), 'PERMISSION_DENIED');
    },
  );

  it('refuses options that can only be bugs', async (t) => {
    const lockPath = await tempLockPath(t);
    const attempts: Promise<InstallLock>[] = [
      acquireInstallLock(lockPath, { pollMs: 0 }),
      acquireInstallLock(lockPath, { pollMs: Number.NaN }),
      acquireInstallLock(lockPath, { timeoutMs: -1 }),
    ];
    for (const attempt of attempts) await assert.rejects(attempt, RangeError);
    assert.equal(await exists(lockPath), false);
  });
});

import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortedError, InstallError } from '../errors.js';
import { DEFAULT_FOREIGN_LOCK_TIMEOUT_MS, DEFAULT_LOCK_TIMEOUT_MS } from '../defaults.js';
import { createGuardFile, createLockFile, readLockFile, removeIfSame, statIfPresent, type LockFileState } from './lock-file.js';
import { holderKey, holderState, sameHolder, thisHolder, type LockHolder } from './lock-holder.js';
import { fileIdentity } from './file-identity.js';

export type { LockHolder } from './lock-holder.js';

/** Options of {@link acquireInstallLock}. */
export interface AcquireOptions {
  /** Stops waiting and rejects with `ABORTED`. */
  signal?: AbortSignal;
  /**
   * The longest wait, in milliseconds, whoever holds the lock; `0` tries exactly once. Without it,
   * the wait for one holder is at most 10 minutes while it is a live process on this host (it
   * will finish, or die and be detected), and 60 s for a holder on another host, whose liveness
   * cannot be checked. `Infinity` waits without limit.
   */
  timeoutMs?: number;
  /** How often to look at the lock while waiting, in milliseconds. Defaults to 250. */
  pollMs?: number;
  /** Called once, with the holder, when the lock is held by someone else and the wait begins. */
  onWait?: (holder: LockHolder) => void;
}

/** A held install lock. */
export interface InstallLock {
  /** The lock file. */
  readonly path: string;
  /** What this process wrote into the lock file. */
  readonly holder: LockHolder;
  /**
   * Removes the lock file if it still names this holder; never removes anyone else's lock.
   * Idempotent, and a lock file that is already gone is not an error.
   */
  release(): Promise<void>;
}

const DEFAULT_POLL_MS = 250;
/**
 * A lock file that does not hold a valid holder is taken over once it is this old. It is not stale
 * at once because a live process creates the file and writes it in two steps; the only way it stays
 * unreadable is that its creator died in between (or something else wrote it).
 */
const UNREADABLE_LOCK_GRACE_MS = 5_000;
/** A takeover guard older than this was left by a process that died during its takeover. */
const STALE_GUARD_MS = 10_000;

/**
 * Wall-clock time at which this process started. Where a holder records no start identity, a lock
 * file naming our own pid but taken before this moment was left by an earlier process that had
 * the same pid: common in containers, where the app is pid 1 after every restart.
 */
const PROCESS_STARTED_AT_MS = Date.now() - process.uptime() * 1000;
/** Tolerance for the wall clock being adjusted while this process runs. */
const CLOCK_SLACK_MS = 1_000;

/**
 * The locks held in this realm, by resolved path and start time, shared through `globalThis` so two
 * copies of modelhaul in one app agree. A lock listed here is never judged a leftover of an earlier
 * process, whatever the wall clock did since it was taken.
 */
const HELD_KEY: unique symbol = Symbol.for('modelhaul.install-lock.held');
const realm = globalThis as typeof globalThis & { [HELD_KEY]?: Set<string> };
const heldInThisRealm: Set<string> = (realm[HELD_KEY] ??= new Set<string>());

type Verdict = { kind: 'live'; holder: LockHolder } | { kind: 'foreign'; holder: LockHolder } | { kind: 'unreadable-young' } | { kind: 'stale' };

/**
 * Takes the lock that keeps two processes from writing into one install dir (docs/rules.md rule
 * 25), waiting while another live process holds it.
 *
 * The lock file is created exclusively and holds a {@link LockHolder}: pid, host, and where the
 * platform tells, the holder's start identity. A lock is stale, and is taken over, when its holder
 * on this host no longer exists, when its pid now belongs to another process (the start identity
 * differs: a pid reused after a crash or a reboot), or when the file has held no valid holder for a
 * few seconds (its creator died between creating and writing it). A holder on another host is
 * never taken over: its pid cannot be checked from here.
 *
 * Taking over is serialized through a second exclusive file, `<lockPath>.takeover`: under it the
 * lock is read again and removed only if it is still stale, so several waiters that all saw the
 * same dead holder remove it once and then race fairly with `O_EXCL` for the new lock.
 *
 * The caller creates the directory; this function never creates directories.
 *
 * @throws {InstallError} `LOCKED` when the wait runs out (`timeoutMs`, or by default 10 minutes for
 *   one live holder on this host and 60 s for a holder on another host); the message names the
 *   holder's pid and host and the lock file. `ABORTED` when `signal` aborts. `PERMISSION_DENIED`
 *   when the lock cannot be created for lack of rights or a read-only file system; `DISK_FULL` or
 *   `FILESYSTEM` for other file-system failures.
 *
 * @example
 * ```ts
 * const lock = await acquireInstallLock(join(dir, '.modelhaul', 'lock'), {
 *   signal,
 *   onWait: (holder) => emit({ type: 'waiting-for-lock', pid: holder.pid }),
 * });
 * try {
 *   await installInto(dir);
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export async function acquireInstallLock(lockPath: string, options: AcquireOptions = {}): Promise<InstallLock> {
  const { signal, timeoutMs, pollMs = DEFAULT_POLL_MS, onWait } = options;
  if (timeoutMs !== undefined && !(timeoutMs >= 0)) {
    throw new RangeError(`timeoutMs must be a number >= 0, got ${timeoutMs}`);
  }
  if (!(pollMs > 0) || !Number.isFinite(pollMs)) {
    throw new RangeError(`pollMs must be a finite number > 0, got ${pollMs}`);
  }

  // Deadlines use the monotonic clock: a wall-clock jump must not end or extend a wait.
  const waitStarted = performance.now();
  let announced = false;
  let current: { key: string; since: number } | undefined;

  for (;;) {
    throwIfAborted(signal, lockPath);
    const lock = await tryTakeLock(lockPath);
    if (lock !== undefined) return lock;

    const state = await readLockFile(lockPath);
    // Released between our attempt and our look: try again at once.
    if (state.kind === 'absent') continue;
    const verdict = await judge(lockPath, state);
    // Try again at once unless another process is in the middle of its own takeover.
    if (verdict.kind === 'stale' && (await takeOverIfStale(lockPath))) continue;

    const holder = state.kind === 'holder' ? state.holder : undefined;
    // A dead holder that another waiter is removing right now is not worth announcing.
    if (holder !== undefined && verdict.kind !== 'stale' && !announced) {
      announced = true;
      onWait?.(holder);
    }

    const now = performance.now();
    let remaining = Infinity;
    if (timeoutMs !== undefined) {
      remaining = timeoutMs - (now - waitStarted);
    } else if (verdict.kind === 'live' || verdict.kind === 'foreign') {
      // Measured per holder: a holder we waited for may hand over to another, whose own wait begins.
      const key = holderKey(verdict.holder);
      if (current?.key !== key) current = { key, since: now };
      const limit = verdict.kind === 'foreign' ? DEFAULT_FOREIGN_LOCK_TIMEOUT_MS : DEFAULT_LOCK_TIMEOUT_MS;
      remaining = limit - (now - current.since);
    }
    if (remaining <= 0) throw lockedError(lockPath, holder, now - waitStarted);
    await pause(Math.min(pollMs, remaining), signal, lockPath);
  }
}

/**
 * Reads who holds the lock at `lockPath`, for status displays and diagnostics.
 *
 * @returns The holder, or `undefined` when there is no lock file or it holds no valid holder.
 * @throws {InstallError} `PERMISSION_DENIED` or `FILESYSTEM` when the file cannot be read.
 */
export async function readLockHolder(lockPath: string): Promise<LockHolder | undefined> {
  const state = await readLockFile(lockPath);
  return state.kind === 'holder' ? state.holder : undefined;
}

/** Creates the lock for this process; `undefined` when someone else's lock file is in the way. */
async function tryTakeLock(lockPath: string): Promise<InstallLock | undefined> {
  // The holder is made per attempt so that its start time says when the lock was taken, not when
  // the wait began.
  const holder = await thisHolder();
  const key = heldKey(lockPath, holder);
  // Registered before the file exists, so that no moment exists in which this realm could see its
  // own new lock as a leftover of an earlier process.
  heldInThisRealm.add(key);
  try {
    if (await createLockFile(lockPath, holder)) return heldLock(lockPath, holder, key);
  } catch (error) {
    heldInThisRealm.delete(key);
    throw error;
  }
  heldInThisRealm.delete(key);
  return undefined;
}

function heldLock(lockPath: string, holder: LockHolder, key: string): InstallLock {
  let releasing: Promise<void> | undefined;
  const releaseOnce = async (): Promise<void> => {
    const state = await readLockFile(lockPath);
    // Compare the content, not just the path: if our lock was (wrongly) taken over, the file there
    // now belongs to someone else and must stay.
    if (state.kind === 'holder' && sameHolder(state.holder, holder)) {
      await removeIfSame(lockPath, state.identity);
    }
    heldInThisRealm.delete(key);
  };
  return {
    path: lockPath,
    holder,
    release() {
      releasing ??= releaseOnce().catch((error: unknown) => {
        // Let a later call try again after, say, a transient EBUSY on Windows.
        releasing = undefined;
        throw error;
      });
      return releasing;
    },
  };
}

async function judge(lockPath: string, state: Exclude<LockFileState, { kind: 'absent' }>): Promise<Verdict> {
  if (state.kind === 'unreadable') {
    return Date.now() - state.mtimeMs > UNREADABLE_LOCK_GRACE_MS ? { kind: 'stale' } : { kind: 'unreadable-young' };
  }
  const { holder } = state;
  // Without a start identity, a lock naming our own pid is ours only if this realm holds it or it
  // was taken after this process started.
  const ours = (candidate: LockHolder): boolean =>
    heldInThisRealm.has(heldKey(lockPath, candidate)) || Date.parse(candidate.startedAt) >= PROCESS_STARTED_AT_MS - CLOCK_SLACK_MS;
  switch (await holderState(holder, ours)) {
    case 'foreign':
      return { kind: 'foreign', holder };
    case 'gone':
      return { kind: 'stale' };
    case 'alive':
    case 'this-process':
      return { kind: 'live', holder };
  }
}

/**
 * Removes the lock at `lockPath` if it is (still) stale, holding the takeover guard while it
 * decides. Returns `false` only when another process holds a fresh guard, i.e. is taking over
 * right now and the caller should wait a poll interval.
 */
async function takeOverIfStale(lockPath: string): Promise<boolean> {
  const guardPath = `${lockPath}.takeover`;
  const guard = await createGuardFile(guardPath);
  if (guard === undefined) return breakGuardIfStale(guardPath);
  try {
    // Read again under the guard: since our first look, another waiter may have finished its
    // takeover, and the file there may now be its live lock.
    const state = await readLockFile(lockPath);
    if (state.kind !== 'absent' && (await judge(lockPath, state)).kind === 'stale') {
      await removeIfSame(lockPath, state.identity);
    }
  } finally {
    await removeIfSame(guardPath, guard);
  }
  return true;
}

/** A guard left by a process that died during its takeover would block every takeover forever. */
async function breakGuardIfStale(guardPath: string): Promise<boolean> {
  const stats = await statIfPresent(guardPath);
  if (stats === undefined) return true;
  if (Date.now() - Number(stats.mtimeMs) <= STALE_GUARD_MS) return false;
  await removeIfSame(guardPath, fileIdentity(stats));
  return true;
}

function heldKey(lockPath: string, holder: LockHolder): string {
  return `${resolve(lockPath)}\n${holder.startedAt}`;
}

async function pause(ms: number, signal: AbortSignal | undefined, lockPath: string): Promise<void> {
  try {
    await sleep(ms, undefined, signal === undefined ? undefined : { signal });
  } catch (error) {
    if (signal?.aborted === true) throw lockWaitAborted(signal, lockPath);
    throw error;
  }
}

function throwIfAborted(signal: AbortSignal | undefined, lockPath: string): void {
  if (signal?.aborted === true) throw lockWaitAborted(signal, lockPath);
}

function lockWaitAborted(signal: AbortSignal, lockPath: string): InstallError {
  return abortedError(signal, `Stopped waiting for the install lock ${lockPath}.`, {
    details: { lockPath },
    hint: 'Nothing was changed while waiting; run the same command again when the other modelhaul is done.',
  });
}

function lockedError(lockPath: string, holder: LockHolder | undefined, waitedMs: number): InstallError {
  const waited = `${Math.round(waitedMs / 100) / 10} s`;
  const message =
    holder === undefined
      ? `The install dir is locked: the lock file ${lockPath} is being written or is damaged (waited ${waited}).`
      : `The install dir is locked by modelhaul process ${holder.pid} on host ${holder.hostname}, ` +
        `running since ${holder.startedAt} (waited ${waited}). Lock file: ${lockPath}`;
  // The hint is often all a person reads (the CLI prints it on a line of its own), so it names
  // the file to delete rather than pointing back at the message.
  const where = holder === undefined ? 'there' : `on ${holder.hostname}`;
  return new InstallError('LOCKED', message, {
    hint: `Wait for the other install to finish; if no modelhaul process is running ${where}, delete ${lockPath} and run the same command again.`,
    details: { lockPath, pid: holder?.pid, hostname: holder?.hostname },
  });
}

import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortedError, InstallError } from '../errors.js';
import { fsError } from './fs-error.js';

/** What a lock file says about the process that holds it; stored as one line of JSON. */
export interface LockHolder {
  pid: number;
  /** `os.hostname()` of the holder: a pid means nothing on another machine sharing the dir. */
  hostname: string;
  /** When the holder took the lock, as an ISO 8601 timestamp. */
  startedAt: string;
  tool: 'modelhaul';
}

/** Options of {@link acquireInstallLock}. */
export interface AcquireOptions {
  /** Stops waiting and rejects with `ABORTED`. */
  signal?: AbortSignal;
  /**
   * The longest wait, in milliseconds, whoever holds the lock; `0` tries exactly once. Without it,
   * the wait is unlimited while the holder is a live process on this host (it will finish, or die
   * and be detected), and 60 s for a holder on another host, whose liveness cannot be checked.
   * `Infinity` waits without limit even then.
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
/** How long to wait for a holder on another host when the caller set no timeout. */
const FOREIGN_HOLDER_TIMEOUT_MS = 60_000;
/**
 * A lock file that does not hold a valid holder is taken over once it is this old. It is not stale
 * at once because a live process creates the file and writes it in two steps; the only way it stays
 * unreadable is that its creator died in between (or something else wrote it).
 */
const UNREADABLE_LOCK_GRACE_MS = 5_000;
/** A takeover guard older than this was left by a process that died during its takeover. */
const STALE_GUARD_MS = 10_000;
/** A valid lock file is about 100 bytes; anything much larger is not one. */
const MAX_LOCK_FILE_BYTES = 4096;

/**
 * Wall-clock time at which this process started. A lock file naming our own pid but taken before
 * this moment was left by an earlier process that had the same pid: common in containers, where
 * the app is pid 1 after every restart, and a liveness check on our own pid always says "alive".
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

/**
 * Takes the lock that keeps two processes from writing into one install dir (rule 25), waiting
 * while another live process holds it.
 *
 * The lock file is created exclusively and holds a {@link LockHolder}. A lock is stale, and is taken
 * over, when its holder is a process on this host that no longer exists, or when the file has held
 * no valid holder for a few seconds (its creator died between creating and writing it). A holder on
 * another host is never taken over: its pid cannot be checked from here.
 *
 * Taking over is serialized through a second exclusive file, `<lockPath>.takeover`: under it the
 * lock is read again and removed only if it is still stale, so several waiters that all saw the
 * same dead holder remove it once and then race fairly with `O_EXCL` for the new lock.
 *
 * The caller creates the directory; this function never creates directories.
 *
 * @throws {InstallError} `LOCKED` when `timeoutMs` (or, for a holder on another host, 60 s) passes;
 *   the message names the holder's pid and host and the lock file. `ABORTED` when `signal` aborts.
 *   `PERMISSION_DENIED` when the lock cannot be created for lack of rights or a read-only file
 *   system; `DISK_FULL` or `FILESYSTEM` for other file-system failures.
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
export async function acquireInstallLock(
  lockPath: string,
  options: AcquireOptions = {},
): Promise<InstallLock> {
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
  let foreign: { key: string; since: number } | undefined;

  for (;;) {
    throwIfAborted(signal, lockPath);
    const lock = await tryCreateLock(lockPath);
    if (lock !== undefined) return lock;

    const state = await readLockFile(lockPath);
    // Released between our attempt and our look: try again at once.
    if (state.kind === 'absent') continue;
    const verdict = judge(lockPath, state);
    if (verdict.kind === 'stale') {
      // Try again at once unless another process is in the middle of its own takeover.
      if (await takeOverIfStale(lockPath)) continue;
    }

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
    } else if (verdict.kind === 'foreign') {
      // Measured per holder: a local holder we waited for may hand over to a remote one.
      const key = holderKey(verdict.holder);
      if (foreign?.key !== key) foreign = { key, since: now };
      remaining = FOREIGN_HOLDER_TIMEOUT_MS - (now - foreign.since);
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

/** Identifies one file (not one path) across renames: a new file at the same path differs. */
interface FileIdentity {
  dev: bigint;
  ino: bigint;
  mtimeNs: bigint;
}

type LockFileState =
  | { kind: 'absent' }
  | { kind: 'holder'; holder: LockHolder; identity: FileIdentity; mtimeMs: number }
  | { kind: 'unreadable'; identity: FileIdentity; mtimeMs: number };

type Verdict =
  | { kind: 'live' }
  | { kind: 'foreign'; holder: LockHolder }
  | { kind: 'unreadable-young' }
  | { kind: 'stale' };

/** Creates the lock with `O_EXCL`; `undefined` when someone else's lock file is in the way. */
async function tryCreateLock(lockPath: string): Promise<InstallLock | undefined> {
  // The start time is taken per attempt so that it says when the lock was taken, not when the
  // wait began.
  const holder: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    tool: 'modelhaul',
  };
  const key = heldKey(lockPath, holder);
  // Registered before the file exists, so that no moment exists in which this realm could see its
  // own new lock as a leftover of an earlier process.
  heldInThisRealm.add(key);

  let handle;
  try {
    handle = await open(lockPath, 'wx');
  } catch (error) {
    heldInThisRealm.delete(key);
    if (errnoCode(error) === 'EEXIST') return undefined;
    throw lockFsError(error, 'create', lockPath);
  }
  let identity: FileIdentity | undefined;
  try {
    identity = identityOf(await handle.stat({ bigint: true }));
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
    // No directory fsync: after a power loss a vanished lock file is harmless, since its holder
    // is gone too.
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    // Remove our half-written file, unless a waiter already judged it unreadable and replaced it.
    if (identity !== undefined) await removeIfSame(lockPath, identity).catch(() => undefined);
    heldInThisRealm.delete(key);
    throw lockFsError(error, 'write', lockPath);
  }
  await handle.close();
  return heldLock(lockPath, holder, key);
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

/** Reads and validates the lock file; `FileIdentity` comes from the same open file. */
async function readLockFile(lockPath: string): Promise<LockFileState> {
  let handle;
  try {
    handle = await open(lockPath, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { kind: 'absent' };
    throw lockFsError(error, 'read', lockPath);
  }
  try {
    const stats = await handle.stat({ bigint: true });
    if (!stats.isFile()) {
      throw new InstallError('FILESYSTEM', `The install lock ${lockPath} is not a regular file.`, {
        hint: `Remove ${lockPath} if no modelhaul process is running, then run the same command again.`,
        details: { lockPath },
      });
    }
    const buffer = Buffer.alloc(MAX_LOCK_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const holder =
      bytesRead > MAX_LOCK_FILE_BYTES
        ? undefined
        : parseHolder(buffer.subarray(0, bytesRead).toString('utf8'));
    const identity = identityOf(stats);
    const mtimeMs = Number(stats.mtimeMs);
    return holder === undefined
      ? { kind: 'unreadable', identity, mtimeMs }
      : { kind: 'holder', holder, identity, mtimeMs };
  } catch (error) {
    if (error instanceof InstallError) throw error;
    throw lockFsError(error, 'read', lockPath);
  } finally {
    await handle.close();
  }
}

function parseHolder(text: string): LockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, hostname: host, startedAt, tool } = value as Record<string, unknown>;
  // pid 0 and negative pids address process groups in kill(), so they would always look alive.
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (typeof host !== 'string' || host === '') return undefined;
  if (typeof startedAt !== 'string' || !Number.isFinite(Date.parse(startedAt))) return undefined;
  if (tool !== 'modelhaul') return undefined;
  return { pid, hostname: host, startedAt, tool };
}

function judge(lockPath: string, state: Exclude<LockFileState, { kind: 'absent' }>): Verdict {
  if (state.kind === 'unreadable') {
    return Date.now() - state.mtimeMs > UNREADABLE_LOCK_GRACE_MS
      ? { kind: 'stale' }
      : { kind: 'unreadable-young' };
  }
  const { holder } = state;
  if (holder.hostname !== hostname()) return { kind: 'foreign', holder };
  if (holder.pid === process.pid) {
    const leftover =
      !heldInThisRealm.has(heldKey(lockPath, holder)) &&
      Date.parse(holder.startedAt) < PROCESS_STARTED_AT_MS - CLOCK_SLACK_MS;
    return leftover ? { kind: 'stale' } : { kind: 'live' };
  }
  return isProcessAlive(holder.pid) ? { kind: 'live' } : { kind: 'stale' };
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user. Any other failure: assume alive,
    // since wrongly waiting is recoverable and wrongly taking over is not.
    return errnoCode(error) !== 'ESRCH';
  }
}

/**
 * Removes the lock at `lockPath` if it is (still) stale, holding the takeover guard while it
 * decides. Returns `false` only when another process holds a fresh guard, i.e. is taking over
 * right now and the caller should wait a poll interval.
 */
async function takeOverIfStale(lockPath: string): Promise<boolean> {
  const guardPath = `${lockPath}.takeover`;
  let guard: FileIdentity;
  try {
    const handle = await open(guardPath, 'wx');
    try {
      guard = identityOf(await handle.stat({ bigint: true }));
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw lockFsError(error, 'create', guardPath);
    return breakGuardIfStale(guardPath);
  }
  try {
    // Read again under the guard: since our first look, another waiter may have finished its
    // takeover, and the file there may now be its live lock.
    const state = await readLockFile(lockPath);
    if (state.kind !== 'absent' && judge(lockPath, state).kind === 'stale') {
      await removeIfSame(lockPath, state.identity);
    }
  } finally {
    await removeIfSame(guardPath, guard);
  }
  return true;
}

/** A guard left by a process that died during its takeover would block every takeover forever. */
async function breakGuardIfStale(guardPath: string): Promise<boolean> {
  let stats: BigIntStats;
  try {
    stats = await stat(guardPath, { bigint: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return true;
    throw lockFsError(error, 'read', guardPath);
  }
  if (Date.now() - Number(stats.mtimeMs) <= STALE_GUARD_MS) return false;
  await removeIfSame(guardPath, identityOf(stats));
  return true;
}

/**
 * Deletes the file at `path` only if it is still the file we examined. POSIX has no
 * compare-and-unlink, so the file is first renamed aside (atomic: afterwards no one else can reach
 * it by the path) and then compared. If it turns out to be a newer file, it is linked back, which
 * fails rather than overwrite should yet another file have appeared in that instant.
 *
 * This matters when a process was stopped (say, a laptop asleep) long enough for its takeover
 * guard to look stale: when it wakes and removes "the stale lock" it must not remove the live
 * lock another process created meanwhile.
 *
 * @returns Whether the file was removed.
 */
async function removeIfSame(path: string, expected: FileIdentity): Promise<boolean> {
  const aside = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.removing`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw lockFsError(error, 'remove', path);
  }
  try {
    if (sameFile(identityOf(await stat(aside, { bigint: true })), expected)) {
      await unlink(aside);
      return true;
    }
    await putBack(aside, path);
    return false;
  } catch (error) {
    throw lockFsError(error, 'remove', path);
  }
}

/** Undoes the rename of {@link removeIfSame} without ever overwriting a file at `path`. */
async function putBack(aside: string, path: string): Promise<void> {
  try {
    await link(aside, path);
  } catch (error) {
    const code = errnoCode(error);
    // EEXIST: a newer file already took the path; it wins and ours is dropped below.
    if (code !== 'EEXIST') {
      // Hard links are unsupported here (FAT, some network file systems): rename back instead,
      // which could only overwrite a file created in the last microseconds.
      await rename(aside, path);
      return;
    }
  }
  await unlink(aside);
}

function identityOf(stats: BigIntStats): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, mtimeNs: stats.mtimeNs };
}

function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.mtimeNs === b.mtimeNs;
}

function sameHolder(a: LockHolder, b: LockHolder): boolean {
  return a.pid === b.pid && a.hostname === b.hostname && a.startedAt === b.startedAt;
}

function holderKey(holder: LockHolder): string {
  return `${holder.pid}\n${holder.hostname}\n${holder.startedAt}`;
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
  return abortedError(signal, `Stopped waiting for the install lock ${lockPath}.`, { lockPath });
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


/** The shared file-system error mapping, naming the lock as what was being worked on. */
function lockFsError(error: unknown, action: string, path: string): InstallError {
  return fsError(error, `${action} the install lock`, path);
}

function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';

/**
 * What a lock file says about the process that holds it; stored as one line of JSON.
 *
 * @example
 * ```json
 * {"pid":4242,"hostname":"laptop","startedAt":"2026-11-24T10:00:00.000Z","tool":"modelhaul","processStart":"linux:5b1c…:88123"}
 * ```
 */
export interface LockHolder {
  pid: number;
  /** `os.hostname()` of the holder: a pid means nothing on another machine sharing the dir. */
  hostname: string;
  /** When the holder took the lock, as an ISO 8601 timestamp. */
  startedAt: string;
  tool: 'modelhaul';
  /**
   * What tells the holder from another process that later gets the same pid (after a crash, a
   * reboot, or in a container where the app is always pid 1): on Linux `linux:<boot id>:<start
   * time in clock ticks since boot>`. Absent where the platform does not tell (macOS, Windows)
   * and in locks of older versions: the pid alone is then checked, and the wait is bounded.
   */
  processStart?: string;
}

/** What the holder of a lock is, seen from this process. */
export type HolderState =
  /** This very process (another acquire of the same lock, or a lock it holds). */
  | 'this-process'
  /** Another process on this host, alive and the one that took the lock. */
  | 'alive'
  /** No such process on this host any more, or the pid now belongs to another process. */
  | 'gone'
  /** A process on another host: its liveness cannot be checked from here. */
  | 'foreign';

/** The holder this process writes into a lock file it creates. */
export async function thisHolder(): Promise<LockHolder> {
  const holder: LockHolder = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), tool: 'modelhaul' };
  const start = await processStartOf(process.pid);
  if (start !== undefined) holder.processStart = start;
  return holder;
}

/**
 * Decides whether `holder` still holds its lock, as far as this host can tell (docs/rules.md rule
 * 25). A pid that answers is not enough: when the lock records its holder's start identity, the
 * process behind the pid must have that identity too, or the pid was reused and the lock is stale.
 * `sameProcess` answers for a holder naming this very pid (see the install lock).
 */
export async function holderState(holder: LockHolder, sameProcess: (holder: LockHolder) => boolean): Promise<HolderState> {
  if (holder.hostname !== hostname()) return 'foreign';
  if (holder.pid === process.pid) {
    if (holder.processStart !== undefined) {
      const ours = await processStartOf(process.pid);
      if (ours !== undefined) return ours === holder.processStart ? 'this-process' : 'gone';
    }
    return sameProcess(holder) ? 'this-process' : 'gone';
  }
  if (!isProcessAlive(holder.pid)) return 'gone';
  if (holder.processStart === undefined) return 'alive';
  const current = await processStartOf(holder.pid);
  // Unknown (the process ended just now, or /proc is not readable here): the pid's answer stands.
  if (current === undefined) return 'alive';
  return current === holder.processStart ? 'alive' : 'gone';
}

/** Reads a holder back from a lock file's text; undefined for anything that is not one. */
export function parseHolder(text: string): LockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, hostname: host, startedAt, tool, processStart } = value as Record<string, unknown>;
  // pid 0 and negative pids address process groups in kill(), so they would always look alive.
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (typeof host !== 'string' || host === '') return undefined;
  if (typeof startedAt !== 'string' || !Number.isFinite(Date.parse(startedAt))) return undefined;
  if (tool !== 'modelhaul') return undefined;
  if (processStart !== undefined && (typeof processStart !== 'string' || processStart === '')) return undefined;
  const holder: LockHolder = { pid, hostname: host, startedAt, tool };
  if (processStart !== undefined) holder.processStart = processStart;
  return holder;
}

export function sameHolder(a: LockHolder, b: LockHolder): boolean {
  return a.pid === b.pid && a.hostname === b.hostname && a.startedAt === b.startedAt && a.processStart === b.processStart;
}

/** A key naming one holder, to tell when the holder of a lock changed during a wait. */
export function holderKey(holder: LockHolder): string {
  return `${holder.pid}\n${holder.hostname}\n${holder.startedAt}\n${holder.processStart ?? ''}`;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user. Any other failure: assume alive,
    // since wrongly waiting is recoverable and wrongly taking over is not.
    return (error as NodeJS.ErrnoException | undefined)?.code !== 'ESRCH';
  }
}

let bootId: Promise<string | undefined> | undefined;

/**
 * The start identity of process `pid`: on Linux, this boot's id and field 22 of
 * `/proc/<pid>/stat` (the start time in clock ticks since boot), which no two processes of one
 * boot share. Undefined where there is no /proc, or the process is gone.
 */
export async function processStartOf(pid: number): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  bootId ??= readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
    (text) => text.trim() || undefined,
    () => undefined,
  );
  const boot = await bootId;
  if (boot === undefined) return undefined;
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 is the command name in parentheses, and may itself hold spaces and parentheses: the
  // fields are counted from the last ')', after which field 3 comes.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const startTime = fields[22 - 3];
  return startTime !== undefined && /^\d+$/.test(startTime) ? `linux:${boot}:${startTime}` : undefined;
}

// Runs one contestant as a child process and measures it: wall time here, CPU time and peak RSS by
// GNU time, which reads them from wait4(), so they cover the whole child tree (`sh -c 'curl &&
// sha256sum'` is counted whole, and peak RSS is that of its largest process). Node cannot get a
// child's rusage itself: process.resourceUsage() describes only this process.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measurement {
  wallMs: number;
  /** User plus system CPU time of the child tree; undefined without GNU time. */
  cpuMs: number | undefined;
  /** Peak resident set of the largest process of the tree; undefined without GNU time. */
  peakRssBytes: number | undefined;
}

export interface RunOptions {
  /** GNU time's path; without it only the wall time is measured. */
  timeBinary?: string | undefined;
  /** Each line of stdout as it arrives; `stop` sends the child a signal (e.g. to interrupt it). */
  onLine?: (line: string, stop: (signal: NodeJS.Signals) => void) => void;
  /** The child is killed after this long and the run fails. Default 10 minutes. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunResult extends Measurement {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Thrown when a contestant exits unsuccessfully: the message carries the end of its stderr. */
export class CommandFailed extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
    readonly stderrTail: string,
  ) {
    super(`${command} ${result.signal !== null ? `was killed by ${result.signal}` : `exited with ${result.code}`}${stderrTail === '' ? '' : `: ${stderrTail}`}`);
  }
}

// %e wall, %U user, %S system (seconds, 10 ms resolution), %M peak RSS in KiB.
const TIME_FORMAT = '%e %U %S %M';
const STDERR_TAIL_CHARS = 2000;
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * Runs `command args` to its end and measures it. Rejects with {@link CommandFailed} when it
 * exits non-zero or by a signal, unless `allowFailure` (an interrupted run is meant to die).
 */
export async function runMeasured(command: string, args: readonly string[], options: RunOptions = {}, allowFailure = false): Promise<RunResult> {
  const statsDir = options.timeBinary === undefined ? undefined : await mkdtemp(join(tmpdir(), 'modelhaul-bench-time-'));
  try {
    const statsFile = statsDir === undefined ? undefined : join(statsDir, 'rusage');
    const [file, argv] =
      options.timeBinary === undefined || statsFile === undefined
        ? [command, [...args]]
        : [options.timeBinary, ['-f', TIME_FORMAT, '-o', statsFile, '--', command, ...args]];
    const outcome = await spawnAndWait(file, argv, options);
    const usage = statsFile === undefined ? undefined : parseTimeOutput(await readFile(statsFile, 'utf8').catch(() => ''));
    const result: RunResult = {
      wallMs: outcome.wallMs,
      cpuMs: usage?.cpuMs,
      peakRssBytes: usage?.peakRssBytes,
      code: outcome.code,
      signal: outcome.signal,
    };
    if (!allowFailure && (outcome.code !== 0 || outcome.signal !== null)) {
      throw new CommandFailed([command, ...args].join(' '), result, outcome.stderr.trim().slice(-STDERR_TAIL_CHARS));
    }
    return result;
  } finally {
    if (statsDir !== undefined) await rm(statsDir, { recursive: true, force: true });
  }
}

interface SpawnOutcome {
  wallMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function spawnAndWait(file: string, args: string[], options: RunOptions): Promise<SpawnOutcome> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // Every run must download: with the machine index, a second install of the same file would copy it.
    const env = { ...(options.env ?? process.env), MODELHAUL_MACHINE_INDEX: 'off' };
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: options.cwd });
    let wallMs = 0;
    let stderr = '';
    let pending = '';
    const stop = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      // Without a reader the child would block once the pipe is full, so stdout is always drained.
      if (options.onLine === undefined) return;
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) options.onLine(line, stop);
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-4 * STDERR_TAIL_CHARS);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    // The wall time ends when the process exits, not when its pipes are drained.
    child.once('exit', () => (wallMs = performance.now() - started));
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (pending !== '') options.onLine?.(pending, stop);
      resolve({ wallMs, code, signal, stderr });
    });
  });
}

/** Reads GNU time's line; it is the last one (a "Command exited with non-zero status" line may precede it). */
export function parseTimeOutput(text: string): { cpuMs: number; peakRssBytes: number } | undefined {
  const lines = text.trim().split('\n');
  const match = /^([\d.]+) ([\d.]+) ([\d.]+) (\d+)$/.exec(lines[lines.length - 1] ?? '');
  if (!match) return undefined;
  return {
    cpuMs: Math.round((Number(match[2]) + Number(match[3])) * 1000),
    peakRssBytes: Number(match[4]) * 1024,
  };
}

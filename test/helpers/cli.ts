// Runs the built CLI as a real child process, the way a user or an app embedding it would, and
// reads its `--json` output: NDJSON on stdout, one object per line, each with an "event" field.
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled entry point; tests that use it need `npm run build` first (`npm test` does that). */
export const CLI_PATH = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** One NDJSON line from stdout, e.g. `{ "event": "progress", "bytes": 1024, ... }`. */
export type CliEvent = Record<string, unknown>;

export interface CliOptions {
  /** Added to (and overriding) the test process's environment; an `undefined` value removes a variable. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** runCli() and waitForExit() kill the child and reject after this long. Default 60 s. */
  timeoutMs?: number;
  /** Run the child as this user and group (needs root): file modes bind it as they bind a user. */
  uid?: number;
  gid?: number;
  /**
   * Run the CLI under this command, e.g. `strace` and its options: it must run its trailing
   * arguments as a child and exit with that child's status.
   */
  wrapper?: readonly string[];
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The stdout lines that parse as JSON objects, in order. */
  events: CliEvent[];
}

export interface ManifestArtifact {
  id: string;
  kind: string;
  label: string;
  url: string;
  size: number;
  sha256: string;
  path: string;
}

const DEFAULT_TIMEOUT_MS = 60_000;

// Every CLI a test starts (through this module or with process.env, as the strace and terminal
// helpers do) runs without a machine index unless the test gives one: the CLI's default index is
// shared by every install of the user, so an install could be served by a file another test
// installed, and the tests would write into the user's data folder.
process.env.MODELHAUL_MACHINE_INDEX ??= 'off';

/** What has been read from a child so far; kept from spawn on so that no line can be missed. */
class Transcript extends EventEmitter<{ event: [CliEvent] }> {
  stdout = '';
  stderr = '';
  readonly events: CliEvent[] = [];
  private pendingLine = '';

  /** Resolves with the exit status once the child has exited and its output is fully read. */
  readonly closed: Promise<Pick<CliResult, 'code' | 'signal'>>;

  constructor(child: ChildProcess) {
    super();
    child.stdout?.setEncoding('utf8').on('data', (text: string) => this.readStdout(text));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (this.stderr += text));
    this.closed = new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        // Output without a final newline is still a line.
        this.readLine(this.pendingLine);
        resolve({ code, signal });
      });
    });
    // Callers see the rejection through waitForExit()/waitForEvent(); a child that a test only
    // kills must not turn a spawn error into an unhandled rejection.
    this.closed.catch(() => undefined);
  }

  private readStdout(text: string): void {
    this.stdout += text;
    const lines = (this.pendingLine + text).split('\n');
    this.pendingLine = lines.pop() ?? '';
    for (const line of lines) this.readLine(line);
  }

  private readLine(line: string): void {
    const event = parseEvent(line);
    if (event === undefined) return;
    this.events.push(event);
    this.emit('event', event);
  }
}

const transcripts = new WeakMap<ChildProcess, Transcript>();

function parseEvent(line: string): CliEvent | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as CliEvent) : undefined;
  } catch {
    return undefined;
  }
}

function transcriptOf(child: ChildProcess): Transcript {
  const transcript = transcripts.get(child);
  if (transcript === undefined) throw new Error('this child process was not started by spawnCli()');
  return transcript;
}

/** Starts `node dist/cli/main.js ...args`; read it with waitForEvent() and waitForExit(). */
export function spawnCli(args: string[], options: CliOptions = {}): ChildProcess {
  const [command, ...commandArgs] = [...(options.wrapper ?? []), process.execPath, CLI_PATH, ...args] as [string, ...string[]];
  const child = spawn(command, commandArgs, {
    cwd: options.cwd,
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  transcripts.set(child, new Transcript(child));
  return child;
}

/**
 * Resolves with the first event (already printed or still to come) that matches `predicate`, e.g.
 * to SIGKILL the child once a `progress` event passes some byte count. Rejects if the child exits
 * first or nothing matches within `timeoutMs`.
 */
export function waitForEvent(
  child: ChildProcess,
  predicate: (event: CliEvent) => boolean,
  timeoutMs = 30_000,
): Promise<CliEvent> {
  const transcript = transcriptOf(child);
  const seen = transcript.events.find(predicate);
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const finish = (settle: () => void): void => {
      clearTimeout(timer);
      transcript.off('event', onEvent);
      settle();
    };
    const onEvent = (event: CliEvent): void => {
      if (predicate(event)) finish(() => resolve(event));
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no matching CLI event within ${timeoutMs} ms${describe(transcript)}`))),
      timeoutMs,
    );
    transcript.on('event', onEvent);
    transcript.closed.then(
      ({ code, signal }) => finish(() => reject(new Error(`the CLI exited (${signal ?? code}) before a matching event${describe(transcript)}`))),
      (error: unknown) => finish(() => reject(error instanceof Error ? error : new Error(String(error)))),
    );
  });
}

/** Resolves once the child has exited and all its output is read; kills it after `timeoutMs`. */
export async function waitForExit(child: ChildProcess, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CliResult> {
  const transcript = transcriptOf(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  try {
    const { code, signal } = await transcript.closed;
    if (timedOut) throw new Error(`the CLI did not exit within ${timeoutMs} ms${describe(transcript)}`);
    return { code, signal, stdout: transcript.stdout, stderr: transcript.stderr, events: transcript.events };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the CLI to completion: `await runCli(['install', '--manifest', m, '--dir', d, '--json'])`. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return waitForExit(spawnCli(args, options), options.timeoutMs);
}

/**
 * Writes `manifest.json` into `dir` (schema version 1, bundle "test-bundle") and returns its path.
 */
export async function writeManifest(dir: string, artifacts: ManifestArtifact[]): Promise<string> {
  const path = join(dir, 'manifest.json');
  const manifest = { schemaVersion: 1, name: 'test-bundle', artifacts };
  await writeFile(path, `${JSON.stringify(manifest, null, 2)}\n`);
  return path;
}

// Failure messages carry the child's stderr, which usually says why.
function describe(transcript: Transcript): string {
  const stderr = transcript.stderr.trim();
  return stderr === '' ? '' : `; stderr:\n${stderr.slice(-4000)}`;
}

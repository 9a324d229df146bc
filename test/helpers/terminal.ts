// Runs the built CLI under a real pseudo-terminal, with util-linux `script`, so that the CLI sees a
// TTY exactly as it does in a person's terminal, and returns what it drew with the time of each
// piece: `script -T` logs when each chunk of output was read from the terminal, in its own process,
// so the times do not depend on how busy the test process is.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH } from './cli.js';

export interface TerminalRun {
  code: number | null;
  /** Everything the CLI wrote to the terminal (stdout and stderr share it), escape codes included. */
  text: string;
  /** The same bytes as latin1, one character per byte, so that indexes are byte offsets. */
  output: string;
  /** When each byte offset of `output` (as latin1) arrived: chunk start offsets and times in ms. */
  chunks: Array<{ offset: number; atMs: number }>;
}

/** True when util-linux `script` is installed (it is on Debian: bsdutils). */
export function hasScript(): boolean {
  return spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout?.includes('util-linux') === true;
}

/**
 * Runs `modelhaul ...args` in a `columns` x 40 pseudo-terminal. `env` is added to the test's
 * environment (an `undefined` value removes a variable).
 */
export async function runInTerminal(args: string[], env: NodeJS.ProcessEnv, columns = 120, timeoutMs = 60_000): Promise<TerminalRun> {
  const dir = await mkdtemp(join(tmpdir(), 'modelhaul-tty-'));
  try {
    const outFile = join(dir, 'out');
    const timingFile = join(dir, 'timing');
    const command = [`stty cols ${columns} rows 40 2>/dev/null;`, 'exec', ...[process.execPath, CLI_PATH, ...args].map(shellQuote)].join(' ');
    const child = spawn('script', ['-q', '-e', '-f', '-T', timingFile, '-O', outFile, '-c', command], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode) => resolve(exitCode));
    }).finally(() => clearTimeout(timer));
    if (stderr.trim() !== '') throw new Error(`script failed: ${stderr}`);
    return parseTypescript(await readFile(outFile), await readFile(timingFile, 'utf8'), code);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// The typescript file has a "Script started" line first and a "Script done" line last; the timing
// file ("<seconds since the previous chunk> <bytes>" per line) describes the bytes in between.
function parseTypescript(typescript: Buffer, timing: string, code: number | null): TerminalRun {
  const start = typescript.indexOf(0x0a) + 1;
  const chunks: TerminalRun['chunks'] = [];
  let offset = 0;
  let atMs = 0;
  for (const line of timing.split('\n')) {
    const match = /^(\d+(?:\.\d+)?) (\d+)$/.exec(line.trim());
    if (!match) continue;
    atMs += Number(match[1]) * 1000;
    chunks.push({ offset, atMs });
    offset += Number(match[2]);
  }
  const bytes = typescript.subarray(start, start + offset);
  return { code, text: bytes.toString('utf8'), output: bytes.toString('latin1'), chunks };
}

/** When the byte at `offset` of a run's output arrived, in ms since the run started. */
export function arrivalMs(run: TerminalRun, offset: number): number {
  let atMs = 0;
  for (const chunk of run.chunks) {
    if (chunk.offset > offset) break;
    atMs = chunk.atMs;
  }
  return atMs;
}

function shellQuote(word: string): string {
  if (word.includes("'")) throw new Error(`cannot quote ${word}`);
  return `'${word}'`;
}

import { colorEnabled, painter, type Painter } from './render/paint.js';
import { listenForInterruption, type Interruption } from './interruption.js';

/** Where a command writes, and how: shared by all commands, replaceable in one place. */
export interface CliContext {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Colours for stdout. */
  paint: Painter;
  /** Colours for stderr. */
  paintErr: Painter;
  /** True when stdout is a terminal a live display can redraw. */
  interactive: boolean;
  /** SIGINT and SIGTERM, handled once for every command. */
  interruption: Interruption;
}

export function processContext(): CliContext {
  const { stdout, stderr, env } = process;
  const err = writerIgnoringClosedPipe(stderr);
  return {
    stdout,
    stderr,
    env,
    out: writerIgnoringClosedPipe(stdout),
    err,
    paint: painter(colorEnabled(stdout, env)),
    paintErr: painter(colorEnabled(stderr, env)),
    interactive: stdout.isTTY === true && env.TERM !== 'dumb' && env.CI === undefined,
    interruption: listenForInterruption(err),
  };
}

/**
 * A writer that goes quiet once its reader has gone (`modelhaul install --json | head -1`): the
 * work goes on to a consistent end instead of dying on EPIPE with a stack trace.
 */
function writerIgnoringClosedPipe(stream: NodeJS.WriteStream): (text: string) => void {
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') closed = true;
    else throw error;
  });
  return (text) => {
    if (!closed) stream.write(text);
  };
}

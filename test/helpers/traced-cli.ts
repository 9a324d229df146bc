// The CLI under strace (Debian package `strace`): to observe the order of its system calls, and to
// make the kernel misbehave for it alone. strace can fail a chosen call with a real errno
// (`fdatasync:error=EIO:when=3`) or hold a call for a while (`fdatasync:delay_exit=300000`, a
// disk that syncs slowly; `pread64:delay_enter=...`, a slow reader), in the real CLI process and
// nowhere else. Tests that need it call straceSkipReason() and skip with its message.
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseStrace, type Syscall } from './syscall-trace.js';

/** Why strace cannot be used here (not installed, ptrace or tampering refused), or undefined. */
export function straceSkipReason(): string | undefined {
  const probe = spawnSync('strace', ['-f', '-o', '/dev/null', '-e', 'inject=getppid:delay_exit=1', 'true'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `strace is not installed (Debian package "strace"): ${probe.error.message}`;
  if (probe.status !== 0) return `strace cannot trace here (ptrace not permitted?): ${probe.stderr.trim()}`;
  return undefined;
}

export interface StraceOptions {
  /** Where strace writes its log (`-o`); read it with readTrace(). */
  log: string;
  /** The system calls to log, comma-separated (`-e trace=`). */
  trace: string;
  /** Tampering, one `-e inject=` each, e.g. `fdatasync:error=EIO:when=3`; counted per thread. */
  inject?: readonly string[];
  /** When given, only calls on these paths are logged and tampered with (`-P`). */
  paths?: readonly string[];
}

/**
 * The command line that runs a program under strace, for the `wrapper` option of spawnCli() and
 * runCli(): every thread followed (`-f`), every fd printed with its path (`-y`), and strings long
 * enough for a whole resume record (`-s`). strace exits with the program's status.
 */
export function straceWrapper(options: StraceOptions): string[] {
  return [
    'strace', '-f', '-y', '-s', '4096', '-o', options.log, '-e', `trace=${options.trace}`,
    ...(options.inject ?? []).flatMap((spec) => ['-e', `inject=${spec}`]),
    ...(options.paths ?? []).flatMap((path) => ['-P', path]),
  ];
}

export async function readTrace(log: string): Promise<Syscall[]> {
  return parseStrace(await readFile(log, 'utf8'));
}

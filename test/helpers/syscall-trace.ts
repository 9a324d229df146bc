// Reads an `strace -f -y -o FILE` log into one record per system call, so a test can assert the
// order in which the file system was told things. Each call has the line where it started and the
// line where it returned: with -f, threads interleave and a call that blocks is logged as
// `<unfinished ...>` and later `<... name resumed>`, and "A happened before B" means A returned
// (endLine) before B started (startLine). With -y strace prints every fd argument and every
// returned fd with the path it refers to (`17</dir/file>`), which is what maps fds to paths here.

export interface Syscall {
  pid: number;
  name: string;
  /** The arguments as strace printed them, between the outer parentheses. */
  args: string;
  /** The return value; negative for a failed call. */
  result: number;
  startLine: number;
  endLine: number;
  /** The path of the first argument when it is an fd (`-y`). */
  fdPath?: string;
  /** The string arguments (paths of openat, rename, unlink; data of write), unescaped. */
  strings: string[];
  /** True when a string argument was cut by `-s`. */
  truncated: boolean;
}

const LINE = /^(\d+)\s+(.*)$/;

/** Parses the whole log. Signals, exits and unparseable lines are skipped. */
export function parseStrace(text: string): Syscall[] {
  const calls: Syscall[] = [];
  const pending = new Map<number, { head: string; startLine: number }>();
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const match = LINE.exec(raw);
    if (match === null) continue;
    const pid = Number(match[1]);
    let body = match[2] ?? '';
    let startLine = index;
    if (body.endsWith('<unfinished ...>')) {
      pending.set(pid, { head: body.slice(0, -'<unfinished ...>'.length).trimEnd(), startLine: index });
      continue;
    }
    const resumed = /^<\.\.\. (\w+) resumed>\s?(.*)$/.exec(body);
    if (resumed !== null) {
      const head = pending.get(pid);
      pending.delete(pid);
      if (head === undefined) continue;
      body = joinResumed(head.head, resumed[2] ?? '');
      startLine = head.startLine;
    }
    const call = parseCall(pid, body, startLine, index);
    if (call !== undefined) calls.push(call);
  }
  return calls;
}

// `fsync(3</f> <unfinished ...>` + `<... fsync resumed>) = 0`, or, when the call was cut before its
// output arguments, `read(3, <unfinished ...>` + `<... read resumed>"data", 4) = 4`.
function joinResumed(head: string, rest: string): string {
  if (rest.startsWith(')') || head.endsWith('(')) return head + rest;
  return head.endsWith(',') ? `${head} ${rest}` : `${head}, ${rest}`;
}

function parseCall(pid: number, body: string, startLine: number, endLine: number): Syscall | undefined {
  const head = /^(\w+)\(/.exec(body);
  // Tampered calls end in "(INJECTED)" or "(DELAYED)" (strace -e inject=...).
  const tail = /\)\s+= (-?\d+)(?:<[^>]*>)?(?: [A-Z]\w* \(.*\))?(?: \((?:INJECTED|DELAYED)\))?$/.exec(body);
  if (head === null || tail === null) return undefined;
  const name = head[1]!;
  const args = body.slice(head[0].length, tail.index);
  const fd = /^(\d+)<([^>]*)>/.exec(args);
  const { strings, truncated } = stringArguments(args);
  return {
    pid,
    name,
    args,
    result: Number(tail[1]),
    startLine,
    endLine,
    ...(fd !== null ? { fdPath: fd[2] } : {}),
    strings,
    truncated,
  };
}

function stringArguments(args: string): { strings: string[]; truncated: boolean } {
  const strings: string[] = [];
  let truncated = false;
  const pattern = /"((?:[^"\\]|\\.)*)"(\.\.\.)?/g;
  for (let match = pattern.exec(args); match !== null; match = pattern.exec(args)) {
    strings.push(unescapeC(match[1] ?? ''));
    if (match[2] !== undefined) truncated = true;
  }
  return { strings, truncated };
}

/** Undoes strace's C-style escaping of a string argument. */
export function unescapeC(text: string): string {
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', v: '\v', f: '\f', '"': '"', '\\': '\\' };
  return text.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_all, code: string) => {
    if (code.startsWith('x')) return String.fromCharCode(parseInt(code.slice(1), 16));
    if (/^[0-7]/.test(code)) return String.fromCharCode(parseInt(code, 8));
    return simple[code] ?? code;
  });
}

/** For pwrite64 and pwritev: the byte range `[offset, offset + result)` the call wrote. */
export function writtenRange(call: Syscall): { from: number; to: number } | undefined {
  if (call.result <= 0) return undefined;
  if (call.name !== 'pwrite64' && call.name !== 'pwritev' && call.name !== 'pwritev2') return undefined;
  // The offset is the last argument; pwritev2 has its flags after it.
  const offset = (call.name === 'pwritev2' ? /, (\d+), \w+$/ : /, (\d+)$/).exec(call.args);
  if (offset === null) return undefined;
  return { from: Number(offset[1]), to: Number(offset[1]) + call.result };
}

/** For rename, renameat and renameat2: the old and the new path. */
export function renamePaths(call: Syscall): { from: string; to: string } | undefined {
  if (!/^rename(at2?)?$/.test(call.name) || call.strings.length < 2) return undefined;
  return { from: call.strings[0]!, to: call.strings[1]! };
}

/** For unlink and unlinkat: the path removed. */
export function unlinkedPath(call: Syscall): string | undefined {
  if (call.name !== 'unlink' && call.name !== 'unlinkat') return undefined;
  return call.strings[0];
}

/** A resume record renamed into place, with what it claimed. */
export interface TracedRecord {
  rename: Syscall;
  /** The temp file renamed onto the record. */
  temp: string;
  /** The successful writes of the temp file before the rename, in order. */
  tempWrites: Syscall[];
  /** The byte ranges `[from, to)` the record vouches for (segments with `done > 0`). */
  claimed: Array<{ from: number; to: number }>;
}

/**
 * Every rename of a temp file onto `recordPath` (a resume record being replaced atomically), with
 * the ranges it claimed, read back from the data written to the temp file: what a crash right
 * after that rename would resume from. Needs `-s` large enough for a whole record.
 */
export function tracedRecords(calls: readonly Syscall[], recordPath: string): TracedRecord[] {
  const ok = calls.filter((call) => call.result >= 0);
  return ok
    .filter((call) => renamePaths(call)?.to === recordPath)
    .map((rename) => {
      const temp = renamePaths(rename)!.from;
      const tempWrites = ok.filter((c) => (c.name === 'write' || c.name === 'pwrite64') && c.fdPath === temp && c.endLine < rename.startLine);
      if (tempWrites.some((c) => c.truncated)) throw new Error(`strace cut the text of ${temp} (trace line ${rename.startLine + 1}); raise -s`);
      const text = tempWrites.map((c) => c.strings[0] ?? '').join('');
      const segments = text === '' ? [] : (JSON.parse(text) as { segments: Array<{ start: number; done: number }> }).segments;
      const claimed = segments.filter((s) => s.done > 0).map((s) => ({ from: s.start, to: s.start + s.done }));
      return { rename, temp, tempWrites, claimed };
    });
}

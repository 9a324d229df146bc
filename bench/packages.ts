// The programs the benchmark runs, found on this machine. Installing the missing ones is the job
// of scripts/ensure-system-packages.sh --bench, which `npm run bench` runs first: one place
// installs Debian packages, for the tests and the benchmark alike. A program that is still missing
// takes only its own contestants out of the run, with a line saying so.
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export interface Tool {
  /** The program, by absolute path or by name on PATH. */
  binary: string;
  debianPackage: string;
}

export const TOOLS = {
  nginx: { binary: '/usr/sbin/nginx', debianPackage: 'nginx' },
  curl: { binary: 'curl', debianPackage: 'curl' },
  wget: { binary: 'wget', debianPackage: 'wget' },
  aria2c: { binary: 'aria2c', debianPackage: 'aria2' },
  sha256sum: { binary: 'sha256sum', debianPackage: 'coreutils' },
  time: { binary: '/usr/bin/time', debianPackage: 'time' },
  strace: { binary: 'strace', debianPackage: 'strace' },
  'docker-registry': { binary: '/usr/bin/docker-registry', debianPackage: 'docker-registry' },
} as const satisfies Record<string, Tool>;

export type ToolName = keyof typeof TOOLS;

/** Which tools can be used in this run; a missing one comes with the reason, for the report. */
export type ToolAvailability = Record<ToolName, { ok: true; path: string } | { ok: false; reason: string }>;

/** Finds every tool; `log` names each one that is missing. */
export function findTools(log: (line: string) => void): ToolAvailability {
  const availability = {} as ToolAvailability;
  for (const name of Object.keys(TOOLS) as ToolName[]) {
    const tool = TOOLS[name];
    const path = findBinary(tool.binary);
    if (path !== undefined) {
      availability[name] = { ok: true, path };
    } else {
      const reason = `${tool.binary} is missing (Debian package ${tool.debianPackage}; \`npm run bench\` installs it as root with apt-get)`;
      availability[name] = { ok: false, reason };
      log(`bench: ${reason}; what needs it is skipped`);
    }
  }
  return availability;
}

/** The absolute path of a program, looked up on PATH when given by name. */
export function findBinary(binary: string): string | undefined {
  const candidates = isAbsolute(binary) ? [binary] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, binary));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

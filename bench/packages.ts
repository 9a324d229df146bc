// The programs the benchmark runs, and installing the missing ones from Debian so that it works on
// a fresh clone. Each package is installed on its own: one that cannot be had (no root, no apt, not
// in the archive) takes only its own contestants out of the run, with a line saying so.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

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

/** Finds every tool, installing the missing ones with apt-get when running as root. */
export async function ensureTools(log: (line: string) => void): Promise<ToolAvailability> {
  const names = Object.keys(TOOLS) as ToolName[];
  const missing = names.filter((name) => findBinary(TOOLS[name].binary) === undefined);
  const installErrors = new Map<string, string>();
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((name) => TOOLS[name].debianPackage))];
    const refusal = cannotInstallReason();
    if (refusal !== undefined) {
      for (const pkg of packages) installErrors.set(pkg, refusal);
    } else {
      await installPackages(packages, installErrors, log);
    }
  }
  const availability = {} as ToolAvailability;
  for (const name of names) {
    const tool = TOOLS[name];
    const path = findBinary(tool.binary);
    if (path !== undefined) {
      availability[name] = { ok: true, path };
    } else {
      const why = installErrors.get(tool.debianPackage) ?? 'not found after installing';
      availability[name] = { ok: false, reason: `${tool.binary} is missing (Debian package ${tool.debianPackage}: ${why})` };
      log(`bench: ${availability[name].reason}; what needs it is skipped`);
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

function cannotInstallReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root, so it cannot be installed here';
  if (findBinary('apt-get') === undefined) return 'apt-get is not available';
  return undefined;
}

async function installPackages(packages: string[], errors: Map<string, string>, log: (line: string) => void): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`bench: installing Debian packages: ${packages.join(', ')} (apt-get update first)`);
  try {
    await run('apt-get', ['update', '-qq'], { env, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    // A failed update (no network) may still leave an index good enough to install from.
    log(`bench: apt-get update failed (${firstLine(error)}); trying the install anyway`);
  }
  for (const pkg of packages) {
    try {
      await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { env, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      errors.set(pkg, `apt-get install failed: ${firstLine(error)}`);
    }
  }
}

function firstLine(error: unknown): string {
  const stderr = typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr).trim() : '';
  const text = stderr !== '' ? stderr : error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

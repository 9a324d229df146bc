// What the figures were measured on: without the machine, the load and the exact versions next to
// them, a table of seconds cannot be compared with the next one.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism, release, totalmem } from 'node:os';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import type { ToolAvailability, ToolName } from './packages.js';
import type { Table } from './report.js';

const run = promisify(execFile);

export interface MachineFacts {
  rows: Array<[string, string]>;
}

/** Describes the machine, the disk under `workspaceRoot`, and every tool's version. */
export async function describeMachine(workspaceRoot: string, repoRoot: string, tools: ToolAvailability): Promise<MachineFacts> {
  const rows: Array<[string, string]> = [
    ['CPU', `${await cpuModel()}, ${availableParallelism()} cores available`],
    ['memory', `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`],
    ['disk (benchmark files)', await describeDisk(workspaceRoot)],
    ['kernel', `Linux ${release()}`],
    ['Node.js', process.version],
    ['modelhaul', await describeCheckout(repoRoot)],
  ];
  const versionArgs: Array<[ToolName, string[]]> = [
    ['nginx', ['-v']],
    ['curl', ['--version']],
    ['wget', ['--version']],
    ['aria2c', ['--version']],
    ['sha256sum', ['--version']],
    ['strace', ['-V']],
    ['docker-registry', ['--version']],
  ];
  for (const [name, args] of versionArgs) rows.push([name, await toolVersion(tools, name, args)]);
  return { rows };
}

/**
 * The load averages and the CPU pressure (PSI: the share of the last minute in which some task
 * waited for a CPU): others' work skews timings, and pressure near 100% means every figure is
 * stretched by waiting, hashing most of all.
 */
export async function loadNow(): Promise<string> {
  const text = await readFile('/proc/loadavg', 'utf8').catch(() => '');
  const [one, five, fifteen] = text.trim().split(/\s+/);
  const load = one === undefined ? 'load unknown' : `load ${one} / ${five} / ${fifteen} (1/5/15 min)`;
  const pressure = await readFile('/proc/pressure/cpu', 'utf8').catch(() => '');
  const waiting = /^some avg10=[\d.]+ avg60=([\d.]+)/m.exec(pressure)?.[1];
  return waiting === undefined ? load : `${load}, CPU pressure ${waiting}% (tasks waiting for a CPU, last minute)`;
}

export function machineTable(facts: MachineFacts): Table {
  return { headers: ['', ''], rows: facts.rows.map(([name, value]) => [name, value]) };
}

async function cpuModel(): Promise<string> {
  const text = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? 'unknown CPU';
}

async function describeDisk(path: string): Promise<string> {
  try {
    const { stdout } = await run('df', ['--output=source,fstype,size,avail', '-h', path]);
    const [source = '?', fstype = '?', total = '?', avail = '?'] = (stdout.trim().split('\n')[1] ?? '').split(/\s+/);
    return `${source} (${fstype}, ${total}, ${avail} free, ${await rotational(source)}), under ${path}`;
  } catch {
    return `unknown (df failed for ${path})`;
  }
}

/** The block queue's rotational flag (virtual disks often claim 1 whatever backs them). */
async function rotational(source: string): Promise<string> {
  const name = basename(source);
  for (const candidate of [`/sys/class/block/${name}/queue/rotational`, `/sys/class/block/${name}/../queue/rotational`]) {
    const flag = await readFile(candidate, 'utf8').catch(() => undefined);
    if (flag !== undefined) return `queue/rotational=${flag.trim()}`;
  }
  return 'rotational flag unknown';
}

async function describeCheckout(repoRoot: string): Promise<string> {
  const pkg = JSON.parse(await readFile(`${repoRoot}/package.json`, 'utf8')) as { version?: string };
  try {
    const { stdout: head } = await run('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']);
    const { stdout: dirty } = await run('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'src']);
    return `${pkg.version ?? '?'} at commit ${head.trim()}${dirty.trim() === '' ? '' : ' with uncommitted changes in src/'}`;
  } catch {
    return `${pkg.version ?? '?'} (not a git checkout)`;
  }
}

async function toolVersion(tools: ToolAvailability, name: ToolName, args: string[]): Promise<string> {
  const tool = tools[name];
  if (!tool.ok) return `missing: ${tool.reason}`;
  try {
    const { stdout, stderr } = await run(tool.path, args);
    // nginx and strace -V differ in where they print; the first line names the version.
    return (stdout.trim() || stderr.trim()).split('\n')[0] ?? '?';
  } catch (error) {
    return `version unknown (${error instanceof Error ? error.message : String(error)})`;
  }
}

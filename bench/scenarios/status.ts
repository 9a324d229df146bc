// `modelhaul status` on an installed bundle: what it adds to Node's own start-up (its median wall
// time less that of a bare `node -e 0`, the two run alternately), and proof from the system calls,
// not from the code, that it opens, reads and maps none of the model files and connects nowhere.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeManifest, type ManifestEntry } from '../contestants.js';
import { goalId, LIMITS, type GoalMeasure } from '../goals.js';
import { failureText, recordModelhaulRun, withRunDir, type BenchContext } from '../harness.js';
import { runMeasured, type Measurement } from '../measure.js';
import type { ScenarioReport, Table } from '../report.js';
import { defined, median, mib, seconds, secondsWithRange, size } from '../stats.js';

const ARTIFACTS = ['a', 'b', 'c'];
// The calls through which a process could see a file's bytes, plus connect() for the network.
const TRACED_CALLS = 'open,openat,openat2,read,pread64,readv,preadv,preadv2,mmap,sendfile,copy_file_range,splice,connect';

interface StatusFindings {
  status: Measurement[];
  bare: Measurement[];
  cold: Measurement | undefined;
  trace: TraceFindings | string;
}

interface TraceFindings {
  /** Traced calls that name a model file, by call name. */
  modelFileCalls: Map<string, number>;
  connects: number;
  /** All traced calls, to show that the trace saw the process work. */
  totalCalls: number;
}

export async function status(context: BenchContext): Promise<ScenarioReport> {
  const fileSize = context.options.smoke ? 1024 * 1024 : 64 * 1024 * 1024;
  const origin = await context.origin('plain');
  const entries: ManifestEntry[] = [];
  for (const name of ARTIFACTS) {
    const fixture = await context.fixture(fileSize, `status-${name}`);
    entries.push({ id: name, path: `models/${name}.bin`, download: { url: origin.url(`/${fixture.name}`), fixture } });
  }
  const findings = await withRunDir(context, async (dir) => {
    const manifest = join(dir, 'manifest.json');
    const installDir = join(dir, 'install');
    await writeManifest(manifest, entries);
    await runMeasured(context.cli.node, [context.cli.script, 'install', '--manifest', manifest, '--dir', installDir, '--quiet']);
    const args = [context.cli.script, 'status', '--manifest', manifest, '--dir', installDir, '--json'];
    const modelFiles = entries.map((entry) => join(installDir, ...entry.path.split('/')));
    return measureStatus(context, args, modelFiles);
  });
  for (const measurement of findings.status) {
    recordModelhaulRun(context, { scenario: 'status', label: 'modelhaul status', mode: undefined, sizeBytes: 0 }, measurement);
  }
  return report(context, findings, fileSize);
}

async function measureStatus(context: BenchContext, args: string[], modelFiles: string[]): Promise<StatusFindings> {
  const node = context.cli.node;
  const findings: StatusFindings = { status: [], bare: [], cold: undefined, trace: 'not run' };
  const runStatus = async (): Promise<Measurement> => {
    let output = '';
    const measured = await runMeasured(node, args, { timeBinary: context.timeBinary, onLine: (line) => (output += line) });
    expectComplete(output);
    return measured;
  };
  // A warm machine, as when an app checks its models at startup: alternate with a bare Node.
  for (let run = 0; run < context.options.statusRuns; run++) {
    findings.bare.push(await runMeasured(node, ['-e', '0'], { timeBinary: context.timeBinary }));
    findings.status.push(await runStatus());
  }
  if (context.pageCache.notDroppedBecause === undefined) {
    await context.pageCache.settle([]);
    findings.cold = await runStatus();
  }
  findings.trace = context.tools.strace.ok ? await traceStatus(context, args, modelFiles) : context.tools.strace.reason;
  context.log(`bench: status: ${context.options.statusRuns} runs, median ${seconds(median(findings.status.map((m) => m.wallMs)))}`);
  return findings;
}

/** A fast status that does not see the bundle as installed would prove nothing. */
function expectComplete(output: string): void {
  const parsed = JSON.parse(output) as { complete?: unknown };
  if (parsed.complete !== true) throw new Error(`status does not report the bundle as installed: ${output.slice(0, 500)}`);
}

async function traceStatus(context: BenchContext, args: string[], modelFiles: string[]): Promise<TraceFindings | string> {
  const traceFile = join(context.workspace.root, 'status.strace');
  try {
    // -f follows libuv's threadpool, where Node's fs calls run; -y prints the path behind each fd.
    await runMeasured('strace', ['-f', '-qq', '-y', '-e', `trace=${TRACED_CALLS}`, '-o', traceFile, context.cli.node, ...args]);
  } catch (error) {
    return `strace failed: ${failureText(error)}`;
  }
  const lines = (await readFile(traceFile, 'utf8')).split('\n').filter((line) => line.trim() !== '');
  const modelFileCalls = new Map<string, number>();
  let connects = 0;
  for (const line of lines) {
    // With -f each line starts with the thread id: `1234  read(17</path/x>, ...`.
    const call = /^(?:\d+\s+)?(\w+)\(/.exec(line)?.[1] ?? 'unknown';
    if (call === 'connect') connects++;
    if (modelFiles.some((file) => line.includes(file))) modelFileCalls.set(call, (modelFileCalls.get(call) ?? 0) + 1);
  }
  return { modelFileCalls, connects, totalCalls: lines.length };
}

function report(context: BenchContext, findings: StatusFindings, fileSize: number): ScenarioReport {
  const statusWall = median(findings.status.map((m) => m.wallMs));
  const bareWall = median(findings.bare.map((m) => m.wallMs));
  const overhead = statusWall === undefined || bareWall === undefined ? undefined : statusWall - bareWall;
  const traced = findings.trace;
  const table: Table = {
    headers: ['command', 'wall, median (min-max)', 'CPU user+sys', 'peak RSS', 'runs'],
    rows: [
      row('`modelhaul status --json` (warm)', findings.status),
      row('`node -e 0` (Node startup alone, for scale)', findings.bare),
      ...(findings.cold === undefined ? [] : [row('`modelhaul status --json` (page cache dropped first)', [findings.cold])]),
    ],
  };
  const traceText =
    typeof traced === 'string'
      ? `The system-call check did not run: ${traced}.`
      : `strace -f of one status run (${traced.totalCalls} traced calls among \`${TRACED_CALLS}\`): ` +
        `${describeModelCalls(traced.modelFileCalls)}; connect() calls: ${traced.connects}.`;
  const goals: GoalMeasure[] = [
    {
      id: goalId.statusOverhead,
      measured: overhead === undefined ? 'not measured (no runs)' : `${overhead >= 0 ? '+' : '−'}${seconds(Math.abs(overhead))} (${seconds(statusWall)} vs ${seconds(bareWall)})`,
      met: overhead === undefined ? undefined : overhead <= LIMITS.statusOverheadMs,
    },
    {
      id: goalId.statusNoReads,
      measured: typeof traced === 'string' ? `not measured: ${traced}` : `${sum(traced.modelFileCalls)} on model files, ${traced.connects} connect`,
      met: typeof traced === 'string' ? undefined : sum(traced.modelFileCalls) === 0 && traced.connects === 0,
    },
  ];
  return {
    section: {
      title: `Status: \`modelhaul status\` on an installed bundle of ${ARTIFACTS.length} files of ${size(fileSize)}`,
      intro: [
        `${context.options.statusRuns} runs, alternating with a bare \`node -e 0\` (node, status, node, status, ...), on a warm machine ` +
          `as when an app checks its models at start-up; the goal is the difference of the two medians.`,
      ],
      tables: [table],
      notes: [cpuNote(findings), traceText],
    },
    goals,
  };
}

/** CPU time moves less with the machine's load than wall time: its difference, for information. */
function cpuNote(findings: StatusFindings): string {
  const status = median(defined(findings.status, (m) => m.cpuMs));
  const bare = median(defined(findings.bare, (m) => m.cpuMs));
  if (status === undefined || bare === undefined) return 'CPU time was not measured (GNU time missing).';
  return `CPU user+sys beyond \`node -e 0\` (difference of medians, information): ${status >= bare ? '+' : '−'}${seconds(Math.abs(status - bare))}.`;
}

function row(label: string, samples: readonly Measurement[]): string[] {
  return [
    label,
    secondsWithRange(samples.map((m) => m.wallMs)),
    seconds(median(defined(samples, (m) => m.cpuMs))),
    mib(median(defined(samples, (m) => m.peakRssBytes))),
    String(samples.length),
  ];
}

function describeModelCalls(calls: Map<string, number>): string {
  if (calls.size === 0) return 'no call names a model file';
  return `calls on model files: ${[...calls].map(([call, count]) => `${call} ×${count}`).join(', ')}`;
}

function sum(calls: Map<string, number>): number {
  return [...calls.values()].reduce((total, count) => total + count, 0);
}

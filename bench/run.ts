// `npm run bench`: modelhaul against curl, wget and aria2c on a loopback nginx, side by side in one
// run, with the goals (bench/goals.ts) next to the measured figures in BENCHMARKS.md. See bench/options.ts
// for the command line (`--smoke` is what CI runs to keep this script working).
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { ensureBuiltCli } from './build.js';
import { goalCatalog, resolveGoals, type Goal } from './goals.js';
import { Origins, type BenchContext } from './harness.js';
import { describeMachine, loadNow, machineTable } from './machine.js';
import { parseBenchOptions, USAGE, type BenchOptions, type RepeatedScenario, type ScenarioName } from './options.js';
import { findTools } from './packages.js';
import { PageCache } from './page-cache.js';
import { renderGoals, renderSection, renderTable, writeReport, type ScenarioReport } from './report.js';
import { cappedOrigin } from './scenarios/capped.js';
import { memorySummary } from './scenarios/memory.js';
import { resume, resumeLoopback } from './scenarios/resume.js';
import { largeStream, singleStream } from './scenarios/single-stream.js';
import { status } from './scenarios/status.js';
import { registry } from './scenarios/registry.js';
import { seconds } from './stats.js';
import { createWorkspace, generateFixture, type Fixture } from './workspace.js';

const SCENARIO_RUNNERS: Record<ScenarioName, (context: BenchContext) => Promise<ScenarioReport>> = {
  single: singleStream,
  large: largeStream,
  capped: cappedOrigin,
  resume,
  'resume-loopback': resumeLoopback,
  status,
  registry,
};

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

function log(line: string): void {
  console.error(line);
}

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions | 'help';
  try {
    options = parseBenchOptions(argv);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  const started = performance.now();
  const date = new Date();
  const tools = findTools(log);
  if (!tools.nginx.ok) {
    log(`bench: cannot run without an origin: ${tools.nginx.reason}`);
    return 1;
  }
  if (!tools.time.ok) log('bench: without GNU time only wall times are measured (no CPU time, no peak RSS)');
  const cli = await ensureBuiltCli(REPO_ROOT, log);
  const workspace = await createWorkspace(REPO_ROOT, bytesNeeded(options));
  log(`bench: working in ${workspace.note}`);
  const origins = new Origins(workspace.originDir, { capped: options.cappedRateBytesPerSecond, link: options.resumeRateBytesPerSecond });
  const context = makeContext(options, tools, cli, workspace, origins);
  try {
    await measureAndReport(context, argv, { started, date });
  } finally {
    await origins.stopAll();
    await workspace.remove();
  }
  if (context.failures.length > 0) {
    log(`bench: ${context.failures.length} run(s) failed:\n  ${context.failures.join('\n  ')}`);
    return 1;
  }
  return 0;
}

/** Runs the chosen scenarios, then prints the report and writes it between its markers. */
async function measureAndReport(context: BenchContext, argv: string[], clock: { started: number; date: Date }): Promise<void> {
  const { options } = context;
  const loadBefore = await loadNow();
  const reports: ScenarioReport[] = [];
  const failed = new Map<ScenarioName, string>();
  for (const name of options.scenarios) {
    const outcome = await runScenario(context, name);
    if (typeof outcome === 'string') failed.set(name, outcome);
    else reports.push(outcome);
  }
  reports.push(memorySummary(context.modelhaulRuns, options));
  const loadAfter = await loadNow();
  const facts = await describeMachine(context.workspace.root, REPO_ROOT, context.tools);
  const header = runHeader({ context, argv, date: clock.date, elapsedMs: performance.now() - clock.started, loadBefore, loadAfter });
  const goals = resolveGoals(goalCatalog(options), reports.flatMap((r) => r.goals), options.scenarios, [...failed.keys()]);
  const markdown = [
    header,
    '#### Goals',
    goalSummary(goals),
    renderGoals(goals),
    '#### Machine',
    renderTable(machineTable(facts)),
    ...reports.map((r) => renderSection(r.section)),
    ...[...failed].map(([name, message]) => renderSection({ title: `${name}: FAILED`, intro: ['```', message, '```'], tables: [], notes: [] })),
  ].join('\n\n');
  // The smoke report goes to an ignored file: CI and development runs must not rewrite the real one.
  const out = options.out ?? join(REPO_ROOT, options.smoke ? '.bench/BENCHMARKS.smoke.md' : 'BENCHMARKS.md');
  await writeReport(out, '# Benchmarks', markdown);
  console.log(markdown);
  log(`bench: results written to ${relative(process.cwd(), out) || out}`);
}

function makeContext(
  options: BenchOptions,
  tools: BenchContext['tools'],
  cli: BenchContext['cli'],
  workspace: BenchContext['workspace'],
  origins: Origins,
): BenchContext {
  const fixtures = new Map<string, Promise<Fixture>>();
  return {
    options,
    tools,
    cli,
    workspace,
    pageCache: new PageCache(options.cache),
    log,
    fixture(size, seed) {
      const key = `${seed}-${size}`;
      let fixture = fixtures.get(key);
      if (fixture === undefined) {
        log(`bench: generating ${key}.bin`);
        fixture = generateFixture(workspace.originDir, size, seed);
        fixtures.set(key, fixture);
      }
      return fixture;
    },
    origin: (kind) => origins.get(kind),
    timeBinary: tools.time.ok ? tools.time.path : undefined,
    failures: [],
    modelhaulRuns: [],
  };
}

/** A scenario that throws is reported as failed (its error, as a string); the others still run. */
async function runScenario(context: BenchContext, name: ScenarioName): Promise<ScenarioReport | string> {
  log(`bench: scenario ${name}`);
  const started = performance.now();
  try {
    return await SCENARIO_RUNNERS[name](context);
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    context.failures.push(`${name}: ${message}`);
    log(`bench: scenario ${name} FAILED: ${message}`);
    return message;
  } finally {
    log(`bench: scenario ${name} took ${seconds(performance.now() - started)}`);
  }
}

/** Says plainly which goals are missed, above the table that has the figures. */
function goalSummary(goals: readonly Goal[]): string {
  const missed = goals.filter((g) => g.met === false);
  const unmeasured = goals.filter((g) => g.met === undefined);
  const parts = [`${goals.length - missed.length - unmeasured.length} of ${goals.length} goals met.`];
  if (missed.length > 0) parts.push(`**Not met (${missed.length})**: ${missed.map((g) => g.goal).join('; ')}.`);
  if (unmeasured.length > 0) parts.push(`Not measured in this run: ${unmeasured.length} (marked in the table, with the reason).`);
  return parts.join(' ');
}

/** Room for every test file plus the largest download at a time, with some slack. */
function bytesNeeded(options: BenchOptions): number {
  const has = (name: ScenarioName): boolean => options.scenarios.includes(name);
  // The registry scenario keeps two more copies of its file: the installed one it publishes from,
  // and the registry's blob.
  const registryCopies = has('registry') ? 2 * options.sizeBytes : 0;
  const large = has('large') ? options.largeSizeBytes : 0;
  const origin = options.sizeBytes + large + options.cappedSizeBytes + registryCopies + 3 * 64 * 1024 * 1024;
  return origin + Math.max(options.sizeBytes, large) + 512 * 1024 * 1024;
}

interface RunFacts {
  context: BenchContext;
  argv: string[];
  date: Date;
  elapsedMs: number;
  loadBefore: string;
  loadAfter: string;
}

/** How, when and under what load the figures below were taken. */
function runHeader({ context, argv, date, elapsedMs, loadBefore, loadAfter }: RunFacts): string {
  const { options, pageCache, workspace } = context;
  const command = ['node --import tsx bench/run.ts', ...argv].join(' ');
  const lines = [
    `## Latest run: ${date.toISOString().replace('T', ' ').slice(0, 16)} UTC`,
    ...(options.smoke ? ['**Smoke run: tiny sizes and one repetition, to check that the script works. The figures mean nothing.**'] : []),
    `\`${command}\`, ${seconds(elapsedMs)} in all. ${repetitions(options)}`,
    `Before every run: the previous download deleted, ${pageCache.describe()}, then the origin's file read back into the cache. Files in ${workspace.note}.`,
    `At the start: ${loadBefore}. At the end: ${loadAfter}. The machine has ${availableParallelism()} cores; other work running at the same time shows up as spread between the min and max of a row.`,
  ];
  return lines.join('\n\n');
}

/** How many times each scenario ran its contestants, and why some ran fewer. */
function repetitions(options: BenchOptions): string {
  const repeated = options.scenarios.filter((name): name is RepeatedScenario => name !== 'status');
  const counts = repeated.map((name) => `${name} ${options.reps[name]}`).join(', ');
  const why = options.repsGiven || options.smoke ? '' : ' The large installs (`large`) and the resume rounds are the longest runs, so they are repeated fewer times.';
  return (
    `Contestants ran alternating with each other (A B C A B C ...), repeated per scenario: ${counts || 'none'}` +
    `${options.scenarios.includes('status') ? `; status ${options.statusRuns} runs` : ''}. Tables show medians.${why}`
  );
}

process.exitCode = await main(process.argv.slice(2));

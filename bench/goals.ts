// The goals the benchmark reports, in one catalog. Each is a ratio against a peer measured side by
// side in the same run, or a bound. Every goal appears in every report: one this run did not
// measure (a scenario left out with --only, a contestant skipped or failed) says so instead of
// passing, so a partial run can never read as "all goals met".
import type { BenchOptions, ScenarioName } from './options.js';
import { size } from './stats.js';

const MIB = 1024 * 1024;

/** modelhaul's two single-stream modes: one connection, and the CLI's default. */
export type ModelhaulMode = 'one' | 'default';
export const MODES: readonly ModelhaulMode[] = ['one', 'default'];

export function modeName(mode: ModelhaulMode): string {
  return mode === 'one' ? 'modelhaul --connections 1' : 'modelhaul (default connections)';
}

export const LIMITS = {
  /** modelhaul's wall time over the durable floor's (curl -o, then fsync of the file). */
  floorWall: 1.1,
  /** modelhaul's CPU time (user + sys) over the durable floor's. */
  floorCpu: 1.8,
  peakRssBytes: 100 * MIB,
  /** Growth of the median peak RSS from the single-stream file to the large one. */
  rssGrowthBytes: 10 * MIB,
  /** `modelhaul status` median wall minus `node -e 0` median wall. */
  statusOverheadMs: 40,
  /** A resumed install's wall time over a fresh one's, on the resume origin. */
  resumedVsFresh: 0.55,
  /** Bytes the origin sends twice after a crash at 50%, as a share of the file (worst run). */
  crashRefetchShare: 0.02,
  /** modelhaul --connections N over aria2c -xN -sN on the capped origin. */
  cappedVsAria2c: 0.7,
  /** The registry install over the same install from nginx. */
  registryVsNginx: 1.2,
} as const;

/** The single-stream scenarios: the goal file and the large one. */
export type StreamScenario = 'single' | 'large';
export type ResumeSignal = 'SIGINT' | 'SIGKILL';

export const goalId = {
  floor: (scenario: StreamScenario, mode: ModelhaulMode, metric: 'wall' | 'cpu') => `floor-${metric}:${scenario}:${mode}`,
  peakRss: (mode: ModelhaulMode) => `rss-peak:${mode}`,
  rssGrowth: (mode: ModelhaulMode) => `rss-growth:${mode}`,
  rssEvery: 'rss-every',
  statusOverhead: 'status-overhead',
  statusNoReads: 'status-no-reads',
  resumedWall: (signal: ResumeSignal) => `resume-wall:${signal}`,
  crashRefetch: 'resume-refetch:SIGKILL',
  cappedVsAria2c: 'capped-vs-aria2c',
  registryVsNginx: 'registry-vs-nginx',
};

export interface GoalSpec {
  id: string;
  /** The issue that set the goal. */
  issue: number;
  goal: string;
  target: string;
  /** The scenarios that measure it; it is "not measured" when none of them ran. */
  scenarios: readonly ScenarioName[];
}

/** What a scenario measured for the goal `id`; `met` is undefined when it could not be measured. */
export interface GoalMeasure {
  id: string;
  measured: string;
  met: boolean | undefined;
}

export interface Goal extends GoalSpec, Omit<GoalMeasure, 'id'> {}

export function signalName(signal: ResumeSignal): string {
  return signal === 'SIGINT' ? 'Ctrl-C (SIGINT)' : 'crash (SIGKILL)';
}

/** Every goal, in report order, worded for this run's sizes and rates. */
export function goalCatalog(options: BenchOptions): GoalSpec[] {
  const goals: GoalSpec[] = [];
  const streams: Array<[StreamScenario, number]> = [
    ['single', options.sizeBytes],
    ['large', options.largeSizeBytes],
  ];
  for (const [scenario, bytes] of streams) {
    for (const mode of MODES) {
      const subject = `single stream ${size(bytes)}, ${modeName(mode)}`;
      goals.push(
        { id: goalId.floor(scenario, mode, 'wall'), issue: 11, goal: `${subject}: wall vs curl -o + fsync (durable floor)`, target: `≤ ${LIMITS.floorWall.toFixed(2)}x`, scenarios: [scenario] },
        { id: goalId.floor(scenario, mode, 'cpu'), issue: 11, goal: `${subject}: CPU user+sys vs the floor's`, target: `≤ ${LIMITS.floorCpu.toFixed(2)}x`, scenarios: [scenario] },
      );
    }
  }
  const [small, large] = [size(options.sizeBytes), size(options.largeSizeBytes)];
  for (const mode of MODES) {
    goals.push(
      { id: goalId.peakRss(mode), issue: 11, goal: `${modeName(mode)}: peak RSS, worst run at ${small} and ${large}`, target: `≤ ${LIMITS.peakRssBytes / MIB} MiB`, scenarios: ['single', 'large'] },
      {
        id: goalId.rssGrowth(mode),
        issue: 11,
        goal: `${modeName(mode)}: peak RSS growth from ${small} to ${large} (medians)`,
        target: `≤ +${LIMITS.rssGrowthBytes / MIB} MiB`,
        scenarios: ['single', 'large'],
      },
    );
  }
  goals.push({ id: goalId.rssEvery, issue: 11, goal: 'every modelhaul run of this bench: peak RSS (worst run)', target: `≤ ${LIMITS.peakRssBytes / MIB} MiB`, scenarios: ['single', 'large', 'capped', 'resume', 'resume-loopback', 'status', 'registry'] });
  const rate = `${options.resumeRateBytesPerSecond / 1e6} MB/s`;
  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    goals.push({
      id: goalId.resumedWall(signal),
      issue: 11,
      goal: `resume at ${rate} after ${signalName(signal)} at 50% of ${small}: resumed wall vs a fresh install`,
      target: `≤ ${LIMITS.resumedVsFresh.toFixed(2)}x`,
      scenarios: ['resume'],
    });
  }
  goals.push(
    { id: goalId.crashRefetch, issue: 11, goal: `resume at ${rate} after ${signalName('SIGKILL')} at 50% of ${small}: bytes fetched twice (worst run)`, target: `≤ ${LIMITS.crashRefetchShare * 100}% of the file`, scenarios: ['resume'] },
    {
      id: goalId.cappedVsAria2c,
      issue: 11,
      goal: `capped origin ${size(options.cappedSizeBytes)} at ${options.cappedRateBytesPerSecond / 1e6} MB/s per connection: modelhaul --connections ${options.cappedConnections} wall vs aria2c -x${options.cappedConnections} -s${options.cappedConnections} with SHA-256`,
      target: `≤ ${LIMITS.cappedVsAria2c.toFixed(2)}x`,
      scenarios: ['capped'],
    },
    { id: goalId.statusOverhead, issue: 11, goal: 'status of an installed bundle: wall time beyond `node -e 0` (difference of medians)', target: `≤ ${LIMITS.statusOverheadMs} ms`, scenarios: ['status'] },
    { id: goalId.statusNoReads, issue: 5, goal: 'status reads no file contents (strace: open/read/mmap of the model files, connect)', target: '0 calls', scenarios: ['status'] },
    { id: goalId.registryVsNginx, issue: 10, goal: `registry ${small}: wall vs the same from nginx`, target: `≤ ${LIMITS.registryVsNginx.toFixed(2)}x`, scenarios: ['registry'] },
  );
  return goals;
}

/**
 * The catalog with what was measured filled in. A goal nothing measured is "not measured", with
 * the reason: its scenarios were not run, or failed before measuring it.
 */
export function resolveGoals(catalog: readonly GoalSpec[], measures: readonly GoalMeasure[], ran: readonly ScenarioName[], failed: readonly ScenarioName[]): Goal[] {
  const byId = new Map(measures.map((m) => [m.id, m]));
  for (const id of byId.keys()) {
    if (!catalog.some((spec) => spec.id === id)) throw new Error(`a scenario measured goal ${JSON.stringify(id)}, which is not in the catalog`);
  }
  return catalog.map((spec) => {
    const measure = byId.get(spec.id);
    if (measure !== undefined) return { ...spec, measured: measure.measured, met: measure.met };
    const missing = spec.scenarios.filter((name) => !ran.includes(name));
    const broken = spec.scenarios.filter((name) => failed.includes(name));
    const why =
      broken.length > 0
        ? `scenario ${broken.join(', ')} failed`
        : missing.length > 0
          ? `scenario ${missing.join(', ')} not in this run`
          : 'no run measured it';
    return { ...spec, measured: `not measured (${why})`, met: undefined };
  });
}

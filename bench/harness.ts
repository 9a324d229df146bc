// What every scenario shares: the tools found, the origins, the test files, and the loop that runs
// contestants side by side (A B C A B C ...), each from the same clean state and each checked
// (size, and SHA-256 where the contestant does not compare it itself) before its time counts.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { startNginx, type Nginx } from '../test/helpers/nginx.js';
import type { Contestant, Download, ModelhaulCli } from './contestants.js';
import type { ModelhaulMode } from './goals.js';
import { runMeasured, type Measurement } from './measure.js';
import type { BenchOptions, RepeatedScenario, ScenarioName } from './options.js';
import type { ToolAvailability } from './packages.js';
import type { PageCache } from './page-cache.js';
import { seconds } from './stats.js';
import type { Fixture, Workspace } from './workspace.js';

/** Uncapped; capped per connection (--capped-rate); capped per request like a home line (--resume-rate). */
export type OriginKind = 'plain' | 'capped' | 'link';

/** The peak RSS of one modelhaul run, for the memory goals (every run counts). */
export interface ModelhaulRun {
  scenario: ScenarioName;
  label: string;
  mode: ModelhaulMode | undefined;
  sizeBytes: number;
  peakRssBytes: number;
}

export interface BenchContext {
  options: BenchOptions;
  tools: ToolAvailability;
  cli: ModelhaulCli;
  workspace: Workspace;
  pageCache: PageCache;
  log(line: string): void;
  /** A test file of `size` bytes, generated once per (seed, size). */
  fixture(size: number, seed: string): Promise<Fixture>;
  /** The nginx serving the test files, started on first use, one per kind. */
  origin(kind: OriginKind): Promise<Nginx>;
  /** GNU time's path, when it is there. */
  timeBinary: string | undefined;
  /** Every run that failed, so that the benchmark can exit non-zero (CI's smoke run relies on it). */
  failures: string[];
  /** Every measured modelhaul run's peak RSS (filled in by {@link recordModelhaulRun}). */
  modelhaulRuns: ModelhaulRun[];
}

/** One line of a side-by-side comparison: a contestant and what it downloads. */
export interface Entry {
  label: string;
  contestant: Contestant;
  download: Download;
}

export interface EntryResult {
  entry: Entry;
  samples: Measurement[];
  /** Why the entry did not run (a missing tool); it then has no samples. */
  skipped: string | undefined;
  /** The first failure; the entry is not run again after one. */
  failure: string | undefined;
}

/**
 * Runs every entry `reps` times, alternating (A B C A B C ...) so that a slow phase of the machine
 * is shared out instead of landing on one contestant. Before each run the previous download is
 * deleted and the page cache settled; after it the output's size is checked, so that a contestant
 * that fails quietly cannot post a fast time.
 */
export async function measureAlternating(
  context: BenchContext,
  scenario: RepeatedScenario,
  entries: readonly Entry[],
  reps = context.options.reps[scenario],
): Promise<EntryResult[]> {
  const results = entries.map((entry): EntryResult => ({ entry, samples: [], skipped: missingTool(context, entry.contestant), failure: undefined }));
  for (const result of results) {
    if (result.skipped !== undefined) context.log(`bench: ${scenario}: skipping ${result.entry.label}: ${result.skipped}`);
  }
  for (let rep = 1; rep <= reps; rep++) {
    for (const result of results) {
      if (result.skipped !== undefined || result.failure !== undefined) continue;
      try {
        const sample = await measureOnce(context, scenario, result.entry);
        result.samples.push(sample);
        context.log(`bench: ${scenario} ${rep}/${reps} ${result.entry.label}: ${seconds(sample.wallMs)}`);
      } catch (error) {
        result.failure = failureText(error);
        context.failures.push(`${scenario}: ${result.entry.label}: ${result.failure}`);
        context.log(`bench: ${scenario}: ${result.entry.label} FAILED: ${result.failure}`);
      }
    }
  }
  return results;
}

/** One measured run of `entry` from a clean state, checked, its download removed afterwards. */
export async function measureOnce(context: BenchContext, scenario: ScenarioName, entry: Entry): Promise<Measurement> {
  return withRunDir(context, async (dir) => {
    const { contestant, download } = entry;
    const prepared = await contestant.prepare(download, dir);
    await context.pageCache.settle([download.fixture.path]);
    const result = await runMeasured(prepared.file, prepared.args, { timeBinary: context.timeBinary });
    await expectSize(prepared.output, download.fixture.size);
    if (!contestant.checksDigest) await expectDigest(prepared.output, download.fixture.sha256);
    if (contestant.modelhaul !== undefined) {
      recordModelhaulRun(context, { scenario, label: entry.label, mode: contestant.modelhaul.mode, sizeBytes: download.fixture.size }, result);
    }
    return result;
  });
}

/** Notes a modelhaul run's peak RSS for the memory goals (nothing without GNU time). */
export function recordModelhaulRun(context: BenchContext, run: Omit<ModelhaulRun, 'peakRssBytes'>, measurement: Measurement): void {
  if (measurement.peakRssBytes !== undefined) context.modelhaulRuns.push({ ...run, peakRssBytes: measurement.peakRssBytes });
}

/** Runs `work` in a fresh directory under the workspace and deletes it (and its download) after. */
export async function withRunDir<T>(context: BenchContext, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = join(context.workspace.workDir, 'run');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir);
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function expectSize(path: string, size: number): Promise<void> {
  const actual = await stat(path).then((s) => s.size, () => undefined);
  if (actual !== size) throw new Error(`${path} is ${actual === undefined ? 'missing' : `${actual} bytes`} after the run; expected ${size}`);
}

/** Hashes `path` (after the timed run) and compares it with the fixture's SHA-256. */
export async function expectDigest(path: string, sha256: string): Promise<void> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 4 * 1024 * 1024 }), hash);
  const actual = hash.digest('hex');
  if (actual !== sha256) throw new Error(`${path} has SHA-256 ${actual} after the run; expected ${sha256}`);
}

export function missingTool(context: BenchContext, contestant: Contestant): string | undefined {
  for (const name of contestant.needs) {
    const tool = context.tools[name];
    if (!tool.ok) return tool.reason;
  }
  return undefined;
}

/** The message of a failed run, shortened for a table cell. */
export function failureText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 300 ? `${message.slice(0, 300)}...` : message;
}

/** Starts the origins lazily and stops whichever were started. */
export class Origins {
  private readonly started = new Map<OriginKind, Promise<Nginx>>();

  constructor(
    private readonly root: string,
    /** nginx `limit_rate` (per request) of each capped kind. */
    private readonly rates: Record<Exclude<OriginKind, 'plain'>, number>,
  ) {}

  get(kind: OriginKind): Promise<Nginx> {
    let origin = this.started.get(kind);
    if (origin === undefined) {
      origin = startNginx({ root: this.root, ...(kind === 'plain' ? {} : { limitRateBytesPerSecond: this.rates[kind] }) });
      this.started.set(kind, origin);
    }
    return origin;
  }

  async stopAll(): Promise<void> {
    for (const origin of this.started.values()) {
      await origin.then((nginx) => nginx.stop(), () => undefined);
    }
  }
}

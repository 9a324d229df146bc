// The benchmark's command line: `node --import tsx bench/run.ts [--smoke] [--size 1GiB] ...`.
// Sizes and rates are what the issue's goals are stated for; --smoke shrinks them so that CI can
// run the whole script in seconds to keep it working (its figures mean nothing).
import { parseArgs } from 'node:util';

export const SCENARIOS = ['single', 'large', 'capped', 'resume', 'resume-loopback', 'status', 'registry'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/** Scenarios whose contestants run a number of times; `status` has --status-runs instead. */
export type RepeatedScenario = Exclude<ScenarioName, 'status'>;
export type CacheMode = 'drop' | 'flush' | 'none';

export interface BenchOptions {
  smoke: boolean;
  /** Repetitions of every contestant, per scenario; the tables report medians. */
  reps: Record<RepeatedScenario, number>;
  /** Whether --reps set every scenario's repetitions (otherwise each has its own default). */
  repsGiven: boolean;
  /** The single-stream, resume and registry file. */
  sizeBytes: number;
  /** The large single-stream file: speed and peak RSS must hold from sizeBytes to this. */
  largeSizeBytes: number;
  /** The file fetched from the origin that caps each connection. */
  cappedSizeBytes: number;
  /** nginx `limit_rate` of that origin, per connection, in bytes per second. */
  cappedRateBytesPerSecond: number;
  /** Connections given to modelhaul and aria2c against the capped origin. */
  cappedConnections: number;
  /** nginx `limit_rate` of the origin the resume goals are measured on (a fast home line). */
  resumeRateBytesPerSecond: number;
  /** Runs of `modelhaul status` (it is fast: a median needs many). */
  statusRuns: number;
  /** Before every run: flush and drop the page cache (root), only flush, or nothing (smoke). */
  cache: CacheMode;
  scenarios: ScenarioName[];
  /** The markdown file the results go to; undefined for the default in the repo. */
  out: string | undefined;
}

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

/**
 * Repetitions when --reps is not given. The 4 GiB installs and the resume pairs (a fresh install,
 * then two interrupted-and-resumed installs, at 100 MB/s) are the longest runs of all, so they get
 * fewer: the full run stays near 20 minutes on an idle 2-core machine.
 */
export const DEFAULT_REPS: Record<RepeatedScenario, number> = {
  single: 5,
  large: 3,
  capped: 5,
  resume: 3,
  'resume-loopback': 3,
  registry: 5,
};

export const USAGE = `Usage: node --import tsx bench/run.ts [options]

  --smoke                 tiny sizes, one repetition, results to .bench/BENCHMARKS.smoke.md
  --reps <n>              repetitions of each contestant in every scenario (default per scenario:
                          ${Object.entries(DEFAULT_REPS)
                            .map(([name, reps]) => `${name} ${reps}`)
                            .join(', ')}; 1 with --smoke)
  --size <size>           single-stream, resume and registry file (default 1GiB)
  --large-size <size>     large single-stream file (default 4GiB)
  --capped-size <size>    file for the capped origin (default 256MiB)
  --capped-rate <MB/s>    per-connection cap of that origin, in MB/s (default 20)
  --connections <n>       connections for modelhaul and aria2c on the capped origin (default 8)
  --resume-rate <MB/s>    cap of the origin the resume goals are measured on, per request, in MB/s;
                          the resumed install runs with --connections 1 against it (default 100)
  --status-runs <n>       runs of \`modelhaul status\`, alternating with \`node -e 0\` (default 30)
  --no-drop-caches        only sync between runs, keep the page cache
  --only <list>           comma-separated subset of: ${SCENARIOS.join(', ')}
  --out <file>            markdown report (default: the repo's BENCHMARKS.md)

Sizes take a unit: 512KiB, 64MiB, 1GiB (or plain bytes).`;

/** Parses the command line; throws an Error whose message is fit to print next to {@link USAGE}. */
export function parseBenchOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      smoke: { type: 'boolean' },
      reps: { type: 'string' },
      size: { type: 'string' },
      'large-size': { type: 'string' },
      'capped-size': { type: 'string' },
      'capped-rate': { type: 'string' },
      connections: { type: 'string' },
      'resume-rate': { type: 'string' },
      'status-runs': { type: 'string' },
      'no-drop-caches': { type: 'boolean' },
      only: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (values.help) return 'help';
  const smoke = values.smoke === true;
  // Smoke sizes are picked to exercise every code path quickly: the capped file is still large
  // enough for modelhaul (8 MiB minimum segments) and aria2c (-k 1M) to split it, and the resume
  // origin slow enough for a 16 MiB install to be interrupted at a progress event (ten a second).
  const defaults = smoke
    ? { size: 16 * MIB, large: 48 * MIB, capped: 32 * MIB, rate: 50, resumeRate: 25, statusRuns: 2 }
    : { size: GIB, large: 4 * GIB, capped: 256 * MIB, rate: 20, resumeRate: 100, statusRuns: 30 };
  const reps = values.reps === undefined ? undefined : wholeNumber(values.reps, 'reps', 1);
  return {
    smoke,
    reps: Object.fromEntries(Object.entries(DEFAULT_REPS).map(([name, fallback]) => [name, reps ?? (smoke ? 1 : fallback)])) as Record<RepeatedScenario, number>,
    repsGiven: reps !== undefined,
    sizeBytes: size(values.size, 'size', defaults.size),
    largeSizeBytes: size(values['large-size'], 'large-size', defaults.large),
    cappedSizeBytes: size(values['capped-size'], 'capped-size', defaults.capped),
    cappedRateBytesPerSecond: wholeNumber(values['capped-rate'], 'capped-rate', defaults.rate) * 1_000_000,
    cappedConnections: wholeNumber(values.connections, 'connections', 8),
    resumeRateBytesPerSecond: wholeNumber(values['resume-rate'], 'resume-rate', defaults.resumeRate) * 1_000_000,
    statusRuns: wholeNumber(values['status-runs'], 'status-runs', defaults.statusRuns),
    // Smoke figures mean nothing, and a global sync can take seconds on a busy CI machine.
    cache: smoke ? 'none' : values['no-drop-caches'] === true ? 'flush' : 'drop',
    scenarios: scenarioList(values.only),
    out: values.out,
  };
}

/** `1GiB`, `256MiB`, `64KiB`, `16M` (binary units either way) or a plain number of bytes. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(k|ki|kib|m|mi|mib|g|gi|gib)?b?$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = (match[2] ?? '').toLowerCase().charAt(0);
  const scale = unit === 'k' ? KIB : unit === 'm' ? MIB : unit === 'g' ? GIB : 1;
  const bytes = Math.round(Number(match[1]) * scale);
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : undefined;
}

function size(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const bytes = parseSize(text);
  if (bytes === undefined) throw new Error(`--${name}: expected a size such as 256MiB or 1GiB, got ${JSON.stringify(text)}`);
  return bytes;
}

function wholeNumber(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`--${name}: expected a whole number of 1 or more, got ${JSON.stringify(text)}`);
  return Number(text);
}

function scenarioList(text: string | undefined): ScenarioName[] {
  if (text === undefined) return [...SCENARIOS];
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of names) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--only: unknown scenario ${JSON.stringify(name)} (known: ${SCENARIOS.join(', ')})`);
  }
  return names as ScenarioName[];
}

// Interrupt an install halfway, then run it again: how many bytes the origin sends twice (from
// nginx's own `$body_bytes_sent`, so bytes lost in socket buffers count too) and how long the
// second run takes against a fresh install. Both a Ctrl-C (SIGINT: modelhaul stops cleanly and
// checkpoints) and a crash (SIGKILL: only the last checkpoint survives) are measured.
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseAccessLogLine, type Nginx } from '../../test/helpers/nginx.js';
import { modelhaul, modelhaulInstallArgs, type Download } from '../contestants.js';
import { expectSize, failureText, measureOnce, withRunDir, type BenchContext } from '../harness.js';
import { runMeasured, type Measurement } from '../measure.js';
import type { Goal, ScenarioReport } from '../report.js';
import { median, percent, ratio, seconds, size, times } from '../stats.js';

const INTERRUPT_AT = 0.5;
const LOG_WAIT_MS = 5000;
const LOG_SETTLE_MS = 200;
const SIGNALS = ['SIGINT', 'SIGKILL'] as const;
type Interruption = (typeof SIGNALS)[number];

interface ResumePair {
  /** Bytes written when the progress event that triggered the signal was printed. */
  interruptedAt: number;
  /** Bytes the second run reused, from its `done` event. */
  resumedFrom: number;
  /** Bytes nginx sent over both runs, less the file size. */
  fetchedTwice: number;
  resumed: Measurement;
}

interface Series {
  fresh: Measurement[];
  pairs: Record<Interruption, ResumePair[]>;
  failures: string[];
}

export async function resume(context: BenchContext): Promise<ScenarioReport> {
  const fixture = await context.fixture(context.options.sizeBytes, 'single');
  // At smoke sizes an uncapped download ends before the first progress event: slow it down.
  const origin = await context.origin(context.options.smoke ? 'capped' : 'plain');
  const download = { url: origin.url(`/${fixture.name}`), fixture };
  const series: Series = { fresh: [], pairs: { SIGINT: [], SIGKILL: [] }, failures: [] };
  const fresh = modelhaul(context.cli, 1);
  for (let rep = 1; rep <= context.options.reps; rep++) {
    await attempt(context, series, `fresh install ${rep}`, async () => {
      series.fresh.push(await measureOnce(context, { label: 'fresh', contestant: fresh, download }));
    });
    for (const signal of SIGNALS) {
      await attempt(context, series, `${signal} then resume ${rep}`, async () => {
        series.pairs[signal].push(await interruptAndResume(context, origin, download, signal));
      });
    }
  }
  return report(context, series, fixture.size);
}

async function attempt(context: BenchContext, series: Series, what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
    context.log(`bench: resume: ${what} done`);
  } catch (error) {
    series.failures.push(`${what}: ${failureText(error)}`);
    context.failures.push(`resume: ${what}: ${failureText(error)}`);
    context.log(`bench: resume: ${what} FAILED: ${failureText(error)}`);
  }
}

async function interruptAndResume(context: BenchContext, origin: Nginx, download: Download, signal: Interruption): Promise<ResumePair> {
  return withRunDir(context, async (dir) => {
    const args = [...(await modelhaulInstallArgs(context.cli, download, dir)), '--connections', '1'];
    const size = download.fixture.size;
    const logBefore = (await origin.accessLog()).length;

    await context.pageCache.settle([download.fixture.path]);
    const interruptedAt = await runUntilInterrupted(context, args, size * INTERRUPT_AT, signal);
    // nginx logs a request once it is over, which for a killed client is when it notices.
    await origin.waitForAccessLog(logBefore + 1);

    await context.pageCache.settle([download.fixture.path]);
    const { measurement, done } = await runToTheEnd(context, args);
    await expectSize(join(dir, 'install', 'model.bin'), size);
    const sent = await bytesSentSince(origin, logBefore, size);
    const resumedFrom = typeof done?.bytesReused === 'number' ? done.bytesReused : 0;
    return { interruptedAt, resumedFrom, fetchedTwice: sent - size, resumed: measurement };
  });
}

/**
 * What nginx sent in the requests logged after line `from`, once that covers the whole file (it
 * must: the file was installed from these requests), plus a moment for a straggling line. The
 * request count is not known in advance: a run stopped just after its last byte leaves the
 * second run nothing to fetch.
 */
async function bytesSentSince(origin: Nginx, from: number, fileSize: number): Promise<number> {
  const sentNow = async (): Promise<number> =>
    (await origin.accessLog()).slice(from).reduce((sum, line) => sum + parseAccessLogLine(line).bodyBytesSent, 0);
  const deadline = performance.now() + LOG_WAIT_MS;
  while ((await sentNow()) < fileSize) {
    if (performance.now() > deadline) throw new Error(`nginx logged ${await sentNow()} bytes sent for a ${fileSize}-byte file within ${LOG_WAIT_MS} ms`);
    await delay(20);
  }
  await delay(LOG_SETTLE_MS);
  return sentNow();
}

/** Runs the install and sends `signal` at the first progress event at or past `threshold` bytes. */
async function runUntilInterrupted(context: BenchContext, args: string[], threshold: number, signal: Interruption): Promise<number> {
  let interruptedAt: number | undefined;
  const onLine = (line: string, stop: (signal: NodeJS.Signals) => void): void => {
    const event = parseEvent(line);
    if (interruptedAt !== undefined || event?.event !== 'progress' || typeof event.bytes !== 'number' || event.bytes < threshold) return;
    interruptedAt = event.bytes;
    stop(signal);
  };
  const run = await runMeasured(context.cli.node, args, { onLine }, true);
  // Exit 130 is the CLI's answer to SIGINT once it has stopped cleanly.
  const asPlanned = signal === 'SIGINT' ? run.code === 130 : run.signal === 'SIGKILL';
  if (interruptedAt === undefined || !asPlanned) {
    throw new Error(`the first run was not interrupted as planned (exit ${run.signal ?? run.code}, signal sent at ${interruptedAt ?? 'no point'})`);
  }
  return interruptedAt;
}

async function runToTheEnd(context: BenchContext, args: string[]): Promise<{ measurement: Measurement; done: Record<string, unknown> | undefined }> {
  let done: Record<string, unknown> | undefined;
  const onLine = (line: string): void => {
    const event = parseEvent(line);
    if (event?.event === 'done') done = event;
  };
  const measurement = await runMeasured(context.cli.node, args, { timeBinary: context.timeBinary, onLine });
  return { measurement, done };
}

function parseEvent(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function report(context: BenchContext, series: Series, fileSize: number): ScenarioReport {
  const freshWall = median(series.fresh.map((m) => m.wallMs));
  const goals: Goal[] = [];
  const rows = SIGNALS.map((signal) => {
    const pairs = series.pairs[signal];
    const twice = pairs.map((p) => p.fetchedTwice);
    const worstTwice = twice.length === 0 ? undefined : Math.max(...twice);
    const resumedWall = median(pairs.map((p) => p.resumed.wallMs));
    const wallRatio = ratio(resumedWall, freshWall);
    const name = signal === 'SIGINT' ? 'Ctrl-C (SIGINT)' : 'crash (SIGKILL)';
    goals.push({
      goal: `resume after ${name} at 50%: bytes fetched twice (worst run)`,
      target: '≤ 1% of the file',
      measured: worstTwice === undefined ? 'not measured' : `${percent(worstTwice / fileSize)} (${size(Math.max(0, worstTwice))})`,
      met: worstTwice === undefined ? undefined : worstTwice <= fileSize * 0.01,
    });
    goals.push({
      goal: `resume after ${name} at 50%: wall vs a fresh install`,
      target: '≤ 0.60x',
      measured: wallRatio === undefined ? 'not measured' : `${times(wallRatio)} (${seconds(resumedWall)} vs ${seconds(freshWall)})`,
      met: wallRatio === undefined ? undefined : wallRatio <= 0.6,
    });
    return [
      name,
      percentOf(median(pairs.map((p) => p.interruptedAt)), fileSize),
      percentOf(median(pairs.map((p) => p.resumedFrom)), fileSize),
      twice.length === 0 ? 'n/a' : `${size(Math.max(0, median(twice) ?? 0))} (worst ${size(Math.max(0, worstTwice ?? 0))})`,
      seconds(resumedWall),
      seconds(freshWall),
      times(wallRatio),
      String(pairs.length),
    ];
  });
  const originNote = context.options.smoke ? 'the capped origin (smoke sizes finish too fast to interrupt otherwise)' : 'the uncapped origin';
  return {
    section: {
      title: `Resume: interrupted at 50% of ${size(fileSize)}, then run again`,
      intro: [
        `modelhaul --connections 1 from ${originNote}. The first run gets the signal as soon as a progress event reports ≥ 50% written; ` +
          `the page cache is settled again before the second run, which is timed. "Fetched twice" is what nginx sent over both runs less the file size.`,
      ],
      tables: [
        {
          headers: ['interruption', 'signal sent at', 'resumed from', 'fetched twice, median (worst)', 'resumed run wall', 'fresh install wall', 'resumed ÷ fresh', 'pairs'],
          rows,
        },
      ],
      notes: series.failures.map((failure) => `**Failed**: ${failure}`),
    },
    goals,
  };
}

function percentOf(bytes: number | undefined, total: number): string {
  return bytes === undefined ? 'n/a' : `${percent(bytes / total)} (${size(bytes)})`;
}

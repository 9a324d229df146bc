// Interrupt an install halfway, then run it again: how many bytes the origin sends twice (from
// nginx's own `$body_bytes_sent`, so bytes lost in socket buffers count too) and how long the
// second run takes against a fresh install from the same origin. Both a Ctrl-C (SIGINT: modelhaul
// stops cleanly and checkpoints) and a crash (SIGKILL: only the last checkpoint survives).
//
// `resume` measures the goals on a realistic link: an origin capped at --resume-rate (100 MB/s, a
// fast home line) per request, with modelhaul on one connection, so that the one request gets the
// whole line as it would behind a line capped in total. `resume-loopback` runs the same against the
// uncapped origin, as information: there the "network" is faster than the disk, so it measures the
// disk (the resumed run reads the kept half back to hash it), not what a user on a real link sees.
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseAccessLogLine, type Nginx } from '../../test/helpers/nginx.js';
import { modelhaul, modelhaulInstallArgs, type Download } from '../contestants.js';
import type { ResumeSignal } from '../goals.js';
import { expectDigest, expectSize, failureText, measureOnce, recordModelhaulRun, withRunDir, type BenchContext, type OriginKind } from '../harness.js';
import { runMeasured } from '../measure.js';
import type { ScenarioReport } from '../report.js';
import { resumeReport, type ResumeSeries, type ResumePair } from './resume-report.js';

const INTERRUPT_AT = 0.5;
const LOG_WAIT_MS = 5000;
const LOG_SETTLE_MS = 200;
const SIGNALS: readonly ResumeSignal[] = ['SIGINT', 'SIGKILL'];
type ResumeScenario = 'resume' | 'resume-loopback';

export function resume(context: BenchContext): Promise<ScenarioReport> {
  return resumeOn(context, 'resume', 'link');
}

export function resumeLoopback(context: BenchContext): Promise<ScenarioReport> {
  // At smoke sizes an uncapped download ends before the first progress event: slow it down.
  return resumeOn(context, 'resume-loopback', context.options.smoke ? 'link' : 'plain');
}

async function resumeOn(context: BenchContext, scenario: ResumeScenario, kind: OriginKind): Promise<ScenarioReport> {
  const fixture = await context.fixture(context.options.sizeBytes, 'single');
  const origin = await context.origin(kind);
  const download = { url: origin.url(`/${fixture.name}`), fixture };
  const series: ResumeSeries = { fresh: [], pairs: { SIGINT: [], SIGKILL: [] }, failures: [], failed: { fresh: 0, SIGINT: 0, SIGKILL: 0 } };
  const fresh = modelhaul(context.cli, 1);
  const reps = context.options.reps[scenario];
  // Alternating as elsewhere: a fresh install, then each interruption and its resumed run.
  for (let rep = 1; rep <= reps; rep++) {
    await attempt(context, scenario, series, 'fresh', `fresh install ${rep}/${reps}`, async () => {
      series.fresh.push(await measureOnce(context, scenario, { label: 'fresh install', contestant: fresh, download }));
    });
    for (const signal of SIGNALS) {
      await attempt(context, scenario, series, signal, `${signal} then resume ${rep}/${reps}`, async () => {
        series.pairs[signal].push(await interruptAndResume(context, scenario, origin, download, signal));
      });
    }
  }
  return resumeReport({ context, scenario, kind, series, fileSize: fixture.size, goals: scenario === 'resume' });
}

async function attempt(
  context: BenchContext,
  scenario: ResumeScenario,
  series: ResumeSeries,
  kind: keyof ResumeSeries['failed'],
  what: string,
  work: () => Promise<void>,
): Promise<void> {
  try {
    await work();
    context.log(`bench: ${scenario}: ${what} done`);
  } catch (error) {
    series.failed[kind]++;
    series.failures.push(`${what}: ${failureText(error)}`);
    context.failures.push(`${scenario}: ${what}: ${failureText(error)}`);
    context.log(`bench: ${scenario}: ${what} FAILED: ${failureText(error)}`);
  }
}

async function interruptAndResume(context: BenchContext, scenario: ResumeScenario, origin: Nginx, download: Download, signal: ResumeSignal): Promise<ResumePair> {
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
    const output = join(dir, 'install', 'model.bin');
    await expectSize(output, size);
    await expectDigest(output, download.fixture.sha256);
    recordModelhaulRun(context, { scenario, label: `resumed after ${signal}`, mode: 'one', sizeBytes: size }, measurement);
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

/**
 * Runs the install and sends `signal` at the first progress event at or past `threshold` bytes.
 * Not under GNU time: the signal must reach modelhaul itself.
 */
async function runUntilInterrupted(context: BenchContext, args: string[], threshold: number, signal: ResumeSignal): Promise<number> {
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

async function runToTheEnd(context: BenchContext, args: string[]): Promise<{ measurement: ResumePair['resumed']; done: Record<string, unknown> | undefined }> {
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

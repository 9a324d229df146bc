// The crash soak: installs multi-artifact bundles from a throttled local origin with the built CLI
// and SIGKILLs the CLI at random moments, over and over, checking modelhaul's promise after every
// kill: each final path absent or exactly the expected bytes, no install record for a wrong file,
// resume records that claim only bytes the partial holds and that are right, a next run that
// completes, and no more bytes fetched again per kill than one checkpoint interval's worth plus
// what was in flight. `npm run soak` runs it at length (scripts/soak.ts); test/soak-short.test.ts
// runs a slice in `npm test`.
//
// Kill moments are biased towards the windows that matter: right after a `verifying` event (the
// final checkpoint, the hash, fsync and rename into place), right after an `installed` event (the
// next artifact is often mid-promotion), right after `start` (partial creation, the first
// request), after the n-th progress event, and at plain random times. Some installs make
// checkpoints frequent (--checkpoint-interval/--checkpoint-bytes) so that kills land inside them.
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { spawnCli, waitForEvent, waitForExit, writeManifest, type CliEvent, type ManifestArtifact } from './cli.js';
import { makeContent } from './content.js';
import { inspectInstallDir, sha256Hex, type DirInspection, type ExpectedArtifact } from './disk-state.js';
import { startOrigin } from './origin.js';
import { makeTempDir, removeTempDir } from './tmp.js';
// The engine gathers this much of a stream before one write: bytes that may be in memory at a kill.
import { WRITE_BATCH_BYTES } from '../../src/download/positional-writer.js';

const MiB = 1024 * 1024;

/** Defaults of the install options (src/operations/install.ts). */
const DEFAULT_CHECKPOINT_BYTES = 32 * MiB;
const DEFAULT_CHECKPOINT_INTERVAL_MS = 1000;
const DEFAULT_MIN_SEGMENT_BYTES = 8 * MiB;

/**
 * Slack of the re-fetch bound, in seconds of transfer per artifact: a checkpoint starts only when
 * a write completes after the interval has passed, and bytes keep arriving while its fdatasync and
 * record write run; a kill just before that record lands loses both.
 */
const CHECKPOINT_SLACK_SECONDS = 0.5;
/**
 * Bytes per connection that can be in flight at a kill beyond the written ones: one batch being
 * gathered, one being written, and what sits in the loopback socket buffers.
 */
const IN_FLIGHT_BYTES_PER_CONNECTION = 2 * WRITE_BATCH_BYTES + 1 * MiB;

export interface SoakOptions {
  /** SIGKILLs to deliver in total. */
  kills: number;
  seed: number;
  /** Artifacts per bundle. */
  artifacts: number;
  /** Largest artifact, in bytes; segmented installs get one artifact of at least 20 MiB. */
  maxSize: number;
  /** Origin pace per response, bytes per second. */
  throttle: number;
  /** Share of installs that use `--connections 4` (the others use 1). */
  segmentedShare?: number;
  /** Receives one line per install, for a running log. */
  log?: (line: string) => void;
  /** Also log one line per kill: bytes sent, reusable before and after, bound, state per artifact. */
  trace?: boolean;
}

export type KillTrigger = 'timer' | 'start' | 'progress' | 'verifying' | 'installed';

export interface KillRecord {
  install: number;
  run: number;
  trigger: KillTrigger;
  /** Bytes the origin sent in the killed run that the next run cannot reuse. */
  refetched: number;
  /** The most that may be lost by one kill in that run (see {@link refetchBound}). */
  bound: number;
  /** The bytes of one checkpoint interval of the artifacts that were downloading. */
  interval: number;
}

export interface SoakSummary {
  seed: number;
  installs: number;
  segmentedInstalls: number;
  runs: number;
  kills: number;
  killsByTrigger: Record<KillTrigger, number>;
  /** Runs that completed before their planned kill came. */
  finishedBeforeKill: number;
  /** Artifacts that a run continued from a checkpoint of an earlier, killed run. */
  resumes: number;
  /** Kills that left the temp file of a resume-record write: the kill landed inside a checkpoint. */
  checkpointsInterrupted: number;
  /** Kills that left a file in place whose bookkeeping (install record, resume record removal) was unfinished. */
  promotionsInterrupted: number;
  /** Kills that left a fully downloaded and recorded partial that was not yet renamed into place. */
  verifiedNotPromoted: number;
  refetchedMax: number;
  refetchedMedian: number;
  refetchedP95: number;
  /** Largest re-fetch as a share of its bound (1 = at the bound). */
  worstRefetchToBound: number;
  /**
   * Largest re-fetch beyond one checkpoint interval's bytes, in bytes: what the slack of the bound
   * (checkpoint duration, write batches, socket buffers) had to cover.
   */
  worstExcessOverInterval: number;
  /** Bytes fetched beyond what was missing by runs that completed (should be 0). */
  completingRunOverfetch: number;
  /** Per install, all runs together: bytes the origin sent beyond the size of the bundle. */
  installOverfetchMax: number;
  installOverfetchMedian: number;
  violations: string[];
  elapsedMs: number;
}

interface InstallPlan {
  index: number;
  connections: 1 | 4;
  concurrency: number;
  checkpointBytes: number;
  checkpointIntervalMs: number;
  checkpointArgs: string[];
  artifacts: Array<ManifestArtifact & { body: Buffer }>;
}

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same soak plan. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const started = performance.now();
  const random = seededRandom(options.seed);
  const between = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
  const summary: SoakSummary = {
    seed: options.seed,
    installs: 0,
    segmentedInstalls: 0,
    runs: 0,
    kills: 0,
    killsByTrigger: { timer: 0, start: 0, progress: 0, verifying: 0, installed: 0 },
    finishedBeforeKill: 0,
    resumes: 0,
    checkpointsInterrupted: 0,
    promotionsInterrupted: 0,
    verifiedNotPromoted: 0,
    refetchedMax: 0,
    refetchedMedian: 0,
    refetchedP95: 0,
    worstRefetchToBound: 0,
    worstExcessOverInterval: 0,
    completingRunOverfetch: 0,
    installOverfetchMax: 0,
    installOverfetchMedian: 0,
    violations: [],
    elapsedMs: 0,
  };
  const killRecords: KillRecord[] = [];
  const installOverfetch: number[] = [];
  const work = await makeTempDir('soak');
  try {
    while (summary.kills < options.kills) {
      const plan = planInstall(summary.installs, options, random, between);
      summary.installs++;
      if (plan.connections > 1) summary.segmentedInstalls++;
      const killsWanted = Math.min(between(1, 8), options.kills - summary.kills);
      const outcome = await soakOneInstall(plan, killsWanted, options, random, between, join(work, `install-${plan.index}`), summary, killRecords);
      installOverfetch.push(outcome.sentBeyondSize);
      options.log?.(
        `install ${plan.index}: ${plan.artifacts.length} artifacts, ${(plan.artifacts.reduce((s, a) => s + a.size, 0) / MiB).toFixed(1)} MiB, ` +
          `connections ${plan.connections}, concurrency ${plan.concurrency}, checkpoints ${plan.checkpointArgs.join(' ') || 'default'}: ` +
          `${outcome.kills} kills in ${outcome.runs} runs${outcome.overfetch > 0 ? `, completing run fetched ${outcome.overfetch} bytes extra` : ''}${outcome.violations > 0 ? `, ${outcome.violations} VIOLATIONS` : ''}`,
      );
    }
  } finally {
    if (summary.violations.length === 0) await removeTempDir(work);
    else options.log?.(`install dirs kept for inspection under ${work}`);
  }
  const refetched = killRecords.map((k) => k.refetched).sort((a, b) => a - b);
  summary.refetchedMax = refetched[refetched.length - 1] ?? 0;
  summary.refetchedMedian = percentile(refetched, 0.5);
  summary.refetchedP95 = percentile(refetched, 0.95);
  installOverfetch.sort((a, b) => a - b);
  summary.installOverfetchMax = installOverfetch[installOverfetch.length - 1] ?? 0;
  summary.installOverfetchMedian = percentile(installOverfetch, 0.5);
  summary.worstRefetchToBound = killRecords.reduce((worst, k) => Math.max(worst, k.refetched / k.bound), 0);
  summary.worstExcessOverInterval = killRecords.reduce((worst, k) => Math.max(worst, k.refetched - k.interval), 0);
  summary.elapsedMs = Math.round(performance.now() - started);
  return summary;
}

function planInstall(index: number, options: SoakOptions, random: () => number, between: (low: number, high: number) => number): InstallPlan {
  const connections = random() < (options.segmentedShare ?? 0.35) ? 4 : 1;
  const mode = random();
  let checkpointArgs: string[] = [];
  let checkpointBytes = DEFAULT_CHECKPOINT_BYTES;
  let checkpointIntervalMs = DEFAULT_CHECKPOINT_INTERVAL_MS;
  if (mode < 0.45) {
    // Frequent checkpoints: many kills then land inside one.
    checkpointIntervalMs = between(2, 30) * 10;
    checkpointBytes = between(1, 16) * 256 * 1024;
    checkpointArgs = ['--checkpoint-interval', String(checkpointIntervalMs / 1000), '--checkpoint-bytes', String(checkpointBytes)];
  } else if (mode < 0.65) {
    checkpointBytes = between(1, 4) * MiB;
    checkpointArgs = ['--checkpoint-bytes', String(checkpointBytes)];
  }
  const minSize = Math.min(MiB, options.maxSize);
  const artifacts: InstallPlan['artifacts'] = [];
  for (let i = 0; i < options.artifacts; i++) {
    let size = between(minSize, options.maxSize);
    // A segmented install needs a file that is worth splitting (two minimum segments left).
    if (connections > 1 && i === 0) size = Math.max(size, 2 * DEFAULT_MIN_SEGMENT_BYTES + between(4 * MiB, 8 * MiB));
    const body = makeContent(size, options.seed * 1000 + index * 16 + i);
    const id = `a${i}`;
    // Nested paths exercise parent-folder creation and the fsync of a folder other than the root.
    const path = i % 2 === 0 ? `models/${id}.bin` : `models/sub${i}/deeper/${id}.bin`;
    artifacts.push({ id, kind: 'other', label: `soak ${id}`, url: '', size, sha256: sha256Hex(body), path, body });
  }
  return { index, connections, concurrency: between(1, 3), checkpointBytes, checkpointIntervalMs, checkpointArgs, artifacts };
}

interface InstallOutcome {
  kills: number;
  runs: number;
  violations: number;
  /** Bytes the completing run fetched beyond what was missing. */
  overfetch: number;
  /** Bytes the origin sent in all runs beyond the size of the bundle. */
  sentBeyondSize: number;
}

async function soakOneInstall(
  plan: InstallPlan,
  killsWanted: number,
  options: SoakOptions,
  random: () => number,
  between: (low: number, high: number) => number,
  work: string,
  summary: SoakSummary,
  killRecords: KillRecord[],
): Promise<InstallOutcome> {
  const origin = await startOrigin({ throttleBytesPerSecond: options.throttle });
  const outcome: InstallOutcome = { kills: 0, runs: 0, violations: 0, overfetch: 0, sentBeyondSize: 0 };
  const violation = (text: string): void => {
    outcome.violations++;
    summary.violations.push(`install ${plan.index} run ${outcome.runs}: ${text}`);
  };
  try {
    await mkdir(work, { recursive: true });
    const dir = join(work, 'models dir');
    const manifestArtifacts = plan.artifacts.map(({ body, ...artifact }) => {
      origin.serve(`/${artifact.id}.bin`, body);
      return { ...artifact, url: origin.url(`/${artifact.id}.bin`) };
    });
    const manifest = await writeManifest(work, manifestArtifacts);
    const expected: ExpectedArtifact[] = plan.artifacts.map((a) => ({ id: a.id, path: a.path, body: a.body }));
    const totalBytes = plan.artifacts.reduce((sum, a) => sum + a.size, 0);
    const args = [
      'install', '--manifest', manifest, '--dir', dir, '--json',
      '--retry-delay', '0.05', '--stall-timeout', '10',
      '--connections', String(plan.connections), '--concurrency', String(plan.concurrency),
      ...plan.checkpointArgs,
    ];
    // A rough duration of a whole install, to spread timer kills over it.
    const perArtifactRate = options.throttle * plan.connections;
    const estimatedMs = 300 + (totalBytes / (perArtifactRate * Math.min(plan.concurrency, plan.artifacts.length))) * 1000;

    let reusable = 0;
    let seenTempFiles = new Set<string>();
    for (;;) {
      if (outcome.runs > killsWanted + 20) {
        violation('the install did not complete within 20 runs after the last kill');
        break;
      }
      const wantKill = outcome.kills < killsWanted;
      const sentBefore = origin.bytesSent();
      outcome.runs++;
      summary.runs++;
      const child = spawnCli(args);
      const trigger = wantKill ? pickTrigger(random) : undefined;
      const killed = trigger === undefined ? false : await killAt(child, trigger, random, between, estimatedMs, plan.artifacts.length);
      const result = await waitForExit(child, 180_000).catch((error: unknown) => {
        violation(`the CLI did not exit: ${String(error)}`);
        return undefined;
      });
      if (result === undefined) break;
      for (const event of result.events) {
        if (event.event === 'start' && typeof event.offset === 'number' && event.offset > 0 && event.attempt === 1) summary.resumes++;
        // Nothing about the files changes between runs: discarding bytes on disk is always a loss.
        if (event.event === 'restart') violation(`${String(event.id)} restarted from zero, discarding ${String(event.discardedBytes)} bytes: ${String(event.reason)}`);
        if (event.event === 'retry') options.log?.(`  install ${plan.index} run ${outcome.runs}: ${String(event.id)} retries after ${JSON.stringify(event.error)}`);
      }
      const inspection = await inspectInstallDir(dir, expected);
      for (const text of inspection.violations) violation(text);
      const sent = origin.bytesSent() - sentBefore;
      const reusableAfter = inspection.artifacts.reduce((sum, a) => sum + a.reusableBytes, 0);

      if (killed && result.signal === 'SIGKILL') {
        outcome.kills++;
        summary.kills++;
        summary.killsByTrigger[trigger!]++;
        const newTemps = inspection.tempFiles.filter((file) => !seenTempFiles.has(file));
        seenTempFiles = new Set(inspection.tempFiles);
        countInterruptions(inspection, newTemps, summary);
        const refetched = sent - (reusableAfter - reusable);
        const { bound, interval } = refetchBound(result.events, plan, options.throttle);
        killRecords.push({ install: plan.index, run: outcome.runs, trigger: trigger!, refetched, bound, interval });
        if (options.trace) {
          const states = inspection.artifacts.map((a) => `${a.id}: final ${a.final}, claimed ${typeof a.resume === 'object' ? a.resume.claimed : a.resume}, partial ${a.partialBytes ?? 'none'}`);
          options.log?.(`  kill after ${trigger}, run ${outcome.runs}: sent ${sent}, reusable ${reusable} -> ${reusableAfter}, re-fetched ${refetched} (interval ${Math.round(interval)}, bound ${Math.round(bound)}); ${states.join('; ')}`);
        }
        if (refetched > bound) {
          violation(`the kill (${trigger}) cost ${refetched} bytes fetched again, more than the bound of ${bound} bytes (one checkpoint interval plus in-flight data)`);
        }
        reusable = reusableAfter;
        continue;
      }
      if (result.code !== 0) {
        violation(`a run that was not killed exited with ${result.signal ?? result.code}: ${result.stderr.trim().slice(-2000)}`);
        break;
      }
      if (wantKill) summary.finishedBeforeKill++;
      // A completed run: everything in place and verified, nothing fetched twice, nothing left behind.
      const overfetch = sent - (totalBytes - reusable);
      if (overfetch > 0) {
        outcome.overfetch = overfetch;
        summary.completingRunOverfetch += overfetch;
      }
      for (const artifact of inspection.artifacts) {
        if (artifact.final !== 'correct' || artifact.installRecord !== 'valid') {
          violation(`${artifact.id}: after a run that exited 0 the file is ${artifact.final} and its install record ${artifact.installRecord}`);
        }
      }
      // Leftovers of killed runs (temp files, outlived resume records) must not pile up.
      if (inspection.stagingEntries.length > 0 || inspection.tempFiles.length > 0) {
        violation(`after a completed install these remain: ${[...new Set([...inspection.stagingEntries, ...inspection.tempFiles])].join(', ')}`);
      }
      break;
    }
    outcome.sentBeyondSize = origin.bytesSent() - totalBytes;
  } finally {
    await origin.close();
    if (outcome.violations === 0) await removeTempDir(work);
  }
  return outcome;
}

function pickTrigger(random: () => number): KillTrigger {
  const roll = random();
  if (roll < 0.3) return 'progress';
  if (roll < 0.5) return 'verifying';
  if (roll < 0.65) return 'installed';
  if (roll < 0.8) return 'start';
  return 'timer';
}

/**
 * Waits for the trigger and sends SIGKILL. Returns false when the child exited first (it completed
 * or failed on its own; the caller looks at the exit status).
 */
async function killAt(
  child: ChildProcess,
  trigger: KillTrigger,
  random: () => number,
  between: (low: number, high: number) => number,
  estimatedMs: number,
  artifactCount: number,
): Promise<boolean> {
  let waitMs: number;
  if (trigger === 'timer') {
    waitMs = between(50, Math.max(100, Math.round(estimatedMs)));
  } else {
    let predicate: (event: CliEvent) => boolean;
    if (trigger === 'progress') {
      let countdown = between(1, 40);
      predicate = (event) => event.event === 'progress' && --countdown <= 0;
      waitMs = between(0, 150);
    } else if (trigger === 'start') {
      let countdown = between(1, artifactCount);
      predicate = (event) => event.event === 'start' && --countdown <= 0;
      waitMs = between(0, 40);
    } else {
      let countdown = between(1, artifactCount);
      predicate = (event) => event.event === trigger && --countdown <= 0;
      // The windows after these events last milliseconds: stay inside them.
      waitMs = random() < 0.3 ? 0 : between(0, trigger === 'verifying' ? 25 : 10);
    }
    try {
      await waitForEvent(child, predicate, 120_000);
    } catch {
      return false;
    }
  }
  if (waitMs > 0) await delay(waitMs);
  if (child.exitCode !== null || child.signalCode !== null) return false;
  child.kill('SIGKILL');
  return true;
}

/**
 * What one kill may cost, in bytes fetched again: for each artifact that was downloading when the
 * kill came, the bytes of one checkpoint interval (the smaller of --checkpoint-bytes and the
 * artifact's rate times --checkpoint-interval), plus the bytes of {@link CHECKPOINT_SLACK_SECONDS}
 * at that rate (the checkpoint in progress), plus {@link IN_FLIGHT_BYTES_PER_CONNECTION} per
 * connection (received but not yet written, or still in socket buffers).
 */
export function refetchBound(
  events: readonly CliEvent[],
  plan: Pick<InstallPlan, 'checkpointBytes' | 'checkpointIntervalMs'>,
  throttle: number,
): { bound: number; interval: number } {
  const connectionsById = new Map<string, number>();
  for (const event of events) {
    if (event.event === 'start' && typeof event.id === 'string') {
      const connections = typeof event.connections === 'number' ? event.connections : 1;
      connectionsById.set(event.id, Math.max(connectionsById.get(event.id) ?? 1, connections));
    }
  }
  let bound = 0;
  let interval = 0;
  for (const connections of connectionsById.values()) {
    const rate = throttle * connections;
    const one = Math.min(plan.checkpointBytes, (rate * plan.checkpointIntervalMs) / 1000);
    interval += one;
    bound += one + rate * CHECKPOINT_SLACK_SECONDS + connections * IN_FLIGHT_BYTES_PER_CONNECTION;
  }
  // A kill before any download started may still cost the first response's bytes in flight.
  return { bound: Math.max(bound, IN_FLIGHT_BYTES_PER_CONNECTION), interval };
}

function countInterruptions(inspection: DirInspection, newTempFiles: string[], summary: SoakSummary): void {
  if (newTempFiles.some((file) => file.endsWith('.tmp') && file.includes('.resume.json.'))) summary.checkpointsInterrupted++;
  for (const artifact of inspection.artifacts) {
    const size = typeof artifact.resume === 'object' ? artifact.resume.segments.reduce((s, g) => Math.max(s, g.end), 0) : 0;
    if (artifact.final === 'correct' && (artifact.installRecord === 'absent' || artifact.resume !== 'absent')) summary.promotionsInterrupted++;
    else if (artifact.final === 'absent' && typeof artifact.resume === 'object' && artifact.resume.claimed === size && size > 0) summary.verifiedNotPromoted++;
  }
}

function percentile(sorted: readonly number[], share: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? 0;
}

/** The summary as the lines `npm run soak` prints. */
export function formatSummary(summary: SoakSummary): string {
  const size = (bytes: number): string => (bytes >= MiB ? `${(bytes / MiB).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);
  const t = summary.killsByTrigger;
  return [
    `modelhaul crash soak (seed ${summary.seed}, ${(summary.elapsedMs / 1000).toFixed(0)} s)`,
    `  installs:               ${summary.installs} (${summary.segmentedInstalls} with --connections 4), ${summary.runs} CLI runs`,
    `  kills (SIGKILL):        ${summary.kills}  [after progress ${t.progress}, verifying ${t.verifying}, installed ${t.installed}, start ${t.start}, timer ${t.timer}]; ${summary.finishedBeforeKill} runs finished before their kill`,
    `  resumes:                ${summary.resumes} artifacts continued from an earlier run's checkpoint`,
    `  checkpoints interrupted: ${summary.checkpointsInterrupted} (a resume-record write was cut off)`,
    `  promotions interrupted: ${summary.promotionsInterrupted} (file in place, bookkeeping unfinished); ${summary.verifiedNotPromoted} verified but not yet renamed`,
    `  re-fetched per kill:    max ${size(summary.refetchedMax)}, median ${size(summary.refetchedMedian)}, p95 ${size(summary.refetchedP95)}; worst ${(summary.worstRefetchToBound * 100).toFixed(0)}% of its bound; at most ${size(summary.worstExcessOverInterval)} beyond one checkpoint interval`,
    `  per install:            ${size(summary.installOverfetchMax)} max, ${size(summary.installOverfetchMedian)} median sent beyond the bundle's size, all runs together`,
    `  completing runs:        ${summary.completingRunOverfetch} bytes fetched beyond what was missing (bytes in flight past a split segment's new end)`,
    `  violations:             ${summary.violations.length}`,
    ...summary.violations.slice(0, 50).map((text) => `    - ${text}`),
  ].join('\n');
}

// The side-by-side table and goal rows that the download scenarios share.
import type { EntryResult } from '../harness.js';
import type { Goal, Table } from '../report.js';
import { defined, median, mib, rate, ratio, seconds, secondsWithRange, times } from '../stats.js';

export function medianWallMs(result: EntryResult | undefined): number | undefined {
  return result === undefined ? undefined : median(result.samples.map((s) => s.wallMs));
}

/**
 * One row per entry: wall time (median and range), throughput, CPU time, peak RSS, and the wall
 * time of `reference` divided by this entry's, the form the goals are written in.
 */
export function comparisonTable(results: readonly EntryResult[], bytes: number, reference: EntryResult | undefined): Table {
  const referenceWall = medianWallMs(reference);
  const referenceName = reference?.entry.label ?? 'reference';
  const rows = results.map((result) => {
    const { label, contestant } = result.entry;
    const shown = `\`${contestant.shown}\``;
    if (result.skipped !== undefined) return [label, shown, `skipped: ${result.skipped}`, '', '', '', '', ''];
    const walls = result.samples.map((s) => s.wallMs);
    const wall = median(walls);
    const failed = result.failure === undefined ? '' : ` (FAILED after ${result.samples.length} runs: ${result.failure})`;
    return [
      label,
      shown,
      secondsWithRange(walls) + failed,
      rate(bytes, wall),
      seconds(median(defined(result.samples, (s) => s.cpuMs))),
      mib(median(defined(result.samples, (s) => s.peakRssBytes))),
      times(ratio(referenceWall, wall)),
      String(result.samples.length),
    ];
  });
  return {
    headers: ['contestant', 'command', 'wall, median (min-max)', 'throughput', 'CPU user+sys', 'peak RSS', `${referenceName} ÷ this`, 'runs'],
    rows,
  };
}

/** A goal "`subject` takes at most `limit` times the wall time of `other`" (or at least, for `atLeast`). */
export function wallRatioGoal(
  goal: string,
  subject: EntryResult | undefined,
  other: EntryResult | undefined,
  limit: number,
  atLeast = false,
): Goal {
  const value = ratio(medianWallMs(subject), medianWallMs(other));
  const target = `${atLeast ? '≥' : '≤'} ${limit.toFixed(2)}x`;
  if (value === undefined) {
    const why = [subject, other].map((r) => r?.skipped ?? r?.failure).find((reason) => reason !== undefined);
    return { goal, target, measured: why === undefined ? 'n/a' : `not measured: ${why}`, met: undefined };
  }
  const measured = `${times(value)} (${seconds(medianWallMs(subject))} vs ${seconds(medianWallMs(other))})`;
  return { goal, target, measured, met: atLeast ? value >= limit : value <= limit };
}

/** Names of entries that were skipped or failed, as report notes. */
export function problemNotes(results: readonly EntryResult[]): string[] {
  const notes: string[] = [];
  for (const { entry, skipped, failure } of results) {
    if (skipped !== undefined) notes.push(`Skipped ${entry.label}: ${skipped}.`);
    if (failure !== undefined) notes.push(`**${entry.label} failed**: ${failure}`);
  }
  return notes;
}

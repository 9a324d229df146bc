// The side-by-side table and goal measures that the download scenarios share.
import type { GoalMeasure } from '../goals.js';
import type { EntryResult } from '../harness.js';
import type { Table } from '../report.js';
import { defined, median, mib, rate, ratio, seconds, secondsWithRange, times } from '../stats.js';

export type Metric = 'wall' | 'cpu';

/** The median wall or CPU time of an entry's runs (CPU is undefined without GNU time). */
export function medianMs(result: EntryResult | undefined, metric: Metric = 'wall'): number | undefined {
  if (result === undefined) return undefined;
  return median(metric === 'wall' ? result.samples.map((s) => s.wallMs) : defined(result.samples, (s) => s.cpuMs));
}

/**
 * One row per entry: wall time (median and range), throughput, CPU time, both as ratios to
 * `baseline`'s medians, headed `baseName` (the form the goals are written in: this ÷ baseline, lower is better),
 * and peak RSS. The CPU ratio is in every row: on a shared machine noise moves it far less than
 * the wall time.
 */
export function comparisonTable(results: readonly EntryResult[], bytes: number, baseline: EntryResult | undefined, baseName: string): Table {
  const rows = results.map((result) => {
    const { label, contestant } = result.entry;
    const shown = `\`${contestant.shown}\``;
    if (result.skipped !== undefined) return [label, shown, `skipped: ${result.skipped}`, '', '', '', '', '', ''];
    const walls = result.samples.map((s) => s.wallMs);
    const failed = result.failure === undefined ? '' : ` (FAILED after ${result.samples.length} runs: ${result.failure})`;
    return [
      label,
      shown,
      secondsWithRange(walls) + failed,
      rate(bytes, medianMs(result)),
      seconds(medianMs(result, 'cpu')),
      times(ratio(medianMs(result), medianMs(baseline))),
      times(ratio(medianMs(result, 'cpu'), medianMs(baseline, 'cpu'))),
      mib(median(defined(result.samples, (s) => s.peakRssBytes))),
      String(result.samples.length),
    ];
  });
  return {
    headers: ['contestant', 'command', 'wall, median (min-max)', 'throughput', 'CPU user+sys', `wall ÷ ${baseName}`, `CPU ÷ ${baseName}`, 'peak RSS', 'runs'],
    rows,
  };
}

/** The goal "`subject`'s median `metric` is at most `limit` times `baseline`'s". */
export function ratioGoal(id: string, subject: EntryResult | undefined, baseline: EntryResult | undefined, limit: number, metric: Metric = 'wall'): GoalMeasure {
  const value = ratio(medianMs(subject, metric), medianMs(baseline, metric));
  if (value === undefined) {
    const why = [subject, baseline]
      .map((r) => (r?.skipped !== undefined ? `${r.entry.label} skipped: ${r.skipped}` : r?.failure !== undefined ? `${r.entry.label} failed, see its section` : undefined))
      .find((reason) => reason !== undefined);
    const noCpu = metric === 'cpu' && why === undefined ? 'no CPU time (GNU time missing)' : undefined;
    return { id, measured: `not measured (${why ?? noCpu ?? 'no runs'})`, met: undefined };
  }
  const measured = `${times(value)} (${seconds(medianMs(subject, metric))} vs ${seconds(medianMs(baseline, metric))})`;
  // A contestant that failed in a later run has a median of fewer runs: shown, but not a pass.
  const failed = [subject, baseline].some((r) => r?.failure !== undefined);
  return { id, measured: failed ? `${measured}; a run failed` : measured, met: failed ? undefined : value <= limit };
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

// Peak RSS of every modelhaul run the other scenarios measured (GNU time's `ru_maxrss`): a
// streaming install's memory is its buffers, so it must stay under the bound whatever the
// scenario, and must not grow with the file from the single-stream size to the large one. Not a
// scenario of its own: the single-stream runs already install both sizes in both modes.
import { goalId, LIMITS, MODES, modeName, type GoalMeasure, type ModelhaulMode } from '../goals.js';
import type { ModelhaulRun } from '../harness.js';
import { SCENARIOS, type BenchOptions, type ScenarioName } from '../options.js';
import type { ScenarioReport, Table } from '../report.js';
import { median, mib, size } from '../stats.js';

export function memorySummary(runs: readonly ModelhaulRun[], options: BenchOptions): ScenarioReport {
  const goals: GoalMeasure[] = [];
  for (const mode of MODES) goals.push(...modeGoals(runs, mode, options));
  goals.push(everyRunGoal(runs, options.scenarios));
  return {
    section: {
      title: 'Memory: peak RSS of every modelhaul run',
      intro: [
        'Peak RSS of the modelhaul process (GNU time, `ru_maxrss`) in every timed run above. ' +
          'The interrupted first runs of the resume scenarios are not timed (the signal must reach modelhaul, not GNU time), so they are not here.',
      ],
      tables: runs.length === 0 ? [] : [rssTable(runs)],
      notes: runs.length === 0 ? ['No modelhaul run was measured with GNU time in this run.'] : [],
    },
    goals,
  };
}

function rssTable(runs: readonly ModelhaulRun[]): Table {
  const groups = new Map<string, ModelhaulRun[]>();
  for (const run of runs) {
    const key = `${run.scenario}\u0000${run.label}\u0000${run.sizeBytes}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return {
    headers: ['scenario', 'run', 'file', 'peak RSS, median', 'peak RSS, max', 'runs'],
    rows: [...groups.values()].map((group) => {
      const first = group[0]!;
      const rss = group.map((run) => run.peakRssBytes);
      return [first.scenario, first.label, first.sizeBytes === 0 ? '-' : size(first.sizeBytes), mib(median(rss)), mib(Math.max(...rss)), String(group.length)];
    }),
  };
}

/** Worst run at either single-stream size, and the growth of the median from one to the other. */
function modeGoals(runs: readonly ModelhaulRun[], mode: ModelhaulMode, options: BenchOptions): GoalMeasure[] {
  const at = (scenario: 'single' | 'large'): number[] => runs.filter((r) => r.scenario === scenario && r.mode === mode).map((r) => r.peakRssBytes);
  const small = at('single');
  const large = at('large');
  const both = small.length > 0 && large.length > 0;
  const all = [...small, ...large];
  const worst = all.length === 0 ? undefined : Math.max(...all);
  const missing = [small.length === 0 ? size(options.sizeBytes) : undefined, large.length === 0 ? size(options.largeSizeBytes) : undefined].filter((s) => s !== undefined);
  const partial = missing.length > 0 ? `; not measured at ${missing.join(', ')}` : '';
  const smallMedian = median(small);
  const largeMedian = median(large);
  const growth = smallMedian === undefined || largeMedian === undefined ? undefined : largeMedian - smallMedian;
  return [
    {
      id: goalId.peakRss(mode),
      measured: worst === undefined ? `not measured (no ${modeName(mode)} run in single or large)` : `${mib(worst)}${partial}`,
      // One run over the bound fails the goal; staying under it counts only when both sizes ran.
      met: worst === undefined ? undefined : worst > LIMITS.peakRssBytes ? false : both ? true : undefined,
    },
    {
      id: goalId.rssGrowth(mode),
      measured: growth === undefined ? `not measured (needs runs at both sizes${partial})` : `${growth >= 0 ? '+' : '−'}${mib(Math.abs(growth))} (${mib(smallMedian)} → ${mib(largeMedian)})`,
      met: growth === undefined ? undefined : growth <= LIMITS.rssGrowthBytes,
    },
  ];
}

function everyRunGoal(runs: readonly ModelhaulRun[], ran: readonly ScenarioName[]): GoalMeasure {
  if (runs.length === 0) return { id: goalId.rssEvery, measured: 'not measured (no timed modelhaul run)', met: undefined };
  const worst = runs.reduce((a, b) => (b.peakRssBytes > a.peakRssBytes ? b : a));
  const scenarios = [...new Set(runs.map((r) => r.scenario))];
  const left = SCENARIOS.filter((name) => !ran.includes(name));
  const measured = `${mib(worst.peakRssBytes)} (${worst.label}, ${worst.scenario}); ${runs.length} runs in ${scenarios.join(', ')}`;
  if (worst.peakRssBytes > LIMITS.peakRssBytes) return { id: goalId.rssEvery, measured, met: false };
  // Under the bound in the scenarios that ran says nothing about those that did not.
  return left.length === 0 ? { id: goalId.rssEvery, measured, met: true } : { id: goalId.rssEvery, measured: `${measured}; not run: ${left.join(', ')}`, met: undefined };
}

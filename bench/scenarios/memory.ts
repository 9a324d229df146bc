// Peak RSS of whole installs of a small and a large file: a streaming install's memory is its
// buffers, so it must not grow with the file. Both one connection and the default are measured,
// since each connection brings buffers of its own.
import { modelhaul } from '../contestants.js';
import { measureAlternating, type BenchContext, type Entry, type EntryResult } from '../harness.js';
import type { Goal, ScenarioReport, Table } from '../report.js';
import { defined, median, mib, seconds, size } from '../stats.js';
import { problemNotes } from './comparison.js';

const RSS_LIMIT_BYTES = 100 * 1024 * 1024;
const GROWTH_LIMIT_BYTES = 10 * 1024 * 1024;
const MAX_REPS = 3;

export async function memory(context: BenchContext): Promise<ScenarioReport> {
  const { sizeBytes, largeSizeBytes } = context.options;
  const origin = await context.origin('plain');
  const small = await context.fixture(sizeBytes, 'single');
  const large = await context.fixture(largeSizeBytes, 'large');
  const entries: Entry[] = [];
  // The default connection count is also covered by the capped scenario; smoke skips it here.
  for (const connections of context.options.smoke ? [1] : [1, undefined]) {
    for (const fixture of [small, large]) {
      const contestant = modelhaul(context.cli, connections);
      entries.push({ label: `${contestant.name}, ${size(fixture.size)}`, contestant, download: { url: origin.url(`/${fixture.name}`), fixture } });
    }
  }
  // Peak RSS barely varies from run to run, and the large installs are the slowest runs of all.
  const reps = Math.min(context.options.reps, MAX_REPS);
  const results = await measureAlternating(context, 'memory', entries, reps);
  const goals: Goal[] = [];
  for (let pair = 0; pair < results.length; pair += 2) {
    goals.push(...rssGoals(results[pair], results[pair + 1]));
  }
  return {
    section: {
      title: `Memory: peak RSS installing ${size(sizeBytes)} and ${size(largeSizeBytes)}`,
      intro: [`Peak RSS of the modelhaul process (GNU time, \`ru_maxrss\`), uncapped origin, ${reps} run(s) each.`],
      tables: [rssTable(results)],
      notes: problemNotes(results),
    },
    goals,
  };
}

function rssTable(results: readonly EntryResult[]): Table {
  return {
    headers: ['install', 'peak RSS, median', 'peak RSS, max', 'wall, median', 'runs'],
    rows: results.map((result) => {
      const rss = defined(result.samples, (s) => s.peakRssBytes);
      const wall = median(result.samples.map((s) => s.wallMs));
      const state = result.skipped ?? result.failure;
      return [
        result.entry.label,
        state === undefined ? mib(median(rss)) : `${mib(median(rss))} (${state})`,
        mib(rss.length === 0 ? undefined : Math.max(...rss)),
        seconds(wall),
        String(result.samples.length),
      ];
    }),
  };
}

function rssGoals(small: EntryResult | undefined, large: EntryResult | undefined): Goal[] {
  if (small === undefined || large === undefined) return [];
  const peak = (result: EntryResult): number | undefined => {
    const rss = defined(result.samples, (s) => s.peakRssBytes);
    return rss.length === 0 ? undefined : Math.max(...rss);
  };
  const smallPeak = peak(small);
  const largePeak = peak(large);
  const name = small.entry.contestant.name;
  const worst = smallPeak === undefined || largePeak === undefined ? undefined : Math.max(smallPeak, largePeak);
  const growth = smallPeak === undefined || largePeak === undefined ? undefined : largePeak - smallPeak;
  return [
    {
      goal: `${name}: peak RSS (worst run, either size)`,
      target: '≤ 100 MiB',
      measured: mib(worst),
      met: worst === undefined ? undefined : worst <= RSS_LIMIT_BYTES,
    },
    {
      goal: `${name}: peak RSS growth from ${size(small.entry.download.fixture.size)} to ${size(large.entry.download.fixture.size)}`,
      target: '≤ 10 MiB',
      measured: growth === undefined ? 'n/a' : `${growth >= 0 ? '+' : ''}${mib(growth)} (${mib(smallPeak)} → ${mib(largePeak)})`,
      met: growth === undefined ? undefined : growth <= GROWTH_LIMIT_BYTES,
    },
  ];
}

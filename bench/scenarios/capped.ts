// An origin that caps each connection, as CDNs do (nginx `limit_rate` applies per request): here
// the way to go faster is more connections for one file, and the physical floor is the file over
// N capped connections at once. The goal compares modelhaul with aria2c, which splits the same way.
import { aria2c, modelhaul } from '../contestants.js';
import { goalId, LIMITS } from '../goals.js';
import { measureAlternating, type BenchContext, type Entry } from '../harness.js';
import type { ScenarioReport } from '../report.js';
import { ratio, seconds, size, times } from '../stats.js';
import { comparisonTable, medianMs, problemNotes, ratioGoal } from './comparison.js';

export async function cappedOrigin(context: BenchContext): Promise<ScenarioReport> {
  const { cappedSizeBytes, cappedRateBytesPerSecond, cappedConnections } = context.options;
  const fixture = await context.fixture(cappedSizeBytes, 'capped');
  const origin = await context.origin('capped');
  const download = { url: origin.url(`/${fixture.name}`), fixture };
  const contestants = [modelhaul(context.cli, cappedConnections), modelhaul(context.cli, undefined), aria2c(cappedConnections)];
  const entries: Entry[] = contestants.map((contestant) => ({ label: contestant.name, contestant, download }));
  const results = await measureAlternating(context, 'capped', entries);
  const [ours, , aria] = results;
  const floorMs = (fixture.size / (cappedConnections * cappedRateBytesPerSecond)) * 1000;
  const capMBs = cappedRateBytesPerSecond / 1e6;
  return {
    section: {
      title: `Capped origin: ${size(fixture.size)} at ${capMBs} MB/s per connection (${context.options.reps.capped} run(s) of each)`,
      intro: [
        `nginx \`limit_rate ${cappedRateBytesPerSecond}\` (${capMBs} MB/s per request). ` +
          `Physical floor with ${cappedConnections} connections: ${seconds(floorMs)} ` +
          `(modelhaul --connections ${cappedConnections} at ${times(ratio(medianMs(ours), floorMs))} of it; ` +
          `aria2c at ${times(ratio(medianMs(aria), floorMs))}). The ratio columns are this row's median over aria2c's (lower is better); ` +
          `modelhaul with its default connections is information.`,
      ],
      tables: [comparisonTable(results, fixture.size, aria, 'aria2c')],
      notes: problemNotes(results),
    },
    goals: [ratioGoal(goalId.cappedVsAria2c, ours, aria, LIMITS.cappedVsAria2c)],
  };
}

// An origin that caps each connection, as CDNs do (nginx `limit_rate` applies per request): here
// the way to go faster is more connections for one file, and the physical floor is the file over
// N capped connections at once.
import { aria2c, curlAlone, modelhaul } from '../contestants.js';
import { measureAlternating, type BenchContext, type Entry } from '../harness.js';
import type { ScenarioReport } from '../report.js';
import { ratio, seconds, size, times } from '../stats.js';
import { comparisonTable, medianWallMs, problemNotes, wallRatioGoal } from './comparison.js';

export async function cappedOrigin(context: BenchContext): Promise<ScenarioReport> {
  const { cappedSizeBytes, cappedRateBytesPerSecond, cappedConnections } = context.options;
  const fixture = await context.fixture(cappedSizeBytes, 'capped');
  const origin = await context.origin('capped');
  const download = { url: origin.url(`/${fixture.name}`), fixture };
  const contestants = [modelhaul(context.cli, cappedConnections), modelhaul(context.cli, undefined), aria2c(cappedConnections), curlAlone];
  const entries: Entry[] = contestants.map((contestant) => ({ label: contestant.name, contestant, download }));
  const results = await measureAlternating(context, 'capped', entries);
  const [ours, , aria, curl] = results;
  const floorMs = (fixture.size / (cappedConnections * cappedRateBytesPerSecond)) * 1000;
  const capMBs = cappedRateBytesPerSecond / 1e6;
  const label = `${size(fixture.size)} at ${capMBs} MB/s per connection`;
  return {
    section: {
      title: `Capped origin: ${label}`,
      intro: [
        `nginx \`limit_rate ${cappedRateBytesPerSecond}\` (${capMBs} MB/s per request). ` +
          `Physical floor with ${cappedConnections} connections: ${seconds(floorMs)} ` +
          `(modelhaul --connections ${cappedConnections} at ${times(ratio(medianWallMs(ours), floorMs))} of it; ` +
          `aria2c at ${times(ratio(medianWallMs(aria), floorMs))}).`,
      ],
      tables: [comparisonTable(results, fixture.size, ours)],
      notes: problemNotes(results),
    },
    goals: [
      wallRatioGoal(`capped origin ${label}: wall vs aria2c -x${cappedConnections} -s${cappedConnections} with SHA-256`, ours, aria, 0.8),
      wallRatioGoal(`capped origin ${label}: speed-up over one connection (curl wall ÷ modelhaul wall)`, curl, ours, 5, true),
    ],
  };
}

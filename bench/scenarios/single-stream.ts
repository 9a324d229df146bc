// One file over one connection from an uncapped loopback nginx: the network is never the limit, so
// what is compared is each client's receiving, writing and hashing, and how well it overlaps them.
import { aria2c, curlThenSha256sum, curlThenSync, modelhaul, wgetThenSha256sum } from '../contestants.js';
import { measureAlternating, type BenchContext, type Entry } from '../harness.js';
import type { ScenarioReport } from '../report.js';
import { size } from '../stats.js';
import { comparisonTable, problemNotes, wallRatioGoal } from './comparison.js';

export async function singleStream(context: BenchContext): Promise<ScenarioReport> {
  const fixture = await context.fixture(context.options.sizeBytes, 'single');
  const origin = await context.origin('plain');
  const download = { url: origin.url(`/${fixture.name}`), fixture };
  const contestants = [modelhaul(context.cli, 1), curlThenSha256sum, curlThenSync, wgetThenSha256sum, aria2c(1)];
  const entries: Entry[] = contestants.map((contestant) => ({ label: contestant.name, contestant, download }));
  const results = await measureAlternating(context, 'single', entries);
  const [ours, curlSha, curlSync] = results;
  const label = size(fixture.size);
  return {
    section: {
      title: `Single stream: one ${label} file over one connection`,
      intro: [
        `Uncapped loopback nginx (sendfile on); the origin file is in the page cache, the client side starts cold. ` +
          `Only \`curl -o, then sync\` is not verified: it is the floor for a durable copy on this disk.`,
      ],
      tables: [comparisonTable(results, fixture.size, ours)],
      notes: problemNotes(results),
    },
    goals: [
      wallRatioGoal(`single stream ${label}: wall vs curl -o + sha256sum`, ours, curlSha, 0.7),
      wallRatioGoal(`single stream ${label}: wall vs curl -o + sync (durable floor)`, ours, curlSync, 1.15),
    ],
  };
}

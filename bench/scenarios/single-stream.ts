// One file from an uncapped loopback nginx, at the goal size (`single`, 1 GiB) and a large one
// (`large`, 4 GiB): the network is never the limit, so what is compared is each client's
// receiving, writing and hashing, and how well it overlaps them. The goals compare modelhaul, with
// one connection and with its default, to the durable floor: curl -o, then fsync of that file.
import { aria2c, curlThenFsync, curlThenSha256sum, modelhaul, wgetThenSha256sum, type Contestant } from '../contestants.js';
import { goalId, LIMITS, MODES, type GoalMeasure, type StreamScenario } from '../goals.js';
import { measureAlternating, type BenchContext, type Entry } from '../harness.js';
import type { ScenarioReport } from '../report.js';
import { size } from '../stats.js';
import { comparisonTable, problemNotes, ratioGoal } from './comparison.js';

export function singleStream(context: BenchContext): Promise<ScenarioReport> {
  // wget and aria2c with one connection are the other peers a user might reach for: information.
  return streamAt(context, 'single', context.options.sizeBytes, [wgetThenSha256sum, aria2c(1)]);
}

export function largeStream(context: BenchContext): Promise<ScenarioReport> {
  return streamAt(context, 'large', context.options.largeSizeBytes, []);
}

async function streamAt(context: BenchContext, scenario: StreamScenario, bytes: number, otherPeers: Contestant[]): Promise<ScenarioReport> {
  const fixture = await context.fixture(bytes, scenario);
  const origin = await context.origin('plain');
  const download = { url: origin.url(`/${fixture.name}`), fixture };
  const ours = MODES.map((mode) => modelhaul(context.cli, mode === 'one' ? 1 : undefined));
  const contestants = [...ours, curlThenFsync, curlThenSha256sum, ...otherPeers];
  const entries: Entry[] = contestants.map((contestant) => ({ label: contestant.name, contestant, download }));
  const results = await measureAlternating(context, scenario, entries);
  const floor = results[ours.length];
  const goals: GoalMeasure[] = MODES.flatMap((mode, index) => [
    ratioGoal(goalId.floor(scenario, mode, 'wall'), results[index], floor, LIMITS.floorWall, 'wall'),
    ratioGoal(goalId.floor(scenario, mode, 'cpu'), results[index], floor, LIMITS.floorCpu, 'cpu'),
  ]);
  const reps = context.options.reps[scenario];
  return {
    section: {
      title: `Single stream: one ${size(fixture.size)} file (\`${scenario}\`, ${reps} run(s) of each)`,
      intro: [
        `Uncapped loopback nginx (sendfile on); the origin file is in the page cache, the client side starts cold. ` +
          `The floor, \`curl -o\` then \`sync FILE\` (an fsync of that file, in the same timed \`sh -c\`), is the cheapest durable copy on this disk ` +
          `and verifies nothing; the ratio columns are this row's median over the floor's (lower is better). ` +
          `\`curl -o, then sha256sum\`${otherPeers.length > 0 ? ', wget and aria2c' : ''} are information, not goals.`,
      ],
      tables: [comparisonTable(results, fixture.size, floor, 'floor')],
      notes: problemNotes(results),
    },
    goals,
  };
}

// A slice of the crash soak (test/helpers/crash-soak.ts, `npm run soak` for the full run): about
// twenty SIGKILLs of the CLI at biased random moments while it installs three-artifact bundles,
// some over four connections, some with frequent checkpoints. After every kill the install dir is
// checked byte for byte; every install must then complete, and no kill may cost more than one
// checkpoint interval (plus what was in flight) of bytes fetched again. The seed is random and
// printed; MODELHAUL_SOAK_SEED replays one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSummary, runSoak } from './helpers/crash-soak.js';

const MiB = 1024 * 1024;

test('crash soak, short: SIGKILL at random moments never leaves a wrong file, a lying record or a stuck install', async (t) => {
  const seed = process.env.MODELHAUL_SOAK_SEED !== undefined ? Number(process.env.MODELHAUL_SOAK_SEED) : Math.floor(Math.random() * 2 ** 31);
  t.diagnostic(`seed ${seed} (replay with MODELHAUL_SOAK_SEED=${seed})`);
  const summary = await runSoak({ kills: 15, seed, artifacts: 3, maxSize: 6 * MiB, throttle: 16 * MiB, segmentedShare: 0.3 });
  for (const line of formatSummary(summary).split('\n')) t.diagnostic(line);
  assert.deepEqual(summary.violations, []);
  assert.equal(summary.kills, 15);
  assert.ok(summary.resumes > 0, 'some artifact resumed from a checkpoint of a killed run');
});

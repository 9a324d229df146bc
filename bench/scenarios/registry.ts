// One file installed from a local OCI registry (Debian's docker-registry, CNCF distribution) against
// the same file from the uncapped loopback nginx: what the registry's blob serving and the OCI
// manifest round trips cost compared with a plain static file.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startRegistry, type Registry } from '../../test/helpers/registry.js';
import { modelhaul, modelhaulInstallArgs, type Contestant, type ModelhaulCli } from '../contestants.js';
import { goalId, LIMITS } from '../goals.js';
import { measureAlternating, withRunDir, type BenchContext, type Entry } from '../harness.js';
import type { ScenarioReport } from '../report.js';
import { size } from '../stats.js';
import { comparisonTable, problemNotes, ratioGoal } from './comparison.js';

const run = promisify(execFile);
const REPOSITORY = 'bench/model';

export async function registry(context: BenchContext): Promise<ScenarioReport> {
  const fixture = await context.fixture(context.options.sizeBytes, 'single');
  const origin = await context.origin('plain');
  const download = { url: origin.url(`/${fixture.name}`), fixture };
  const title = `Registry: one ${size(fixture.size)} file from a local OCI registry vs nginx`;
  if (!context.tools['docker-registry'].ok) {
    return { section: { title, intro: [`Skipped: ${context.tools['docker-registry'].reason}.`], tables: [], notes: [] }, goals: [] };
  }
  const server = await startRegistry({ kind: 'none' }, context.workspace.root);
  try {
    const reference = await publish(context, server, download);
    const fromRegistry: Entry = {
      label: 'modelhaul from the registry',
      contestant: fromRegistryContestant(context.cli, reference),
      // The page cache is settled on the registry's copy of the file, as on nginx's for the other.
      download: { url: reference, fixture: { ...fixture, path: server.blobPath(`sha256:${fixture.sha256}`) } },
    };
    const fromNginx: Entry = { label: 'modelhaul from nginx', contestant: modelhaul(context.cli, undefined), download };
    const results = await measureAlternating(context, 'registry', [fromNginx, fromRegistry]);
    const [nginx, oci] = results;
    return {
      section: {
        title,
        intro: [
          `\`docker-registry serve\` on loopback with filesystem storage on the same disk as nginx's files, no auth; ` +
            `the bundle was pushed with \`modelhaul push\` before the runs. Both installs use the default connections; ` +
            `${context.options.reps.registry} run(s) of each.`,
        ],
        tables: [comparisonTable(results, fixture.size, nginx, 'nginx')],
        notes: problemNotes(results),
      },
      goals: [ratioGoal(goalId.registryVsNginx, oci, nginx, LIMITS.registryVsNginx)],
    };
  } finally {
    await server.stop();
  }
}

/** Installs the file from nginx into a scratch dir and pushes it to the registry; returns the reference. */
async function publish(context: BenchContext, server: Registry, download: Entry['download']): Promise<string> {
  const reference = `oci://${server.host}/${REPOSITORY}:1`;
  await withRunDir(context, async (dir) => {
    const install = await modelhaulInstallArgs(context.cli, download, dir);
    await run(context.cli.node, install, { maxBuffer: 64 * 1024 * 1024 });
    const manifest = install[install.indexOf('--manifest') + 1]!;
    await run(context.cli.node, [context.cli.script, 'push', reference, '--manifest', manifest, '--dir', join(dir, 'install')], { maxBuffer: 64 * 1024 * 1024 });
  });
  context.log(`bench: registry: pushed ${reference}`);
  return reference;
}

function fromRegistryContestant(cli: ModelhaulCli, reference: string): Contestant {
  return {
    name: 'modelhaul from the registry',
    shown: 'modelhaul install --manifest oci://127.0.0.1:PORT/bench/model:1 --dir d --json',
    needs: ['docker-registry'],
    checksDigest: false,
    modelhaul: { mode: 'default' },
    prepare(_download, dir) {
      const installDir = join(dir, 'install');
      // The pushed manifest names the file model.bin, as modelhaulInstallArgs writes it.
      return Promise.resolve({
        file: cli.node,
        args: [cli.script, 'install', '--manifest', reference, '--dir', installDir, '--json'],
        output: join(installDir, 'model.bin'),
      });
    },
  };
}

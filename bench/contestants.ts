// The downloaders compared, each as the command a user would type to end up with a verified (or,
// for the floor, a durable) copy of one file. Composite contestants run under one `sh -c` so that
// GNU time counts both steps.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelhaulMode } from './goals.js';
import type { ToolName } from './packages.js';
import type { Fixture } from './workspace.js';

export interface Download {
  url: string;
  fixture: Fixture;
}

export interface PreparedRun {
  file: string;
  args: string[];
  /** Where the downloaded file ends up, checked after the run. */
  output: string;
}

export interface Contestant {
  /** Row label in the tables. */
  name: string;
  /** The command as shown in the report. */
  shown: string;
  needs: readonly ToolName[];
  /**
   * Whether the command itself compares the file with the published SHA-256 using a reference
   * tool (sha256sum -c, aria2c --checksum). Every other output, modelhaul's included, is hashed
   * by the benchmark after the run (untimed), so that a wrong file cannot post a time.
   */
  checksDigest: boolean;
  /** Set for modelhaul runs: their peak RSS counts toward the memory goals. */
  modelhaul?: { mode: ModelhaulMode | undefined };
  /** Builds the command for one run that downloads into `dir` (fresh and empty). */
  prepare(download: Download, dir: string): Promise<PreparedRun>;
}

/** Where modelhaul's built CLI is; the runner builds it first when it is missing or stale. */
export interface ModelhaulCli {
  node: string;
  script: string;
}

const OUTPUT_NAME = 'model.bin';
const MANIFEST_ARTIFACT_ID = 'model';

/**
 * `modelhaul install` of a one-artifact manifest. `connections` undefined leaves the CLI's default.
 * `--json` keeps the output machine-readable (and costs one short line per progress event).
 */
export function modelhaul(cli: ModelhaulCli, connections: number | undefined): Contestant {
  const connectionArgs = connections === undefined ? [] : ['--connections', String(connections)];
  return {
    name: connections === undefined ? 'modelhaul (default connections)' : `modelhaul --connections ${connections}`,
    shown: `modelhaul install --manifest m.json --dir d --json ${connectionArgs.join(' ')}`.trim(),
    needs: [],
    checksDigest: false,
    modelhaul: { mode: connections === undefined ? 'default' : connections === 1 ? 'one' : undefined },
    async prepare(download, dir) {
      const args = await modelhaulInstallArgs(cli, download, dir);
      return { file: cli.node, args: [...args, ...connectionArgs], output: join(dir, 'install', OUTPUT_NAME) };
    },
  };
}

/** The arguments of `node main.js install` for `download` into `<dir>/install`, manifest written to `dir`. */
export async function modelhaulInstallArgs(cli: ModelhaulCli, download: Download, dir: string): Promise<string[]> {
  const manifest = join(dir, 'manifest.json');
  await writeManifest(manifest, [{ id: MANIFEST_ARTIFACT_ID, path: OUTPUT_NAME, download }]);
  return [cli.script, 'install', '--manifest', manifest, '--dir', join(dir, 'install'), '--json'];
}

export interface ManifestEntry {
  id: string;
  path: string;
  download: Download;
}

/** Writes a schema-version-1 manifest with one artifact per entry. */
export async function writeManifest(path: string, entries: readonly ManifestEntry[]): Promise<void> {
  const artifacts = entries.map(({ id, path: artifactPath, download }) => ({
    id,
    kind: 'llm',
    label: `benchmark file ${id}`,
    url: download.url,
    size: download.fixture.size,
    sha256: download.fixture.sha256,
    path: artifactPath,
  }));
  await writeFile(path, `${JSON.stringify({ schemaVersion: 1, name: 'modelhaul-bench', artifacts }, null, 2)}\n`);
}

// `sha256sum -c` compares, as a user checking a published digest would; printing the digest
// without comparing would do the same work and prove nothing.
const CHECK_SHA256 = 'printf "%s  %s\\n" "$3" "$1" | sha256sum -c --quiet -';

export const curlThenSha256sum: Contestant = shellContestant('curl -o, then sha256sum', ['curl', 'sha256sum'], `curl -sSf -o "$1" "$2" && ${CHECK_SHA256}`, true);

/**
 * The durable floor: a download made safe on disk with no verification at all. `sync FILE`
 * (coreutils) fsyncs that one file; it runs in the same `sh -c`, so its time and CPU count.
 */
export const curlThenFsync: Contestant = shellContestant('curl -o, then fsync (floor)', ['curl'], 'curl -sSf -o "$1" "$2" && sync "$1"', false);

export const wgetThenSha256sum: Contestant = shellContestant('wget, then sha256sum', ['wget', 'sha256sum'], `wget -q -O "$1" "$2" && ${CHECK_SHA256}`, true);

/**
 * aria2c checking the SHA-256 itself. Its defaults are kept (file allocation included): that is
 * what a user gets. `-k 1M` lets it split small files too; for the 256 MiB over 8
 * connections the pieces are 32 MiB anyway, above its default 20 MiB minimum.
 */
export function aria2c(connections: number): Contestant {
  const split = [`-x${connections}`, `-s${connections}`, '-k1M'];
  return {
    name: `aria2c -x${connections} -s${connections} --checksum`,
    shown: `aria2c ${split.join(' ')} --checksum=sha-256=<hex> -d d -o model.bin <url>`,
    needs: ['aria2c'],
    checksDigest: true,
    prepare(download, dir) {
      const args = [
        '--quiet=true',
        ...split,
        `--checksum=sha-256=${download.fixture.sha256}`,
        '--allow-overwrite=true',
        '--auto-file-renaming=false',
        '-d',
        dir,
        '-o',
        OUTPUT_NAME,
        download.url,
      ];
      return Promise.resolve({ file: 'aria2c', args, output: join(dir, OUTPUT_NAME) });
    },
  };
}

function shellContestant(name: string, needs: readonly ToolName[], script: string, checksDigest: boolean): Contestant {
  return {
    name,
    shown: script.replaceAll('"$1"', 'f').replaceAll('"$2"', '<url>').replaceAll('"$3"', '<hex>'),
    needs,
    checksDigest,
    prepare(download, dir) {
      const output = join(dir, OUTPUT_NAME);
      // Positional parameters, so that no path or URL is ever parsed as shell syntax.
      return Promise.resolve({ file: '/bin/sh', args: ['-c', script, 'sh', output, download.url, download.fixture.sha256], output });
    },
  };
}

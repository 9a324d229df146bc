// A copy of the built CLI that any user can read, for the tests that run it as the unprivileged
// user `nobody`. The clone under test may sit in a private folder (`git clone` into a `mktemp -d`
// folder, mode 0700): `nobody` cannot read dist/cli/main.js there, yet the tests must run from
// anywhere rather than skip. The copy holds what the bundled CLI loads at run time: package.json
// (it makes the .js files ES modules), dist/cli/ and the runtime dependencies it leaves in
// node_modules, each with its own dependencies.
import { chmod, cp, mkdtemp, readFile, stat } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

let copy: Promise<string> | undefined;

/**
 * The path of `dist/cli/main.js` in a world-readable copy made once per test process (and
 * removed when it exits). Needs `npm run build` first, like every test that runs the CLI.
 */
export function cliReadableByAnyone(): Promise<string> {
  copy ??= makeCopy();
  return copy;
}

async function makeCopy(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'modelhaul-cli-copy-'));
  process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  await chmod(root, 0o755);
  await cp(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
  await cp(join(REPO_ROOT, 'dist', 'cli'), join(root, 'dist', 'cli'), { recursive: true });
  for (const packageDir of await runtimePackages()) {
    await cp(packageDir, join(root, relative(REPO_ROOT, packageDir)), { recursive: true });
  }
  return join(root, 'dist', 'cli', 'main.js');
}

/** The folders of the runtime dependencies and theirs, found as Node resolves them. */
async function runtimePackages(): Promise<string[]> {
  const found = new Set<string>();
  const visit = async (fromDir: string): Promise<void> => {
    const manifest = JSON.parse(await readFile(join(fromDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      const packageDir = await resolvePackage(fromDir, name);
      if (packageDir === undefined || found.has(packageDir)) continue;
      found.add(packageDir);
      await visit(packageDir);
    }
  };
  await visit(REPO_ROOT);
  return [...found];
}

/** `node_modules/<name>` in `fromDir` or the nearest folder above it that has one. */
async function resolvePackage(fromDir: string, name: string): Promise<string | undefined> {
  for (let dir = fromDir; dir.startsWith(REPO_ROOT); dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (await stat(join(candidate, 'package.json')).then(() => true, () => false)) return candidate;
    if (dir === REPO_ROOT) break;
  }
  return undefined;
}

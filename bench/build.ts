// The benchmark runs the built CLI, as users do (tsx would add its own start-up and transform cost
// to every figure, `status` most of all). It rebuilds first when dist/ is missing or older than
// any source file, so a fresh clone or an edited engine is never measured stale.
import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ModelhaulCli } from './contestants.js';

const run = promisify(execFile);

export async function ensureBuiltCli(repoRoot: string, log: (line: string) => void): Promise<ModelhaulCli> {
  const script = join(repoRoot, 'dist', 'cli', 'main.js');
  const built = await stat(script).then((s) => s.mtimeMs, () => undefined);
  const newestSource = await newestMtime(join(repoRoot, 'src'));
  if (built === undefined || built < newestSource) {
    log(`bench: ${built === undefined ? 'dist/ is missing' : 'src/ changed since the last build'}; building (npm run build)`);
    // The project's own build (tsc, then the bundled CLI), so the CLI measured is the one users run.
    await run('npm', ['run', 'build'], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
  }
  return { node: process.execPath, script };
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const { mtimeMs } = await stat(join(entry.parentPath, entry.name));
    newest = Math.max(newest, mtimeMs);
  }
  return newest;
}

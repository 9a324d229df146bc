import { isInstallError } from '../../errors.js';
import { loadManifestFile } from '../../manifest/parse.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { errorOutput, reportError } from '../report-error.js';
import { formatBytes } from '../format.js';
import { table } from '../render/table.js';
import type { CheckCommandOptions } from './manifest.js';

export async function runCheck(file: string, options: CheckCommandOptions, context: CliContext): Promise<number> {
  const json = options.json === true;
  try {
    const manifest = await loadManifestFile(file, { allowHttp: options.allowHttp === true });
    const totalSize = manifest.artifacts.reduce((sum, a) => sum + a.size, 0);
    if (json) {
      context.out(JSON.stringify({ event: 'manifest-check', ok: true, file, name: manifest.name, artifactCount: manifest.artifacts.length, totalSize }) + '\n');
    } else {
      const count = `${manifest.artifacts.length} ${manifest.artifacts.length === 1 ? 'artifact' : 'artifacts'}`;
      context.out(`${context.paint('green', '✓')} ${file} is a valid manifest: ${context.paint('bold', manifest.name)}, ${count}, ${formatBytes(totalSize)} (${totalSize} bytes)\n`);
      context.out(table(['KIND', 'ID', 'SIZE', 'PATH'], manifest.artifacts.map((a) => [a.kind, a.id, formatBytes(a.size), a.path])).replace(/^/gm, '  ') + '\n');
    }
    return EXIT.ok;
  } catch (error) {
    const exitCode = reportError(error, errorOutput(context, json));
    if (!json && isInstallError(error)) {
      const problems = error.details.problems;
      const count = error.details.problemCount;
      if (typeof problems === 'string' && typeof count === 'number' && count > 1) {
        context.err(`  all ${count} problems:\n${problems.replace(/^/gm, '    ')}\n`);
      }
    }
    // Whatever the reason (invalid, missing, unreadable), the answer to "is this a usable manifest"
    // is no; only a stop by a signal says something else.
    return exitCode === EXIT.failed ? EXIT.usage : exitCode;
  }
}

import { importArtifact } from '../../operations/import.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { reportError } from '../report-error.js';
import { resolveTarget } from '../target.js';
import { formatBytes } from '../format.js';
import { listenForInterruption } from '../signals.js';
import { progressLine } from '../render/progress-line.js';
import { usageExitFor } from '../usage-exit.js';
import type { ImportCommandOptions } from './import.js';

export async function runImport(file: string, options: ImportCommandOptions, context: CliContext): Promise<number> {
  const json = options.json === true;
  const interruption = listenForInterruption(() => process.exit(EXIT.sigint));
  const progress = await progressLine(context, !json);
  try {
    const target = await resolveTarget({ ...options, allowHttp: true }, context.env);
    const result = await importArtifact(target.manifest, target.dir, file, {
      id: options.id,
      move: options.move === true,
      signal: interruption.signal,
      lockTimeoutMs: options.lockTimeout ?? 0,
      onProgress: ({ phase, bytes, total }) => progress.update(phase === 'hashing' ? 'Checking SHA-256' : 'Copying', bytes, total),
    });
    progress.clear();
    if (json) {
      context.out(JSON.stringify({ event: 'import', ...result }) + '\n');
    } else if (result.outcome === 'already-installed') {
      context.out(`${result.label} (${result.id}) is already installed and verified at ${result.file}; nothing changed.\n`);
    } else {
      const how = result.method === 'renamed' ? 'moved' : result.sourceRemoved ? 'copied (original removed)' : 'copied';
      context.out(`${context.paint('green', '✓')} ${result.label} (${result.id}): SHA-256 matches, ${how} to ${result.file} (${formatBytes(result.size)})\n`);
    }
    return EXIT.ok;
  } catch (error) {
    progress.clear();
    return usageExitFor(error, reportError(error, { json, stdout: context.out, stderr: context.err, paint: context.paintErr }));
  } finally {
    interruption.dispose();
  }
}

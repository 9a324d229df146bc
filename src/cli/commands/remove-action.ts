import { removeArtifacts } from '../../operations/remove.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { reportError } from '../report-error.js';
import { resolveTarget } from '../target.js';
import { formatBytes } from '../format.js';
import { listenForInterruption } from '../signals.js';
import { usageExitFor } from '../usage-exit.js';
import type { RemoveCommandOptions } from './remove.js';

export async function runRemove(ids: string[], options: RemoveCommandOptions, context: CliContext): Promise<number> {
  const json = options.json === true;
  const interruption = listenForInterruption(() => process.exit(EXIT.sigint));
  try {
    const target = await resolveTarget({ ...options, allowHttp: true }, context.env);
    const result = await removeArtifacts(target.manifest, target.dir, ids, {
      signal: interruption.signal,
      lockTimeoutMs: options.lockTimeout ?? 0,
    });
    if (json) {
      context.out(JSON.stringify({ event: 'remove', ...result }) + '\n');
      return EXIT.ok;
    }
    for (const artifact of result.artifacts) {
      const name = `${artifact.label} (${artifact.id})`;
      if (artifact.outcome === 'removed') {
        context.out(`${context.paint('green', '✓')} removed ${name}: ${formatBytes(artifact.bytesFreed)} freed\n`);
      } else {
        context.out(`${context.paint('dim', '-')} ${name} was not installed in ${result.dir}; nothing to remove\n`);
      }
      if (artifact.keptFile !== undefined) {
        context.out(context.paint('yellow', `  kept ${artifact.keptFile}: modelhaul did not install it (delete it yourself if it is not needed)\n`));
      }
    }
    context.out(`Freed ${formatBytes(result.bytesFreed)} (${result.bytesFreed} bytes).\n`);
    return EXIT.ok;
  } catch (error) {
    return usageExitFor(error, reportError(error, { json, stdout: context.out, stderr: context.err, paint: context.paintErr }));
  } finally {
    interruption.dispose();
  }
}

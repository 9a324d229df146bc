import { bundleStatus, type ArtifactStatus } from '../../operations/status.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { reportError } from '../report-error.js';
import { resolveTarget } from '../target.js';
import { formatBytes } from '../format.js';
import { table } from '../render/table.js';
import type { Painter } from '../render/paint.js';
import type { StatusCommandOptions } from './status.js';

export async function runStatus(options: StatusCommandOptions, context: CliContext): Promise<number> {
  try {
    const target = await resolveTarget({ ...options, allowHttp: true }, context.env);
    const status = await bundleStatus(target.manifest, target.dir);
    if (options.json) {
      context.out(JSON.stringify({ event: 'status', ...status }) + '\n');
    } else {
      context.out(`${context.paint('bold', status.bundle)} in ${status.dir}\n`);
      context.out(table(['ARTIFACT', 'STATE', 'SIZE', 'WHERE'], status.artifacts.map((a) => statusRow(a, context.paint))) + '\n');
      const missing = status.artifacts.filter((a) => a.state !== 'installed').length;
      context.out(status.complete ? context.paint('green', 'All artifacts are installed.\n') : `${missing} of ${status.artifacts.length} not installed: run \`modelhaul install\` with the same options.\n`);
    }
    return EXIT.ok;
  } catch (error) {
    return reportError(error, { json: options.json === true, stdout: context.out, stderr: context.err, paint: context.paintErr });
  }
}

function statusRow(artifact: ArtifactStatus, paint: Painter): string[] {
  const size =
    artifact.state === 'partial' ? `${formatBytes(artifact.bytesOnDisk)} of ${formatBytes(artifact.size)}` : formatBytes(artifact.size);
  const state =
    artifact.state === 'installed'
      ? paint('green', 'installed')
      : artifact.state === 'changed'
        ? paint('yellow', `changed (${artifact.reason ?? ''})`)
        : artifact.state === 'partial'
          ? paint('cyan', 'partial')
          : paint('dim', 'missing');
  return [`${artifact.label} (${artifact.id})`, state, size, artifact.path];
}

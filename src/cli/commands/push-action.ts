import { pushBundle } from '../../operations/push.js';
import type { PushEvent } from '../../oci/push-events.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { errorOutput, reportError } from '../report-error.js';
import { resolveTarget } from '../target.js';
import { formatBytes, formatDuration } from '../format.js';
import { progressLine } from '../render/progress-line.js';
import type { PushCommandOptions } from './push.js';

export async function runPush(targetReference: string, options: PushCommandOptions, context: CliContext): Promise<number> {
  const json = options.json === true;
  const progress = await progressLine(context, !json);
  const undo = context.interruption.onHardExit(() => progress.clear());
  const labels = new Map<string, string>();
  try {
    const target = await resolveTarget({ ...options, allowHttp: true, allowHttpRegistry: options.allowHttp === true }, context.env);
    for (const artifact of target.manifest.artifacts) labels.set(artifact.id, `${artifact.label} (${artifact.id})`);
    const result = await pushBundle(target.manifest, targetReference, {
      dir: target.dir,
      allowHttp: options.allowHttp === true,
      env: context.env,
      signal: context.interruption.signal,
      retries: options.retries,
      ...(options.lockTimeout !== undefined ? { lockTimeoutMs: options.lockTimeout } : {}),
      ...(options.chunkBytes !== undefined ? { chunkBytes: options.chunkBytes } : {}),
      onEvent: (event) => (json ? context.out(JSON.stringify(event) + '\n') : showEvent(event, context, progress, labels)),
    });
    progress.clear();
    if (!json) {
      context.out(`Pushed ${result.reference} in ${formatDuration(result.elapsedMs)}: ${formatBytes(result.bytesSent)} sent, ${formatBytes(result.bytesSkipped)} already there.\n`);
      context.out(`${result.digest}\n`);
    }
    return EXIT.ok;
  } catch (error) {
    progress.clear();
    return reportError(error, errorOutput(context, json));
  } finally {
    undo();
  }
}

function showEvent(event: PushEvent, context: CliContext, progress: Awaited<ReturnType<typeof progressLine>>, labels: Map<string, string>): void {
  const name = (id: string): string => labels.get(id) ?? 'bundle manifest (config)';
  switch (event.event) {
    case 'plan':
      context.out(`Publishing ${event.bundle} to ${event.reference}: ${event.blobs.length} blobs, ${formatBytes(event.bytesTotal)}\n`);
      break;
    case 'skipped':
      context.out(`= ${name(event.id)}: already there\n`);
      break;
    case 'start':
      if (event.offset > 0) context.out(`  ${name(event.id)}: continuing at ${formatBytes(event.offset)} of ${formatBytes(event.total)}\n`);
      break;
    case 'progress':
      progress.update(`Uploading ${name(event.id)}`, event.bytes, event.total);
      break;
    case 'restart':
      context.out(`  ${name(event.id)}: ${event.reason}\n`);
      break;
    case 'retry':
      progress.clear();
      context.out(`  ${name(event.id)}: ${event.error.code}: ${event.error.message}; retrying in ${formatDuration(event.delayMs)}\n`);
      break;
    case 'uploaded':
      progress.clear();
      context.out(`${context.paint('green', '✓')} ${name(event.id)}: ${formatBytes(event.bytesSent)} sent${event.resumedFrom > 0 ? ` (continued from ${formatBytes(event.resumedFrom)})` : ''}\n`);
      break;
    case 'pushed':
    case 'done':
      break;
  }
}

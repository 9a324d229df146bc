import type { InstallEvent } from '../../events.js';
import { formatBytes, formatDuration, formatRate, percent } from '../format.js';
import type { InstallRenderer } from './install-renderer.js';
import { InstallModel } from './install-model.js';
import { summaryLines } from './install-text.js';
import type { Painter } from './paint.js';

/** Without a terminal, a progress line per artifact at most this often: calm enough for a CI log. */
const PROGRESS_LINE_MS = 5000;

/**
 * Plain lines for logs and CI: one line per state change, a progress line per artifact every few
 * seconds, then the summary. Nothing is redrawn.
 */
export function lineRenderer(write: (line: string) => void, paint: Painter, options: { quiet?: boolean } = {}): InstallRenderer {
  const model = new InstallModel();
  const lastProgress = new Map<string, number>();
  const say = (line: string): void => {
    if (!options.quiet) write(line + '\n');
  };
  return {
    event(event: InstallEvent) {
      model.apply(event);
      const row = 'id' in event ? model.rows.get(event.id) : undefined;
      const name = row ? row.label : '';
      switch (event.event) {
        case 'plan':
          say(`Installing ${event.bundle} into ${event.dir}: ${event.artifacts.length} ${event.artifacts.length === 1 ? 'artifact' : 'artifacts'}, ${formatBytes(event.bytesToFetch)} to download`);
          break;
        case 'lock-wait':
          say(`Waiting for another modelhaul (pid ${event.holder.pid} on ${event.holder.hostname}) that is installing into this dir`);
          break;
        case 'start':
          say(event.offset > 0
            ? `${name}: resuming from ${formatBytes(event.offset)} of ${formatBytes(event.total)} via ${event.source}`
            : `${name}: downloading ${formatBytes(event.total)} via ${event.source}${event.connections > 1 ? ` over ${event.connections} connections` : ''}`);
          lastProgress.set(event.id, performance.now());
          break;
        case 'progress': {
          const now = performance.now();
          if (now - (lastProgress.get(event.id) ?? 0) < PROGRESS_LINE_MS) break;
          lastProgress.set(event.id, now);
          say(`${name}: ${percent(event.bytes, event.total)} ${formatBytes(event.bytes)} of ${formatBytes(event.total)} at ${formatRate(event.bytesPerSecond)}`);
          break;
        }
        case 'restart':
          say(`${name}: ${event.discardedBytes > 0 ? `discarding ${formatBytes(event.discardedBytes)}` : 'starting over'} (${event.reason})`);
          break;
        case 'retry':
          say(`${name}: ${event.error.code}: ${event.error.message}; retrying in ${formatDuration(event.delayMs)}`);
          break;
        case 'failover':
          say(`${name}: ${event.from} failed (${event.error.code}: ${event.error.message}); trying ${event.to}`);
          break;
        case 'verifying':
          say(`${name}: verifying SHA-256`);
          break;
        case 'installed':
          say(`${name}: installed${event.resumedFrom > 0 ? ` (resumed from ${formatBytes(event.resumedFrom)})` : ''}`);
          break;
        case 'skipped':
          say(`${name}: already installed`);
          break;
        case 'failed':
          // The summary repeats each failure with its message and hint; here one short line.
          if (event.code === 'ABORTED') say(`${name}: stopped${event.bytesKept > 0 ? `, ${formatBytes(event.bytesKept)} kept` : ''}`);
          else say(`${name}: failed: ${event.code}`);
          break;
        case 'done':
          // The summary is printed even with --quiet: it is the answer to "did it work?".
          for (const line of summaryLines(model, paint)) write(line + '\n');
          break;
      }
    },
    close: () => undefined,
  };
}

import type { CliContext } from '../context.js';
import { formatBytes, formatRate, percent } from '../format.js';
import { bar } from './install-text.js';

/** One redrawn line of progress for a single long operation (hashing, a download). */
export interface ProgressLine {
  update(label: string, bytes: number, total: number | undefined): void;
  clear(): void;
}

const NO_PROGRESS: ProgressLine = { update: () => undefined, clear: () => undefined };

/**
 * A progress line on a terminal (bar, bytes, rate; at most ~10 redraws a second), nothing
 * otherwise: in CI logs and with --json a redrawn line is only noise. log-update is loaded only
 * when the line is shown.
 */
export async function progressLine(context: CliContext, enabled: boolean): Promise<ProgressLine> {
  if (!enabled || !context.interactive) return NO_PROGRESS;
  const { createLogUpdate } = await import('log-update');
  const live = createLogUpdate(context.stdout);
  let started = performance.now();
  let lastDraw = 0;
  let lastLabel: string | undefined;
  return {
    update(label, bytes, total) {
      const now = performance.now();
      // A new phase (hashing, then copying) has a rate of its own.
      if (label !== lastLabel) {
        lastLabel = label;
        started = now;
      }
      if (now - lastDraw < 100 && (total === undefined || bytes < total)) return;
      lastDraw = now;
      const rate = formatRate((bytes * 1000) / Math.max(1, now - started));
      live(
        total !== undefined && total > 0
          ? `${label}  ${bar(bytes / total, 24)} ${percent(bytes, total)}  ${formatBytes(bytes)} / ${formatBytes(total)}  ${rate}`
          : `${label}  ${formatBytes(bytes)}  ${rate}`,
      );
    },
    clear() {
      live.clear();
    },
  };
}

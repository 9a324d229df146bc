import { createLogUpdate } from 'log-update';
import type { InstallEvent } from '../../events.js';
import { formatDuration } from '../format.js';
import type { InstallRenderer } from './install-renderer.js';
import { InstallModel } from './install-model.js';
import { rowLine, summaryLines, totalLine } from './install-text.js';
import type { Painter } from './paint.js';

const REDRAW_MS = 100;

/**
 * The terminal view: one live line per artifact and an overall line, redrawn at most ten times a
 * second, then a summary that stays in the scrollback.
 */
export function liveRenderer(stream: NodeJS.WriteStream, paint: Painter): InstallRenderer {
  const model = new InstallModel();
  const log = createLogUpdate(stream);
  const started = performance.now();
  let dirty = false;
  const draw = (): void => {
    dirty = false;
    log(frame(model, performance.now() - started, paint, stream.columns ?? 100));
  };
  const timer = setInterval(() => {
    if (dirty) draw();
  }, REDRAW_MS);
  timer.unref();
  let headerShown = false;
  return {
    event(event: InstallEvent) {
      model.apply(event);
      if (event.event === 'plan' && !headerShown) {
        headerShown = true;
        log.persist(paint('bold', `Installing ${model.bundle} into ${model.dir}`));
      }
      if (event.event === 'done') {
        clearInterval(timer);
        draw();
        log.done();
        for (const line of summaryLines(model, paint)) stream.write(line + '\n');
        return;
      }
      dirty = true;
    },
    close() {
      clearInterval(timer);
      if (dirty) draw();
      log.done();
    },
  };
}

function frame(model: InstallModel, elapsedMs: number, paint: Painter, columns: number): string {
  if (model.rows.size === 0) {
    if (model.lockWait) {
      return `Waiting for another modelhaul (pid ${model.lockWait.pid} on ${model.lockWait.hostname}) to finish with this dir… ${formatDuration(elapsedMs)}`;
    }
    return 'Checking what is installed…';
  }
  const labelWidth = Math.min(38, Math.max(12, ...[...model.rows.values()].map((r) => r.label.length)));
  const lines = [...model.rows.values()].map((row) => truncate(rowLine(row, labelWidth, paint), columns));
  lines.push(truncate(totalLine(model, elapsedMs, paint), columns));
  return lines.join('\n');
}

/** Keeps a line within the terminal so that a redraw never wraps and scrolls. */
function truncate(line: string, columns: number): string {
  // Measuring visible width needs ANSI codes ignored; lines are built so that codes are short.
  // eslint-disable-next-line no-control-regex
  const visible = line.replace(/\u001b\[[0-9;]*m/g, '');
  if (visible.length <= columns - 1) return line;
  return visible.slice(0, Math.max(10, columns - 2)) + '…';
}

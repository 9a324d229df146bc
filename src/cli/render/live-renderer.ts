import { createLogUpdate } from 'log-update';
import type { InstallEvent } from '../../events.js';
import { formatBytes, formatDuration } from '../format.js';
import type { InstallRenderer } from './install-renderer.js';
import { InstallModel } from './install-model.js';
import { rowLayout, rowLine, summaryLines, totalLine } from './install-text.js';
import type { Painter } from './paint.js';
import { wrapText } from './wrap.js';

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
  let drawnAt = 0;
  const draw = (): void => {
    dirty = false;
    drawnAt = performance.now();
    // A pseudo-terminal nobody has sized reports 0 columns.
    log(frame(model, drawnAt - started, paint, stream.columns || 100));
  };
  // Redraw when something changed, and once a second anyway so that the elapsed time moves
  // while a server is silent.
  const timer = setInterval(() => {
    if (dirty || performance.now() - drawnAt >= 1000) draw();
  }, REDRAW_MS);
  timer.unref();
  let headerShown = false;
  return {
    event(event: InstallEvent) {
      model.apply(event);
      if (event.event === 'plan' && !headerShown) {
        headerShown = true;
        const count = event.artifacts.length;
        const header = `${paint('bold', `Installing ${model.bundle}`)} into ${model.dir}: ${count} ${count === 1 ? 'artifact' : 'artifacts'}, ${formatBytes(event.bytesToFetch)} to download`;
        log.persist(wrapText(header, (stream.columns || 100) - 1, '  '));
      }
      if (event.event === 'done') {
        clearInterval(timer);
        draw();
        log.done();
        // Wrapped here, not by the terminal, so that continuation lines are indented.
        const width = (stream.columns || 100) - 1;
        for (const line of summaryLines(model, paint)) stream.write(wrapText(line, width, '  ') + '\n');
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
      return truncate(`Waiting for another modelhaul (pid ${model.lockWait.pid} on ${model.lockWait.hostname}) to finish with this dir… ${formatDuration(elapsedMs)}`, columns);
    }
    return 'Checking what is installed…';
  }
  const layout = rowLayout(columns, model.rows.values());
  const lines = [...model.rows.values()].map((row) => rowLine(row, layout, paint));
  lines.push(totalLine(model, elapsedMs, layout, paint));
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

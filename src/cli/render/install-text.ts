import { estimateRemainingMs, formatBytes, formatDuration, formatRate, percent } from '../format.js';
import type { ArtifactRow, InstallModel } from './install-model.js';
import type { Painter, Style } from './paint.js';
import { MACHINE_SOURCE } from '../../sources/source.js';

/** Words for each state, as a person reads them in a list. */
export function stateText(row: ArtifactRow): string {
  switch (row.state) {
    case 'waiting':
      return row.resumedFrom > 0 ? `waiting (${formatBytes(row.resumedFrom)} kept)` : 'waiting';
    case 'checking':
      return 'checking existing file';
    case 'downloading':
      return 'downloading';
    case 'resuming':
      return `resuming from ${formatBytes(row.resumedFrom || row.bytes)}`;
    case 'retrying':
      return row.retry ? `retrying in ${formatDuration(row.retry.delayMs)} (${row.retry.code})` : 'retrying';
    case 'verifying':
      return 'verifying';
    case 'installed':
      return 'installed';
    case 'present':
      return 'already installed';
    case 'stopped':
      return row.failure && row.failure.bytesKept > 0 ? `stopped, ${formatBytes(row.failure.bytesKept)} kept` : 'stopped';
    case 'failed':
      return `failed: ${row.failure?.code ?? 'error'}`;
  }
}

function stateStyle(row: ArtifactRow): Style | undefined {
  switch (row.state) {
    case 'failed':
      return 'red';
    case 'installed':
    case 'present':
      return 'green';
    case 'retrying':
    case 'stopped':
      return 'yellow';
    default:
      return undefined;
  }
}

export function bar(fraction: number, width: number): string {
  const clamped = Math.max(0, Math.min(1, fraction));
  const full = Math.floor(clamped * width);
  return '█'.repeat(full) + (full < width ? '░'.repeat(width - full) : '');
}

/**
 * Column widths of the live view for a terminal `columns` wide: the bar and the label shrink on
 * narrow terminals so that the state, which matters most, stays in view.
 */
export interface RowLayout {
  columns: number;
  labelWidth: number;
  barWidth: number;
  /** Wide enough for "999 kB / <largest size>". */
  bytesWidth: number;
}

export function rowLayout(columns: number, rows: Iterable<{ label: string; size: number }>): RowLayout {
  const usable = columns > 0 ? columns : 100;
  let longest = 5; // "Total"
  let total = 0;
  for (const row of rows) {
    longest = Math.max(longest, row.label.length);
    total += row.size;
  }
  const labelCap = usable >= 140 ? 40 : usable >= 120 ? 34 : usable >= 100 ? 30 : 20;
  return {
    columns: usable,
    labelWidth: Math.min(longest, labelCap),
    barWidth: usable >= 120 ? 20 : usable >= 100 ? 14 : 8,
    // formatBytes never needs more than 7 characters ("1.00 MB", "999 kB").
    bytesWidth: 7 + 3 + formatBytes(total).length,
  };
}

/**
 * One live line: label, bar, percentage, bytes, then what is happening (state, rate, time left).
 * The line never wraps: what does not fit is cut from the end, time left first.
 */
export function rowLine(row: ArtifactRow, layout: RowLayout, paint: Painter): string {
  const active = row.state === 'downloading' || row.state === 'resuming';
  const details: Array<{ text: string; style?: Style | undefined }> = [{ text: stateText(row), style: stateStyle(row) }];
  if (active && row.bytesPerSecond > 0) details.push({ text: formatRate(row.bytesPerSecond) });
  const eta = active ? estimateRemainingMs(row.size - row.bytes, row.bytesPerSecond) : undefined;
  if (eta !== undefined && eta > 0) details.push({ text: `${formatDuration(eta)} left` });
  return line(fit(row.label, layout.labelWidth), row.size > 0 ? row.bytes / row.size : 1, percent(row.bytes, row.size), bytesText(row.bytes, row.size), details, layout, paint);
}

/** The overall line under the artifact lines, aligned with them. */
export function totalLine(model: InstallModel, elapsedMs: number, layout: RowLayout, paint: Painter): string {
  const totals = model.totals();
  const details: Array<{ text: string; style?: Style }> = [];
  if (totals.bytesPerSecond > 0) details.push({ text: formatRate(totals.bytesPerSecond) });
  const eta = estimateRemainingMs(totals.size - totals.bytes, totals.bytesPerSecond);
  if (eta !== undefined && eta > 0) details.push({ text: `${formatDuration(eta)} left` });
  details.push({ text: `elapsed ${formatDuration(elapsedMs)}` });
  const label = paint('bold', 'Total'.padEnd(layout.labelWidth));
  return line(label, totals.size > 0 ? totals.bytes / totals.size : 1, percent(totals.bytes, totals.size), bytesText(totals.bytes, totals.size), details, layout, paint, layout.labelWidth);
}

function line(
  label: string,
  fraction: number,
  percentText: string,
  bytes: string,
  details: ReadonlyArray<{ text: string; style?: Style | undefined }>,
  layout: RowLayout,
  paint: Painter,
  labelVisibleWidth = label.length,
): string {
  const head = `${label} ${paint('cyan', bar(fraction, layout.barWidth))} ${percentText.padStart(4)}  ${bytes.padStart(layout.bytesWidth)}  `;
  const headWidth = labelVisibleWidth + 1 + layout.barWidth + 1 + 4 + 2 + Math.max(layout.bytesWidth, bytes.length) + 2;
  let room = layout.columns - 1 - headWidth;
  const parts: string[] = [];
  for (const [index, detail] of details.entries()) {
    let text = index === 0 ? detail.text : ` · ${detail.text}`;
    if (text.length > room) {
      // The state is cut to fit; a rate or a time left that does not fit is left out whole.
      if (index > 0 || room < 2) break;
      text = text.slice(0, room - 1) + '…';
    }
    room -= text.length;
    parts.push(index === 0 ? (detail.style ? paint(detail.style, text) : text) : ` · ${detail.style ? paint(detail.style, detail.text) : detail.text}`);
  }
  return (head + parts.join('')).trimEnd();
}

function bytesText(bytes: number, size: number): string {
  return `${formatBytes(bytes)} / ${formatBytes(size)}`;
}

function fit(text: string, width: number): string {
  return text.length > width ? text.slice(0, Math.max(1, width - 1)) + '…' : text.padEnd(width);
}

/**
 * What came over the network, split by source when more than one gave some (a mirror and the
 * manifest's URL; with one, the per-artifact lines already name it), and what was copied from
 * files already installed on this machine.
 */
function trafficText(bytesFetched: number, bytesBySource: Record<string, number>): string {
  const network = Object.entries(bytesBySource).filter(([source, bytes]) => source !== MACHINE_SOURCE && bytes > 0);
  let text = `${formatBytes(bytesFetched)} downloaded`;
  if (network.length > 1) text += `: ${network.map(([source, bytes]) => `${formatBytes(bytes)} from ${source}`).join(', ')}`;
  const copied = bytesBySource[MACHINE_SOURCE] ?? 0;
  if (copied > 0) text += `, ${formatBytes(copied)} copied from files already on ${MACHINE_SOURCE}`;
  return text;
}

/**
 * The closing lines: what was fetched, what was reused, how long it took; after a cancellation
 * what is kept; and for each failure its code, its hint and what is kept for the next run.
 */
export function summaryLines(model: InstallModel, paint: Painter): string[] {
  const done = model.done;
  if (!done) return [];
  const rows = [...model.rows.values()];
  const count = (outcome: string): number => done.results.filter((r) => r.outcome === outcome).length;
  const failedRows = rows.filter((row) => row.state === 'failed');
  const stoppedRows = rows.filter((row) => row.state === 'stopped');
  const parts: string[] = [];
  if (count('installed') > 0) parts.push(`${count('installed')} installed`);
  if (count('already-present') > 0) parts.push(`${count('already-present')} already installed`);
  if (failedRows.length > 0) parts.push(paint('red', `${failedRows.length} failed`));
  if (stoppedRows.length > 0) parts.push(`${stoppedRows.length} stopped`);
  const time = `in ${formatDuration(done.elapsedMs)}`;

  if (done.ok) {
    let traffic = trafficText(done.bytesFetched, done.bytesBySource);
    if (done.bytesReused > 0) traffic += `, ${formatBytes(done.bytesReused)} reused from earlier partial downloads`;
    return [`${paint('green', '✓ Done')}: ${parts.join(', ')} (${traffic}) ${time}`];
  }
  const kept = [...failedRows, ...stoppedRows].reduce((sum, row) => sum + (row.failure?.bytesKept ?? 0), 0);
  const keptText = kept > 0 ? `; ${formatBytes(kept)} kept for the next run` : '';
  const headline = failedRows.length === 0 ? paint('yellow', '■ Stopped') : paint('red', '✗ Not complete');
  const lines = [`${headline}: ${parts.join(', ')}${keptText} ${time}`];
  for (const row of failedRows) {
    if (!row.failure) continue;
    lines.push(`${paint('red', '✗')} ${row.label} (${row.id}): ${row.failure.code}: ${row.failure.message}`);
    lines.push(`  hint: ${row.failure.hint}`);
    if (row.failure.bytesKept > 0) lines.push(`  ${formatBytes(row.failure.bytesKept)} kept; run the same command to resume.`);
  }
  return lines;
}

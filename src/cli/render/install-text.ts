import { estimateRemainingMs, formatBytes, formatDuration, formatRate, percent } from '../format.js';
import type { ArtifactRow, InstallModel } from './install-model.js';
import type { Painter } from './paint.js';

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
    case 'failed':
      return `failed: ${row.failure?.code ?? 'error'}`;
  }
}

export function bar(fraction: number, width: number): string {
  const clamped = Math.max(0, Math.min(1, fraction));
  const full = Math.floor(clamped * width);
  return '█'.repeat(full) + (full < width ? '░'.repeat(width - full) : '');
}

/** One live line: label, state, bar, bytes, rate and time left. */
export function rowLine(row: ArtifactRow, labelWidth: number, paint: Painter): string {
  const label = row.label.length > labelWidth ? row.label.slice(0, labelWidth - 1) + '…' : row.label.padEnd(labelWidth);
  const bytes = `${formatBytes(row.bytes).padStart(9)} / ${formatBytes(row.size).padEnd(9)}`;
  const active = row.state === 'downloading' || row.state === 'resuming';
  const speed = active && row.bytesPerSecond > 0 ? formatRate(row.bytesPerSecond).padStart(11) : ''.padStart(11);
  const eta = active ? estimateRemainingMs(row.size - row.bytes, row.bytesPerSecond) : undefined;
  const etaText = eta !== undefined ? `${formatDuration(eta)} left` : '';
  const state = stateText(row);
  const styledState =
    row.state === 'failed' ? paint('red', state) : row.state === 'installed' || row.state === 'present' ? paint('green', state) : row.state === 'retrying' ? paint('yellow', state) : state;
  const fraction = row.size > 0 ? row.bytes / row.size : 1;
  return `${label} ${paint('cyan', bar(fraction, 20))} ${percent(row.bytes, row.size).padStart(4)} ${bytes} ${speed} ${etaText.padEnd(14)} ${styledState}`;
}

/** The overall line under the artifact lines. */
export function totalLine(model: InstallModel, elapsedMs: number, paint: Painter): string {
  const totals = model.totals();
  const eta = estimateRemainingMs(totals.size - totals.bytes, totals.bytesPerSecond);
  const parts = [
    paint('bold', 'Total'),
    bar(totals.size > 0 ? totals.bytes / totals.size : 1, 20),
    percent(totals.bytes, totals.size),
    `${formatBytes(totals.bytes)} / ${formatBytes(totals.size)}`,
  ];
  if (totals.bytesPerSecond > 0) parts.push(formatRate(totals.bytesPerSecond));
  if (eta !== undefined && eta > 0) parts.push(`${formatDuration(eta)} left`);
  parts.push(`elapsed ${formatDuration(elapsedMs)}`);
  return parts.join('  ');
}

/**
 * The closing lines: what was fetched, what was reused, how long it took, and for each failure
 * its code, its hint and what is kept for the next run.
 */
export function summaryLines(model: InstallModel, paint: Painter): string[] {
  const done = model.done;
  if (!done) return [];
  const lines: string[] = [];
  const count = (outcome: string): number => done.results.filter((r) => r.outcome === outcome).length;
  const installed = count('installed');
  const present = count('already-present');
  const failed = count('failed');
  const parts: string[] = [];
  if (installed > 0) parts.push(`${installed} installed`);
  if (present > 0) parts.push(`${present} already installed`);
  if (failed > 0) parts.push(paint('red', `${failed} failed`));
  let traffic = `${formatBytes(done.bytesFetched)} downloaded`;
  if (done.bytesReused > 0) traffic += `, ${formatBytes(done.bytesReused)} reused from earlier partial downloads`;
  const headline = done.ok ? paint('green', '✓ Done') : paint('red', '✗ Not complete');
  lines.push(`${headline}: ${parts.join(', ')} (${traffic}) in ${formatDuration(done.elapsedMs)}`);
  for (const row of model.rows.values()) {
    if (row.state !== 'failed' || !row.failure) continue;
    lines.push(`${paint('red', '✗')} ${row.label} (${row.id}): ${row.failure.code}: ${row.failure.message}`);
    lines.push(`  hint: ${row.failure.hint}`);
    if (row.failure.bytesKept > 0) {
      lines.push(`  ${formatBytes(row.failure.bytesKept)} kept; run the same command to resume.`);
    }
  }
  return lines;
}

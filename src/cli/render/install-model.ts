import type { ArtifactResult, InstallEvent } from '../../events.js';

export type RowState =
  | 'waiting'
  | 'checking'
  | 'downloading'
  | 'resuming'
  | 'retrying'
  | 'verifying'
  | 'installed'
  | 'present'
  /** Cancelled (Ctrl+C, an AbortSignal): not a failure, the bytes kept are resumed next time. */
  | 'stopped'
  | 'failed';

/** What a person should see about one artifact right now. */
export interface ArtifactRow {
  id: string;
  label: string;
  size: number;
  state: RowState;
  bytes: number;
  bytesPerSecond: number;
  /** Bytes reused from an earlier run when this download started. */
  resumedFrom: number;
  connections: number;
  /** The source the latest attempt downloads from. */
  source?: string;
  retry?: { attempt: number; delayMs: number; code: string; message: string };
  failure?: { code: string; message: string; hint: string; bytesKept: number; retryable: boolean };
}

/**
 * The state of an install as the CLI shows it, rebuilt from the engine's events alone, the same
 * events a library user gets. Both the live terminal view and the plain-line view read it.
 */
export class InstallModel {
  readonly rows = new Map<string, ArtifactRow>();
  bundle = '';
  dir = '';
  bytesToFetch = 0;
  lockWait: { pid: number; hostname: string; lockPath: string } | undefined;
  done: { results: ArtifactResult[]; bytesFetched: number; bytesReused: number; bytesBySource: Record<string, number>; elapsedMs: number; ok: boolean } | undefined;

  apply(event: InstallEvent): void {
    switch (event.event) {
      case 'plan':
        this.bundle = event.bundle;
        this.dir = event.dir;
        this.bytesToFetch = event.bytesToFetch;
        this.lockWait = undefined;
        for (const planned of event.artifacts) {
          this.rows.set(planned.id, {
            id: planned.id,
            label: planned.label,
            size: planned.size,
            state: planned.action === 'already-installed' ? 'present' : 'waiting',
            bytes: planned.bytesOnDisk,
            bytesPerSecond: 0,
            resumedFrom: planned.action === 'resume' ? planned.bytesOnDisk : 0,
            connections: 0,
          });
        }
        break;
      case 'lock-wait':
        this.lockWait = { pid: event.holder.pid, hostname: event.holder.hostname, lockPath: event.lockPath };
        break;
      case 'start':
        this.update(event.id, (row) => {
          row.state = event.offset > 0 ? 'resuming' : 'downloading';
          row.bytes = event.offset;
          row.resumedFrom = row.resumedFrom > 0 ? Math.min(row.resumedFrom, event.offset) : 0;
          row.connections = event.connections;
          row.source = event.source;
          delete row.retry;
        });
        break;
      case 'progress':
        this.update(event.id, (row) => {
          if (row.state === 'waiting' || row.state === 'retrying') row.state = 'downloading';
          row.bytes = event.bytes;
          row.bytesPerSecond = event.bytesPerSecond;
        });
        break;
      case 'restart':
        this.update(event.id, (row) => {
          row.bytes = event.bytesKept;
          row.resumedFrom = event.bytesKept;
        });
        break;
      case 'retry':
        this.update(event.id, (row) => {
          row.state = 'retrying';
          row.bytesPerSecond = 0;
          row.retry = { attempt: event.attempt, delayMs: event.delayMs, code: event.error.code, message: event.error.message };
        });
        break;
      case 'failover':
        this.update(event.id, (row) => {
          row.source = event.to;
          row.bytesPerSecond = 0;
        });
        break;
      case 'verifying':
        this.update(event.id, (row) => {
          row.state = row.state === 'waiting' ? 'checking' : 'verifying';
          row.bytesPerSecond = 0;
        });
        break;
      case 'installed':
        this.update(event.id, (row) => {
          row.state = 'installed';
          row.bytes = row.size;
          row.resumedFrom = event.resumedFrom;
        });
        break;
      case 'skipped':
        this.update(event.id, (row) => {
          row.state = 'present';
          row.bytes = row.size;
        });
        break;
      case 'failed':
        this.update(event.id, (row) => {
          row.state = event.code === 'ABORTED' ? 'stopped' : 'failed';
          // What is on disk for the next run, not what was last reported in flight.
          row.bytes = event.bytesKept;
          row.bytesPerSecond = 0;
          row.failure = { code: event.code, message: event.error.message, hint: event.hint, bytesKept: event.bytesKept, retryable: event.retryable };
        });
        break;
      case 'done':
        this.done = {
          results: event.results,
          bytesFetched: event.bytesFetched,
          bytesReused: event.bytesReused,
          bytesBySource: event.bytesBySource,
          elapsedMs: event.elapsedMs,
          ok: event.ok,
        };
        break;
    }
  }

  /** Bytes on disk and total over the whole bundle, and the combined rate. */
  totals(): { bytes: number; size: number; bytesPerSecond: number } {
    let bytes = 0;
    let size = 0;
    let bytesPerSecond = 0;
    for (const row of this.rows.values()) {
      bytes += row.bytes;
      size += row.size;
      bytesPerSecond += row.bytesPerSecond;
    }
    return { bytes, size, bytesPerSecond };
  }

  private update(id: string, change: (row: ArtifactRow) => void): void {
    const row = this.rows.get(id);
    if (row) change(row);
  }
}

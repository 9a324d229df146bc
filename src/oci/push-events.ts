import type { SerializedInstallError } from '../errors.js';

/** One blob of a push: the config (`id` `config`) or an artifact's file (`id` its artifact id). */
export interface PlannedBlob {
  id: string;
  digest: string;
  size: number;
}

/**
 * What {@link pushBundle} reports as it goes; plain objects, like install events, and what
 * `modelhaul push --json` prints one per line.
 *
 * @example
 * ```ts
 * await pushBundle(manifest, 'oci://127.0.0.1:5000/models/voice:1.0', {
 *   dir,
 *   onEvent: (event) => { if (event.event === 'pushed') console.log(event.digest); },
 * });
 * ```
 */
export type PushEvent =
  /** Before any blob is sent: what the image holds and its digest. */
  | { event: 'plan'; bundle: string; reference: string; digest: string; blobs: PlannedBlob[]; bytesTotal: number }
  /** The registry (or folder) has this blob already: nothing is sent. */
  | { event: 'skipped'; id: string; digest: string; reason: 'present' }
  /** An upload begins, at `offset` when it continues an earlier one. */
  | { event: 'start'; id: string; digest: string; offset: number; total: number; attempt: number }
  | { event: 'progress'; id: string; bytes: number; total: number; bytesPerSecond: number }
  /** An earlier upload could not be continued; this one starts from zero. */
  | { event: 'restart'; id: string; reason: string }
  | { event: 'retry'; id: string; attempt: number; delayMs: number; error: SerializedInstallError }
  | { event: 'uploaded'; id: string; digest: string; resumedFrom: number; bytesSent: number; elapsedMs: number }
  /** The image manifest is in place: readers see the bundle from now on. */
  | { event: 'pushed'; reference: string; digest: string }
  | { event: 'done'; ok: boolean; reference: string; digest: string; bytesSent: number; bytesSkipped: number; elapsedMs: number };

export type PushEventName = PushEvent['event'];

import type { ArtifactBoard } from './artifact-board.js';
import type { LifecycleSnapshot } from './snapshot.js';

/** The lifecycle's own part of a snapshot; the rest comes from the artifact board. */
export type LifecycleState = Pick<
  LifecycleSnapshot,
  'bundle' | 'dir' | 'phase' | 'attempt' | 'nextRetryAt' | 'error' | 'blocked' | 'freeBytes' | 'online' | 'sequence'
>;

/**
 * One snapshot, deeply frozen: listeners share it, and one that changed it would change it for
 * the others (and for `getSnapshot()`). `moving` says whether a run is going and not stopping:
 * rates and the ETA are 0 and null otherwise.
 */
export function composeSnapshot(state: LifecycleState, board: ArtifactBoard, now: number, moving: boolean): LifecycleSnapshot {
  const { bytesPerSecond, stable } = moving ? board.rate(now) : { bytesPerSecond: 0, stable: false };
  const bytes = board.bytes;
  const total = board.total;
  const bytesRemaining = total - bytes;
  return deepFreeze({
    schema: 1,
    bundle: state.bundle,
    dir: state.dir,
    phase: state.phase,
    bytes,
    total,
    bytesRemaining,
    bytesPerSecond,
    etaSeconds: stable && bytesPerSecond > 0 ? Math.ceil(bytesRemaining / bytesPerSecond) : null,
    attempt: state.attempt,
    nextRetryAt: state.phase === 'retry-wait' ? state.nextRetryAt : null,
    error: state.error,
    blocked: state.blocked,
    freeBytes: state.freeBytes,
    online: state.online,
    capabilities: board.capabilities(),
    artifacts: board.artifactSnapshots(now, moving),
    at: now,
    sequence: state.sequence,
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

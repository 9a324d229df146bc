/**
 * Where each artifact of a bundle stands, kept up to date from two sources: the disk (metadata
 * only, between runs) and the engine's events (during a run). It answers what the snapshot needs
 * per artifact and per capability, and which bundle phase a running install is in.
 */
import type { SerializedInstallError } from '../errors.js';
import { ERROR_CODES } from '../error-codes.js';
import type { InstallEvent } from '../events.js';
import { ARTIFACT_KINDS } from '../manifest/kinds.js';
import type { Artifact, ArtifactKind } from '../manifest/types.js';
import type { BundleStatus } from '../operations/status.js';
import { RateMeter } from './rate-meter.js';
import type { ArtifactPhase, ArtifactSnapshot, CapabilitySnapshot, LifecycleError } from './snapshot.js';

interface Entry {
  artifact: Artifact;
  state: ArtifactPhase;
  bytes: number;
  error: LifecycleError | null;
  meter: RateMeter;
}

/**
 * The snapshot form of a serialized engine error. Its hint is the code's `appHint`, worded for a
 * person using an app; the engine's own hint (which names commands and options) stays in `error`.
 */
export function lifecycleError(error: SerializedInstallError): LifecycleError {
  return {
    code: error.code,
    message: error.message,
    hint: ERROR_CODES[error.code].appHint,
    retryable: error.retryable,
    artifactId: error.artifactId ?? null,
    // A copy: the engine hands the same object to the app's own onEvent listener.
    error: structuredClone(error),
  };
}

export class ArtifactBoard {
  private readonly entries: Entry[];
  private readonly byId: Map<string, Entry>;
  /**
   * Bytes that arrived over the network in this lifecycle. The overall rate is measured on this
   * count rather than on the bytes on disk, which also jump when a run resumes a partial file or
   * adopts a file already in place: neither is download speed.
   */
  private arrived = 0;
  private readonly overall = new RateMeter();

  constructor(artifacts: readonly Artifact[]) {
    this.entries = artifacts.map((artifact) => ({ artifact, state: 'missing', bytes: 0, error: null, meter: new RateMeter() }));
    this.byId = new Map(this.entries.map((entry) => [entry.artifact.id, entry]));
  }

  /**
   * Takes in what the disk says. A failure reported by the last run stays on its artifact (the
   * disk cannot tell why bytes are missing), with the byte count the disk now vouches for.
   */
  applyStatus(status: BundleStatus): void {
    for (const found of status.artifacts) {
      const entry = this.byId.get(found.id);
      if (entry === undefined) continue;
      entry.meter.reset();
      switch (found.state) {
        case 'installed':
          entry.state = 'installed';
          entry.bytes = entry.artifact.size;
          entry.error = null;
          break;
        case 'partial':
          entry.bytes = found.bytesOnDisk;
          if (entry.state !== 'failed') entry.state = 'partial';
          break;
        // A file that is there but not the verified one must be checked or fetched again: to a
        // person it is not there yet.
        case 'changed':
        case 'missing':
          entry.bytes = 0;
          if (entry.state !== 'failed') entry.state = 'missing';
          break;
      }
    }
  }

  /** Takes in one engine event of a running install. `now` drives the rate meters. */
  applyEvent(event: InstallEvent, now: number): void {
    switch (event.event) {
      case 'plan':
        for (const planned of event.artifacts) {
          const entry = this.byId.get(planned.id);
          if (entry === undefined) continue;
          entry.error = null;
          entry.state = planned.action === 'already-installed' ? 'installed' : 'queued';
          entry.bytes = planned.bytesOnDisk;
          entry.meter.reset();
        }
        return;
      case 'start':
        this.update(event.id, 'downloading', event.offset, now);
        return;
      case 'progress':
        this.update(event.id, 'downloading', event.bytes, now, true);
        return;
      case 'restart':
        this.update(event.id, 'downloading', event.bytesKept, now);
        return;
      case 'verifying':
        this.update(event.id, 'verifying', event.bytes, now);
        return;
      case 'installed':
      case 'skipped': {
        const entry = this.byId.get(event.id);
        if (entry) this.update(event.id, 'installed', entry.artifact.size, now);
        return;
      }
      case 'failed': {
        const entry = this.byId.get(event.id);
        if (entry === undefined) return;
        entry.state = 'failed';
        entry.bytes = event.bytesKept;
        entry.error = lifecycleError(event.error);
        entry.meter.reset();
        return;
      }
      case 'retry':
      case 'failover':
      case 'lock-wait':
      case 'done':
        return;
    }
  }

  /** Lets every rate meter see the clock move, so that a stall shows as a falling rate. */
  tick(now: number): void {
    this.overall.observe(now, this.arrived);
    for (const entry of this.entries) {
      if (entry.state === 'downloading') entry.meter.observe(now, entry.bytes);
    }
  }

  /**
   * A run starts: the rates are measured from here, so that the first bytes of the run count as
   * arrivals rather than as the starting point.
   */
  startMeters(now: number): void {
    this.stopMeters();
    this.overall.observe(now, this.arrived);
  }

  /** Stops every rate: between runs nothing moves. */
  stopMeters(): void {
    this.overall.reset();
    for (const entry of this.entries) entry.meter.reset();
  }

  /**
   * A run is stopping: what was on its way is now simply kept (`partial`) or not there yet
   * (`missing`), until the disk is read again.
   */
  settle(): void {
    this.stopMeters();
    for (const entry of this.entries) {
      if (entry.state === 'downloading' || entry.state === 'queued' || entry.state === 'verifying') {
        entry.state = entry.bytes > 0 ? 'partial' : 'missing';
      }
    }
  }

  /** The overall rate in bytes per second, and whether it has been measured long enough for an ETA. */
  rate(now: number): { bytesPerSecond: number; stable: boolean } {
    return { bytesPerSecond: this.overall.rate(now), stable: this.overall.stable(now) };
  }

  /**
   * The phase of a running install: `downloading` while any artifact still waits for bytes, then
   * `verifying` while the last hashes run and the run finishes.
   */
  runningPhase(): 'downloading' | 'verifying' {
    return this.entries.some((e) => e.state === 'downloading' || e.state === 'queued') ? 'downloading' : 'verifying';
  }

  get complete(): boolean {
    return this.entries.every((entry) => entry.state === 'installed');
  }

  get bytes(): number {
    return this.entries.reduce((sum, entry) => sum + entry.bytes, 0);
  }

  get total(): number {
    return this.entries.reduce((sum, entry) => sum + entry.artifact.size, 0);
  }

  /** The failures the artifacts report, in manifest order. */
  failures(): LifecycleError[] {
    return this.entries.flatMap((entry) => (entry.error === null ? [] : [entry.error]));
  }

  /** One snapshot per artifact; rates only while `moving` (a run is going and not stopping). */
  artifactSnapshots(now: number, moving: boolean): ArtifactSnapshot[] {
    return this.entries.map(({ artifact, state, bytes, error, meter }) => ({
      id: artifact.id,
      label: artifact.label,
      kind: artifact.kind,
      path: artifact.path,
      state,
      bytes,
      total: artifact.size,
      bytesPerSecond: moving && state === 'downloading' ? meter.rate(now) : 0,
      error,
    }));
  }

  capabilities(): Record<ArtifactKind, CapabilitySnapshot> {
    const result = {} as Record<ArtifactKind, CapabilitySnapshot>;
    for (const kind of ARTIFACT_KINDS) {
      const ofKind = this.entries.filter((entry) => entry.artifact.kind === kind);
      result[kind] = {
        kind,
        ready: ofKind.length > 0 && ofKind.every((entry) => entry.state === 'installed'),
        artifacts: ofKind.length,
        bytes: ofKind.reduce((sum, entry) => sum + entry.bytes, 0),
        total: ofKind.reduce((sum, entry) => sum + entry.artifact.size, 0),
      };
    }
    return result;
  }

  private update(id: string, state: ArtifactPhase, bytes: number, now: number, fromNetwork = false): void {
    const entry = this.byId.get(id);
    if (entry === undefined) return;
    if (fromNetwork && bytes > entry.bytes) {
      this.arrived += bytes - entry.bytes;
      this.overall.observe(now, this.arrived);
    }
    entry.state = state;
    entry.bytes = bytes;
    if (state === 'downloading') entry.meter.observe(now, bytes);
    else entry.meter.reset();
  }
}

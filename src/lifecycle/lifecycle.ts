/**
 * The model lifecycle's state machine: it owns the way of a bundle from "not there" to "ready"
 * in an app, across pauses, lost networks, sleeps and failures, and keeps the snapshot.
 *
 * It drives the engine as it is: every download is one {@link InstallRun}, and whatever stops a
 * run (pause, offline, wake, cancel) aborts it; the next run resumes from the bytes on disk. The
 * lifecycle's own job is deciding when a run should be going, and never letting two overlap: a
 * run that is stopping is waited for before the next starts.
 */
import { resolve } from 'node:path';
import type { SerializedInstallError } from '../errors.js';
import type { InstallEvent } from '../events.js';
import type { InstallOptions } from '../operations/install.js';
import { parseManifest } from '../manifest/parse.js';
import type { Manifest } from '../manifest/types.js';
import { ArtifactBoard, lifecycleError } from './artifact-board.js';
import { ClockTimer, systemClock, type LifecycleClock } from './clock.js';
import { composeSnapshot } from './compose-snapshot.js';
import { readDiskState, type DiskState } from './disk-state.js';
import { governingFailure, InstallRun, serializeFailure, type RunOutcome } from './install-run.js';
import { LifecycleInputs } from './lifecycle-inputs.js';
import type { LifecycleOptions, PowerEvent, WhenReadyOptions } from './options.js';
import { disposedError, ReadinessWaiters } from './readiness-waiters.js';
import { guarded } from './report-async.js';
import { decideAfterFailure, defaultRetryDelay, defaultShouldRetry, isConnectionFailure, type RetryDelay, type ShouldRetry } from './retry-policy.js';
import { SnapshotFeed, SNAPSHOT_INTERVAL_MS } from './snapshot-feed.js';
import type { LifecycleBlock, LifecycleError, LifecyclePhase, LifecycleSnapshot } from './snapshot.js';

/** The engine's quick retries within one run, before a failure comes to the lifecycle's policy. */
const LIFECYCLE_ENGINE_RETRIES = 2;

/** Phases in which a download is wanted: the ones the network matters to. */
const WANTING_PHASES: ReadonlySet<LifecyclePhase> = new Set(['downloading', 'verifying', 'retry-wait', 'offline']);

/** The state machine behind {@link createModelLifecycle}; see ModelLifecycle for what each method does. */
export class Lifecycle {
  private readonly manifest: Manifest;
  private readonly dir: string;
  private readonly installOptions: Omit<InstallOptions, 'signal' | 'onEvent'>;
  private readonly onEvent: ((event: InstallEvent) => void) | undefined;
  private readonly shouldRetry: ShouldRetry;
  private readonly retryDelay: RetryDelay;
  private readonly clock: LifecycleClock;
  private readonly inputs: LifecycleInputs;
  private readonly board: ArtifactBoard;
  private readonly feed: SnapshotFeed;
  private readonly waiters = new ReadinessWaiters();
  private readonly retryTimer: ClockTimer;
  private readonly tickTimer: ClockTimer;

  private phase: LifecyclePhase = 'checking';
  private attempt = 0;
  /** The count before the last failure, restored if the network turns out to have been gone. */
  private attemptBeforeFailure = 0;
  private nextRetryAt: number | null = null;
  private error: LifecycleError | null = null;
  private blocked: LifecycleBlock | null = null;
  private freeBytes: number | null = null;
  private online: boolean;
  /** The current run, from its launch until the disk has been read after it ended. */
  private run: InstallRun | undefined;
  /** Settles when the current run has ended and been taken in. */
  private runEnded: Promise<void> = Promise.resolve();
  private startAfterCheck = false;
  private checking: Promise<void> | undefined;
  private disposal: Promise<void> | undefined;
  private cached: LifecycleSnapshot | undefined;
  private sequence = 0;
  private lastMotion = '';

  constructor(options: LifecycleOptions) {
    const { manifest, isOnline, watchOnline, onlinePollMs, watchPower, shouldRetry, retryDelay, clock, onEvent, ...install } = options;
    this.manifest = parseManifest(manifest, { allowHttp: install.allowHttp ?? false });
    this.dir = resolve(install.dir);
    this.installOptions = { ...install, retries: install.retries ?? LIFECYCLE_ENGINE_RETRIES };
    this.onEvent = onEvent === undefined ? undefined : guarded(onEvent, undefined);
    this.shouldRetry = guarded(shouldRetry ?? defaultShouldRetry, false);
    this.retryDelay = guarded(retryDelay ?? ((attempt, error) => defaultRetryDelay(attempt, error)), 0);
    this.clock = clock ?? systemClock;
    this.board = new ArtifactBoard(this.manifest.artifacts);
    this.feed = new SnapshotFeed(this.clock, () => this.getSnapshot());
    this.retryTimer = new ClockTimer(this.clock, () => this.phase === 'retry-wait' && this.go());
    this.tickTimer = new ClockTimer(this.clock, () => this.tick());
    this.inputs = new LifecycleInputs({ isOnline, watchOnline, onlinePollMs, watchPower }, this.clock, {
      connectivity: () => this.connectivityChanged(),
      power: (event) => this.powerChanged(event),
    });
    this.online = this.inputs.online();
    void this.check();
  }

  // ---- Actions -------------------------------------------------------------------------------

  check(): Promise<LifecycleSnapshot> {
    if (this.disposal) return Promise.resolve(this.getSnapshot());
    this.checking ??= this.readDisk().finally(() => (this.checking = undefined));
    return this.checking.then(() => this.getSnapshot());
  }

  start(): void {
    if (this.disposal) return;
    if (this.phase === 'checking') this.startAfterCheck = true;
    if (this.phase !== 'missing') return;
    this.attempt = 0;
    this.go();
  }

  pause(): void {
    if (this.disposal || (!WANTING_PHASES.has(this.phase) && !this.waitingForLock())) return;
    this.stopRun();
    this.enter('paused');
  }

  resume(): void {
    if (this.disposal || this.phase !== 'paused') return;
    this.go();
  }

  cancel(): void {
    this.startAfterCheck = false;
    if (this.disposal || this.phase === 'checking' || this.phase === 'missing' || this.phase === 'ready') return;
    this.stopRun();
    this.attempt = 0;
    this.enter(this.board.complete ? 'ready' : 'missing');
  }

  retry(): void {
    if (this.disposal) return;
    switch (this.phase) {
      case 'retry-wait':
        return this.go();
      case 'offline':
        return this.go({ evenOffline: true });
      case 'failed':
      case 'blocked':
        // A run still waiting for another process's lock goes on by itself.
        if (this.waitingForLock()) return;
        this.attempt = 0;
        return this.go();
      default:
        return;
    }
  }

  getSnapshot(): LifecycleSnapshot {
    this.cached ??= composeSnapshot(
      {
        bundle: this.manifest.name,
        dir: this.dir,
        phase: this.phase,
        attempt: this.attempt,
        nextRetryAt: this.nextRetryAt,
        error: this.error,
        blocked: this.blocked,
        freeBytes: this.freeBytes,
        online: this.online,
        sequence: ++this.sequence,
      },
      this.board,
      this.clock.now(),
      this.run !== undefined && !this.run.stopping && (this.phase === 'downloading' || this.phase === 'verifying'),
    );
    return this.cached;
  }

  subscribe(listener: (snapshot: LifecycleSnapshot) => void): () => void {
    if (this.disposal) return () => undefined;
    return this.feed.subscribe(listener);
  }

  whenReady(options: WhenReadyOptions = {}): Promise<LifecycleSnapshot> {
    if (this.disposal) return Promise.reject(disposedError());
    return this.waiters.request(options, this.manifest.name, this.board.capabilities(), () => this.getSnapshot());
  }

  dispose(): Promise<void> {
    if (this.disposal) return this.disposal;
    this.disposal = this.runEnded;
    this.inputs.stop();
    this.retryTimer.cancel();
    this.tickTimer.cancel();
    this.feed.close();
    this.waiters.rejectAll(disposedError());
    this.run?.stop(disposedError());
    return this.disposal;
  }

  // ---- Inputs --------------------------------------------------------------------------------

  private connectivityChanged(): void {
    if (this.disposal) return;
    const online = this.inputs.online();
    if (online !== this.online) {
      this.online = online;
      this.changed();
    }
    if (!online && this.phase === 'downloading') {
      this.stopRun();
      this.enter('offline');
    } else if (!online && this.phase === 'retry-wait') {
      // The failure being waited out was most likely the network going away: it costs no attempt.
      if (this.error !== null && isConnectionFailure(this.error.error)) this.attempt = this.attemptBeforeFailure;
      this.enter('offline');
    } else if (online && this.phase === 'offline') {
      this.go();
    }
    this.inputs.poll(WANTING_PHASES.has(this.phase));
  }

  private powerChanged(event: PowerEvent): void {
    if (this.disposal || event !== 'resume') return;
    if (this.phase === 'downloading' && this.run && !this.run.stopping) {
      // Connections do not survive a sleep, but nothing tells the socket: without this the
      // transfer would sit silent until the stall timeout. The phase stays `downloading`, and the
      // end of this run starts the next one.
      this.run.stop(new Error('The system woke from sleep; the download restarts from the bytes on disk.'));
      this.board.settle();
      this.changed();
    } else if (this.phase === 'retry-wait') {
      this.go();
    } else if (this.phase === 'offline') {
      this.connectivityChanged();
    }
  }

  // ---- Runs ----------------------------------------------------------------------------------

  /** Wants a run: starts one, or waits for the network, or for the run that is still stopping. */
  private go(options: { evenOffline?: boolean } = {}): void {
    this.online = this.inputs.online();
    if (!this.online && !options.evenOffline) return this.enter('offline');
    this.enter('downloading');
    if (this.run === undefined) this.launch();
  }

  private launch(): void {
    const run: InstallRun = new InstallRun(this.manifest, this.installOptions, (event) => this.engineEvent(run, event));
    this.run = run;
    this.board.startMeters(this.clock.now());
    this.tickTimer.arm(SNAPSHOT_INTERVAL_MS);
    this.runEnded = run.finished.then(async (outcome) => {
      // A disposed lifecycle has no use for the disk's word, and dispose() should not wait for it.
      const disk = this.disposal ? undefined : await readDiskState(this.manifest, this.dir);
      this.finishRun(run, outcome, disk);
    });
  }

  /** Stops the running install (it keeps its bytes); what comes next is up to the caller's phase. */
  private stopRun(): void {
    this.retryTimer.cancel();
    if (this.run && !this.run.stopping) {
      this.run.stop(new Error('The download was stopped by the app.'));
      this.board.settle();
    }
  }

  private waitingForLock(): boolean {
    return this.phase === 'blocked' && this.run !== undefined && !this.run.stopping;
  }

  private engineEvent(run: InstallRun, event: InstallEvent): void {
    this.onEvent?.(event);
    // A stopping run's last words (ABORTED failures, a final progress) are not news: the disk is
    // read again once it has stopped.
    if (run !== this.run || run.stopping || this.disposal) return;
    if (event.event === 'lock-wait') {
      const { pid, hostname } = event.holder;
      this.blocked = {
        code: 'LOCKED',
        hint: `Another modelhaul process (pid ${pid} on ${hostname}) is installing into this folder; the download goes on as soon as it is done.`,
        bytesToFree: null,
        path: event.lockPath,
      };
      return this.enter('blocked');
    }
    this.board.applyEvent(event, this.clock.now());
    // Any event after a lock wait means the lock was had.
    if (this.phase === 'downloading' || this.phase === 'verifying' || this.phase === 'blocked') this.enter(this.board.runningPhase());
    else this.changed();
  }

  private finishRun(run: InstallRun, outcome: RunOutcome, disk: DiskState | undefined): void {
    this.run = undefined;
    this.tickTimer.cancel();
    this.board.settle();
    if (this.disposal || disk === undefined) return;
    if (disk.status) this.board.applyStatus(disk.status);
    this.freeBytes = disk.freeBytes;
    if (this.board.complete) {
      this.attempt = 0;
      return this.enter('ready');
    }
    if (run.stopping) {
      // Stopped on purpose. If a run is wanted again by now (resume, wake, back online), start it.
      if (this.phase === 'downloading' || this.phase === 'verifying') this.launch();
      return this.changed();
    }
    const failure = governingFailure(outcome);
    // No failure, yet the disk says something is missing: a file was removed behind the run's
    // back. Nothing to retry on its own; a person can start again.
    if (failure === undefined) return this.enter('missing');
    this.failed(failure, run.progressed);
  }

  private failed(failure: SerializedInstallError, progressed: boolean): void {
    const verdict = decideAfterFailure(failure, {
      attempt: this.attempt,
      progressed,
      online: this.inputs.online(),
      dir: this.dir,
      bytesRemaining: this.board.total - this.board.bytes,
      freeBytes: this.freeBytes,
      shouldRetry: this.shouldRetry,
      retryDelay: this.retryDelay,
    });
    this.attemptBeforeFailure = this.attempt;
    this.attempt = verdict.attempt;
    this.error = verdict.phase === 'offline' ? null : lifecycleError(failure);
    switch (verdict.phase) {
      case 'blocked':
        this.blocked = verdict.block;
        return this.enter('blocked');
      case 'retry-wait':
        this.nextRetryAt = this.clock.now() + verdict.delayMs;
        this.enter('retry-wait');
        return this.retryTimer.arm(verdict.delayMs);
      case 'offline':
      case 'failed':
        return this.enter(verdict.phase);
    }
  }

  // ---- The disk ------------------------------------------------------------------------------

  private async readDisk(): Promise<void> {
    const { status, failure, freeBytes } = await readDiskState(this.manifest, this.dir);
    if (this.disposal) return;
    this.freeBytes = freeBytes;
    // While a run goes, its events are fresher than the disk.
    if (this.run) return this.changed();
    if (status === undefined) {
      this.startAfterCheck = false;
      const idle = this.phase === 'checking' || this.phase === 'missing' || this.phase === 'ready';
      return idle ? this.failed(serializeFailure(failure), false) : this.changed();
    }
    this.board.applyStatus(status);
    if (this.board.complete) {
      this.attempt = 0;
      this.enter('ready');
    } else if (this.phase === 'checking' || this.phase === 'ready') {
      this.enter('missing');
    } else {
      this.changed();
    }
    if (this.startAfterCheck) {
      this.startAfterCheck = false;
      this.start();
    }
  }

  // ---- Snapshots -----------------------------------------------------------------------------

  /** Moves to `phase`, dropping what only other phases show; listeners hear of a new phase at once. */
  private enter(phase: LifecyclePhase): void {
    const changed = phase !== this.phase;
    this.phase = phase;
    if (phase !== 'retry-wait') {
      this.nextRetryAt = null;
      this.retryTimer.cancel();
    }
    if (phase !== 'retry-wait' && phase !== 'failed' && phase !== 'blocked') this.error = null;
    if (phase !== 'blocked') this.blocked = null;
    this.changed(changed);
  }

  /** Something a snapshot shows has changed. */
  private changed(phaseChanged = false): void {
    this.cached = undefined;
    if (this.waiters.size > 0) this.waiters.settle(this.board.capabilities(), () => this.getSnapshot());
    if (phaseChanged) this.feed.publishNow();
    else this.feed.publish();
    this.inputs.poll(!this.disposal && WANTING_PHASES.has(this.phase));
  }

  /** While a run goes: lets the rates follow the clock, so that a stall shows as a falling rate. */
  private tick(): void {
    if (this.run === undefined || this.disposal) return;
    this.board.tick(this.clock.now());
    this.cached = undefined;
    const snapshot = this.getSnapshot();
    const motion = `${snapshot.bytesPerSecond} ${snapshot.etaSeconds} ${snapshot.artifacts.map((a) => a.bytesPerSecond).join(' ')}`;
    if (motion !== this.lastMotion) {
      this.lastMotion = motion;
      this.feed.publish();
    }
    this.tickTimer.arm(SNAPSHOT_INTERVAL_MS);
  }
}

/**
 * What `<modelhaul-download>` shows for one snapshot, worked out apart from the DOM: headings,
 * sentences, which buttons in which order, the progress bar's numbers and text, and the milestone
 * to announce. A pure function of (snapshot, strings, language, now), so every phase's wording can
 * be checked without a browser, and the element itself only copies this onto its nodes.
 */
import type { ArtifactSnapshot, LifecyclePhase, LifecycleSnapshot } from '../lifecycle/snapshot.js';
import type { ArtifactKind } from '../manifest/types.js';
import { fill, Formats, kindName, type DownloadStrings } from './download-strings.js';

/** What a button asks for; the value of `modelhaul-action`'s `detail.action`. */
export type DownloadAction = 'start' | 'pause' | 'resume' | 'cancel' | 'retry' | 'background';

/** A button's identity: the action it sends, and which wording it has. */
export type ButtonId = 'download' | 'pause' | 'resume' | 'cancel' | 'retry' | 'retryNow' | 'background' | 'notNow' | 'done';

export const BUTTON_ACTIONS: Readonly<Record<ButtonId, DownloadAction>> = {
  download: 'start',
  pause: 'pause',
  resume: 'resume',
  cancel: 'cancel',
  retry: 'retry',
  retryNow: 'retry',
  background: 'background',
  notNow: 'background',
  done: 'background',
};

/** The look of the phase: the icon, and the colour of the bar and the heading's mark. */
export type Tone = 'working' | 'waiting' | 'attention' | 'danger' | 'success';

export interface ProgressView {
  /** 0-100, or null while indeterminate (then `aria-valuenow` is absent). */
  percent: number | null;
  /** The bar's `aria-valuetext`, also shown under it. */
  valueText: string;
  /** Rate and time left, shown after the value text; empty when there is nothing to say. */
  detail: string;
}

export interface ItemView {
  key: string;
  name: string;
  value: string;
  /** 0-100 for a small bar beside the item; null for none. */
  percent: number | null;
  done: boolean;
}

export interface FailureView {
  hint: string;
  code: string;
  message: string;
}

export interface DownloadView {
  phase: LifecyclePhase;
  tone: Tone;
  heading: string;
  message: string;
  /** Sizes per capability (before starting) or readiness per capability (at the end). */
  capabilities: ItemView[];
  /** Free space and whether it is enough; null when unknown or beside the point. */
  space: { text: string; short: boolean } | null;
  progress: ProgressView | null;
  artifacts: ItemView[];
  /** In `retry-wait`: the countdown sentence. */
  countdown: string | null;
  /** A retryable failure's hint, shown calmly (not as an alert) while waiting to retry. */
  notice: FailureView | null;
  /** A failure a person must act on: shown in the alert. */
  failure: FailureView | null;
  /** Left to right; the last is the primary one. */
  buttons: ButtonId[];
  /** The milestones this snapshot stands for; the element announces those that are new. */
  milestones: Milestone[];
}

export interface Milestone {
  key: string;
  /** What the status region says; empty for a milestone that is only remembered. */
  text: string;
}

/** Phases in which bytes move or are about to, and which show per-artifact progress. */
const ACTIVE: ReadonlySet<LifecyclePhase> = new Set(['downloading', 'paused', 'offline', 'retry-wait', 'verifying']);

/**
 * The buttons of each phase. Only a running download has "Continue in background": before it
 * starts and after it ends there is nothing to continue, so hiding the dialog is "Not now" or "Done"
 * (the same `background` action).
 */
const BUTTONS: Readonly<Record<LifecyclePhase, ButtonId[]>> = {
  checking: ['background'],
  missing: ['notNow', 'download'],
  downloading: ['cancel', 'pause', 'background'],
  paused: ['cancel', 'background', 'resume'],
  offline: ['cancel', 'pause', 'background'],
  'retry-wait': ['cancel', 'background', 'retryNow'],
  verifying: ['background'],
  blocked: ['notNow', 'retry'],
  failed: ['notNow', 'retry'],
  ready: ['done'],
};

export interface ViewInput {
  snapshot: LifecycleSnapshot | null;
  strings: DownloadStrings;
  formats: Formats;
  /** Epoch milliseconds, for the retry countdown. */
  now: number;
}

export function downloadView({ snapshot, strings, formats, now }: ViewInput): DownloadView {
  if (!snapshot) {
    return {
      ...EMPTY,
      heading: strings.headingChecking,
      message: strings.messageChecking,
      progress: { percent: null, valueText: strings.messageChecking, detail: '' },
      buttons: [],
      milestones: [],
    };
  }
  const { phase } = snapshot;
  const view: DownloadView = {
    ...EMPTY,
    phase,
    tone: toneOf(snapshot),
    heading: headingOf(snapshot, strings),
    message: messageOf(snapshot, strings, formats),
    buttons: BUTTONS[phase],
    milestones: milestonesOf(snapshot, strings, formats, now),
  };
  if (phase === 'missing' || phase === 'ready') view.capabilities = capabilitiesOf(snapshot, strings, formats);
  if (phase === 'missing') view.space = spaceOf(snapshot, strings, formats);
  if (ACTIVE.has(phase) || phase === 'checking') view.progress = progressOf(snapshot, strings, formats);
  if (ACTIVE.has(phase)) view.artifacts = snapshot.artifacts.map((artifact) => artifactOf(artifact, phase, strings, formats));
  if (phase === 'retry-wait') {
    view.countdown = countdownOf(snapshot, strings, formats, now);
    if (snapshot.error) view.notice = failureOf(snapshot.error.code, snapshot.error.hint, snapshot.error.message, strings);
  }
  if (phase === 'failed' && snapshot.error) {
    view.failure = failureOf(snapshot.error.code, snapshot.error.hint, snapshot.error.message, strings);
  }
  if (phase === 'blocked') view.failure = blockedFailureOf(snapshot, strings, formats);
  return view;
}

const EMPTY: DownloadView = {
  phase: 'checking',
  tone: 'working',
  heading: '',
  message: '',
  capabilities: [],
  space: null,
  progress: null,
  artifacts: [],
  countdown: null,
  notice: null,
  failure: null,
  buttons: [],
  milestones: [],
};

function toneOf(snapshot: LifecycleSnapshot): Tone {
  switch (snapshot.phase) {
    case 'checking':
    case 'missing':
    case 'downloading':
    case 'verifying':
      return 'working';
    case 'paused':
    case 'offline':
      return 'waiting';
    case 'retry-wait':
    case 'blocked':
      return 'attention';
    case 'failed':
      return 'danger';
    case 'ready':
      return 'success';
  }
}

function headingOf(snapshot: LifecycleSnapshot, strings: DownloadStrings): string {
  switch (snapshot.phase) {
    case 'checking':
      return strings.headingChecking;
    case 'missing':
      return strings.headingMissing;
    case 'downloading':
      return strings.headingDownloading;
    case 'paused':
      return strings.headingPaused;
    case 'offline':
      return strings.headingOffline;
    case 'retry-wait':
      return strings.headingRetryWait;
    case 'verifying':
      return strings.headingVerifying;
    case 'blocked':
      switch (snapshot.blocked?.code ?? snapshot.error?.code) {
        case 'DISK_FULL':
          return strings.headingBlockedDiskFull;
        case 'LOCKED':
          return strings.headingBlockedLocked;
        default:
          return strings.headingBlockedPermission;
      }
    case 'failed':
      return strings.headingFailed;
    case 'ready':
      return strings.headingReady;
  }
}

function messageOf(snapshot: LifecycleSnapshot, strings: DownloadStrings, formats: Formats): string {
  switch (snapshot.phase) {
    case 'checking':
      return strings.messageChecking;
    case 'missing':
      return snapshot.bytes > 0 ? `${strings.messageMissing} ${fill(strings.messageKept, { done: formats.bytes(snapshot.bytes) })}` : strings.messageMissing;
    case 'downloading':
      return strings.messageDownloading;
    case 'paused':
      return strings.messagePaused;
    case 'offline':
      return strings.messageOffline;
    case 'verifying':
      return strings.messageVerifying;
    case 'retry-wait':
    case 'blocked':
    case 'failed':
      // The countdown and the hint say it all; a second sentence would only repeat them.
      return '';
    case 'ready':
      return strings.messageReady;
  }
}

/** The kinds the bundle has, in the order stt, llm, tts, other, with their sizes or readiness. */
function capabilitiesOf(snapshot: LifecycleSnapshot, strings: DownloadStrings, formats: Formats): ItemView[] {
  const kinds: ArtifactKind[] = ['stt', 'llm', 'tts', 'other'];
  const items: ItemView[] = kinds
    .map((kind) => snapshot.capabilities[kind])
    .filter((capability) => capability.artifacts > 0)
    .map((capability) => ({
      key: capability.kind,
      name: kindName(strings, capability.kind),
      value: snapshot.phase === 'ready' ? strings.capabilityReady : formats.bytes(capability.total),
      percent: null,
      done: capability.ready,
    }));
  if (snapshot.phase === 'missing' && items.length > 1) {
    items.push({ key: 'total', name: strings.total, value: formats.bytes(snapshot.total), percent: null, done: false });
  }
  return items;
}

function spaceOf(snapshot: LifecycleSnapshot, strings: DownloadStrings, formats: Formats): DownloadView['space'] {
  if (snapshot.freeBytes === null) return null;
  const free = formats.bytes(snapshot.freeBytes);
  if (snapshot.freeBytes < snapshot.bytesRemaining) {
    return { text: fill(strings.notEnoughSpace, { needed: formats.bytes(snapshot.bytesRemaining), free }), short: true };
  }
  return { text: fill(strings.freeSpace, { free }), short: false };
}

function progressOf(snapshot: LifecycleSnapshot, strings: DownloadStrings, formats: Formats): ProgressView {
  // Nothing is measured while checking, and the hashes' progress is not in the snapshot: a bar
  // standing at 100% while the last file is still being checked would say "done" too early.
  if (snapshot.phase === 'checking') return { percent: null, valueText: strings.messageChecking, detail: '' };
  if (snapshot.phase === 'verifying') return { percent: null, valueText: strings.messageVerifying, detail: '' };
  if (snapshot.total <= 0) return { percent: null, valueText: strings.calculating, detail: '' };
  const percent = Math.floor((Math.min(snapshot.bytes, snapshot.total) / snapshot.total) * 100);
  const done = formats.progress(strings.progressValue, snapshot.bytes, snapshot.total);
  if (snapshot.phase !== 'downloading') return { percent, valueText: done, detail: '' };
  const stalled = snapshot.bytesPerSecond <= 0;
  const timeLeft = stalled
    ? strings.stalled
    : snapshot.etaSeconds === null
      ? strings.calculating
      : fill(strings.timeLeft, { time: formats.duration(snapshot.etaSeconds) });
  return {
    percent,
    valueText: fill(strings.progressWithTime, { progress: done, timeLeft }),
    detail: stalled ? '' : formats.rate(snapshot.bytesPerSecond),
  };
}

function artifactOf(artifact: ArtifactSnapshot, phase: LifecyclePhase, strings: DownloadStrings, formats: Formats): ItemView {
  const fraction = artifact.total > 0 ? Math.min(artifact.bytes, artifact.total) / artifact.total : 1;
  const base = { key: artifact.id, name: artifact.label, percent: Math.floor(fraction * 100), done: false };
  switch (artifact.state) {
    case 'missing':
      return { ...base, value: `${formats.bytes(artifact.total)}`, percent: 0 };
    case 'partial':
      return { ...base, value: formats.progress(strings.artifactPartial, artifact.bytes, artifact.total) };
    case 'queued':
      return { ...base, value: strings.artifactQueued };
    case 'downloading': {
      const sizes = formats.progress('{done}\u2009/\u2009{total}', artifact.bytes, artifact.total);
      return { ...base, value: fill(strings.artifactDownloading, { percent: formats.percent(fraction), done: sizes, total: formats.bytes(artifact.total) }) };
    }
    case 'verifying':
      return { ...base, value: strings.artifactVerifying, percent: 100 };
    case 'installed':
      return { ...base, value: strings.artifactInstalled, percent: 100, done: true };
    case 'failed':
      // While the bundle waits to retry (or is paused, or offline) a file's failure is not final:
      // what a person needs to know is that its bytes are kept.
      if (phase === 'failed') return { ...base, value: strings.artifactFailed };
      return artifact.bytes > 0
        ? { ...base, value: formats.progress(strings.artifactPartial, artifact.bytes, artifact.total) }
        : { ...base, value: strings.artifactQueued };
  }
}

function countdownOf(snapshot: LifecycleSnapshot, strings: DownloadStrings, formats: Formats, now: number): string {
  if (snapshot.nextRetryAt === null) return strings.countdownDue;
  const seconds = Math.ceil((snapshot.nextRetryAt - now) / 1000);
  return seconds <= 0 ? strings.countdownDue : fill(strings.countdown, { time: formats.countdown(seconds), attempt: snapshot.attempt });
}

function failureOf(code: string, hint: string, message: string, strings: DownloadStrings): FailureView {
  const replaced = (strings.hints as Partial<Record<string, string>>)[code];
  // An empty replacement means: show the engine's own hint.
  return { hint: replaced || hint, code: fill(strings.errorCode, { code }), message };
}

function blockedFailureOf(snapshot: LifecycleSnapshot, strings: DownloadStrings, formats: Formats): FailureView {
  const block = snapshot.blocked;
  const code = block?.code ?? snapshot.error?.code ?? 'FILESYSTEM';
  const failure = failureOf(code, block?.hint ?? snapshot.error?.hint ?? '', snapshot.error?.message ?? '', strings);
  if (block?.code === 'DISK_FULL' && block.bytesToFree !== null) {
    // A person wants the number, not "free some space".
    failure.hint = fill(strings.bytesToFree, { bytes: formats.bytes(block.bytesToFree) });
  }
  if (block?.path) failure.message = failure.message ? `${failure.message} (${block.path})` : block.path;
  return failure;
}

/**
 * Milestones worth interrupting a screen reader for: each phase change, each quarter of the
 * download, each capability that becomes ready; never the bytes or the rate, which change several
 * times a second. Each has a key; the element announces the ones whose keys the previous snapshot
 * did not have, so a milestone is said once however many snapshots repeat it.
 */
function milestonesOf(snapshot: LifecycleSnapshot, strings: DownloadStrings, formats: Formats, now: number): Milestone[] {
  const { phase } = snapshot;
  const milestones: Milestone[] = [];
  const say = (key: string, text: string): void => void milestones.push({ key, text });
  switch (phase) {
    case 'checking':
    case 'blocked':
    case 'failed':
      // Failures are announced by the alert itself; checking is too brief to be worth a word.
      say(phase, '');
      break;
    case 'missing':
      say(phase, strings.announceMissing);
      break;
    case 'downloading': {
      say(phase, strings.announceStarted);
      const quarter = snapshot.total > 0 ? Math.floor((Math.min(snapshot.bytes, snapshot.total) / snapshot.total) * 4) : 0;
      // Only the latest quarter: resuming at 60% says "50%", not "25%" and "50%".
      if (quarter > 0 && quarter < 4) say(`quarter:${quarter}`, fill(strings.announcePercent, { percent: formats.percent(quarter / 4) }));
      break;
    }
    case 'paused':
      say(phase, strings.announcePaused);
      break;
    case 'offline':
      say(phase, strings.announceOffline);
      break;
    case 'retry-wait': {
      const seconds = snapshot.nextRetryAt === null ? 0 : (snapshot.nextRetryAt - now) / 1000;
      // The key leaves the time out: the countdown ticking is not a new milestone; a new attempt is.
      say(`${phase}:${snapshot.attempt}`, fill(strings.announceRetryWait, { time: formats.countdown(seconds) }));
      break;
    }
    case 'verifying':
      say(phase, strings.announceVerifying);
      break;
    case 'ready':
      say(phase, strings.announceReady);
      break;
  }
  for (const kind of ['stt', 'llm', 'tts', 'other'] as const) {
    if (!snapshot.capabilities[kind].ready) continue;
    // At the end "all ready" says it already.
    say(`ready:${kind}`, phase === 'ready' ? '' : fill(strings.announceCapabilityReady, { name: kindName(strings, kind) }));
  }
  return milestones;
}

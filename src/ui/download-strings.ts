/**
 * Every word `<modelhaul-download>` shows or announces, and the formatting of sizes, rates and
 * durations. Strings are plain templates with `{name}` placeholders rather than functions, so a
 * translation is data: it can come from a JSON file, cross Electron IPC, or sit in an attribute.
 * Numbers and units are formatted by `Intl` in the element's language (its nearest `lang`), so a
 * German page gets "1,2 von 3,4 GB" from a German template without a formatting library.
 */
import type { ArtifactKind } from '../manifest/types.js';
import type { ErrorCode } from '../errors.js';

/**
 * The element's strings, in English by default. Replace any subset through the element's
 * `strings` property; placeholders in braces are filled in by the element.
 *
 * @example
 * ```ts
 * const modal = document.querySelector('modelhaul-download')!;
 * modal.strings = {
 *   download: 'Herunterladen',
 *   progressValue: '{done} von {total}',
 *   timeLeft: 'noch etwa {time}',
 *   hints: { DISK_FULL: 'Auf diesem Datenträger ist zu wenig Platz frei.' },
 * };
 * ```
 */
export interface DownloadStrings {
  // Headings, one per phase: the dialog's accessible name.
  headingChecking: string;
  headingMissing: string;
  headingDownloading: string;
  headingPaused: string;
  headingOffline: string;
  headingRetryWait: string;
  headingVerifying: string;
  headingBlockedDiskFull: string;
  headingBlockedPermission: string;
  headingBlockedLocked: string;
  headingFailed: string;
  headingReady: string;

  // The sentence under the heading.
  messageChecking: string;
  messageMissing: string;
  /** Added in `missing` when bytes from an earlier run are kept. Placeholders: `{done}`. */
  messageKept: string;
  messageDownloading: string;
  messagePaused: string;
  messageOffline: string;
  messageVerifying: string;
  messageReady: string;

  /** In `retry-wait`. Placeholders: `{time}` (a duration), `{attempt}`. */
  countdown: string;
  countdownDue: string;

  // Sizes before starting.
  total: string;
  /** Placeholders: `{free}`. */
  freeSpace: string;
  /** Placeholders: `{needed}`, `{free}`. */
  notEnoughSpace: string;
  /** For DISK_FULL. Placeholders: `{bytes}`. */
  bytesToFree: string;

  // Progress.
  /** The progress bar's accessible name. */
  progressLabel: string;
  /** Placeholders: `{done}` (a number in the unit of total), `{total}` (with its unit). */
  progressValue: string;
  /** Placeholders: `{time}`. */
  timeLeft: string;
  /** While the time left is not known yet. */
  calculating: string;
  /** While downloading and nothing arrives. */
  stalled: string;
  /** The bar's `aria-valuetext` and the line under it. Placeholders: `{progress}`, `{timeLeft}`. */
  progressWithTime: string;
  /** Joins the parts of the line under the bar: progress, rate, time left. */
  separator: string;

  // One artifact's state.
  artifactMissing: string;
  /** Placeholders: `{done}`, `{total}`. */
  artifactPartial: string;
  artifactQueued: string;
  /** Placeholders: `{done}`, `{total}`, `{percent}`. */
  artifactDownloading: string;
  artifactVerifying: string;
  artifactInstalled: string;
  artifactFailed: string;

  // Capabilities.
  kindStt: string;
  kindLlm: string;
  kindTts: string;
  kindOther: string;
  capabilityReady: string;

  // Buttons. The six action names are part of the accessibility contract; translate them, but keep
  // each one a verb that says what happens.
  download: string;
  pause: string;
  resume: string;
  cancel: string;
  retry: string;
  retryNow: string;
  background: string;
  notNow: string;
  done: string;

  // Failures.
  details: string;
  /** Placeholders: `{code}`. */
  errorCode: string;

  // Milestones announced to screen readers through the polite status region.
  announceMissing: string;
  announceStarted: string;
  /** Placeholders: `{percent}`. */
  announcePercent: string;
  announcePaused: string;
  announceOffline: string;
  /** Placeholders: `{time}`. */
  announceRetryWait: string;
  announceVerifying: string;
  /** Placeholders: `{name}`. */
  announceCapabilityReady: string;
  announceReady: string;

  /**
   * An app's own hint per error code, in place of the one the snapshot carries (the lifecycle
   * sends each code's `appHint` from modelhaul's error table, worded for a person in an app): for
   * a translation, or an app's own support wording. A code left out, or `''`, shows the
   * snapshot's hint.
   */
  hints: Partial<Record<ErrorCode, string>>;
}

export const DEFAULT_STRINGS: Readonly<DownloadStrings> = Object.freeze({
  headingChecking: 'Checking model files',
  headingMissing: 'Download models',
  headingDownloading: 'Downloading models',
  headingPaused: 'Download paused',
  headingOffline: 'Waiting for the network',
  headingRetryWait: 'Connection interrupted',
  headingVerifying: 'Checking downloaded files',
  headingBlockedDiskFull: 'Not enough disk space',
  headingBlockedPermission: 'Cannot save the model files',
  headingBlockedLocked: 'Another download is running',
  headingFailed: 'Download failed',
  headingReady: 'Ready',

  messageChecking: 'Looking at what is already on this computer.',
  messageMissing: 'These files run on this computer, so the features that use them work offline.',
  messageKept: '{done} from an earlier download is kept and will not be downloaded again.',
  messageDownloading: 'You can keep using the app; each feature switches on as soon as its files arrive.',
  messagePaused: 'Everything downloaded so far is kept. Resume whenever you like.',
  messageOffline: 'The download resumes by itself when the connection is back. Nothing is lost.',
  messageVerifying: 'Making sure every file arrived intact.',
  messageReady: 'All model files are installed and checked.',

  countdown: 'Trying again in {time}.',
  countdownDue: 'Trying again now.',

  total: 'Total',
  freeSpace: '{free} free on this disk',
  notEnoughSpace: 'Needs {needed}, but only {free} is free on this disk.',
  bytesToFree: 'Free up {bytes} on this disk, then choose Retry.',

  progressLabel: 'Download progress',
  progressValue: '{done} of {total}',
  timeLeft: 'about {time} left',
  calculating: 'calculating time left',
  stalled: 'waiting for data',
  progressWithTime: '{progress}, {timeLeft}',
  separator: ' · ',

  artifactMissing: 'Not downloaded',
  artifactPartial: '{done} of {total} kept',
  artifactQueued: 'Waiting',
  artifactDownloading: '{percent}',
  artifactVerifying: 'Checking',
  artifactInstalled: 'Installed',
  artifactFailed: 'Failed',

  kindStt: 'Speech recognition',
  kindLlm: 'Language model',
  kindTts: 'Voice',
  kindOther: 'Other files',
  capabilityReady: 'Ready',

  download: 'Download',
  pause: 'Pause',
  resume: 'Resume',
  cancel: 'Cancel',
  retry: 'Retry',
  retryNow: 'Retry now',
  background: 'Continue in background',
  notNow: 'Not now',
  done: 'Done',

  details: 'Details',
  errorCode: 'Error code {code}',

  announceMissing: 'Ready to download.',
  announceStarted: 'Download started.',
  announcePercent: '{percent} downloaded.',
  announcePaused: 'Download paused.',
  announceOffline: 'Offline. The download resumes when the connection is back.',
  announceRetryWait: 'Connection interrupted. Trying again in {time}.',
  announceVerifying: 'Download complete. Checking the files.',
  announceCapabilityReady: '{name} is ready.',
  announceReady: 'All model files are ready.',

  hints: {},
});

/** Fills `{name}` placeholders; a placeholder with no value is left as it is, so a typo shows. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(values, name) ? String(values[name]) : whole));
}

/** The defaults with an app's replacements laid over them (`hints` merged key by key). */
export function mergeStrings(overrides: Partial<DownloadStrings> | null | undefined): DownloadStrings {
  if (!overrides) return { ...DEFAULT_STRINGS };
  return { ...DEFAULT_STRINGS, ...overrides, hints: { ...DEFAULT_STRINGS.hints, ...overrides.hints } };
}

export function kindName(strings: DownloadStrings, kind: ArtifactKind): string {
  switch (kind) {
    case 'stt':
      return strings.kindStt;
    case 'llm':
      return strings.kindLlm;
    case 'tts':
      return strings.kindTts;
    case 'other':
      return strings.kindOther;
  }
}

const BYTE_UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const;

/**
 * Sizes and times in one language. Decimal units (1 GB = 10^9 bytes), as download sizes and disk
 * sizes are shown to people, and as the CLI shows them.
 */
export class Formats {
  private readonly cache = new Map<string, Intl.NumberFormat>();

  constructor(readonly locale: string | undefined) {}

  /** `48.2 MB`, `3.4 GB`, `950 kB`: one decimal below 100, none above. */
  bytes(bytes: number): string {
    const { value, unit } = scale(bytes);
    return this.number(value, { style: 'unit', unit, unitDisplay: 'short' });
  }

  /** `{done} of {total}` with `done` in the unit of `total`, as in "1.2 of 3.4 GB". */
  progress(template: string, done: number, total: number): string {
    const { divisor } = scale(total);
    const doneValue = Math.min(done, total) / divisor;
    return fill(template, { done: this.number(doneValue, {}, total / divisor), total: this.bytes(total) });
  }

  rate(bytesPerSecond: number): string {
    const { value, unit } = scale(bytesPerSecond);
    return this.number(value, { style: 'unit', unit: `${unit}-per-second`, unitDisplay: 'short' });
  }

  /** Whole percent, rounded down so that 100% means done. */
  percent(fraction: number): string {
    return this.number(Math.floor(Math.max(0, Math.min(1, fraction)) * 100) / 100, { style: 'percent' });
  }

  /**
   * A duration as people say it in a progress line: seconds under a minute (in steps of 5 above
   * ten, so the line does not flicker), whole minutes under an hour, hours and minutes beyond.
   */
  duration(seconds: number): string {
    const s = Math.max(0, Math.ceil(seconds));
    const unit = (value: number, name: 'second' | 'minute' | 'hour'): string =>
      this.number(value, { style: 'unit', unit: name, unitDisplay: 'short' });
    if (s < 60) return unit(s <= 10 ? s : Math.ceil(s / 5) * 5, 'second');
    const minutes = Math.round(s / 60);
    if (minutes < 60) return unit(minutes, 'minute');
    const hours = Math.floor(minutes / 60);
    const parts = [unit(hours, 'hour')];
    if (minutes % 60 !== 0) parts.push(unit(minutes % 60, 'minute'));
    return new Intl.ListFormat(this.locale, { type: 'unit', style: 'narrow' }).format(parts);
  }

  /** A countdown: exact seconds, so it visibly ticks. */
  countdown(seconds: number): string {
    const s = Math.max(0, Math.ceil(seconds));
    if (s < 60) return this.number(s, { style: 'unit', unit: 'second', unitDisplay: 'short' });
    return this.duration(s);
  }

  /** `reference` picks the fraction digits, so that "0.4 of 3.4 GB" and "3.4" agree. */
  private number(value: number, options: Intl.NumberFormatOptions, reference = value): string {
    const digits = Math.abs(reference) < 100 && options.style !== 'percent' ? 1 : 0;
    const key = JSON.stringify([options, digits]);
    let format = this.cache.get(key);
    if (!format) {
      format = new Intl.NumberFormat(this.locale, { ...options, maximumFractionDigits: digits, minimumFractionDigits: 0 });
      this.cache.set(key, format);
    }
    return format.format(value);
  }
}

function scale(bytes: number): { value: number; unit: (typeof BYTE_UNITS)[number]; divisor: number } {
  let value = Math.max(0, Number.isFinite(bytes) ? bytes : 0);
  let index = 0;
  while (value >= 1000 && index < BYTE_UNITS.length - 1) {
    value /= 1000;
    index++;
  }
  return { value, unit: BYTE_UNITS[index] ?? 'byte', divisor: 1000 ** index };
}

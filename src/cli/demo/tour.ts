import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { installBundle, type InstallResult } from '../../operations/install.js';
import { abortedError, InstallError } from '../../errors.js';
import type { InstallEvent } from '../../events.js';
import type { Artifact, Manifest } from '../../manifest/types.js';
import { bundleStatus } from '../../operations/status.js';
import { installLayout } from '../../store/layout.js';
import { readResumeRecord } from '../../store/resume-record.js';
import type { InstallRenderer } from '../render/install-renderer.js';
import type { Painter } from '../render/paint.js';
import { table } from '../render/table.js';
import { wrapText } from '../render/wrap.js';
import { formatBytes, percent } from '../format.js';
import { damagedCopy, type DemoFile } from '../../demo/demo-content.js';
import { DEMO_BUNDLE_NAME as BUNDLE_NAME, demoBundle } from '../../demo/demo-bundle.js';
import { startDemoOrigin, type DemoOrigin } from '../../demo/demo-origin.js';

/**
 * The guided tour behind `modelhaul demo`: a local origin, a synthetic bundle, and the real engine
 * showing what it is for (an interrupted install that resumes, a damaged download refused). It
 * prints only through `output`; the command owns the terminal, the temp folder and the exit code.
 */
export interface TourOutput {
  /** Writes text as is; lines end with `\n`. */
  write(text: string): void;
  paint: Painter;
  /** Columns to wrap narration at. */
  width: number;
  /** A fresh display for one install: the one `modelhaul install` would use on this output. */
  display(): InstallRenderer;
}

export interface TourOptions {
  /** An empty folder the tour fills; the caller removes it. */
  workDir: string;
  /** Ctrl+C: stops the tour, which then rejects with `ABORTED`. */
  signal: AbortSignal;
  /** The demo origin's rate, shared by all connections. Default {@link DEMO_BYTES_PER_SECOND}. */
  bytesPerSecond?: number;
}

/** What the tour saw; `problems` lists everything that did not go as the tour expected. */
export interface TourResult {
  problems: string[];
  bundleBytes: number;
  bytesKeptAtStop: number;
  bytesReused: number;
  bytesFetchedOnResume: number;
  elapsedMs: number;
}

/** About 160 Mbit/s: a good home connection, slow enough to watch the bars move. */
export const DEMO_BYTES_PER_SECOND = 20_000_000;
/** Where the first install is cut off, as a share of the bundle. */
const STOP_AT = 0.4;
const MIRROR_PATH = '/mirror/voice-assistant/resolve/main/';

/** The state shared by the steps of one tour. */
interface Tour {
  output: TourOutput;
  signal: AbortSignal;
  origin: DemoOrigin;
  files: DemoFile[];
  manifest: Manifest;
  bundleBytes: number;
  workDir: string;
  /** The install dir of the bundle. */
  dir: string;
  problems: string[];
  say: (text?: string) => void;
  /** Records a problem when `ok` is false; returns `ok`. */
  expect: (ok: boolean, problem: string) => boolean;
}

export async function runTour(output: TourOutput, options: TourOptions): Promise<TourResult> {
  const started = performance.now();
  const origin = await startDemoOrigin({ bytesPerSecond: options.bytesPerSecond ?? DEMO_BYTES_PER_SECOND });
  try {
    const { files, manifest, bytes } = demoBundle(origin);
    const problems: string[] = [];
    const tour: Tour = {
      output,
      signal: options.signal,
      origin,
      files,
      manifest,
      bundleBytes: bytes,
      workDir: options.workDir,
      dir: path.join(options.workDir, 'models'),
      problems,
      say: (text = '') => output.write(text.split('\n').map((line) => wrapText(line, output.width)).join('\n') + '\n'),
      expect: (ok, problem) => {
        if (!ok) problems.push(problem);
        return ok;
      },
    };
    await introduce(tour);
    const kept = await installAndCut(tour);
    const resumed = await resume(tour);
    await refuseDamaged(tour);
    return {
      problems,
      bundleBytes: tour.bundleBytes,
      bytesKeptAtStop: kept,
      bytesReused: resumed.bytesReused,
      bytesFetchedOnResume: resumed.bytesFetched,
      elapsedMs: performance.now() - started,
    };
  } finally {
    await origin.close();
  }
}

async function introduce(tour: Tour): Promise<void> {
  const { say, manifest } = tour;
  const manifestPath = path.join(tour.workDir, `${BUNDLE_NAME}.json`);
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  say(
    `A local server at ${tour.origin.origin} stands in for Hugging Face. It serves a made-up voice-assistant bundle ` +
      'whose bytes are generated on the fly, each file pinned by its real SHA-256 in the manifest:',
  );
  say();
  say(indent(table(['FILE', 'SIZE', 'SHA-256'], manifest.artifacts.map((a) => [a.label, formatBytes(a.size), `${a.sha256.slice(0, 16)}…`]))));
  say();
  say(`Manifest:    ${manifestPath}`);
  say(`Install dir: ${tour.dir}`);
}

/** Step 1: install, cut off at {@link STOP_AT}; shows what is kept. Returns the bytes kept. */
async function installAndCut(tour: Tour): Promise<number> {
  const { say, manifest, bundleBytes, output } = tour;
  const { paint } = output;
  heading(output, `1/3  Install, and lose the connection at ${Math.round(STOP_AT * 100)}%`);
  say(
    'modelhaul downloads each file into a staging area, several files and connections at a time, counting every byte. ' +
      'The download is cut off part-way, as if the Wi-Fi dropped or you pressed Ctrl+C.',
  );
  say();
  const cut = new AbortController();
  const onDisk = new Map<string, number>();
  const watch = (event: InstallEvent): void => {
    if (event.event === 'progress') onDisk.set(event.id, event.bytes);
    if (event.event === 'installed') onDisk.set(event.id, manifest.artifacts.find((a) => a.id === event.id)?.size ?? 0);
    if (!cut.signal.aborted && sum(onDisk.values()) >= STOP_AT * bundleBytes) {
      cut.abort(new Error(`the demo cut the connection at ${Math.round(STOP_AT * 100)}%`));
    }
  };
  const outcome = await install(output, manifest, tour.dir, AbortSignal.any([tour.signal, cut.signal]), watch);
  if (tour.signal.aborted) throw abortedError(tour.signal, 'The demo was interrupted');
  tour.expect(outcome === 'aborted', 'the first install was expected to be cut off, but it finished');

  const status = await bundleStatus(manifest, tour.dir);
  const kept = sum(status.artifacts.map((a) => a.bytesOnDisk));
  say();
  say(`Stopped with ${formatBytes(kept)} of ${formatBytes(bundleBytes)} (${percent(kept, bundleBytes)}) safely on disk. This is what \`modelhaul status\` reports:`);
  say();
  const statusRows = status.artifacts.map((a) => [
    a.label,
    a.state === 'installed' ? paint('green', 'installed') : a.state === 'partial' ? paint('cyan', 'partial') : paint('dim', a.state),
    a.state === 'partial' ? `${formatBytes(a.bytesOnDisk)} of ${formatBytes(a.size)}` : a.state === 'installed' ? formatBytes(a.size) : '-',
  ]);
  say(indent(table(['ARTIFACT', 'STATE', 'ON DISK'], statusRows)));
  say();
  say(
    `Nothing unfinished is at the final paths. The partial files wait in ${path.join('.modelhaul', 'staging')}, each with ` +
      'a resume record: which bytes are safely on disk (the data is fdatasync-ed before the record is written), ' +
      'and the ETag of the file those bytes came from:',
  );
  say();
  const staging = await stagingRows(tour.dir, manifest);
  say(indent(table(staging[0] ?? [], staging.slice(1))));
  tour.expect(status.artifacts.some((a) => a.state === 'partial'), 'nothing was kept on disk after the interruption');
  return kept;
}

/** Step 2: the same install again, which resumes; shows the bytes saved and a resume request. */
async function resume(tour: Tour): Promise<InstallResult> {
  const { say, output, origin } = tour;
  const { paint } = output;
  heading(output, '2/3  Run the same install again: it resumes');
  say(
    'modelhaul asks the server only for the missing bytes, with If-Range so that they can only come from the same ' +
      'version of the file, and checks every file against its SHA-256 before moving it into place.',
  );
  say();
  const requestsBefore = origin.requests.length;
  const result = await install(output, tour.manifest, tour.dir, tour.signal);
  if (result === 'aborted') throw abortedError(tour.signal, 'The demo was interrupted');
  tour.expect(result.ok, 'the resumed install did not complete');
  tour.expect(result.bytesReused > 0, 'the resumed install reused no bytes from the interrupted one');
  say();
  say(
    `${paint('green', '✓')} Resumed: ${paint('bold', formatBytes(result.bytesReused))} were reused from the interrupted run ` +
      `and only ${formatBytes(result.bytesFetched)} downloaded: ${percent(result.bytesReused, tour.bundleBytes)} of the bundle was not fetched twice.`,
  );
  // An open-ended range ("the rest of the file") reads best; segment requests end earlier.
  const resumeRequests = origin.requests.slice(requestsBefore).filter((r) => r.status === 206 && r.ifRange !== undefined);
  const example = resumeRequests.find((r) => r.range?.endsWith('-')) ?? resumeRequests[0];
  if (example) {
    say('One of the resume requests, as the server received it:');
    say(paint('dim', `    GET ${example.path}`));
    say(paint('dim', `    Range: ${example.range ?? ''}`));
    say(paint('dim', `    If-Range: ${example.ifRange ?? ''}`));
    say('    → 206 Partial Content: the file has not changed, so only the missing bytes were sent.');
  }
  return result;
}

/** Step 3: a copy with one byte flipped, installed into a fresh dir, is refused. */
async function refuseDamaged(tour: Tour): Promise<void> {
  const { say, output, origin } = tour;
  const { paint } = output;
  heading(output, '3/3  A damaged download is refused');
  const voice = requireFile(tour.files, 'tts-demo-voice');
  const pinned = requireArtifact(tour.manifest, voice.id);
  origin.serve(MIRROR_PATH + voice.path, damagedCopy(voice), `"mirror-${pinned.sha256.slice(0, 12)}"`);
  const mirrorManifest: Manifest = {
    schemaVersion: 1,
    name: `${BUNDLE_NAME}-mirror`,
    artifacts: [{ ...pinned, url: origin.url(MIRROR_PATH + voice.path) }],
  };
  const mirrorDir = path.join(tour.workDir, 'mirror-models');
  say(
    'Now a mirror hands out a copy of the voice model with one byte flipped, as a bad disk or a broken proxy might. ' +
      'The size is right, so only the SHA-256 can tell. Installing it from there into a fresh dir:',
  );
  say();
  const result = await install(output, mirrorManifest, mirrorDir, tour.signal);
  if (result === 'aborted') throw abortedError(tour.signal, 'The demo was interrupted');
  const refusal = result.results[0]?.error;
  const layout = installLayout(mirrorDir);
  const placed = await exists(layout.finalPath(voice.path));
  const staged = await exists(layout.partialPath(voice.id));
  say();
  if (tour.expect(refusal?.code === 'CHECKSUM_MISMATCH', `the damaged download ended with ${refusal?.code ?? 'success'}, not CHECKSUM_MISMATCH`)) {
    const found = typeof refusal?.details.found === 'string' ? refusal.details.found : '';
    say(
      `${paint('green', '✓')} Refused with ${paint('bold', 'CHECKSUM_MISMATCH')}: what arrived hashes to ${found.slice(0, 16)}…, ` +
        `the manifest pins ${pinned.sha256.slice(0, 16)}….`,
    );
  }
  tour.expect(!placed, `a damaged file was installed at ${layout.finalPath(voice.path)}`);
  tour.expect(!staged, 'the damaged bytes were left in the staging area');
  if (!placed && !staged) {
    say(
      `Nothing was installed at ${voice.path} and the damaged bytes were deleted: an app that loads its models from this ` +
        'folder never sees a wrong file.',
    );
  }
}

/**
 * One install with the install command's display. Resolves with the result, or `'aborted'` when
 * `signal` stopped it (the display has shown what was kept by then).
 */
async function install(
  output: TourOutput,
  manifest: Manifest,
  dir: string,
  signal: AbortSignal,
  onEvent?: (event: InstallEvent) => void,
): Promise<InstallResult | 'aborted'> {
  const display = output.display();
  try {
    return await installBundle(manifest, {
      dir,
      signal,
      onEvent: (event) => {
        display.event(event);
        onEvent?.(event);
      },
    });
  } catch (error) {
    if (error instanceof InstallError && error.code === 'ABORTED') return 'aborted';
    throw error;
  } finally {
    display.close();
  }
}

/** The staging area, explained: each partial file and what its resume record vouches for. */
async function stagingRows(dir: string, manifest: Manifest): Promise<string[][]> {
  const layout = installLayout(dir);
  const names = new Set(await readdir(layout.stagingDir).catch(() => [] as string[]));
  const rows: string[][] = [];
  for (const artifact of manifest.artifacts) {
    if (!names.has(`${artifact.id}.partial`)) continue;
    rows.push([`${artifact.id}.partial`, 'the bytes received so far, each written at its place in the file']);
    const read = await readResumeRecord(layout.resumeRecordPath(artifact.id));
    if (read.state !== 'ok') continue;
    const durable = sum(read.record.segments.map((s) => s.done));
    const pieces = read.record.segments.length;
    rows.push([`${artifact.id}.resume.json`, `${formatBytes(durable)} durable${pieces > 1 ? ` (${pieces} segments)` : ''}, ETag ${read.record.etag ?? 'none'}`]);
  }
  return rows;
}

function heading(output: TourOutput, title: string): void {
  output.write(`\n${output.paint('bold', `── ${title} ──`)}\n`);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `  ${line}`))
    .join('\n');
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

function requireFile(files: readonly DemoFile[], id: string): DemoFile {
  const file = files.find((f) => f.id === id);
  if (!file) throw new Error(`demo file ${id} is missing`);
  return file;
}

function requireArtifact(manifest: Manifest, id: string): Artifact {
  const artifact = manifest.artifacts.find((a) => a.id === id);
  if (!artifact) throw new Error(`demo artifact ${id} is missing`);
  return artifact;
}

// Shared set-up for the end-to-end HTTP tests: a misbehaving origin, an install dir and a manifest
// on a real temp directory, and `modelhaul install --json` run as a child process. The assertions
// here look at what a user would: the bytes at the final path, what is left in the staging area,
// and what the origin received.
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runCli, writeManifest, type CliEvent, type CliOptions, type CliResult, type ManifestArtifact } from './cli.js';
import { sha256Hex } from './content.js';
import { startOrigin, type Origin, type OriginOptions, type RecordedRequest } from './origin.js';
import { useTempDir } from './tmp.js';
import type { ResumeRecordJson } from './install-dir.js';

/** An origin that is closed when the test ends. */
export async function useOrigin(t: TestContext, options?: OriginOptions): Promise<Origin> {
  const origin = await startOrigin(options);
  t.after(() => origin.close());
  return origin;
}

/** A manifest entry for `content` at `url`; the id names the file in `models/`. */
export function artifactFor(url: string, content: Buffer, id = 'model', overrides: Partial<ManifestArtifact> = {}): ManifestArtifact {
  return {
    id,
    kind: 'other',
    label: `Test file ${id}`,
    url,
    size: content.length,
    sha256: sha256Hex(content),
    path: `models/${id}.bin`,
    ...overrides,
  };
}

export interface InstallBench {
  /** The install dir (`--dir`). */
  dir: string;
  manifest: string;
  artifacts: ManifestArtifact[];
  /** `modelhaul install --manifest M --dir D --json --retry-delay 0.05 ...extra`. */
  install(extra?: string[], options?: CliOptions): Promise<CliResult>;
}

/** A temp dir holding a manifest for `artifacts` and an install dir next to it. */
export async function useInstallBench(t: TestContext, artifacts: ManifestArtifact[]): Promise<InstallBench> {
  const root = await useTempDir(t, 'http');
  const manifest = await writeManifest(root, artifacts);
  const dir = join(root, 'install');
  return {
    dir,
    manifest,
    artifacts,
    install: (extra = [], options = {}) =>
      runCli(['install', '--manifest', manifest, '--dir', dir, '--json', '--retry-delay', '0.05', ...extra], options),
  };
}

/** The events named `name` (for artifact `id` when given), in order. */
export function eventsOf(result: CliResult, name: string, id?: string): CliEvent[] {
  return result.events.filter((event) => event.event === name && (id === undefined || event.id === id));
}

/** The one `failed` event of artifact `id`. */
export function failureOf(result: CliResult, id: string): { code: unknown; hint: unknown; retryable: unknown; error: Record<string, unknown> } {
  const failed = eventsOf(result, 'failed', id);
  assert.equal(failed.length, 1, `one failed event for ${id}; events: ${summarize(result)}`);
  const event = failed[0]!;
  return { code: event.code, hint: event.hint, retryable: event.retryable, error: event.error as Record<string, unknown> };
}

/** Event names and codes in order, for assertion messages. */
export function summarize(result: CliResult): string {
  return result.events
    .filter((event) => event.event !== 'progress')
    .map((event) => {
      const error = event.error as { code?: string; message?: string } | undefined;
      const detail = [event.code, error?.code, event.reason].find((value): value is string => typeof value === 'string') ?? '';
      return `${String(event.event)}${detail === '' ? '' : `(${detail}${error?.message ? `: ${error.message}` : ''})`}`;
    })
    .join(', ') + (result.stderr.trim() === '' ? '' : `; stderr: ${result.stderr.trim().slice(-2000)}`);
}

/** Asserts the CLI exited with `code`, showing its events when it did not. */
export function assertExit(result: CliResult, code: number): void {
  assert.equal(result.code, code, `exit code; events: ${summarize(result)}`);
}

/** Asserts the artifact's final file holds exactly `content` and nothing is left in staging for it. */
export async function assertInstalled(bench: InstallBench, artifact: ManifestArtifact, content: Buffer): Promise<void> {
  const onDisk = await readFile(join(bench.dir, ...artifact.path.split('/')));
  assert.equal(onDisk.length, content.length, `${artifact.id}: size at the final path`);
  assert.ok(onDisk.equals(content), `${artifact.id}: the installed bytes are the served file`);
  assert.deepEqual(await stagingEntries(bench, artifact.id), [], `${artifact.id}: nothing left in staging`);
}

/** Asserts nothing is at the artifact's final path and neither a partial nor a resume record is kept. */
export async function assertNothingKept(bench: InstallBench, artifact: ManifestArtifact): Promise<void> {
  await assert.rejects(stat(join(bench.dir, ...artifact.path.split('/'))), { code: 'ENOENT' }, `${artifact.id}: nothing at the final path`);
  assert.deepEqual(await stagingEntries(bench, artifact.id), [], `${artifact.id}: partial and resume record discarded`);
}

/** Asserts nothing is at the final path while a partial is kept for resuming; returns its size. */
export async function assertPartialKept(bench: InstallBench, artifact: ManifestArtifact): Promise<number> {
  await assert.rejects(stat(join(bench.dir, ...artifact.path.split('/'))), { code: 'ENOENT' }, `${artifact.id}: nothing at the final path`);
  const partial = await stat(partialPath(bench, artifact.id));
  return partial.size;
}

export function partialPath(bench: InstallBench, id: string): string {
  return join(bench.dir, '.modelhaul', 'staging', `${id}.partial`);
}

export function resumeRecordPath(bench: InstallBench, id: string): string {
  return join(bench.dir, '.modelhaul', 'staging', `${id}.resume.json`);
}

/** The staging entries that belong to artifact `id` (partial, record, temp files). */
export async function stagingEntries(bench: InstallBench, id: string): Promise<string[]> {
  try {
    return (await readdir(join(bench.dir, '.modelhaul', 'staging'))).filter((name) => name.startsWith(`${id}.`));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** The resume record of `id` as JSON, for tests that check what the next run will resume from. */
export async function readResumeRecordJson(bench: InstallBench, id: string): Promise<ResumeRecordJson> {
  return JSON.parse(await readFile(resumeRecordPath(bench, id), 'utf8')) as ResumeRecordJson;
}

/** Every value the client sent for header `name`, from the raw headers (duplicates kept). */
export function headerValues(request: RecordedRequest, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    if (request.rawHeaders[i]!.toLowerCase() === name) values.push(request.rawHeaders[i + 1]!);
  }
  return values;
}

/**
 * Asserts a request for the missing bytes from `offset`: exactly one `Range: bytes=offset-`, the
 * given If-Range (or none when `ifRange` is undefined) and exactly one `Accept-Encoding: identity`.
 */
export function assertResumeRequest(request: RecordedRequest, offset: number, ifRange: string | undefined): void {
  assert.deepEqual(headerValues(request, 'range'), [`bytes=${offset}-`], 'exactly one open-ended Range from the bytes on disk');
  assert.deepEqual(headerValues(request, 'if-range'), ifRange === undefined ? [] : [ifRange], 'If-Range');
  assert.deepEqual(headerValues(request, 'accept-encoding'), ['identity'], 'Accept-Encoding: identity');
}

/** Asserts a plain GET from zero: no Range, no If-Range, Accept-Encoding identity. */
export function assertPlainRequest(request: RecordedRequest): void {
  assert.equal(request.method, 'GET');
  assert.deepEqual(headerValues(request, 'range'), [], 'no Range');
  assert.deepEqual(headerValues(request, 'if-range'), [], 'no If-Range');
  assert.deepEqual(headerValues(request, 'accept-encoding'), ['identity'], 'Accept-Encoding: identity');
}

/** Short description of requests, for assertion messages. */
export function describeRequests(requests: readonly RecordedRequest[]): string {
  return requests.map((r) => `${r.target} range=${r.range ?? '-'} if-range=${r.ifRange ?? '-'} → ${r.status ?? 'none'} (${r.bytesSent} B)`).join('; ');
}

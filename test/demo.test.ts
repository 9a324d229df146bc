// `modelhaul demo` as a newcomer runs it: a child process with its output piped, no network
// (the demo's origin is on 127.0.0.1 inside the process, and proxy variables that point nowhere
// must not get in its way), and nothing left behind in the temp dir afterwards, also after Ctrl+C
// (unless --keep).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CLI_PATH, runCli } from './helpers/cli.js';
import { pathExists } from './helpers/served-artifact.js';
import { useTempDir } from './helpers/tmp.js';

/** Proxies that lead nowhere: the demo must reach its loopback origin directly anyway. */
const DEAD_PROXIES = { HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', NO_PROXY: undefined, no_proxy: undefined };
const PLAIN = { NO_COLOR: undefined, FORCE_COLOR: undefined, CI: undefined };

const UNITS: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 };

function bytesOf(text: string): number {
  const match = /^([\d.]+) (B|kB|MB|GB)$/.exec(text);
  assert.ok(match, `not a byte count: ${text}`);
  return Number(match[1]) * (UNITS[match[2] ?? 'B'] ?? 1);
}

function workingFolder(stdout: string): string {
  const match = /^Working folder: (\S+)/m.exec(stdout);
  assert.ok(match?.[1], `no "Working folder:" line in:\n${stdout}`);
  return match[1];
}

test('modelhaul demo installs, resumes, refuses a damaged file and removes its folder', { timeout: 120_000 }, async (t) => {
  const tmp = await useTempDir(t, 'demo-tmpdir');
  const result = await runCli(['demo'], { env: { ...DEAD_PROXIES, ...PLAIN, TMPDIR: tmp }, timeoutMs: 110_000 });
  assert.equal(result.code, 0, `exit ${result.code}; stderr:\n${result.stderr}\nstdout:\n${result.stdout}`);
  const out = result.stdout;

  // Piped output is for logs: no colours, no cursor movement.
  assert.ok(!out.includes('\u001b'), 'escape codes in piped output');
  // Step 1: the cut, and what is kept.
  assert.match(out, /: stopped, [\d.]+ [kMG]?B kept/);
  assert.match(out, /ARTIFACT\s+STATE\s+ON DISK/);
  assert.match(out, /partial\s+[\d.]+ [kMG]?B of [\d.]+ [kMG]?B/);
  // Step 2: the resume, with the bytes it saved.
  assert.match(out, /resuming from [\d.]+ [kMG]?B/);
  const resumed = /Resumed: ([\d.]+ [kMG]?B) were reused from the interrupted run/.exec(out);
  assert.ok(resumed?.[1], 'no "Resumed: ... were reused" line');
  const reused = bytesOf(resumed[1]);
  assert.ok(reused > 20e6, `only ${reused} bytes reused`);
  assert.match(out, /Range: bytes=\d+-/);
  assert.match(out, /If-Range: "[0-9a-f]+"/);
  // Step 3: the damaged copy.
  assert.match(out, /failed: CHECKSUM_MISMATCH/);
  assert.match(out, /Refused with CHECKSUM_MISMATCH/);
  assert.match(out, /Nothing was installed at tts\/demo-voice\.onnx/);
  // What to run next.
  assert.match(out, /modelhaul install\s+the voice-assistant bundle/);

  const folder = workingFolder(out);
  assert.ok(folder.startsWith(tmp), `the demo worked in ${folder}, not under TMPDIR ${tmp}`);
  assert.equal(await pathExists(folder), false, `${folder} is still there`);
  assert.deepEqual(await readdir(tmp), [], 'the demo left something in the temp dir');
});

/** Starts `modelhaul demo ...args`, sends SIGINT once a download is under way, and waits for the exit. */
async function interruptDemo(t: TestContext, tmp: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_PATH, 'demo', ...args], { env: { ...process.env, ...PLAIN, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      if (/downloading [\d.]+ [kMG]?B/.test(stdout)) resolve();
    });
    void exited.then(() => reject(new Error(`the demo exited before downloading; stderr:\n${stderr}`)));
  });
  // Let a few bytes land, so that a kept folder has something to show.
  await delay(500);
  child.kill('SIGINT');
  return { code: await exited, stdout, stderr };
}

test('Ctrl+C stops the demo and still removes its folder', { timeout: 60_000 }, async (t) => {
  const tmp = await useTempDir(t, 'demo-sigint');
  const { code, stdout, stderr } = await interruptDemo(t, tmp);
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted by SIGINT/);
  const folder = workingFolder(stdout);
  assert.equal(await pathExists(folder), false, `${folder} is still there after Ctrl+C`);
  assert.deepEqual(await readdir(tmp), []);
});

test('demo --keep keeps its folder, says where, and status can read it', { timeout: 60_000 }, async (t) => {
  const tmp = await useTempDir(t, 'demo-keep');
  const { code, stdout, stderr } = await interruptDemo(t, tmp, '--keep');
  assert.equal(code, 130, stderr);
  const folder = workingFolder(stdout);
  assert.ok(stdout.includes(`Kept the demo folder: ${folder}`), stdout);
  const status = await runCli(['status', '--json', '-m', join(folder, 'voice-assistant-demo.json'), '-d', join(folder, 'models')]);
  assert.equal(status.code, 0, status.stderr);
  const artifacts = status.events[0]?.artifacts as Array<{ state: string }> | undefined;
  assert.ok(artifacts?.some((artifact) => artifact.state === 'partial'), status.stdout);
});

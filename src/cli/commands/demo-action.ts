import { rm } from 'node:fs/promises';
import path from 'node:path';
import { InstallError } from '../../errors.js';
import { findBundle } from '../../manifest/bundles.js';
import { runTour, type TourOutput, type TourResult } from '../demo/tour.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { formatBytes, formatDuration } from '../format.js';
import { reportError } from '../report-error.js';
import { DEFAULT_BUNDLE } from '../options.js';
import { resolveDir } from '../target.js';
import { lineRenderer } from '../render/line-renderer.js';
import { wrapText } from '../render/wrap.js';
import { openDemoSession } from '../demo/demo-session.js';
import type { DemoCommandOptions } from './demo.js';

export async function runDemo(options: DemoCommandOptions, context: CliContext): Promise<number> {
  const { paint } = context;
  const keep = options.keep === true;
  // The live view, and log-update with it, is loaded only for a terminal that shows it.
  const live = context.interactive ? await import('../render/live-renderer.js') : undefined;
  const { workDir, interruption, end } = await openDemoSession(context, keep);
  // Output piped into `head` that has exited (EPIPE) ends the tour rather than the process.
  const outputGone = new AbortController();
  const onOutputError = (): void => outputGone.abort(new Error('the output was closed'));
  context.stdout.on('error', onOutputError);
  const width = Math.min(100, (context.interactive ? context.stdout.columns : 0) || 100) - 1;
  const say = (text: string): void => context.out(wrapText(text, width) + '\n');
  const output: TourOutput = {
    write: context.out,
    paint,
    width,
    display: () => (live ? live.liveRenderer(context.stdout, paint) : lineRenderer(context.out, paint)),
  };
  say(`${paint('bold', 'modelhaul demo')}: a guided tour that runs entirely on this machine; no network needed.`);
  say(`Working folder: ${workDir} (${keep ? 'kept at the end' : 'removed at the end; --keep keeps it'})\n`);

  let result: TourResult | undefined;
  let exitCode: number = EXIT.ok;
  try {
    result = await runTour(output, { workDir, signal: AbortSignal.any([interruption.signal, outputGone.signal]) });
  } catch (error) {
    if (outputGone.signal.aborted) {
      exitCode = EXIT.failed;
    } else if (interruption.received !== undefined && error instanceof InstallError && error.code === 'ABORTED') {
      context.err(`\nmodelhaul demo: interrupted by ${interruption.received}.\n`);
      exitCode = interruption.received === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
    } else {
      exitCode = reportError(error, { json: false, stdout: context.out, stderr: context.err, paint: context.paintErr });
    }
  } finally {
    end();
  }

  const cleanup = keep ? undefined : await rm(workDir, { recursive: true, force: true }).then(() => 'removed', (error: unknown) => error);
  if (outputGone.signal.aborted) return exitCode;
  context.stdout.off('error', onOutputError);
  if (result) {
    context.out(`\n${paint('bold', '── Done ──')}\n`);
    say(
      `In ${formatDuration(result.elapsedMs)}: a ${formatBytes(result.bundleBytes)} bundle installed through a cut connection, ` +
        `${formatBytes(result.bytesReused)} reused instead of downloaded again, and a damaged file refused.`,
    );
  }
  if (keep) {
    context.out(`Kept the demo folder: ${workDir}\n`);
    context.out(`  $ modelhaul status -m ${path.join(workDir, 'voice-assistant-demo.json')} -d ${path.join(workDir, 'models')}\n`);
  } else if (cleanup === 'removed') {
    context.out(`Removed the demo folder ${workDir}.\n`);
  } else {
    context.err(`modelhaul demo: could not remove ${workDir}: ${cleanup instanceof Error ? cleanup.message : String(cleanup)}\n`);
    if (exitCode === EXIT.ok) exitCode = EXIT.failed;
  }
  if (!result) return exitCode;

  if (result.problems.length > 0) {
    context.err(`${context.paintErr('red', '✗ The demo did not go as expected:')}\n`);
    for (const problem of result.problems) context.err(`  - ${problem}\n`);
    context.err('  Please report this with the output above.\n');
    return EXIT.failed;
  }
  const real = findBundle(DEFAULT_BUNDLE);
  const realBytes = real ? real.artifacts.reduce((sum, a) => sum + a.size, 0) : 0;
  context.out(`\nNext, for real (this downloads from huggingface.co):\n`);
  context.out(`  ${paint('bold', 'modelhaul install')}     the ${DEFAULT_BUNDLE} bundle (${formatBytes(realBytes)}) into ${resolveDir(undefined, DEFAULT_BUNDLE, context.env)}\n`);
  context.out(`  ${paint('bold', 'modelhaul status')}      what is installed there, read from metadata in an instant\n`);
  context.out(`  ${paint('bold', 'modelhaul verify')}      re-hash the installed files\n`);
  context.out(`  ${paint('bold', 'modelhaul --help')}      every command, with examples\n`);
  return exitCode;
}

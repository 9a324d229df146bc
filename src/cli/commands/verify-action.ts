import { verifyBundle, type VerifyOptions } from '../../operations/verify.js';
import { isInstallError } from '../../errors.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { reportError } from '../report-error.js';
import { resolveTarget } from '../target.js';
import { formatBytes, formatRate, percent } from '../format.js';
import { bar } from '../render/install-text.js';
import { listenForInterruption } from '../signals.js';
import type { VerifyCommandOptions } from './verify.js';

export async function runVerify(options: VerifyCommandOptions, context: CliContext): Promise<number> {
  // log-update (and its dependencies) only for a terminal that shows the redrawn line.
  const live = !options.json && context.interactive ? (await import('log-update')).createLogUpdate(context.stdout) : undefined;
  const interruption = listenForInterruption((signal) => process.exit(signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm));
  try {
    const target = await resolveTarget({ ...options, allowHttp: true }, context.env);
    const started = performance.now();
    const verifyOptions: VerifyOptions = { signal: interruption.signal };
    if (live) {
      let lastDraw = 0;
      verifyOptions.onProgress = (progress) => {
        const now = performance.now();
        if (now - lastDraw < 100) return;
        lastDraw = now;
        const rate = (progress.bundleBytes * 1000) / Math.max(1, now - started);
        live(`Verifying ${progress.id}  ${bar(progress.bundleBytes / progress.bundleTotal, 24)} ${percent(progress.bundleBytes, progress.bundleTotal)}  ${formatBytes(progress.bundleBytes)} / ${formatBytes(progress.bundleTotal)}  ${formatRate(rate)}`);
      };
    }
    const result = await verifyBundle(target.manifest, target.dir, verifyOptions);
    live?.clear();
    if (options.json) {
      context.out(JSON.stringify({ event: 'verify', ...result }) + '\n');
    } else {
      for (const artifact of result.artifacts) {
        const mark = artifact.result === 'ok' ? context.paint('green', '✓') : context.paint('red', '✗');
        const detail =
          artifact.result === 'ok'
            ? 'matches'
            : artifact.result === 'missing'
              ? `missing (${artifact.path})`
              : `does NOT match: expected ${artifact.expectedSha256}, found ${artifact.foundSha256 ?? artifact.error?.message ?? 'unreadable'}`;
        context.out(`${mark} ${artifact.label} (${artifact.id}): ${detail}\n`);
      }
      const bad = result.artifacts.filter((a) => a.result !== 'ok');
      context.out(
        bad.length === 0
          ? context.paint('green', `All ${result.artifacts.length} files match their SHA-256.\n`)
          : `${bad.length} of ${result.artifacts.length} do not match or are missing: ${bad.map((a) => a.id).join(', ')}. Run \`modelhaul install\` with the same options to fetch them again.\n`,
      );
    }
    return result.ok ? EXIT.ok : EXIT.failed;
  } catch (error) {
    live?.clear();
    // A stop the user asked for is not a failure: scripts tell the two apart by the exit code.
    if (interruption.received !== undefined && isInstallError(error) && error.code === 'ABORTED') {
      if (!options.json) context.err(`modelhaul: verification interrupted by ${interruption.received}.\n`);
      return interruption.received === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
    }
    return reportError(error, { json: options.json === true, stdout: context.out, stderr: context.err, paint: context.paintErr });
  } finally {
    interruption.dispose();
  }
}

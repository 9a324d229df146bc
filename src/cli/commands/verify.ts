import type { Command } from 'commander';
import { createLogUpdate } from 'log-update';
import { verifyBundle, type VerifyOptions } from '../../verify.js';
import { isInstallError } from '../../errors.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { reportError } from '../report-error.js';
import { resolveTarget } from '../target.js';
import { addTargetOptions } from '../options.js';
import { formatBytes, formatRate, percent } from '../format.js';
import { bar } from '../render/install-text.js';
import { listenForInterruption } from '../signals.js';

interface VerifyCommandOptions {
  manifest?: string;
  bundle?: string;
  dir?: string;
  json?: boolean;
}

export function registerVerify(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  addTargetOptions(program.command('verify'))
    .description('re-hash every installed file and compare it with the SHA-256 in the manifest')
    .option('--json', 'print the result as one JSON object')
    .addHelpText(
      'after',
      `
Exits 1 and names the artifact when a file is missing or does not match.

Examples:
  $ modelhaul verify
  $ modelhaul verify --manifest models.json --dir ./models`,
    )
    .action(async (options: VerifyCommandOptions) => {
      const interruption = listenForInterruption((signal) => process.exit(signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm));
      const live = !options.json && context.interactive ? createLogUpdate(context.stdout) : undefined;
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
        setExitCode(result.ok ? EXIT.ok : EXIT.failed);
      } catch (error) {
        live?.clear();
        // A stop the user asked for is not a failure: scripts tell the two apart by the exit code.
        if (interruption.received !== undefined && isInstallError(error) && error.code === 'ABORTED') {
          if (!options.json) context.err(`modelhaul: verification interrupted by ${interruption.received}.\n`);
          setExitCode(interruption.received === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
          return;
        }
        setExitCode(reportError(error, { json: options.json === true, stdout: context.out, stderr: context.err, paint: context.paintErr }));
      } finally {
        interruption.dispose();
      }
    });
}

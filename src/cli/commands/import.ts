import type { Command } from 'commander';
import { importArtifact } from '../../import-file.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { reportError } from '../report-error.js';
import { resolveTarget } from '../target.js';
import { addTargetOptions, seconds } from '../options.js';
import { formatBytes } from '../format.js';
import { listenForInterruption } from '../signals.js';
import { progressLine } from '../render/progress-line.js';
import { usageExitFor } from '../usage-exit.js';

interface ImportCommandOptions {
  id: string;
  move?: boolean;
  manifest?: string;
  bundle?: string;
  dir?: string;
  json?: boolean;
  lockTimeout?: number;
}

export function registerImport(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  addTargetOptions(program.command('import'))
    .description('adopt a file downloaded some other way (browser, USB stick) after checking its SHA-256')
    .argument('<file>', 'the downloaded file')
    .requiredOption('--id <id>', 'the artifact the file is (see `modelhaul status`)')
    .option('--move', 'move the file instead of copying it (a rename on the same file system)')
    .option('--json', 'print the result as one JSON object')
    .option('--lock-timeout <seconds>', 'seconds to wait for another modelhaul using the dir (default: do not wait)', seconds)
    .addHelpText(
      'after',
      `
The file must have the size and SHA-256 the manifest gives for the artifact; a file that does not
is refused (exit 1) and nothing changes. With --move on another file system, the file is copied
and the original removed only once the copy is verified and in place.

Examples:
  $ modelhaul import ~/Downloads/ggml-base.en.bin --id stt-whisper-base-en
  $ modelhaul import /media/usb/model.gguf --id my-llm --manifest models.json --dir ./models --move`,
    )
    .action(async (file: string, options: ImportCommandOptions) => {
      setExitCode(await runImport(file, options, context));
    });
}

async function runImport(file: string, options: ImportCommandOptions, context: CliContext): Promise<number> {
  const json = options.json === true;
  const interruption = listenForInterruption(() => process.exit(EXIT.sigint));
  const progress = progressLine(context, !json);
  try {
    const target = await resolveTarget({ ...options, allowHttp: true }, context.env);
    const result = await importArtifact(target.manifest, target.dir, file, {
      id: options.id,
      move: options.move === true,
      signal: interruption.signal,
      lockTimeoutMs: options.lockTimeout ?? 0,
      onProgress: ({ phase, bytes, total }) => progress.update(phase === 'hashing' ? 'Checking SHA-256' : 'Copying', bytes, total),
    });
    progress.clear();
    if (json) {
      context.out(JSON.stringify({ event: 'import', ...result }) + '\n');
    } else if (result.outcome === 'already-installed') {
      context.out(`${result.label} (${result.id}) is already installed and verified at ${result.file}; nothing changed.\n`);
    } else {
      const how = result.method === 'renamed' ? 'moved' : result.sourceRemoved ? 'copied (original removed)' : 'copied';
      context.out(`${context.paint('green', '✓')} ${result.label} (${result.id}): SHA-256 matches, ${how} to ${result.file} (${formatBytes(result.size)})\n`);
    }
    return EXIT.ok;
  } catch (error) {
    progress.clear();
    return usageExitFor(error, reportError(error, { json, stdout: context.out, stderr: context.err, paint: context.paintErr }));
  } finally {
    interruption.dispose();
  }
}

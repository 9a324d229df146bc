import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { addTargetOptions, seconds } from '../options.js';

export interface ImportCommandOptions {
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
      const { runImport } = await import('./import-action.js');
      setExitCode(await runImport(file, options, context));
    });
}

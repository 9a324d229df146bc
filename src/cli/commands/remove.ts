import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { addTargetOptions, seconds } from '../options.js';

export interface RemoveCommandOptions {
  manifest?: string;
  bundle?: string;
  dir?: string;
  json?: boolean;
  lockTimeout?: number;
}

export function registerRemove(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  addTargetOptions(program.command('remove'))
    .description('uninstall artifacts: their files, install records and any partial download')
    .argument('<id...>', 'artifact ids from the manifest (see `modelhaul status`)')
    .option('--json', 'print the result as one JSON object')
    .option('--lock-timeout <seconds>', 'seconds to wait for another modelhaul using the dir (default: do not wait)', seconds)
    .addHelpText(
      'after',
      `
Only files modelhaul installed are removed; a file at an artifact's path that modelhaul has no
record of installing is left alone. An unknown id changes nothing and exits 2.

Examples:
  $ modelhaul remove llm-qwen2.5-0.5b-instruct-q4km
  $ modelhaul remove stt-whisper-base-en tts-piper-en-us-lessac-medium --dir ./models
  $ modelhaul remove my-model --manifest models.json --dir ./models --json`,
    )
    .action(async (ids: string[], options: RemoveCommandOptions) => {
      const { runRemove } = await import('./remove-action.js');
      setExitCode(await runRemove(ids, options, context));
    });
}

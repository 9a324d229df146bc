import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { addTargetOptions } from '../options.js';

export interface StatusCommandOptions {
  manifest?: string;
  bundle?: string;
  dir?: string;
  json?: boolean;
}

export function registerStatus(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  addTargetOptions(program.command('status'))
    .description('show what is installed, partly downloaded, missing or changed (reads no file contents, no network)')
    .option('--json', 'print the status as one JSON object')
    .addHelpText(
      'after',
      `
States: installed (verified and unchanged since), partial (bytes kept for resuming), missing,
changed (a file is there but it is not the one modelhaul verified: run install or verify).

Examples:
  $ modelhaul status
  $ modelhaul status --manifest models.json --dir ./models --json`,
    )
    .action(async (options: StatusCommandOptions) => {
      const { runStatus } = await import('./status-action.js');
      setExitCode(await runStatus(options, context));
    });
}

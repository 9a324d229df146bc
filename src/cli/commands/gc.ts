import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { addTargetOptions, seconds } from '../options.js';

export interface GcCommandOptions {
  manifest?: string;
  bundle?: string;
  dir?: string;
  yes?: boolean;
  allPartials?: boolean;
  json?: boolean;
  lockTimeout?: number;
}

export function registerGc(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  addTargetOptions(program.command('gc'))
    .description('list (and with --yes remove) what the install dir holds that the manifest does not need')
    .option('-y, --yes', 'remove the listed files (without it, gc only lists them)')
    .option('--all-partials', 'also remove partial downloads the manifest still needs (they would be resumed otherwise)')
    .option('--json', 'print the result as one JSON object')
    .option('--lock-timeout <seconds>', 'with --yes, seconds to wait for another modelhaul using the dir (default: do not wait)', seconds)
    .addHelpText(
      'after',
      `
Looks only at modelhaul's own folder (<dir>/.modelhaul) and at files modelhaul installed: stale
partial downloads and resume records, corrupt records, temp files of interrupted writes, and
install records and files of artifacts the manifest no longer lists. Your own files in the dir,
and verified files the manifest still needs, are never touched.

Examples:
  $ modelhaul gc --manifest models.json --dir ./models          # dry run: lists, removes nothing
  $ modelhaul gc --manifest models.json --dir ./models --yes    # removes, prints the bytes freed
  $ modelhaul gc --yes --all-partials                           # also drop unfinished downloads`,
    )
    .action(async (options: GcCommandOptions) => {
      const { runGc } = await import('./gc-action.js');
      setExitCode(await runGc(options, context));
    });
}

import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export interface BundlesCommandOptions {
  json?: boolean;
}

export function registerBundles(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  program
    .command('bundles')
    .description('list the built-in bundles: what each installs and how much it downloads')
    .option('--json', 'print the bundles as one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ modelhaul bundles
  $ modelhaul install --bundle voice-assistant-lite
  $ modelhaul bundles --json | jq '.bundles[] | {name, totalSize}'`,
    )
    .action(async (options: BundlesCommandOptions) => {
      const { runBundles } = await import('./bundles-action.js');
      setExitCode(runBundles(options, context));
    });
}

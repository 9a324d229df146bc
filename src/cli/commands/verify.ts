import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { addTargetOptions } from '../options.js';

export interface VerifyCommandOptions {
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
      const { runVerify } = await import('./verify-action.js');
      setExitCode(await runVerify(options, context));
    });
}

import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export interface DemoCommandOptions {
  keep?: boolean;
}

export function registerDemo(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  program
    .command('demo')
    .description('a guided tour on this machine, no network needed: install, interruption, resume, a damaged file refused')
    .option('--keep', 'keep the demo folder (manifest and install dirs) and print where it is')
    .addHelpText(
      'after',
      `
The demo starts a local server on 127.0.0.1 that serves a made-up ~200 MB voice-assistant bundle
with real SHA-256s, installs it with the same engine and display as \`modelhaul install\`, cuts
the connection part-way, resumes, and shows a damaged download being refused. It takes about
15 seconds and removes everything it created (unless --keep).

Examples:
  $ modelhaul demo
  $ modelhaul demo --keep        # then look around with modelhaul status -m ... -d ...
  $ modelhaul demo > demo.log    # plain lines, no colours or redraws`,
    )
    .action(async (options: DemoCommandOptions) => {
      const { runDemo } = await import('./demo-action.js');
      setExitCode(await runDemo(options, context));
    });
}

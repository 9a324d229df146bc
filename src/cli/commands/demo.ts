import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';

export interface DemoCommandOptions {
  keep?: boolean;
  browser?: boolean;
  port?: number;
}

/** A TCP port for --port: 0 (any free one) to 65535. */
function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535 (0: any free port)');
  return Number(value);
}

export function registerDemo(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  program
    .command('demo')
    .description('a guided tour on this machine, no network needed: install, interruption, resume, a damaged file refused')
    .option('--keep', 'keep the demo folder (manifest and install dirs) and print where it is')
    .option('--browser', 'serve a page with the download modal on 127.0.0.1 instead, until Ctrl+C')
    .option('--port <n>', 'with --browser: the port on 127.0.0.1 (default 0: any free port)', port)
    .addHelpText(
      'after',
      `
The demo starts a local server on 127.0.0.1 that serves a made-up ~200 MB voice-assistant bundle
with real SHA-256s, installs it with the same engine and display as \`modelhaul install\`, cuts
the connection part-way, resumes, and shows a damaged download being refused. It takes about
15 seconds and removes everything it created (unless --keep).

With --browser it prints the address of a page instead (open it in a browser on this machine):
a small app with the download modal, driven by a model lifecycle installing the same bundle at a
pace you can watch, and switches that cut the connection, stall the server, go offline or hand
out damaged files. It serves until Ctrl+C.

Examples:
  $ modelhaul demo
  $ modelhaul demo --keep        # then look around with modelhaul status -m ... -d ...
  $ modelhaul demo > demo.log    # plain lines, no colours or redraws
  $ modelhaul demo --browser     # then open the printed http://127.0.0.1:... address
  $ modelhaul demo --browser --port 8080`,
    )
    .action(async (options: DemoCommandOptions) => {
      if (options.port !== undefined && options.browser !== true) {
        context.err('modelhaul demo: --port goes with --browser\n');
        setExitCode(EXIT.usage);
        return;
      }
      if (options.browser === true) {
        const { runBrowserDemo } = await import('./demo-browser-action.js');
        setExitCode(await runBrowserDemo(options, context));
        return;
      }
      const { runDemo } = await import('./demo-action.js');
      setExitCode(await runDemo(options, context));
    });
}

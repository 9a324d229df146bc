import { rm } from 'node:fs/promises';
import { startBrowserDemo, type BrowserDemo } from '../../demo/browser-demo.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { openDemoSession } from '../demo/demo-session.js';
import { wrapText } from '../render/wrap.js';
import type { DemoCommandOptions } from './demo.js';

/**
 * `modelhaul demo --browser`: serves the page and the lifecycle behind it until SIGINT or SIGTERM,
 * then stops the install, removes the demo folder (unless --keep) and exits 0: stopping it is the
 * way it ends.
 */
export async function runBrowserDemo(options: DemoCommandOptions, context: CliContext): Promise<number> {
  const { paint } = context;
  const keep = options.keep === true;
  const { workDir, interruption, end } = await openDemoSession(context, keep);
  const width = Math.min(100, (context.interactive ? context.stdout.columns : 0) || 100) - 1;

  let demo: BrowserDemo | undefined;
  try {
    demo = await startBrowserDemo({ workDir, port: options.port ?? 0 });
  } catch (error) {
    end();
    if (!keep) await rm(workDir, { recursive: true, force: true });
    const code = (error as { code?: unknown }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      context.err(`modelhaul demo: cannot listen on 127.0.0.1:${options.port}: ${code === 'EADDRINUSE' ? 'the port is in use' : 'not allowed'}; choose another with --port, or --port 0 for any free one\n`);
      return EXIT.usage;
    }
    throw error;
  }

  context.out(wrapText(`${paint('bold', 'modelhaul demo --browser')}: a small app with the download modal, driven by the real engine installing a made-up ~200 MB bundle from a server on 127.0.0.1. Nothing leaves this machine.`, width) + '\n');
  context.out(`Working folder: ${workDir} (${keep ? 'kept at the end' : 'removed at the end; --keep keeps it'})\n\n`);
  context.out('Open this address in a browser on this machine:\n\n');
  // On a line of its own, so a terminal makes it clickable and a script can read it.
  context.out(`${demo.url}\n\n`);
  context.out('Ctrl+C stops the demo.\n');

  await new Promise<void>((resolve) => interruption.signal.addEventListener('abort', () => resolve(), { once: true }));
  context.out(`\nmodelhaul demo: stopping (${interruption.received ?? 'signal'}).\n`);
  await demo.close();
  end();
  if (keep) {
    context.out(`Kept the demo folder: ${workDir}\n`);
    return EXIT.ok;
  }
  try {
    await rm(workDir, { recursive: true, force: true });
    context.out(`Removed the demo folder ${workDir}.\n`);
    return EXIT.ok;
  } catch (error) {
    context.err(`modelhaul demo: could not remove ${workDir}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
}

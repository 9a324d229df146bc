import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { listenForInterruption, type Interruption } from '../signals.js';

/**
 * What both demos (the terminal tour and `--browser`) set up first and undo last: a fresh working
 * folder, removed even on `process.exit()` or a crash (unless `--keep`); loopback taken out of the
 * proxy variables; and Ctrl+C turned into an abort signal, a second one exiting at once.
 */
export interface DemoSession {
  workDir: string;
  interruption: Interruption;
  /** Stops listening for signals and puts the proxy variables back; the folder is the caller's. */
  end: () => void;
}

export async function openDemoSession(context: CliContext, keep: boolean): Promise<DemoSession> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'modelhaul-demo-'));
  const removeNow = (): void => {
    if (!keep) rmSync(workDir, { recursive: true, force: true });
  };
  process.once('exit', removeNow);
  const restoreProxyEnv = bypassProxiesForLoopback();
  const interruption = listenForInterruption((signal) => {
    context.err(`\nmodelhaul demo: stopped by a second ${signal}.\n`);
    process.exit(signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
  });
  return {
    workDir,
    interruption,
    end: () => {
      interruption.dispose();
      restoreProxyEnv();
      process.off('exit', removeNow);
    },
  };
}

/**
 * The demo's origin is on 127.0.0.1 in this very process: a proxy named by HTTP_PROXY could not
 * reach it, so loopback is added to NO_PROXY while a demo runs (the engine reads the proxy
 * variables at each request). Returns a function that puts the variables back.
 */
function bypassProxiesForLoopback(env: NodeJS.ProcessEnv = process.env): () => void {
  const keys = ['no_proxy', 'NO_PROXY'] as const;
  const saved = keys.map((key) => [key, env[key]] as const);
  for (const key of keys) env[key] = [env[key], '127.0.0.1'].filter((value) => value !== undefined && value !== '').join(',');
  return () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
  };
}

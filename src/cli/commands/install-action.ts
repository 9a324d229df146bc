import { installBundle } from '../../operations/install.js';
import type { Credentials } from '../../http/credentials.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { errorOutput, reportError } from '../report-error.js';
import { resolveTarget } from '../target.js';
import { jsonRenderer, type InstallRenderer } from '../render/install-renderer.js';
import { lineRenderer } from '../render/line-renderer.js';
import type { InstallCommandOptions } from './install.js';
import { splitSourceList } from '../../manifest/source-spec.js';
import { defaultMachineIndexDir } from '../../data-dir.js';
import path from 'node:path';

export async function runInstall(options: InstallCommandOptions, context: CliContext): Promise<number> {
  const json = options.json === true;
  let target;
  try {
    target = await resolveTarget({ ...options, allowHttp: options.allowHttp === true, allowHttpRegistry: options.allowHttp === true }, context.env);
  } catch (error) {
    return reportError(error, errorOutput(context, json));
  }
  const renderer = await chooseRenderer(options, context);
  const undo = context.interruption.onHardExit(() => renderer.close());
  try {
    const result = await installBundle(target.manifest, {
      dir: target.dir,
      signal: context.interruption.signal,
      concurrency: options.concurrency,
      connections: options.connections,
      retries: options.retries,
      retryBaseDelayMs: options.retryDelay,
      stallTimeoutMs: options.stallTimeout,
      allowHttp: options.allowHttp === true,
      credentials: credentialsFrom(options, context.env),
      mirrors: options.mirror.length > 0 ? options.mirror : splitSourceList(context.env.MODELHAUL_MIRRORS),
      ...machineIndexFrom(context.env),
      // DOCKER_CONFIG for the bundle's registry and for OCI mirrors.
      env: context.env,
      ...(target.bundleSource !== undefined ? { bundleSource: target.bundleSource } : {}),
      ...(options.lockTimeout !== undefined ? { lockTimeoutMs: options.lockTimeout } : {}),
      ...(options.checkpointBytes !== undefined ? { checkpointBytes: options.checkpointBytes } : {}),
      ...(options.checkpointInterval !== undefined ? { checkpointIntervalMs: options.checkpointInterval } : {}),
      onEvent: (event) => renderer.event(event),
    });
    renderer.close();
    return result.ok ? EXIT.ok : EXIT.failed;
  } catch (error) {
    renderer.close();
    return reportError(error, errorOutput(context, json));
  } finally {
    undo();
  }
}

async function chooseRenderer(options: InstallCommandOptions, context: CliContext): Promise<InstallRenderer> {
  if (options.json) return jsonRenderer(context.out);
  if (context.interactive && !options.quiet) {
    // The live view, and log-update with it, is loaded only for a terminal that shows it.
    const { liveRenderer } = await import('../render/live-renderer.js');
    return liveRenderer(context.stdout, context.paint);
  }
  return lineRenderer(context.out, context.paint, { quiet: options.quiet === true });
}

/**
 * The CLI shares one index of installed files per user, so that a second bundle copies what the
 * first one downloaded: `MODELHAUL_MACHINE_INDEX` names another folder, or `off`.
 */
function machineIndexFrom(env: NodeJS.ProcessEnv): { machineIndex?: string } {
  const value = env.MODELHAUL_MACHINE_INDEX;
  if (value === 'off') return {};
  return { machineIndex: value !== undefined && value !== '' ? path.resolve(value) : defaultMachineIndexDir() };
}

function credentialsFrom(options: InstallCommandOptions, env: NodeJS.ProcessEnv): Credentials | undefined {
  const token = options.token ?? env.HF_TOKEN;
  if (token === undefined || token === '') return undefined;
  // --token-origin is an origin already: its option parser refuses anything else (exit 2).
  return { [options.tokenOrigin]: `Bearer ${token}` };
}

/**
 * `modelhaul/electron`: the model lifecycle in an Electron main process, served to renderers
 * through `modelhaul/preload`. Electron is never loaded by this module: the app passes in the
 * objects it uses (`ipcMain`, `net`, `powerMonitor`), and only their types are imported.
 */
import type { IpcMain, Net } from 'electron';
import { createModelLifecycle } from '../lifecycle/create-lifecycle.js';
import type { LifecycleOptions, ModelLifecycle, PowerEvent } from '../lifecycle/options.js';
import { exposeModelLifecycle } from './expose-lifecycle.js';
import { parseAllowedOrigins } from './sender-origin.js';

export { exposeModelLifecycle, type ExposeOptions, type LifecycleExposure } from './expose-lifecycle.js';
export type { ModelhaulBridge } from './bridge-api.js';

/**
 * The parts of Electron the lifecycle listens to: Electron's `net` and `powerMonitor` as they are
 * (written structurally, so that any emitter with these two events fits as well).
 */
export interface ElectronInputs {
  net: Pick<Net, 'isOnline'>;
  powerMonitor: {
    on(event: 'suspend' | 'resume', listener: () => void): unknown;
    removeListener(event: 'suspend' | 'resume', listener: () => void): unknown;
  };
}

/**
 * Electron's connectivity and power as lifecycle inputs: `net.isOnline()` (polled, since the main
 * process gets no event for it) and `powerMonitor`'s `suspend` and `resume`.
 *
 * @example
 * ```ts
 * const lifecycle = createModelLifecycle({ manifest, dir, ...electronLifecycleInputs({ net, powerMonitor }) });
 * ```
 */
export function electronLifecycleInputs({ net, powerMonitor }: ElectronInputs): Pick<LifecycleOptions, 'isOnline' | 'watchPower'> {
  return {
    isOnline: () => net.isOnline(),
    watchPower: (onEvent: (event: PowerEvent) => void) => {
      const suspend = (): void => onEvent('suspend');
      const resume = (): void => onEvent('resume');
      powerMonitor.on('suspend', suspend);
      powerMonitor.on('resume', resume);
      return () => {
        powerMonitor.removeListener('suspend', suspend);
        powerMonitor.removeListener('resume', resume);
      };
    },
  };
}

/** Options of {@link serveModelLifecycle}: a lifecycle's, plus Electron's objects and the allowed origins. */
export interface ServeOptions extends LifecycleOptions {
  electron: ElectronInputs & { ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'> };
  /** See {@link ExposeOptions.allowedOrigins}. */
  allowedOrigins: readonly string[];
}

/**
 * The one call an Electron app needs: creates the lifecycle with Electron's network and power
 * inputs and serves it to renderers (see {@link exposeModelLifecycle}). Its `dispose()` also
 * removes the IPC handlers. Call it once the app is ready (`powerMonitor` needs that).
 *
 * @example
 * ```ts
 * import { app, ipcMain, net, powerMonitor } from 'electron';
 * import { serveModelLifecycle } from 'modelhaul/electron';
 *
 * await app.whenReady();
 * const models = serveModelLifecycle({
 *   manifest: await loadManifestFile(path.join(app.getAppPath(), 'models.json')),
 *   dir: path.join(app.getPath('userData'), 'models'),
 *   electron: { ipcMain, net, powerMonitor },
 *   allowedOrigins: ['app://bundle'],
 * });
 * models.start();
 * ```
 */
export function serveModelLifecycle(options: ServeOptions): ModelLifecycle {
  const { electron, allowedOrigins, ...lifecycleOptions } = options;
  // Checked before anything starts, so a typo does not leave a lifecycle running unserved.
  parseAllowedOrigins(allowedOrigins);
  const lifecycle = createModelLifecycle({ ...electronLifecycleInputs(electron), ...lifecycleOptions });
  const exposure = exposeModelLifecycle(lifecycle, { ipcMain: electron.ipcMain, allowedOrigins });
  return Object.freeze({
    ...lifecycle,
    dispose: () => {
      exposure.dispose();
      return lifecycle.dispose();
    },
  });
}

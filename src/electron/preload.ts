/**
 * `modelhaul/preload`: point a window's `webPreferences.preload` at this file (built as one
 * self-contained CommonJS script, since a sandboxed preload can load no npm module and no ES
 * module), and the page gets `window.modelhaul`, a {@link ModelhaulBridge}.
 *
 * @example
 * ```ts
 * new BrowserWindow({
 *   webPreferences: { preload: fileURLToPath(import.meta.resolve('modelhaul/preload')), sandbox: true, contextIsolation: true },
 * });
 * ```
 */
import { contextBridge, ipcRenderer } from 'electron';
import { BRIDGE_KEY } from './bridge-api.js';
import { createBridge } from './bridge-client.js';

contextBridge.exposeInMainWorld(BRIDGE_KEY, createBridge(ipcRenderer));

export type { ModelhaulBridge } from './bridge-api.js';

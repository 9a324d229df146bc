import path from 'node:path';
import envPaths from 'env-paths';

/**
 * modelhaul's folder in the user's data folder: `~/.local/share/modelhaul` (XDG) on Linux,
 * `~/Library/Application Support/modelhaul` on macOS, `%LOCALAPPDATA%\modelhaul\Data` on Windows.
 * The CLI's default install dirs are `<this>/<bundle name>`.
 */
export function defaultDataDir(): string {
  return envPaths('modelhaul', { suffix: '' }).data;
}

/**
 * The default folder of the machine index of installed files: `.machine-index` next to the
 * default install dirs (a bundle's folder name never starts with a dot, so they cannot collide).
 *
 * @example
 * ```ts
 * await installBundle(manifest, { dir, machineIndex: defaultMachineIndexDir() });
 * ```
 */
export function defaultMachineIndexDir(): string {
  return path.join(defaultDataDir(), '.machine-index');
}

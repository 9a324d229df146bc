import { createRequire } from 'node:module';

// package.json sits one level above both src/ (tests, tsx) and dist/ (the published build), so the
// same relative specifier works in both. createRequire keeps the file out of the TypeScript build,
// which an `import ... with { type: 'json' }` would pull in and which rootDir "src" forbids.
const packageJson: unknown = createRequire(import.meta.url)('../package.json');

/**
 * The version of this modelhaul package, read once from its package.json. Shown in error
 * messages that ask for an upgrade and in `modelhaul --version`.
 *
 * @example
 * ```ts
 * `modelhaul ${MODELHAUL_VERSION}`; // "modelhaul 0.1.0"
 * ```
 */
export const MODELHAUL_VERSION: string = readVersion(packageJson);

function readVersion(json: unknown): string {
  if (typeof json === 'object' && json !== null && 'version' in json && typeof json.version === 'string') {
    return json.version;
  }
  // Only a broken install gets here; an error message with "0.0.0" beats a crash at import time.
  return '0.0.0';
}

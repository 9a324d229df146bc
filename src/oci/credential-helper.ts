import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { InstallError } from '../errors.js';
import type { RegistryCredentials } from './docker-config.js';

const execFileAsync = promisify(execFile);

/** How long a credential helper may take; a keychain that asks a person may never answer. */
const HELPER_TIMEOUT_MS = 15_000;

/**
 * Asks a Docker credential helper (`docker-credential-NAME get`, named by `credsStore` or
 * `credHelpers` in the Docker config file) for a registry's credentials, as docker does: the
 * registry on standard input, `{"Username": ..., "Secret": ...}` on standard output. A helper
 * that knows nothing of the registry gives undefined (anonymous, as for docker).
 *
 * @throws {InstallError} `AUTH_REQUIRED` when the helper is not installed (unless
 *   `missingIsAnonymous`), fails, takes too long, or holds an identity token (which modelhaul
 *   does not exchange).
 *
 * @example
 * ```ts
 * await credentialsFromHelper('desktop', 'registry.example.com', process.env); // { username, password } or undefined
 * ```
 */
export async function credentialsFromHelper(
  helper: string,
  registry: string,
  env: NodeJS.ProcessEnv,
  configFile: string,
  options: { missingIsAnonymous?: boolean } = {},
): Promise<RegistryCredentials | undefined> {
  const program = `docker-credential-${helper}`;
  const fail = (reason: string, cause?: unknown): InstallError =>
    new InstallError('AUTH_REQUIRED', `The credentials for ${registry} are kept by ${program} (named in ${configFile}), which ${reason}`, {
      hint: `Install or unlock ${program}, or store the credentials in the config file itself with \`modelhaul login ${registry}\`.`,
      details: { registry, helper, file: configFile },
      ...(cause !== undefined ? { cause } : {}),
    });
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) throw fail('is not a valid helper name');
  let stdout: string;
  try {
    const running = execFileAsync(program, ['get'], { env, timeout: HELPER_TIMEOUT_MS, encoding: 'utf8', maxBuffer: 1024 * 1024 });
    running.child.stdin?.end(registry);
    ({ stdout } = await running);
  } catch (error) {
    const { code, killed, stdout: out = '', stderr = '' } = error as NodeJS.ErrnoException & { killed?: boolean; stdout?: string; stderr?: string };
    if (code === 'ENOENT') {
      if (options.missingIsAnonymous === true) return undefined;
      throw fail('is not installed (not found on PATH)', error);
    }
    if (killed === true) throw fail(`did not answer within ${HELPER_TIMEOUT_MS / 1000} s`, error);
    // docker's helpers say this when they hold nothing for the registry: use it anonymously.
    if (/credentials not found/i.test(`${out}${stderr}`)) return undefined;
    throw fail(`failed: ${(stderr || out).trim().slice(0, 200) || String(code)}`, error);
  }
  let answer: { Username?: unknown; Secret?: unknown };
  try {
    answer = JSON.parse(stdout) as typeof answer;
  } catch (error) {
    throw fail('answered something that is not JSON', error);
  }
  const username = typeof answer.Username === 'string' ? answer.Username : '';
  const password = typeof answer.Secret === 'string' ? answer.Secret : '';
  if (username === '<token>') throw fail('holds an identity token, which modelhaul does not use');
  if (password === '') return undefined;
  return { username, password };
}

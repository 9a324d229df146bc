import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { InstallError } from '../errors.js';
import { writeFileAtomic } from '../store/durable-fs.js';
import { fsError, hasErrorCode } from '../store/fs-error.js';
import { credentialsFromHelper } from './credential-helper.js';

/** A user name and password (or token) for one registry. */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** Where the credentials of a registry were found, for messages. */
export interface FoundCredentials extends RegistryCredentials {
  /** The Docker config file they came from. */
  readonly file: string;
}

/**
 * The Docker config file that docker, oras, helm and crane read credentials from:
 * `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
 */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG;
  return path.join(dir !== undefined && dir !== '' ? dir : path.join(homedir(), '.docker'), 'config.json');
}

/**
 * The credentials the Docker config file gives for `registry` (`host[:port]`), looked up as docker
 * does: a credential helper named for the registry in `credHelpers`; else the `auths` entry with a
 * base64 `auth` (what `docker login` writes without a credential store); else the `credsStore`
 * helper (an uninstalled one is passed over). Undefined when none has any: the registry is then
 * used anonymously. Unlike docker, an `auths` entry with `auth` wins over `credsStore`, so that
 * `modelhaul login` works on a machine whose docker keeps its credentials in a keychain.
 *
 * @throws {InstallError} `AUTH_REQUIRED` for an identity token, which modelhaul does not use, or a
 *   helper that is missing or fails; `FILESYSTEM` for an unreadable or malformed file.
 */
export async function readRegistryCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<FoundCredentials | undefined> {
  const file = dockerConfigPath(env);
  const config = await readConfig(file);
  if (config === undefined) return undefined;
  const helper = stringField(objectField(config, 'credHelpers'), registry);
  if (helper !== undefined) return withFile(await credentialsFromHelper(helper, registry, env, file), file);
  const entry = findAuthEntry(objectField(config, 'auths'), registry);
  const auth = stringField(entry, 'auth');
  if (auth !== undefined && auth !== '') return { ...decodeAuth(auth, registry, file), file };
  if (stringField(entry, 'identitytoken') !== undefined) {
    throw new InstallError('AUTH_REQUIRED', `${file} holds an identity token for ${registry}, which modelhaul does not use`, {
      hint: `Log in with a user name and password or access token instead: \`modelhaul login ${registry}\`.`,
      details: { registry, file },
    });
  }
  const store = stringField(config, 'credsStore');
  // The default store of a config copied from another machine may not be installed here: that
  // must not stop anonymous pulls; a registry that wants credentials still says so with a 401.
  if (store !== undefined && store !== '') return withFile(await credentialsFromHelper(store, registry, env, file, { missingIsAnonymous: true }), file);
  return undefined;
}

function withFile(credentials: RegistryCredentials | undefined, file: string): FoundCredentials | undefined {
  return credentials === undefined ? undefined : { ...credentials, file };
}

/**
 * Saves credentials for `registry` in the Docker config file's `auths` (as `docker login` does
 * without a credential store), keeping every other entry and setting; the file is written
 * atomically and readable by its owner only.
 */
export async function saveRegistryCredentials(registry: string, credentials: RegistryCredentials, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = dockerConfigPath(env);
  const config = (await readConfig(file)) ?? {};
  const auths = { ...objectField(config, 'auths') };
  for (const key of Object.keys(auths)) if (hostOfKey(key) === registry) delete auths[key];
  auths[registry] = { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64') };
  await writeConfig(file, { ...config, auths });
  return file;
}

/** Removes every `auths` entry for `registry`; resolves to false when there was none. */
export async function removeRegistryCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const file = dockerConfigPath(env);
  const config = await readConfig(file);
  if (config === undefined) return false;
  const auths = { ...objectField(config, 'auths') };
  const keys = Object.keys(auths).filter((key) => hostOfKey(key) === registry);
  if (keys.length === 0) return false;
  for (const key of keys) delete auths[key];
  await writeConfig(file, { ...config, auths });
  return true;
}

type JsonObject = Record<string, unknown>;

async function readConfig(file: string): Promise<JsonObject | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return undefined;
    throw fsError(error, 'read the Docker config file', file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw malformed(file, `not JSON (${(error as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw malformed(file, 'not a JSON object');
  return json as JsonObject;
}

async function writeConfig(file: string, config: JsonObject): Promise<void> {
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, JSON.stringify(config, null, '\t') + '\n', 0o600);
  } catch (error) {
    throw fsError(error, 'write the Docker config file', file);
  }
}

/** The `auths` entry for a registry: keyed by `host[:port]`, or by a URL of it (`https://host/v1/`). */
function findAuthEntry(auths: JsonObject, registry: string): JsonObject | undefined {
  const exact = auths[registry];
  if (isObject(exact)) return exact;
  for (const [key, value] of Object.entries(auths)) {
    if (hostOfKey(key) === registry && isObject(value)) return value;
  }
  return undefined;
}

function hostOfKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

function decodeAuth(auth: string, registry: string, file: string): RegistryCredentials {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw malformed(file, `auths entry for ${registry}: "auth" is not base64 of user:password`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function malformed(file: string, reason: string): InstallError {
  return new InstallError('FILESYSTEM', `The Docker config file ${file} cannot be read: ${reason}`, {
    hint: 'Fix or remove the file (docker, oras and modelhaul log in through it), or point DOCKER_CONFIG at another folder.',
    details: { path: file },
  });
}

function objectField(object: JsonObject | undefined, name: string): JsonObject {
  const value = object?.[name];
  return isObject(value) ? value : {};
}

function stringField(object: JsonObject | undefined, name: string): string | undefined {
  const value = object?.[name];
  return typeof value === 'string' ? value : undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

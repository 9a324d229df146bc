import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { Dispatchers } from '../../http/dispatchers.js';
import { DEFAULT_STALL_TIMEOUT_MS } from '../../defaults.js';
import { MODELHAUL_VERSION } from '../../version.js';
import { dockerConfigPath, removeRegistryCredentials, saveRegistryCredentials } from '../../oci/docker-config.js';
import { parseOciReference } from '../../oci/reference.js';
import { RegistrySession } from '../../oci/registry-session.js';
import { EXIT } from '../exit-codes.js';
import type { CliContext } from '../context.js';
import { reportError } from '../report-error.js';
import type { LoginCommandOptions } from './login.js';

export async function runLogin(hostArgument: string, options: LoginCommandOptions, context: CliContext): Promise<number> {
  const json = options.json === true;
  const errorOutput = { json, stdout: context.out, stderr: context.err, paint: context.paintErr };
  const dispatchers = new Dispatchers({ stallTimeoutMs: DEFAULT_STALL_TIMEOUT_MS });
  try {
    const host = registryHost(hostArgument);
    const username = options.username ?? (await ask('Username: ', false, context));
    const password = options.passwordStdin ? await readStdin() : await ask('Password: ', true, context);
    if (username === '' || password === '') {
      throw usage('A user name and a password are needed', 'Give -u NAME and the password on standard input with --password-stdin.');
    }
    const session = new RegistrySession({
      registry: host,
      repository: '',
      allowHttp: options.allowHttp === true,
      credentials: { username, password },
      dispatchers,
      signal: new AbortController().signal,
      userAgent: `modelhaul/${MODELHAUL_VERSION}`,
    });
    await session.checkLogin();
    const file = await saveRegistryCredentials(host, { username, password }, context.env);
    if (json) context.out(JSON.stringify({ event: 'login', registry: host, username, file }) + '\n');
    else context.out(`Logged in to ${host} as ${username}; credentials saved in ${file}\n`);
    return EXIT.ok;
  } catch (error) {
    return reportUsage(error, context) ?? reportError(error, errorOutput);
  } finally {
    await dispatchers.close();
  }
}

export async function runLogout(hostArgument: string, options: { json?: boolean }, context: CliContext): Promise<number> {
  const json = options.json === true;
  try {
    const host = registryHost(hostArgument);
    const removed = await removeRegistryCredentials(host, context.env);
    const file = dockerConfigPath(context.env);
    if (json) context.out(JSON.stringify({ event: 'logout', registry: host, removed, file }) + '\n');
    else context.out(removed ? `Removed the credentials for ${host} from ${file}\n` : `${file} held no credentials for ${host}; nothing changed\n`);
    return EXIT.ok;
  } catch (error) {
    return reportUsage(error, context) ?? reportError(error, { json, stdout: context.out, stderr: context.err, paint: context.paintErr });
  }
}

/** `host[:port]` from what a person types: `host`, `host:5000`, `https://host/`, `oci://host`. */
function registryHost(argument: string): string {
  const bare = argument.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
  try {
    return parseOciReference(`oci://${bare}/x`).registry;
  } catch {
    throw usage(`${JSON.stringify(argument)} is not a registry host`, 'Give the registry as HOST or HOST:PORT, e.g. registry.example.com or 127.0.0.1:5000.');
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks on the terminal; the password is not echoed. Without a terminal nothing can be asked. */
async function ask(question: string, secret: boolean, context: CliContext): Promise<string> {
  if (process.stdin.isTTY !== true) {
    throw usage(`No ${secret ? 'password' : 'user name'} given and no terminal to ask on`, 'Give -u NAME, and the password on standard input with --password-stdin.');
  }
  context.err(question);
  let muted = false;
  const output = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      if (!muted) context.err(chunk.toString());
      done();
    },
  });
  const reader = createInterface({ input: process.stdin, output, terminal: true });
  muted = secret;
  try {
    return await new Promise<string>((resolve) => reader.question('', resolve));
  } finally {
    reader.close();
    if (secret) context.err('\n');
  }
}

/** A mistake on the command line: reported with exit code 2, like commander's own. */
class LoginUsageError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

function usage(message: string, hint: string): LoginUsageError {
  return new LoginUsageError(message, hint);
}

function reportUsage(error: unknown, context: CliContext): number | undefined {
  if (!(error instanceof LoginUsageError)) return undefined;
  context.err(`${context.paintErr('red', 'modelhaul: error')}: ${error.message}\n  hint: ${error.hint}\n`);
  return EXIT.usage;
}

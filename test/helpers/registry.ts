// A real OCI registry for the tests: Debian's docker-registry (CNCF distribution 2.8) run in the
// foreground with a config of its own on a loopback port, storing blobs in a temp dir. Variants:
// no auth, htpasswd (bcrypt, made by apache2-utils' htpasswd) and token auth against the token
// server in token-server.ts.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { findFreePort } from './free-port.js';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import { makeTempDir, removeTempDir } from './tmp.js';
import { startTokenServer, type TokenServer } from './token-server.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';
const HTPASSWD_BINARY = '/usr/bin/htpasswd';

export type RegistryAuth =
  | { kind: 'none' }
  | { kind: 'htpasswd'; users: Record<string, string> }
  | { kind: 'token'; users: Record<string, { password: string; actions?: string[] }>; expiresIn?: number };

export interface Registry {
  /** `127.0.0.1:PORT`, as in `oci://127.0.0.1:PORT/repo:tag`. */
  readonly host: string;
  readonly origin: string;
  /** Where a blob's bytes are stored, for reading them into the page cache. */
  blobPath(digest: string): string;
  /** The token service, for the `token` variant. */
  readonly tokenServer: TokenServer | undefined;
  /** Stops the registry process (its storage is kept until {@link stop}). */
  kill(): Promise<void>;
  /** Starts it again on the same port and storage, after {@link kill}. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Why registry tests skip: `test('...', { skip: registrySkipReason() }, ...)`. */
export function registrySkipReason(auth: RegistryAuth['kind'] = 'none'): string | false {
  for (const [binary, pkg] of [[REGISTRY_BINARY, 'docker-registry'], ...(auth === 'htpasswd' ? [[HTPASSWD_BINARY, 'apache2-utils']] : []), ...(auth === 'token' ? [['/usr/bin/openssl', 'openssl']] : [])]) {
    try {
      accessSync(binary!, constants.X_OK);
    } catch {
      return `${binary} is not installed (apt-get install ${pkg})`;
    }
  }
  return false;
}

/** A registry for one test, stopped when it ends. */
export async function useRegistry(t: TestContext, auth: RegistryAuth = { kind: 'none' }): Promise<Registry> {
  const registry = await startRegistry(auth);
  t.after(() => registry.stop());
  return registry;
}

/**
 * Starts a registry. `parentDir` is where its config and storage go (default: the OS temp dir);
 * the benchmark puts it on the same disk as nginx's files.
 */
export async function startRegistry(auth: RegistryAuth = { kind: 'none' }, parentDir?: string): Promise<Registry> {
  const dir = parentDir === undefined ? await makeTempDir('registry') : await mkdtemp(join(parentDir, 'registry-'));
  let tokenServer: TokenServer | undefined;
  let child: ChildProcess | undefined;
  let port = 0;
  try {
    if (auth.kind === 'htpasswd') {
      const lines = Object.entries(auth.users).map(([user, password]) => execFileSync(HTPASSWD_BINARY, ['-nbB', '-C', '4', user, password], { encoding: 'utf8' }).trim());
      await writeFile(join(dir, 'htpasswd'), lines.join('\n') + '\n');
    }
    if (auth.kind === 'token') tokenServer = await startTokenServer({ dir, users: auth.users, ...(auth.expiresIn !== undefined ? { expiresIn: auth.expiresIn } : {}) });
    for (let attempt = 1; ; attempt++) {
      port = await findFreePort();
      await writeFile(join(dir, 'config.yml'), registryConfig(dir, port, auth, tokenServer));
      const started = await launch(dir, port);
      if (started.ok) {
        child = started.child;
        break;
      }
      if (!started.addressInUse || attempt === 5) throw new Error(started.message);
    }
  } catch (error) {
    await tokenServer?.stop();
    await removeTempDir(dir);
    throw error;
  }
  const origin = `http://127.0.0.1:${port}`;
  return {
    host: `127.0.0.1:${port}`,
    origin,
    tokenServer,
    blobPath: (digest) => {
      const hex = digest.replace(/^sha256:/, '');
      return join(dir, 'storage', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    },
    async kill() {
      if (child) await stopProcess(child);
      child = undefined;
    },
    async restart() {
      const started = await launch(dir, port);
      if (!started.ok) throw new Error(started.message);
      child = started.child;
    },
    async stop() {
      if (child) await stopProcess(child);
      child = undefined;
      await tokenServer?.stop();
      await removeTempDir(dir);
    },
  };
}

function registryConfig(dir: string, port: number, auth: RegistryAuth, tokenServer: TokenServer | undefined): string {
  const quote = (value: string): string => JSON.stringify(value);
  let authSection = '';
  if (auth.kind === 'htpasswd') {
    authSection = `auth:\n  htpasswd:\n    realm: modelhaul-test\n    path: ${quote(join(dir, 'htpasswd'))}\n`;
  } else if (tokenServer) {
    authSection = `auth:
  token:
    realm: ${quote(tokenServer.realm)}
    service: ${quote(tokenServer.service)}
    issuer: ${quote(tokenServer.issuer)}
    rootcertbundle: ${quote(tokenServer.certificatePath)}
`;
  }
  return `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${quote(join(dir, 'storage'))}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  secret: modelhaul-test-secret
${authSection}`;
}

type LaunchResult = { ok: true; child: ChildProcess } | { ok: false; addressInUse: boolean; message: string };

async function launch(dir: string, port: number): Promise<LaunchResult> {
  const child = spawn(REGISTRY_BINARY, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (output += text));
  let running = true;
  child.once('exit', () => (running = false));
  child.once('error', (error) => {
    output += error.message;
    running = false;
  });
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    if (!running) return { ok: false, addressInUse: output.includes('address already in use'), message: `docker-registry failed to start: ${output.trim()}` };
    if (await answers(port)) return { ok: true, child };
    await delay(25);
  }
  await stopProcess(child);
  return { ok: false, addressInUse: false, message: `docker-registry did not answer within 10 s: ${output}` };
}

async function answers(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/v2/`);
    await response.arrayBuffer();
    return response.status === 200 || response.status === 401;
  } catch {
    return false;
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}


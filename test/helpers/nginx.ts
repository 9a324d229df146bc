// A production file server for the tests that must not depend on our own origin's reading of the
// RFCs: the distribution's nginx binary serving a directory, run in the foreground with a config,
// logs and temp paths of its own, so it needs neither /etc/nginx nor a system service.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { access, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { findFreePort } from './free-port.js';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { makeTempDir, removeTempDir } from './tmp.js';

export const NGINX_BINARY = '/usr/sbin/nginx';

export interface NginxOptions {
  /** The directory served at `/`. */
  root: string;
  /** nginx's `limit_rate`: caps each response, so a client can be stopped mid-download. */
  limitRateBytesPerSecond?: number;
}

export interface Nginx {
  url(path: string): string;
  readonly origin: string;
  /** Stops nginx and removes its config and logs: read the access log before. */
  stop(): Promise<void>;
  /** The access log so far, one line per finished request; see {@link parseAccessLogLine}. */
  accessLog(): Promise<string[]>;
  /**
   * Waits until the access log holds at least `count` lines. nginx logs a request after sending
   * its last byte, so a client can finish reading before the line is written.
   */
  waitForAccessLog(count: number, timeoutMs?: number): Promise<string[]>;
}

export interface AccessLogEntry {
  /** The request line, e.g. `GET /model.bin HTTP/1.1`. */
  request: string;
  status: number;
  /** The Range and If-Range header values; nginx writes `-` for an absent header. */
  range: string;
  ifRange: string;
  bodyBytesSent: number;
}

/** Whether the nginx binary is installed, so tests can skip with a reason instead of failing. */
export function nginxAvailable(): boolean {
  try {
    accessSync(NGINX_BINARY, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Why nginx tests skip when it is absent: `test('...', { skip: nginxSkipReason() }, ...)`. */
export function nginxSkipReason(): string | false {
  return nginxAvailable() ? false : `${NGINX_BINARY} is not installed (apt-get install nginx)`;
}

export function parseAccessLogLine(line: string): AccessLogEntry {
  const fields = line.split('\t');
  if (fields.length !== 5) throw new Error(`unexpected access log line: ${JSON.stringify(line)}`);
  const [request = '', status = '', range = '', ifRange = '', bodyBytesSent = ''] = fields;
  return { request, status: Number(status), range, ifRange, bodyBytesSent: Number(bodyBytesSent) };
}

const START_ATTEMPTS = 5;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export async function startNginx(options: NginxOptions): Promise<Nginx> {
  const dir = await makeTempDir('nginx');
  try {
    // The free port is found by binding port 0 and releasing it; another process may take it
    // before nginx binds, in which case nginx exits with EADDRINUSE and we try another one.
    for (let attempt = 1; ; attempt++) {
      const port = await findFreePort();
      await writeFile(join(dir, 'nginx.conf'), nginxConfig(dir, port, options));
      const started = await launch(dir, port);
      if (started.ok) return running(started.child, dir, port);
      if (!started.addressInUse || attempt === START_ATTEMPTS) throw new Error(started.message);
    }
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }
}

function nginxConfig(dir: string, port: number, options: NginxOptions): string {
  // For paths, JSON's escaping of `"` and `\` is exactly what nginx's quoted strings expect.
  const quote = (value: string): string => JSON.stringify(value);
  const limitRate = options.limitRateBytesPerSecond === undefined ? '' : `limit_rate ${options.limitRateBytesPerSecond};`;
  // With master_process off, the single process never switches to the `user` account, so running
  // as root in CI is fine. Every path nginx would otherwise take from its build (under /var) is
  // set here, so nothing outside `dir` is written.
  return `daemon off;
master_process off;
pid ${quote(join(dir, 'nginx.pid'))};
error_log ${quote(join(dir, 'error.log'))} warn;
events { worker_connections 64; }
http {
  types { }
  default_type application/octet-stream;
  sendfile on;
  log_format modelhaul '$request\\t$status\\t$http_range\\t$http_if_range\\t$body_bytes_sent';
  access_log ${quote(join(dir, 'access.log'))} modelhaul;
  client_body_temp_path ${quote(join(dir, 'client_body'))};
  proxy_temp_path ${quote(join(dir, 'proxy'))};
  fastcgi_temp_path ${quote(join(dir, 'fastcgi'))};
  uwsgi_temp_path ${quote(join(dir, 'uwsgi'))};
  scgi_temp_path ${quote(join(dir, 'scgi'))};
  server {
    listen 127.0.0.1:${port};
    root ${quote(resolve(options.root))};
    ${limitRate}
  }
}
`;
}

type LaunchResult = { ok: true; child: ChildProcess } | { ok: false; addressInUse: boolean; message: string };

// Ready means the pid file exists (nginx writes it only after binding its listening socket, so a
// lingering process on the same port cannot fool us) and a TCP connect succeeds.
async function launch(dir: string, port: number): Promise<LaunchResult> {
  const args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')];
  const child = spawn(NGINX_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (output += text));
  let running = true;
  // A failed spawn emits 'error' and maybe no 'exit': either one means nginx is not running.
  const ended = new Promise<void>((resolveEnd) => {
    const end = (): void => {
      running = false;
      resolveEnd();
    };
    child.once('exit', end);
    child.once('error', (error) => {
      output += error.message;
      end();
    });
  });

  const deadline = performance.now() + START_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (!running) {
      const log = output + (await readFile(join(dir, 'error.log'), 'utf8').catch(() => ''));
      return { ok: false, addressInUse: log.includes('Address already in use'), message: `nginx failed to start: ${log.trim()}` };
    }
    if ((await fileExists(join(dir, 'nginx.pid'))) && (await canConnect(port))) return { ok: true, child };
    await delay(20);
  }
  child.kill('SIGKILL');
  await ended;
  return { ok: false, addressInUse: false, message: `nginx did not accept connections within ${START_TIMEOUT_MS} ms: ${output}` };
}

function running(child: ChildProcess, dir: string, port: number): Nginx {
  const origin = `http://127.0.0.1:${port}`;
  const logPath = join(dir, 'access.log');
  const accessLog = async (): Promise<string[]> => {
    const text = await readFile(logPath, 'utf8').catch(() => '');
    return text.split('\n').filter((line) => line !== '');
  };
  return {
    origin,
    url: (path) => origin + path,
    accessLog,
    async waitForAccessLog(count, timeoutMs = 5_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const lines = await accessLog();
        if (lines.length >= count) return lines;
        if (performance.now() > deadline) {
          throw new Error(`access log has ${lines.length} of ${count} lines after ${timeoutMs} ms`);
        }
        await delay(20);
      }
    },
    async stop() {
      await stopProcess(child);
      await removeTempDir(dir);
    },
  };
}

// SIGTERM is nginx's fast shutdown; SIGKILL only if it does not come down in time.
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function fileExists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once('error', () => resolveConnect(false));
  });
}

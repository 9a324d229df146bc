// An HTTP proxy in front of the real registry that misbehaves on purpose: it slows bodies down (so
// that a pull or a push can be killed half-way), alters the bytes of manifests it passes on,
// answers the first manifest requests with 503, or cuts the connection of one upload request.
// The Host header is passed on as sent, so the registry's absolute Location headers point back at
// the proxy.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';

export interface RegistryProxyOptions {
  /** Caps bodies in both directions at this rate; undefined: no cap. Can be changed later. */
  bytesPerSecond?: number | undefined;
  /** Changes one character of every manifest body passed back (same length, other digest). */
  tamperManifests?: boolean;
  /** Cuts the connection instead of passing on the Nth PATCH (1-based). */
  dropPatchNumber?: number;
  /**
   * Answers a blob GET with a 307 to the URL given for its digest, as a registry in front of
   * cloud storage does; the registry still checks the Authorization of the request first.
   */
  redirectBlobs?: Map<string, string>;
  /** Answers this many manifest GETs (the first ones) with 503, as a registry restarting does. */
  unavailableManifests?: number;
}

export interface RegistryProxy {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  options: RegistryProxyOptions;
  /** `METHOD path` of every request, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startRegistryProxy(target: string, options: RegistryProxyOptions = {}): Promise<RegistryProxy> {
  const [targetHost = '127.0.0.1', targetPort = '80'] = target.split(':');
  const requests: string[] = [];
  let patches = 0;
  const proxy: RegistryProxy = { host: '', options, requests, close: () => Promise.resolve() };
  const server: Server = createServer((incoming, outgoing) => {
    requests.push(`${incoming.method} ${incoming.url}`);
    if (incoming.method === 'PATCH' && ++patches === proxy.options.dropPatchNumber) {
      incoming.socket.destroy();
      return;
    }
    if (incoming.method === 'GET' && /\/manifests\//.test(incoming.url ?? '') && (proxy.options.unavailableManifests ?? 0) > 0) {
      proxy.options.unavailableManifests! -= 1;
      incoming.resume();
      outgoing.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' }).end('{"errors":[{"code":"UNAVAILABLE","message":"restarting"}]}');
      return;
    }
    const upstream = httpRequest({ host: targetHost, port: Number(targetPort), method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer: IncomingMessage) => {
      const blob = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(incoming.url ?? '')?.[1];
      const redirect = incoming.method === 'GET' && answer.statusCode === 200 && blob !== undefined ? proxy.options.redirectBlobs?.get(blob) : undefined;
      if (redirect !== undefined) {
        answer.resume();
        outgoing.writeHead(307, { location: redirect, 'content-length': '0' }).end();
        return;
      }
      const tamper = proxy.options.tamperManifests === true && incoming.method === 'GET' && /\/manifests\//.test(incoming.url ?? '') && answer.statusCode === 200;
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      const throttled = throttle(() => proxy.options.bytesPerSecond);
      const body = tamper ? tamperStream() : new Transform({ transform: (chunk, _e, done) => done(null, chunk) });
      pipeline(answer, body, throttled, outgoing).catch(() => outgoing.destroy());
    });
    upstream.on('error', () => outgoing.destroy());
    pipeline(incoming, throttle(() => proxy.options.bytesPerSecond), upstream).catch(() => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(proxy, {
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return proxy;
}

/** Passes chunks on at no more than the rate `limit()` says at that moment, in 16 KiB slices. */
function throttle(limit: () => number | undefined): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      void (async () => {
        for (let offset = 0; offset < chunk.length; offset += 16 * 1024) {
          const slice = chunk.subarray(offset, offset + 16 * 1024);
          const rate = limit();
          if (rate !== undefined) await delay((slice.length / rate) * 1000);
          this.push(slice);
        }
        done();
      })();
    },
  });
}

/** Swaps the first `a` of the body for a `b`: same length, valid JSON, another digest. */
function tamperStream(): Transform {
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (!done) {
        const index = chunk.indexOf('a');
        if (index >= 0) {
          chunk = Buffer.from(chunk);
          chunk[index] = 'b'.charCodeAt(0);
          done = true;
        }
      }
      callback(null, chunk);
    },
  });
}

// A small token service for a registry with `auth: token`, as the Docker token specification
// describes it: GET /token?service=...&scope=repository:NAME:ACTIONS with optional Basic
// credentials, answered with an ES256 JWT the registry checks against the certificate in its
// `rootcertbundle`. The key and the self-signed certificate are made fresh by openssl for each
// server; the JWT is signed with node:crypto.
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface TokenServerOptions {
  /** A directory for the key and certificate. */
  dir: string;
  /** Users and passwords; a user may be limited to some actions (default: pull and push). */
  users: Record<string, { password: string; actions?: string[] }>;
  /** Token lifetime in seconds. Default 300. */
  expiresIn?: number;
}

export interface TokenRequestLog {
  user: string | undefined;
  scopes: string[];
  status: number;
}

export interface TokenServer {
  /** The realm URL the registry sends clients to. */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** The certificate file for the registry's `rootcertbundle`. */
  readonly certificatePath: string;
  /** Every token request so far. */
  readonly requests: TokenRequestLog[];
  /**
   * While true, tokens are issued already expired (beyond the registry's minute of leeway) while
   * the answer still says they last `expiresIn`: the registry refuses them as invalid_token.
   */
  issueExpired: boolean;
  stop(): Promise<void>;
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const keyPath = join(options.dir, 'token-key.pem');
  const certificatePath = join(options.dir, 'token-cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certificatePath, '-days', '2', '-subj', '/CN=modelhaul-test-token',
  ], { stdio: 'ignore' });
  const privateKey = createPrivateKey(await readFile(keyPath));
  const kid = libtrustKeyId(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  const service = 'modelhaul-test-registry';
  const issuer = 'modelhaul-test-issuer';
  const requests: TokenRequestLog[] = [];
  const state = { issueExpired: false };

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const scopes = url.searchParams.getAll('scope').flatMap((scope) => scope.split(' ')).filter((scope) => scope !== '');
    const user = basicUser(request.headers.authorization, options.users);
    if (user === null) {
      requests.push({ user: undefined, scopes, status: 401 });
      response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
      return;
    }
    const allowed = user === undefined ? [] : (options.users[user]?.actions ?? ['pull', 'push']);
    const access = scopes.map((scope) => {
      const [type = '', name = '', actions = ''] = scope.split(':');
      return { type, name, actions: actions.split(',').filter((action) => allowed.includes(action)) };
    });
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = options.expiresIn ?? 300;
    const lifetime = state.issueExpired ? -180 : expiresIn;
    const claims = { iss: issuer, sub: user ?? '', aud: service, exp: now + lifetime, nbf: now - 300, iat: now - 300, jti: randomUUID(), access };
    const token = jwt({ typ: 'JWT', alg: 'ES256', kid }, claims, privateKey);
    requests.push({ user, scopes, status: 200 });
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    get issueExpired() {
      return state.issueExpired;
    },
    set issueExpired(value: boolean) {
      state.issueExpired = value;
    },
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certificatePath,
    requests,
    stop: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** undefined: no credentials (anonymous); null: wrong credentials. */
function basicUser(header: string | undefined, users: TokenServerOptions['users']): string | undefined | null {
  if (header === undefined) return undefined;
  const match = /^Basic (.+)$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const name = decoded.slice(0, colon);
  return colon > 0 && users[name]?.password === decoded.slice(colon + 1) ? name : null;
}

function jwt(header: object, claims: object, key: ReturnType<typeof createPrivateKey>): string {
  const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode(header)}.${encode(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * The key id the registry derives from a trusted certificate's public key (the libtrust format):
 * the first 240 bits of the SHA-256 of the DER public key, base32, in groups of four joined by ':'.
 */
function libtrustKeyId(spkiDer: Buffer): string {
  const hash = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const byte of hash) bits += byte.toString(2).padStart(8, '0');
  let base32 = '';
  for (let index = 0; index < bits.length; index += 5) base32 += alphabet[parseInt(bits.slice(index, index + 5), 2)];
  return base32.match(/.{4}/g)!.join(':');
}

import type { Readable } from 'node:stream';
import { InstallError } from '../errors.js';
import { checkUrl } from '../manifest/url-policy.js';
import type { Dispatchers } from '../http/dispatchers.js';
import { discard, openResponse, type ResponseHeaders } from '../http/open-response.js';
import { networkError, redactUrl } from '../http/network-error.js';
import { findChallenge } from './challenge.js';
import type { RegistryCredentials } from './docker-config.js';
import { readLimited, registryError } from './registry-errors.js';
import { registryOrigin } from './reference.js';
import { TokenCache } from './token-cache.js';

/** How to reach one repository of one registry. */
export interface RegistrySessionOptions {
  /** `host[:port]`. */
  registry: string;
  repository: string;
  /** Plain http to a registry that is not on loopback. */
  allowHttp: boolean;
  /** Undefined: anonymous. */
  credentials: RegistryCredentials | undefined;
  dispatchers: Dispatchers;
  signal: AbortSignal;
  userAgent: string;
  /** Shared between sessions to reuse tokens; a fresh one by default. */
  tokens?: TokenCache;
}

/** One request to the registry. */
export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** A path on the registry (`/v2/...`) or an absolute URL it handed out (an upload's Location). */
  url: string;
  headers?: Readonly<Record<string, string>>;
  /** Makes the body; called again when the request is repeated after an auth challenge. */
  body?: () => Buffer | Readable;
  /** Needs push rights (scope `pull,push`) rather than pull. */
  push?: boolean;
  /** What is asked for, for messages: `manifest 1.0`, `blob sha256:...`. */
  subject: string;
}

/** A response whose body has not been read. */
export interface RegistryResponse {
  status: number;
  headers: ResponseHeaders;
  body: Readable;
  /** The URL that answered, after redirects. */
  url: string;
}

type AuthScheme = { scheme: 'anonymous' } | { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service: string };

/**
 * Talks to one repository of a registry: sends requests with the right Authorization, answers
 * the registry's challenge once (Basic, or a Bearer token fetched from the token service for the
 * repository's scope and cached), and turns failures into {@link InstallError}s. GET and HEAD
 * follow redirects (a blob is often served from a storage host), and Authorization is sent only
 * to the registry's own origin, never across a redirect to another host.
 */
export class RegistrySession {
  readonly origin: string;
  readonly registry: string;
  readonly repository: string;
  private readonly tokens: TokenCache;
  private auth: AuthScheme = { scheme: 'anonymous' };

  constructor(private readonly options: RegistrySessionOptions) {
    this.origin = registryOrigin(options.registry, options.allowHttp);
    this.registry = options.registry;
    this.repository = options.repository;
    this.tokens = options.tokens ?? new TokenCache();
  }

  /** Whether credentials are known for this registry. */
  get hasCredentials(): boolean {
    return this.options.credentials !== undefined;
  }

  /** The absolute URL of a path on the registry. */
  url(path: string): string {
    return new URL(path, this.origin).href;
  }

  /**
   * Checks the session's credentials against the registry: `GET /v2/` answered through its
   * challenge (for a token service, a token without scope, as `docker login` asks for).
   *
   * @throws {InstallError} `AUTH_REQUIRED` when the registry or its token service refuses them.
   */
  async checkLogin(): Promise<void> {
    const response = await this.expect({ method: 'GET', url: '/v2/', subject: 'login' }, [200]);
    await discard(response.body);
  }

  /** `/v2/<repository>/<rest>`. */
  repositoryPath(rest: string): string {
    return `/v2/${this.repository}/${rest}`;
  }

  /**
   * Sends a request and returns the response whatever its status, except that a 401 from the
   * registry is answered once with the credentials its challenge asks for.
   */
  async send(request: RegistryRequest): Promise<RegistryResponse> {
    const url = this.url(request.url);
    const scope = this.scope(request.push === true);
    let response = await this.sendOnce(request, url, await this.authorization(scope, request));
    if (response.status === 401 && new URL(response.url).origin === this.origin) {
      const retry = this.answerChallenge(response.headers['www-authenticate'], scope);
      if (retry) {
        await discard(response.body);
        response = await this.sendOnce(request, url, await this.authorization(scope, request));
      }
    }
    return response;
  }

  /** {@link send}, then an {@link InstallError} unless the status is one of `ok`. */
  async expect(request: RegistryRequest, ok: readonly number[]): Promise<RegistryResponse> {
    const response = await this.send(request);
    if (ok.includes(response.status)) return response;
    throw await this.failure(response, request.subject);
  }

  /** The error for a response the caller did not expect. */
  failure(response: RegistryResponse, subject: string): Promise<InstallError> {
    return registryError(response.status, response.headers, response.body, {
      registry: this.registry,
      repository: this.repository,
      subject,
      url: response.url,
      hadCredentials: this.hasCredentials,
    });
  }

  /**
   * The Authorization value the registry accepts for reading this repository right now (after at
   * least one request has met its challenge), for handing to a downloader that sends it itself.
   */
  async pullAuthorization(): Promise<string | undefined> {
    return this.authorization(this.scope(false), { method: 'GET', url: '/v2/', subject: 'access' });
  }

  /** The token scope for this repository; none for a session without one (a login check). */
  private scope(push: boolean): string {
    return this.repository === '' ? '' : `repository:${this.repository}:${push ? 'pull,push' : 'pull'}`;
  }

  private async sendOnce(request: RegistryRequest, url: string, authorization: string | undefined): Promise<RegistryResponse> {
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent, ...request.headers };
    const { dispatchers, signal, allowHttp } = this.options;
    if (request.method === 'GET' || request.method === 'HEAD') {
      const credentials = authorization === undefined ? undefined : { [this.origin]: authorization };
      const opened = await openResponse({ url, headers, method: request.method, credentials, allowHttp, dispatchers, signal });
      return { status: opened.status, headers: opened.headers, body: opened.body, url: opened.url };
    }
    if (authorization !== undefined && new URL(url).origin === this.origin) headers.authorization = authorization;
    try {
      const parsed = new URL(url);
      const response = await dispatchers.for(url).request({
        origin: parsed.origin,
        path: parsed.pathname + parsed.search,
        method: request.method,
        headers,
        body: request.body?.(),
        signal,
      });
      return { status: response.statusCode, headers: flatten(response.headers), body: response.body, url };
    } catch (error) {
      throw networkError(error, url, signal);
    }
  }

  private async authorization(scope: string, request: RegistryRequest): Promise<string | undefined> {
    const { credentials } = this.options;
    if (this.auth.scheme === 'basic' && credentials) return basic(credentials);
    if (this.auth.scheme !== 'bearer') return undefined;
    const key = { realm: this.auth.realm, service: this.auth.service, scope };
    const cached = this.tokens.get(key);
    if (cached !== undefined) return `Bearer ${cached}`;
    const { token, expiresIn } = await this.fetchToken(this.auth.realm, this.auth.service, scope, request);
    this.tokens.set(key, token, expiresIn);
    return `Bearer ${token}`;
  }

  /** Adopts the scheme a 401 asks for; false when repeating the request cannot help. */
  private answerChallenge(header: string | undefined, scope: string): boolean {
    const bearer = findChallenge(header, 'bearer');
    if (bearer?.params.realm !== undefined) {
      const realm = bearer.params.realm;
      const service = bearer.params.service ?? '';
      const before = this.auth;
      this.auth = { scheme: 'bearer', realm, service };
      // A token the registry refused (expired, revoked) or found too narrow is never sent again.
      const error = bearer.params.error;
      const hadToken = before.scheme === 'bearer' && before.realm === realm && before.service === service;
      if (hadToken) this.tokens.delete({ realm, service, scope });
      return !hadToken || error === 'invalid_token' || error === 'insufficient_scope';
    }
    if (findChallenge(header, 'basic') !== undefined && this.options.credentials !== undefined && this.auth.scheme !== 'basic') {
      this.auth = { scheme: 'basic' };
      return true;
    }
    return false;
  }

  private async fetchToken(realm: string, service: string, scope: string, request: RegistryRequest): Promise<{ token: string; expiresIn: number | undefined }> {
    const policy = checkUrl(realm, { allowHttp: this.options.allowHttp });
    if (!policy.ok) {
      throw new InstallError('AUTH_REQUIRED', `${this.registry} sends for tokens to ${redactUrl(realm)}, which modelhaul will not use: ${policy.reason}`, {
        details: { registry: this.registry, realm: redactUrl(realm) },
      });
    }
    const url = new URL(realm);
    if (service !== '') url.searchParams.set('service', service);
    if (scope !== '') url.searchParams.append('scope', scope);
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent, accept: 'application/json' };
    const { credentials, dispatchers, signal, allowHttp } = this.options;
    if (credentials) headers.authorization = basic(credentials);
    // The token service is asked directly, and the user's password goes to the realm only.
    const opened = await openResponse({ url: url.href, headers, allowHttp, dispatchers, signal, credentials: undefined });
    if (opened.status !== 200) {
      throw await registryError(opened.status, opened.headers, opened.body, {
        registry: this.registry,
        repository: this.repository,
        subject: `a token (${scope})`,
        url: opened.url,
        hadCredentials: credentials !== undefined,
      });
    }
    let json: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      json = JSON.parse(await readLimited(opened.body)) as typeof json;
    } catch {
      json = {};
    }
    const token = typeof json.token === 'string' && json.token !== '' ? json.token : json.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new InstallError('HTTP_STATUS', `The token service of ${this.registry} answered without a token for ${request.subject}`, {
        hint: 'The registry\'s token service is misconfigured; tell its operator.',
        details: { registry: this.registry, realm: redactUrl(realm) },
      });
    }
    return { token, expiresIn: typeof json.expires_in === 'number' ? json.expires_in : undefined };
  }
}

function basic(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

function flatten(raw: Record<string, string | string[] | undefined>): ResponseHeaders {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(raw)) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}

import type { Readable } from 'node:stream';
import { InstallError } from '../errors.js';
import type { Dispatchers } from '../http/dispatchers.js';
import { discard, openResponse, type ResponseHeaders } from '../http/open-response.js';
import { networkError } from '../http/network-error.js';
import type { RegistryCredentials } from './docker-config.js';
import { registryError } from './registry-errors.js';
import { registryOrigin } from './reference.js';
import type { TokenCache } from './token-cache.js';
import { RegistryAuthorizer } from './registry-auth.js';

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
  private readonly auth: RegistryAuthorizer;

  constructor(private readonly options: RegistrySessionOptions) {
    this.origin = registryOrigin(options.registry, options.allowHttp);
    this.registry = options.registry;
    this.repository = options.repository;
    this.auth = new RegistryAuthorizer({ ...options, ...(options.tokens ? { tokens: options.tokens } : {}) });
  }

  /** Whether credentials are known for this registry. */
  get hasCredentials(): boolean {
    return this.auth.hasCredentials;
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
    const { signal } = this.options;
    const sent = await this.auth.authorization(scope, signal);
    let response = await this.sendOnce(request, url, sent);
    if (response.status === 401 && new URL(response.url).origin === this.origin) {
      if (this.auth.answerChallenge(response.headers['www-authenticate'], scope, sent)) {
        await discard(response.body);
        response = await this.sendOnce(request, url, await this.auth.authorization(scope, signal));
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
}

function flatten(raw: Record<string, string | string[] | undefined>): ResponseHeaders {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(raw)) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}

import { InstallError } from '../errors.js';
import { checkUrl } from '../manifest/url-policy.js';
import type { Dispatchers } from '../http/dispatchers.js';
import { openResponse } from '../http/open-response.js';
import { redactUrl } from '../http/network-error.js';
import { findChallenge } from './challenge.js';
import type { RegistryCredentials } from './docker-config.js';
import { readLimited, registryError } from './registry-errors.js';
import { TokenCache } from './token-cache.js';

/** What a {@link RegistryAuthorizer} needs to know about the registry and the user. */
export interface RegistryAuthOptions {
  /** `host[:port]`, for messages. */
  registry: string;
  /** The repository the scopes name, for messages. */
  repository: string;
  /** Undefined: anonymous. */
  credentials: RegistryCredentials | undefined;
  /** Plain http to a token service that is not on loopback. */
  allowHttp: boolean;
  dispatchers: Dispatchers;
  userAgent: string;
  /** Shared between users of one registry to reuse tokens; a fresh one by default. */
  tokens?: TokenCache;
}

type AuthScheme = { scheme: 'anonymous' } | { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service: string };

/**
 * The Authorization a registry wants, learnt from its challenges: none until it asks; Basic with
 * the user's credentials; or a Bearer token fetched from its token service for the scope of the
 * request (`repository:NAME:pull` or `pull,push`), cached by realm, service and scope. A token the
 * registry refuses (`invalid_token`, `insufficient_scope`) is dropped, and the next request gets
 * a fresh one.
 *
 * @example
 * ```ts
 * const auth = new RegistryAuthorizer({ registry, repository, credentials, allowHttp: false, dispatchers, userAgent });
 * let response = await send(await auth.authorization(scope, signal));
 * if (response.status === 401 && auth.answerChallenge(response.headers['www-authenticate'], scope)) {
 *   response = await send(await auth.authorization(scope, signal));
 * }
 * ```
 */
export class RegistryAuthorizer {
  private readonly tokens: TokenCache;
  private auth: AuthScheme = { scheme: 'anonymous' };
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly options: RegistryAuthOptions) {
    this.tokens = options.tokens ?? new TokenCache();
  }

  get hasCredentials(): boolean {
    return this.options.credentials !== undefined;
  }

  /** The Authorization value for a request needing `scope` ('' for none), or undefined (anonymous). */
  async authorization(scope: string, signal: AbortSignal): Promise<string | undefined> {
    const { credentials } = this.options;
    if (this.auth.scheme === 'basic' && credentials) return basic(credentials);
    if (this.auth.scheme !== 'bearer') return undefined;
    const key = { realm: this.auth.realm, service: this.auth.service, scope };
    const cached = this.tokens.get(key);
    if (cached !== undefined) return `Bearer ${cached}`;
    // Requests that start together (an install's files) share one token request.
    const id = JSON.stringify(key);
    let pending = this.pending.get(id);
    if (pending === undefined) {
      pending = this.fetchToken(key.realm, key.service, scope, signal)
        .then(({ token, expiresIn }) => {
          this.tokens.set(key, token, expiresIn);
          return token;
        })
        .finally(() => this.pending.delete(id));
      this.pending.set(id, pending);
    }
    return `Bearer ${await pending}`;
  }

  /**
   * Adopts what a 401's `WWW-Authenticate` asks for. True when sending the request again can
   * help: a scheme not tried yet, or a Bearer token the registry refused (expired, revoked,
   * `invalid_token`, `insufficient_scope`), which is dropped so that the next request gets a fresh
   * one. `sent` is the Authorization the refused request carried, when the caller knows it; a
   * caller that does not (several requests share the authorizer) drops the cached token anyway,
   * at the cost of one more token request at worst. Callers repeat a request once at most.
   */
  answerChallenge(header: string | undefined, scope: string, sent?: string): boolean {
    const bearer = findChallenge(header, 'bearer');
    if (bearer?.params.realm !== undefined) {
      const realm = bearer.params.realm;
      const service = bearer.params.service ?? '';
      const before = this.auth;
      this.auth = { scheme: 'bearer', realm, service };
      const key = { realm, service, scope };
      const sameService = before.scheme === 'bearer' && before.realm === realm && before.service === service;
      const cached = this.tokens.get(key);
      if (sameService && cached !== undefined && (sent === undefined || sent === `Bearer ${cached}`)) this.tokens.delete(key);
      return true;
    }
    if (findChallenge(header, 'basic') !== undefined && this.options.credentials !== undefined) {
      const tried = this.auth.scheme === 'basic' && sent?.startsWith('Basic ') === true;
      this.auth = { scheme: 'basic' };
      // Refused although the credentials were sent: repeating cannot help.
      return !tried;
    }
    return false;
  }

  private async fetchToken(realm: string, service: string, scope: string, signal: AbortSignal): Promise<{ token: string; expiresIn: number | undefined }> {
    const { registry, repository, credentials, dispatchers, allowHttp, userAgent } = this.options;
    const policy = checkUrl(realm, { allowHttp });
    if (!policy.ok) {
      throw new InstallError('AUTH_REQUIRED', `${registry} sends for tokens to ${redactUrl(realm)}, which modelhaul will not use: ${policy.reason}`, {
        details: { registry, realm: redactUrl(realm) },
      });
    }
    const url = new URL(realm);
    if (service !== '') url.searchParams.set('service', service);
    if (scope !== '') url.searchParams.append('scope', scope);
    const headers: Record<string, string> = { 'user-agent': userAgent, accept: 'application/json' };
    if (credentials) headers.authorization = basic(credentials);
    // The user's password goes to the realm itself only, never across a redirect.
    const opened = await openResponse({ url: url.href, headers, allowHttp, dispatchers, signal, credentials: undefined });
    if (opened.status !== 200) {
      throw await registryError(opened.status, opened.headers, opened.body, {
        registry,
        repository,
        subject: `a token (${scope === '' ? 'login' : scope})`,
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
      throw new InstallError('HTTP_STATUS', `The token service of ${registry} answered without a token`, {
        hint: "The registry's token service is misconfigured; tell its operator.",
        details: { registry, realm: redactUrl(realm) },
      });
    }
    return { token, expiresIn: typeof json.expires_in === 'number' ? json.expires_in : undefined };
  }
}

function basic(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

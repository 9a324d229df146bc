/**
 * Bearer tokens from a registry's token service, kept until shortly before they expire. A token
 * is good for one realm, service and scope: asking for `repository:a:pull` must never reuse a
 * token issued for `repository:b:pull`, so all three make the key.
 *
 * @example
 * ```ts
 * const cache = new TokenCache();
 * cache.set({ realm, service, scope: 'repository:models/x:pull' }, token, 300);
 * cache.get({ realm, service, scope: 'repository:models/x:pull' }); // token, for ~5 minutes
 * ```
 */
export class TokenCache {
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  get(key: TokenKey): string | undefined {
    const entry = this.tokens.get(keyOf(key));
    if (entry === undefined) return undefined;
    if (this.now() >= entry.expiresAt) {
      this.tokens.delete(keyOf(key));
      return undefined;
    }
    return entry.token;
  }

  /**
   * Keeps `token` for `expiresInSeconds` less a margin, so that a token is not sent in its last
   * seconds and refused on arrival. The token specification's default lifetime is 60 seconds.
   */
  set(key: TokenKey, token: string, expiresInSeconds = DEFAULT_LIFETIME_SECONDS): void {
    const lifetime = Math.max(0, expiresInSeconds - Math.min(EXPIRY_MARGIN_SECONDS, expiresInSeconds / 2));
    this.tokens.set(keyOf(key), { token, expiresAt: this.now() + lifetime * 1000 });
  }

  /** Forgets a token the registry refused (`invalid_token`) or found too narrow (`insufficient_scope`). */
  delete(key: TokenKey): void {
    this.tokens.delete(keyOf(key));
  }
}

/** What a token is issued for. */
export interface TokenKey {
  realm: string;
  service: string;
  scope: string;
}

const DEFAULT_LIFETIME_SECONDS = 60;
const EXPIRY_MARGIN_SECONDS = 10;

function keyOf(key: TokenKey): string {
  return JSON.stringify([key.realm, key.service, key.scope]);
}

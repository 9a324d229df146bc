/**
 * Authorization header values keyed by exact origin (`https://huggingface.co`). A header is sent
 * only to the origin it was configured for and never follows a redirect to another origin
 * (docs/rules.md rule 12).
 *
 * @example
 * ```ts
 * const credentials = { 'https://huggingface.co': `Bearer ${process.env.HF_TOKEN}` };
 * ```
 */
export type Credentials = Readonly<Record<string, string>>;

/** The Authorization value configured for exactly this URL's origin, if any. */
export function authorizationFor(url: string, credentials: Credentials | undefined): string | undefined {
  if (!credentials) return undefined;
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    return undefined;
  }
  return Object.hasOwn(credentials, origin) ? credentials[origin] : undefined;
}

/** Normalizes configured origins (`https://HuggingFace.co/` → `https://huggingface.co`). */
export function normalizeCredentials(credentials: Credentials | undefined): Credentials | undefined {
  if (!credentials) return undefined;
  const normalized: Record<string, string> = {};
  for (const [key, value] of Object.entries(credentials)) {
    normalized[new URL(key).origin] = value;
  }
  return normalized;
}

/**
 * One authentication challenge from a `WWW-Authenticate` header (RFC 9110 section 11.6.1), as
 * registries send them: `Basic realm="..."`, or `Bearer realm="...",service="...",scope="..."`
 * with an `error` of `insufficient_scope` or `invalid_token` when a token was refused.
 *
 * @example
 * ```ts
 * parseChallenges('Bearer realm="https://auth.example.com/token",service="registry",scope="repository:models/x:pull"');
 * // [{ scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'registry', scope: 'repository:models/x:pull' } }]
 * ```
 */
export interface Challenge {
  /** The scheme in lowercase: `basic`, `bearer`, ... */
  readonly scheme: string;
  /** Parameters by lowercase name, values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/;

/**
 * Parses every challenge of a `WWW-Authenticate` value (several headers arrive joined with ", ").
 * A malformed part ends the parse; the challenges before it are kept.
 */
export function parseChallenges(header: string | undefined): Challenge[] {
  if (header === undefined) return [];
  const challenges: Challenge[] = [];
  let rest = header;
  for (;;) {
    rest = rest.replace(/^[\s,]+/, '');
    const scheme = TOKEN.exec(rest)?.[0];
    if (scheme === undefined) return challenges;
    rest = rest.slice(scheme.length);
    const params: Record<string, string> = {};
    challenges.push({ scheme: scheme.toLowerCase(), params });
    // Either a token68 (`Basic dXNlcg==`, rare in a challenge) or a list of name=value pairs.
    const afterSpace = rest.replace(/^\s+/, '');
    if (afterSpace !== rest && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\s*=/.test(afterSpace)) {
      const token68 = TOKEN68.exec(afterSpace)?.[0];
      if (token68 !== undefined) rest = afterSpace.slice(token68.length);
      continue;
    }
    for (;;) {
      const pair = /^[\s,]*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*/.exec(rest);
      if (!pair) break;
      rest = rest.slice(pair[0].length);
      const value = readValue(rest);
      if (value === undefined) return challenges;
      params[pair[1]!.toLowerCase()] = value.value;
      rest = value.rest;
    }
  }
}

/** The first challenge of the given scheme, if the header has one. */
export function findChallenge(header: string | undefined, scheme: 'basic' | 'bearer'): Challenge | undefined {
  return parseChallenges(header).find((challenge) => challenge.scheme === scheme);
}

function readValue(text: string): { value: string; rest: string } | undefined {
  if (!text.startsWith('"')) {
    const token = TOKEN.exec(text)?.[0];
    return token === undefined ? undefined : { value: token, rest: text.slice(token.length) };
  }
  let value = '';
  for (let index = 1; index < text.length; index++) {
    const char = text[index]!;
    if (char === '\\' && index + 1 < text.length) {
      value += text[++index];
    } else if (char === '"') {
      return { value, rest: text.slice(index + 1) };
    } else {
      value += char;
    }
  }
  return undefined; // an unterminated quoted string
}

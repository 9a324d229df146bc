/**
 * Who may drive a lifecycle over IPC: frames whose page comes from an origin the app lists.
 * Electron's security guide asks for exactly this check on every message, since any frame of any
 * window (an iframe of a third-party page included) can send IPC messages once a preload exposes a
 * channel.
 */

/**
 * The origin of a URL as `scheme://host[:port]`. WHATWG URLs give the opaque origin "null" for
 * `file:` and for custom schemes such as `app://bundle`, which are exactly what packaged Electron
 * apps load from; those are compared by scheme and host instead.
 */
export function originOf(url: URL): string {
  return url.origin !== 'null' ? url.origin : `${url.protocol}//${url.host}`;
}

/**
 * Parses an allow-list such as `['app://bundle', 'http://localhost:5173']`; an entry may be any
 * URL of the origin. Throws a TypeError for an empty list or an entry that is not a URL: both are
 * mistakes in the app, which would otherwise lock every window out without a word.
 */
export function parseAllowedOrigins(entries: readonly string[]): ReadonlySet<string> {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new TypeError('allowedOrigins must list at least one origin, such as "app://bundle" or "http://localhost:5173".');
  }
  return new Set(
    (entries as readonly unknown[]).map((entry) => {
      try {
        if (typeof entry !== 'string') throw new TypeError('not a string');
        return originOf(new URL(entry));
      } catch {
        throw new TypeError(`allowedOrigins: ${JSON.stringify(entry)} is not a URL; write an origin such as "app://bundle" or "file://".`);
      }
    }),
  );
}

/** Whether a page at `url` belongs to one of the allowed origins. */
export function isAllowedUrl(url: string, allowed: ReadonlySet<string>): boolean {
  try {
    return allowed.has(originOf(new URL(url)));
  } catch {
    return false;
  }
}

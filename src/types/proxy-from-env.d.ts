// proxy-from-env ships no type declarations; this is the one function modelhaul uses.
declare module 'proxy-from-env' {
  /** The proxy URL for `url` from HTTP(S)_PROXY / ALL_PROXY / NO_PROXY, or '' for a direct connection. */
  export function getProxyForUrl(url: string | URL): string;
}

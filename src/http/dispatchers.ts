import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import { getProxyForUrl } from 'proxy-from-env';

export interface DispatcherOptions {
  /** Longest silence, in milliseconds, while waiting for response headers or body bytes. */
  stallTimeoutMs: number;
}

/**
 * Picks the connection pool for each URL: direct, or through the proxy the environment names for
 * it. undici's own environment-proxy agent is avoided because it prints an experimental warning,
 * and a library must not write to stderr.
 */
export class Dispatchers {
  private readonly direct: Agent;
  private readonly proxies = new Map<string, ProxyAgent>();
  private readonly options: DispatcherOptions;

  constructor(options: DispatcherOptions) {
    this.options = options;
    this.direct = new Agent(this.agentOptions());
  }

  for(url: string): Dispatcher {
    // HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY, read from process.env at each request.
    const proxy = getProxyForUrl(url) || undefined;
    if (!proxy) return this.direct;
    let agent = this.proxies.get(proxy);
    if (!agent) {
      agent = new ProxyAgent({ ...this.agentOptions(), uri: proxy });
      this.proxies.set(proxy, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    const all = [this.direct, ...this.proxies.values()];
    this.proxies.clear();
    await Promise.all(all.map((agent) => agent.destroy().catch(() => undefined)));
  }

  private agentOptions(): Agent.Options {
    const timeout = this.options.stallTimeoutMs;
    return { headersTimeout: timeout, bodyTimeout: timeout, connect: { timeout } };
  }
}

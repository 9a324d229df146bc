/**
 * The demo's origin is on 127.0.0.1 in this very process: a proxy named by HTTP_PROXY could not
 * reach it, so loopback is added to NO_PROXY while a demo runs (the engine reads the proxy
 * variables at each request). Returns a function that puts the variables back.
 */
export function bypassProxiesForLoopback(env: NodeJS.ProcessEnv = process.env): () => void {
  const keys = ['no_proxy', 'NO_PROXY'] as const;
  const saved = keys.map((key) => [key, env[key]] as const);
  for (const key of keys) env[key] = [env[key], '127.0.0.1'].filter((value) => value !== undefined && value !== '').join(',');
  return () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
  };
}

// What REDIS_URL names: one Redis server (`redis://`, `rediss://`, as ioredis reads them) or a Redis
// Cluster (`redis+cluster://[user:password@]host:port,host:port...`, `rediss+cluster://` for TLS):
// the nodes listed are only where the client starts; it learns the rest of the cluster from them.
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; username: string | null; password: string | null; tls: boolean };

export const CLUSTER_PROTOCOLS = ['redis+cluster:', 'rediss+cluster:'] as const;

/** Throws (with a message that never repeats the URL: it may hold a password) when `url` names nothing usable. */
export function parseRedisTarget(url: string): RedisTarget {
  const scheme = /^([a-z+]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') {
    new URL(url);
    return { kind: 'single', url };
  }
  if (scheme !== 'redis+cluster' && scheme !== 'rediss+cluster') throw new Error('not a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL');
  const rest = url.slice(scheme.length + 3).replace(/\/+$/, '');
  const at = rest.lastIndexOf('@');
  const credentials = at === -1 ? null : rest.slice(0, at);
  const hosts = rest.slice(at + 1);
  let username: string | null = null;
  let password: string | null = null;
  if (credentials !== null) {
    const colon = credentials.indexOf(':');
    const user = decodeURIComponent(colon === -1 ? credentials : credentials.slice(0, colon));
    username = user === '' ? null : user;
    password = colon === -1 ? null : decodeURIComponent(credentials.slice(colon + 1));
  }
  const nodes = hosts.split(',').map((item) => {
    const parsed = new URL(`redis://${item.trim()}`);
    if (parsed.pathname !== '' && parsed.pathname !== '/') throw new Error('a cluster node is host:port, without a path');
    return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port === '' ? 6379 : Number(parsed.port) };
  });
  if (nodes.length === 0 || nodes.some((node) => node.host === '')) throw new Error('a cluster URL lists at least one host:port');
  return { kind: 'cluster', nodes, username, password, tls: scheme === 'rediss+cluster' };
}

// A process that cannot listen where HOST says: the configuration problem it is, for the three
// processes alike (curt serve, the URL service, the KGS).
import { ConfigError } from './config.ts';

/**
 * A listener that cannot bind HOST, said as the configuration problem it is (naming HOST, as
 * loadServeConfig's lines do), not as the platform's `getaddrinfo ENOTFOUND name`; null for any other
 * failure. A name is compared with HOST: a database's host that does not resolve fails the same way.
 */
export function hostRefusal(err: unknown, host: string): ConfigError | null {
  const { code, syscall, hostname } = (typeof err === 'object' && err !== null ? err : {}) as NodeJS.ErrnoException & { hostname?: string };
  const why =
    syscall === 'getaddrinfo' && hostname === host && (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      ? code === 'ENOTFOUND'
        ? 'no host has that name'
        : 'the name could not be looked up'
      : syscall === 'listen' && code === 'EADDRNOTAVAIL'
        ? 'no network interface of this machine has that address'
        : null;
  if (why === null) return null;
  return new ConfigError([`Invalid configuration: HOST must be an address of this machine to listen on, such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface) (got ${JSON.stringify(host)}: ${why})`]);
}

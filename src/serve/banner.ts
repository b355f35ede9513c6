// What `curt serve` prints once it listens: where, where the data lives, and how to make a first
// link. For people: the JSON logs stay for machines.
import { DEFAULT_CURT_SERVER } from '../core/config.ts';
import type { Served } from './serve.ts';

export interface SummaryInput {
  served: Pick<Served, 'address' | 'metricsAddress' | 'createdAdminKey' | 'where'>;
  publicBaseUrl: string;
  allowAnonymous: boolean;
  /** The address bound (HOST). */
  host: string;
}

/** Whether only this machine can reach a server bound to `host`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare) || /^::ffff:127\./.test(bare);
}

export function startupSummary({ served, publicBaseUrl, allowAnonymous, host }: SummaryInput): string {
  // A wildcard bind is reachable on loopback too, and that is what a command on this machine uses.
  const loopback = (address: string): string => address.replace(/\/\/(0\.0\.0\.0|\[::\])/, '//127.0.0.1');
  const local = loopback(served.address);
  const serverFlag = local === DEFAULT_CURT_SERVER ? '' : ` --server ${local}`;
  const lines = [
    `Curt is running on ${served.address}`,
    `  web app      ${local}/   (open it in a browser: shorten, share, read stats)`,
    `  short links  ${publicBaseUrl}/<code>`,
    `  data         ${served.where.database}`,
    `  cache        ${served.where.cache}`,
    `  key pool     ${served.where.keyPool}`,
    `  anonymous    ${allowAnonymous ? 'links can be created without an API key' : 'off: creating a link needs an API key'}`,
    `  API docs     ${local}/docs`,
    // METRICS_PORT=0 picks a free port: this line is the only place that says which.
    ...(served.metricsAddress === null ? [] : [`  metrics      ${loopback(served.metricsAddress)}/metrics   (for Prometheus; METRICS_PORT=off turns it off)`]),
    '',
  ];
  if (allowAnonymous && !isLoopbackHost(host)) {
    lines.push(
      `Warning: HOST=${host} makes this server reachable from the network, and anonymous creation is on:`,
      '  anyone who can reach it can create links. Set ALLOW_ANONYMOUS=false to require an API key,',
      `  and set PUBLIC_BASE_URL to the address people use (short links now start with ${publicBaseUrl}).`,
      '',
    );
  }
  if (served.createdAdminKey !== null) {
    lines.push(
      'Admin API key, shown this once (only its hash is stored):',
      `  ${served.createdAdminKey}`,
      `  export CURT_API_KEY=${served.createdAdminKey}   # lets \`curt\` list, delete and create keys`,
      '',
    );
  }
  const keyFlag = allowAnonymous ? '' : ' --api-key <key>';
  lines.push(
    'Create a link:',
    `  npx curt shorten https://example.com${serverFlag}${keyFlag}`,
    `  curl -s -X POST ${local}/urls -H 'content-type: application/json' -d '{"url":"https://example.com"}'`,
    '',
    'Stop with Ctrl-C: nothing is lost.',
    '',
  );
  return lines.join('\n');
}

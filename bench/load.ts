// autocannon, a load generator written in Node, kept for one row of `npm run bench`: run against the
// bare node:http server beside wrk, it shows that wrk is not what limits the figures (autocannon
// needs about a core of its own and saturates first on a small machine).
import autocannon from 'autocannon';

export interface AutocannonResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  statusCounts: Record<string, number>;
}

export async function runAutocannon(options: { url: string; connections: number; durationS: number }): Promise<AutocannonResult> {
  const result = await autocannon({ url: options.url, connections: options.connections, duration: options.durationS });
  const statusCounts: Record<string, number> = {};
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) statusCounts[status] = stats?.count ?? 0;
  return {
    requests: result.requests.total,
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    statusCounts,
  };
}

// The load generator, run as its own process so that it never shares an event loop with what it
// measures. Reads one scenario as JSON from argv, runs autocannon, prints one JSON result line.
// Redirect scenarios check every answer: the status and the Location the code must lead to.
import { readFileSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadScenario {
  url: string;
  connections: number;
  durationS: number;
  /** Stop after this many requests even before the duration (cold runs: each code once). */
  amount?: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Redirects: a file of `code\turl` lines and the order in which to request them. */
  redirects?: { linksFile: string; order: 'zipf' | 'sequential' | 'fixed'; fixedPath?: string; expectStatus: number };
  /** Creation: POST this body with a counter substituted for `{n}`. */
  createBody?: string;
  /** Creation: write `code\turl` of every link created to this file (for redirect runs on them). */
  recordFile?: string;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Answers with the wrong status or Location. */
  wrong: number;
  statusCounts: Record<string, number>;
}

/** Ranks drawn from a Zipf(s = 1) law over n items, by inverse CDF on a precomputed table. */
function zipfSequence(n: number, length: number): Uint32Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / (k + 1);
  const out = new Uint32Array(length);
  for (let i = 0; i < length; i++) {
    const u = Math.random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] ?? 0) < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}

async function run(scenario: LoadScenario): Promise<LoadResult> {
  let wrong = 0;
  const created: string[] = [];
  const requests: autocannon.Request[] = [];
  if (scenario.redirects !== undefined) {
    const spec = scenario.redirects;
    const links = (spec.order === 'fixed' ? '' : readFileSync(spec.linksFile, 'utf8'))
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => line.split('\t') as [string, string]);
    const expected = new Map(links);
    // Zipf ranks are shuffled over the codes so the hot codes are not the first ones loaded.
    const order = spec.order === 'zipf' ? zipfSequence(links.length, 1_000_000) : null;
    let next = 0;
    requests.push({
      method: 'GET',
      setupRequest: (req, context: object) => {
        let code: string;
        if (spec.order === 'fixed') code = spec.fixedPath ?? '';
        else {
          const index = order === null ? next % links.length : (order[next % order.length] ?? 0);
          code = links[index]?.[0] ?? '';
        }
        next += 1;
        (context as { code?: string }).code = code;
        return { ...req, path: `/${code}` };
      },
      onResponse: (status, _body, context: object, headers) => {
        const want = spec.order === 'fixed' ? undefined : expected.get((context as { code?: string }).code ?? '');
        if (status !== spec.expectStatus || (want !== undefined && headers?.location !== want)) wrong += 1;
      },
    });
  } else if (scenario.createBody !== undefined) {
    const template = scenario.createBody;
    let n = 0;
    requests.push({
      method: 'POST',
      setupRequest: (req) => ({ ...req, body: template.replace('{n}', String(n++)) }),
      onResponse: (status, body) => {
        if (status !== 201) wrong += 1;
        else if (scenario.recordFile !== undefined) {
          const link = JSON.parse(body) as { short_code: string; original_url: string };
          created.push(`${link.short_code}\t${link.original_url}`);
        }
      },
    });
  }
  const result = await autocannon({
    url: scenario.url,
    connections: scenario.connections,
    duration: scenario.durationS,
    ...(scenario.amount === undefined ? {} : { amount: scenario.amount }),
    method: scenario.method ?? 'GET',
    headers: scenario.headers ?? {},
    requests: requests.length > 0 ? requests : undefined,
  });
  if (scenario.recordFile !== undefined) writeFileSync(scenario.recordFile, `${created.join('\n')}\n`);
  const statusCounts: Record<string, number> = {};
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) statusCounts[status] = stats?.count ?? 0;
  return {
    requests: result.requests.total,
    // Not requests.average: with `amount` the run ends early and the per-second samples mislead.
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    wrong,
    statusCounts,
  };
}

const scenario = JSON.parse(process.argv[2] ?? '{}') as LoadScenario;
run(scenario).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (err: unknown) => {
    process.stderr.write(`load generator failed: ${String(err)}\n`);
    process.exit(1);
  },
);

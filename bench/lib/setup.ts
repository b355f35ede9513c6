// What the benchmarks share: a database and links of their own, the files wrk reads its paths from,
// and the processes whose CPU is counted as a server's and as its dependencies'.
import { rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { deleteByPrefix } from '../../src/core/redis.ts';
import { metricValue } from '../../test/support/fault-probes.ts';
import type { ServiceProcess } from '../../test/support/processes.ts';
import { BROWSER_UA } from '../../test/support/user-agents.ts';
import type { Measured } from './measure.ts';
import { pidsNamed, withDescendants } from './process-cpu.ts';

/** Ranks drawn from a Zipf(s = 1) law over n items, by inverse CDF on a precomputed table. */
export function zipfSequence(n: number, length: number): Uint32Array {
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

export async function withDatabase(databaseUrl: string, name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Links go in by SQL with codes from the KGS: loading is not what is measured, and 1e6 links must load in seconds. */
export async function loadLinks(db: pg.Client, kgs: ServiceProcess, count: number): Promise<[string, string][]> {
  const links: [string, string][] = [];
  while (links.length < count) {
    const n = Math.min(1000, count - links.length);
    const res = await fetch(`${kgs.url}/codes?count=${n}`, { headers: { authorization: 'Bearer test-token' } });
    // A million links outrun the pool's replenishment: wait for it, as the URL service's client would.
    if (res.status === 503) {
      await res.arrayBuffer();
      await sleep(200);
      continue;
    }
    if (!res.ok) throw new Error(`KGS answered ${res.status}`);
    const { codes } = (await res.json()) as { codes: string[] };
    const urls = codes.map((code) => `https://example.com/bench/${code}`);
    await db.query('INSERT INTO urls (short_code, original_url) SELECT * FROM unnest($1::text[], $2::text[])', [codes, urls]);
    codes.forEach((code, i) => links.push([code, urls[i] ?? '']));
  }
  return links;
}

export function writeLines(file: string, lines: string[]): string {
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/**
 * About `sample` links, evenly spread, requested without following: its Location must be exactly the
 * link's URL. As a person's browser: fetch's own User-Agent ("node") is a bot's, whose redirects are
 * bot hits, and the benches hold the clicks in PostgreSQL to the redirects served.
 */
export async function checkExactLocations(baseUrl: string, links: [string, string][], sample: number): Promise<number> {
  const step = Math.max(1, Math.floor(links.length / sample));
  let wrong = 0;
  for (let i = 0; i < links.length; i += step) {
    const [code, url] = links[i] ?? ['', ''];
    const res = await fetch(`${baseUrl}/${code}`, { redirect: 'manual', headers: { 'user-agent': BROWSER_UA } });
    await res.arrayBuffer();
    if (res.status !== 302 || res.headers.get('location') !== url) wrong++;
  }
  return wrong;
}

/** The server's processes: the service and what it started (tsx runs an esbuild service beside it). */
export function serverOf(service: ServiceProcess, deps?: () => number[], settle?: () => Promise<void>): Measured {
  return { server: withDescendants(service.child.pid ?? 0), ...(deps ? { deps } : {}), ...(settle ? { settle } : {}) };
}

/**
 * Resolves when every click `services` counted is written (their `clicks_pending` is 0), polling
 * every 100 ms; throws after `timeoutMs`.
 */
export async function clicksWritten(services: readonly ServiceProcess[], timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const service of services) {
    while ((await metricValue(service.metricsUrl, 'clicks_pending')) !== 0) {
      if (Date.now() > deadline) throw new Error(`counted clicks still unwritten after ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  }
}

/** Redis (the server behind `redis`) and every PostgreSQL process on this machine. */
export async function dependencyPids(redis: Redis): Promise<() => number[]> {
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1] ?? 0);
  return () => [redisPid, ...pidsNamed('postgres')];
}

/** What a benchmark leaves behind, removed in its `finally`: processes killed, keys, database and files gone. */
export async function tearDown(parts: { processes: ServiceProcess[]; redis: Redis; prefixes: string[]; database: { drop(): Promise<void> }; work: string }): Promise<void> {
  await Promise.all(parts.processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
  for (const prefix of parts.prefixes) await deleteByPrefix(parts.redis, prefix).catch(() => undefined);
  parts.redis.disconnect();
  await parts.database.drop();
  rmSync(parts.work, { recursive: true, force: true });
}

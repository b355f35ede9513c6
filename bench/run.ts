// `npm run bench`: starts what it measures (a KGS and URL services as real processes on the
// PostgreSQL and Redis at DATABASE_URL / REDIS_URL, in a database and key prefix of its own), loads
// BENCH_LINKS links, measures every scenario against a bare node:http baseline from the same run,
// prints the table, writes it under bench/results/, and checks correctness at the end: every
// redirect answered with the right Location, and click totals equal to the redirects served.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { migrate } from '../src/core/migrate.ts';
import { deleteByPrefix } from '../src/core/redis.ts';
import { createLogger } from '../src/core/logger.ts';
import { metricValue } from '../test/support/fault-probes.ts';
import { E2E_ADMIN_KEY, ROOT, startKgs, startService, startUrlService, type ServiceProcess } from '../test/support/processes.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCurtClient } from '../src/client/curt-client.ts';
import type { LoadResult, LoadScenario } from './load.ts';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const LINKS = Number(process.env.BENCH_LINKS ?? 100_000);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = 50;
const FLUSH_MS = 1000;

interface Row extends LoadResult {
  scenario: string;
}

function runLoad(scenario: LoadScenario): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/load.ts'), JSON.stringify(scenario)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited with ${code}`))));
  });
}

async function withDatabase(name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminClient = new pg.Client({ connectionString: DATABASE_URL });
  await adminClient.connect();
  await adminClient.query(`CREATE DATABASE ${name}`);
  await adminClient.end();
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Links go in by SQL with codes from the KGS: loading is not what is measured, and 1e6 links must load in seconds. */
async function loadLinks(db: pg.Client, kgs: ServiceProcess, count: number, linksFile: string): Promise<void> {
  const lines: string[] = [];
  for (let done = 0; done < count; ) {
    const n = Math.min(1000, count - done);
    const res = await fetch(`${kgs.url}/codes?count=${n}`, { headers: { authorization: 'Bearer test-token' } });
    // A million links outrun the pool's replenishment: wait for it, as the URL service's client would.
    if (res.status === 503) {
      await res.arrayBuffer();
      await sleep(200);
      continue;
    }
    if (!res.ok) throw new Error(`KGS answered ${res.status}`);
    const { codes } = (await res.json()) as { codes: string[] };
    const urlsForBatch = codes.map((_, i) => `https://example.com/bench/${done + i}`);
    await db.query('INSERT INTO urls (short_code, original_url) SELECT * FROM unnest($1::text[], $2::text[])', [codes, urlsForBatch]);
    codes.forEach((code, i) => lines.push(`${code}\t${urlsForBatch[i]}`));
    done += codes.length;
  }
  writeFileSync(linksFile, `${lines.join('\n')}\n`);
}

/** Redirects over the links in `linksFile`, every answer checked against its code's URL. */
function redirectScenario(url: string, linksFile: string, order: 'zipf' | 'sequential', amount?: number): LoadScenario {
  return { url, connections: CONNECTIONS, durationS: DURATION_S, ...(amount === undefined ? {} : { amount }), redirects: { linksFile, order, expectStatus: 302 } };
}

/** A counter's value from a service's /metrics (the server's own count: the load generator abandons requests in flight when its time is up). */
async function scrape(service: ServiceProcess, series: string): Promise<number> {
  return (await metricValue(service.metricsUrl, series)) ?? 0;
}

function served(result: LoadResult, status: number): number {
  return result.statusCounts[String(status)] ?? 0;
}

function printTable(rows: Row[], baselineRps: number): void {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'vs baseline'];
  const body = rows.map((r) => [
    r.scenario,
    Math.round(r.rps).toLocaleString('en-US'),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    String(r.errors + r.wrong),
    `${((100 * r.rps) / baselineRps).toFixed(1)}%`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`);
  for (const row of body) console.log(line(row));
}

/**
 * The one-machine mode (`curt serve`: PGlite, in-process cache and key pool) as `npm start` runs it.
 * Its links are the ones its own creation run made; clicks are read back through the API.
 */
async function benchOneMachine(work: string, track: (scenario: string, result: LoadResult, countsClicks: boolean) => void): Promise<{ clicks: number; redirectsServed: number }> {
  const adminKey = 'curt_bench-admin-key-0123456789abcdef';
  console.error('one-machine mode (curt serve on PGlite)');
  const serve = await startService(join(ROOT, 'bin/curt.mjs'), { ADMIN_API_KEY: adminKey, RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_KEY: '0', CLICK_FLUSH_INTERVAL_MS: String(FLUSH_MS) }, {
    args: ['serve', '--data-dir', join(work, 'data')],
    timeoutMs: 60_000,
  });
  try {
    const linksFile = join(work, 'serve-links.tsv');
    const created = await runLoad({
      url: `${serve.url}/urls`,
      connections: CONNECTIONS,
      durationS: DURATION_S,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      createBody: '{"url":"https://example.com/serve/{n}"}',
      recordFile: linksFile,
    });
    track('one-machine: create', created, false);
    const redirect = (order: 'zipf' | 'sequential', amount?: number): LoadScenario => redirectScenario(serve.url, linksFile, order, amount);
    const count = served(created, 201);
    // Its clicks are checked on their own (below), not against the server mode's totals.
    track('one-machine: redirect, cold', await runLoad(redirect('sequential', count)), false);
    track('one-machine: redirect, warm (Zipf)', await runLoad(redirect('zipf')), false);
    const redirectsServed = await scrape(serve, 'redirects_total{outcome="redirected"}');
    await sleep(3 * FLUSH_MS);
    const client = createCurtClient({ baseUrl: serve.url, apiKey: adminKey });
    let clicks = 0;
    for await (const link of client.listAll(100)) clicks += link.clicks;
    return { clicks, redirectsServed };
  } finally {
    await serve.stop();
  }
}

async function main(): Promise<void> {
  const log = createLogger({ service: 'bench', level: 'warn' });
  const id = randomUUID().slice(0, 8);
  const prefix = `bench:${id}:`;
  const work = mkdtempSync(join(tmpdir(), 'curt-bench-'));
  const linksFile = join(work, 'links.tsv');
  let warmTiers: { inProcess: number; redis: number; postgres: number } | null = null;
  const database = await withDatabase(`curt_bench_${id}`);
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  const processes: ServiceProcess[] = [];
  const rows: Row[] = [];
  let expectedClicks = 0;
  const track = (scenario: string, result: LoadResult, countsClicks: boolean): void => {
    rows.push({ scenario, ...result });
    if (countsClicks) expectedClicks += served(result, 302);
    console.error(`  ${scenario}: ${Math.round(result.rps)} req/s, p99 ${result.p99} ms, errors ${result.errors}, wrong ${result.wrong}`);
  };
  const db = new pg.Client({ connectionString: database.url });
  db.on('error', () => undefined); // the drop at the end terminates it on purpose
  let dbOpen = false;
  try {
    await db.connect();
    dbOpen = true;
    await migrate(db, log);

    // The baseline runs first and last: on a shared machine one reading can be disturbed, and the
    // ratios use the better of the two (the conservative choice).
    const measureBaseline = async (when: string): Promise<LoadResult> => {
      console.error(`baseline (${when}): bare node:http 302 server`);
      const server = await startService(join(ROOT, 'bench/baseline-server.ts'), { BASELINE_MODE: 'redirect' });
      processes.push(server);
      const result = await runLoad({ url: server.url, connections: CONNECTIONS, durationS: DURATION_S, redirects: { linksFile: '', order: 'fixed', fixedPath: 'x', expectStatus: 302 } });
      track(`baseline: bare node:http 302 (${when})`, result, false);
      await server.stop();
      return result;
    };
    const firstBaseline = await measureBaseline('first');

    const codeTarget = String(Math.max(200_000, LINKS + 100_000));
    const kgs = await startKgs({ REDIS_URL, REDIS_KEY_PREFIX: prefix, KGS_POOL_TARGET: codeTarget, KGS_POOL_LOW_WATERMARK: String(Math.floor(Number(codeTarget) / 2)), KGS_REUSE_COOLDOWN_S: '0' });
    processes.push(kgs);
    console.error(`loading ${LINKS.toLocaleString('en-US')} links`);
    const loadStarted = performance.now();
    await loadLinks(db, kgs, LINKS, linksFile);
    console.error(`  loaded in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s`);

    const urlEnv = { DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: prefix, KGS_URL: kgs.url, CLICK_FLUSH_INTERVAL_MS: String(FLUSH_MS), PUBLIC_BASE_URL: 'http://sho.rt' };
    const service = await startUrlService(urlEnv);
    processes.push(service);
    const redirect = (order: 'zipf' | 'sequential', amount?: number): LoadScenario => redirectScenario(service.url, linksFile, order, amount);

    // Cold: each code at most once, none requested since start; capped so that a run over a million
    // links stays minutes long (the codes it does request are still all cold).
    console.error('redirects, cold (each code once, none requested since start)');
    track('redirect, cold', await runLoad(redirect('sequential', Math.min(LINKS, 150_000))), true);
    console.error('warming every code');
    track('(warming: every code once)', await runLoad({ ...redirect('sequential', LINKS), durationS: 600 }), true);
    rows.pop();
    console.error('redirects, warm, Zipf mix');
    // Where the warm redirects were answered from: "warm" means the in-process tier, and a tier whose
    // entries expire (CACHE_NEAR_TTL_S) during a slow run sends part of them to Redis.
    const lookups = async (): Promise<Record<string, number>> => {
      const [near, nearMiss, redisHit, redisMiss] = await Promise.all([
        scrape(service, 'near_cache_lookups_total{result="hit"}'),
        scrape(service, 'near_cache_lookups_total{result="miss"}'),
        scrape(service, 'cache_lookups_total{result="hit"}'),
        scrape(service, 'cache_lookups_total{result="miss"}'),
      ]);
      return { near, nearMiss, redisHit, redisMiss };
    };
    const lookupsBefore = await lookups();
    track('redirect, warm (Zipf)', await runLoad(redirect('zipf')), true);
    const lookupsAfter = await lookups();
    const delta = (key: string): number => (lookupsAfter[key] ?? 0) - (lookupsBefore[key] ?? 0);
    warmTiers = { inProcess: delta('near'), redis: delta('redisHit') - delta('near'), postgres: delta('redisMiss') };
    console.error(`  warm redirects answered from: in-process ${warmTiers.inProcess}, Redis ${warmTiers.redis}, PostgreSQL ${warmTiers.postgres}`);

    const uncached = await startUrlService({ ...urlEnv, CACHE_TTL_S: '0' });
    processes.push(uncached);
    console.error('redirects, cache disabled (PostgreSQL only)');
    track('redirect, no cache (PostgreSQL only)', await runLoad({ ...redirect('zipf'), url: uncached.url }), true);
    let redirectsServed = await scrape(uncached, 'redirects_total{outcome="redirected"}');
    await uncached.stop();

    console.error('link creation, POST /urls');
    const created = await runLoad({
      url: `${service.url}/urls`,
      connections: CONNECTIONS,
      durationS: DURATION_S,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${E2E_ADMIN_KEY}` },
      createBody: '{"url":"https://example.com/created/{n}"}',
    });
    track('create (POST /urls)', created, false);

    redirectsServed += await scrape(service, 'redirects_total{outcome="redirected"}');
    const createdServed = await scrape(service, 'links_created_total{kind="generated"}');
    // SIGTERM flushes the clicks still in memory: then PostgreSQL must hold every redirect served.
    await service.stop();
    const oneMachine = await benchOneMachine(work, track);
    const lastBaseline = await measureBaseline('last');
    const base = firstBaseline.rps >= lastBaseline.rps ? firstBaseline : lastBaseline;
    const { rows: sums } = await db.query<{ clicks: string; created: string }>(
      `SELECT coalesce(sum(clicks), 0)::text AS clicks, count(*) FILTER (WHERE original_url LIKE 'https://example.com/created/%')::text AS created FROM urls`,
    );
    await db.end();
    dbOpen = false;
    const clicks = Number(sums[0]?.clicks);
    const createdRows = Number(sums[0]?.created);

    console.log(`\nCurt bench — ${LINKS.toLocaleString('en-US')} links, ${CONNECTIONS} connections, ${DURATION_S} s per scenario, ${new Date().toISOString()}\n`);
    printTable(rows, base.rps);
    const wrong = rows.reduce((sum, r) => sum + r.wrong + r.errors, 0);
    console.log(
      `\ncorrectness: wrong or failed answers ${wrong}; clicks in PostgreSQL ${clicks}, redirects served ${redirectsServed} ` +
        `(load generator saw ${expectedClicks}); links in PostgreSQL ${createdRows}, created ${createdServed} (load generator saw ${served(created, 201)})`,
    );
    if (warmTiers) console.log(`warm redirects answered from: in-process tier ${warmTiers.inProcess}, Redis ${warmTiers.redis}, PostgreSQL ${warmTiers.postgres}`);
    console.log(`correctness, one-machine mode: clicks ${oneMachine.clicks}, redirects served ${oneMachine.redirectsServed}`);
    const ok = wrong === 0 && clicks === redirectsServed && createdRows === createdServed && oneMachine.clicks === oneMachine.redirectsServed;
    console.log(ok ? 'correctness: OK' : 'correctness: FAILED');

    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, `bench/results/bench-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
    writeFileSync(file, `${JSON.stringify(
        {
          date: new Date().toISOString(),
          links: LINKS,
          connections: CONNECTIONS,
          durationS: DURATION_S,
          rows,
          warmTiers,
          correctness: { wrong, clicks, redirectsServed, loadGeneratorSaw302: expectedClicks, createdRows, createdServed, loadGeneratorSaw201: served(created, 201), oneMachine },
          ok,
        },
        null,
        2,
      )}\n`);
    console.log(`written to ${file}`);
    if (!ok) process.exitCode = 1;
  } finally {
    if (dbOpen) await db.end();
    await Promise.all(processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
    await deleteByPrefix(redis, prefix);
    redis.disconnect();
    await database.drop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

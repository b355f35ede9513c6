// `npm run bench`: what a redirect and a creation cost the server. Starts what it measures (a KGS and
// URL services as real processes on the PostgreSQL and Redis at DATABASE_URL / REDIS_URL, in a
// database and key prefix of its own; then `curt serve` on PGlite), loads BENCH_LINKS links, drives
// every scenario with wrk for BENCH_ROUNDS rounds and prints the medians: req/s, latency, and the
// server's CPU µs per request beside two references from the same run (a bare node:http server and
// a bare Fastify route). Writes the table under bench/results/ and checks correctness at the end:
// every redirect answered 302 to its link's URL (prefix on every answer, exactly on a sample), click
// totals equal to the redirects served, links in the database equal to the creations answered.
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Redis } from 'ioredis';
import { migrate } from '../src/core/migrate.ts';
import { createLogger } from '../src/core/logger.ts';
import { createCurtClient } from '../src/client/curt-client.ts';
import { metricValue } from '../test/support/fault-probes.ts';
import { E2E_ADMIN_KEY, ROOT, startKgs, startService, startUrlService, type ServiceProcess } from '../test/support/processes.ts';
import { formatTable, measure, median, type Measured, type Reference, type Row } from './lib/measure.ts';
import { readCpu, cpuSpent, withDescendants } from './lib/process-cpu.ts';
import { clickCounters, type ClickCounters } from './lib/click-counters.ts';
import { checkExactLocations, clicksWritten, dependencyPids, loadLinks, serverOf, withDatabase, writeLines, zipfSequence , tearDown } from './lib/setup.ts';
import { WRK_MISSING, wrkInstalled, type WrkOptions } from './lib/wrk.ts';
import { runAutocannon } from './load.ts';

// A benchmark is a script run by hand: it reads its own knobs here (src/ reads env only in config).
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const LINKS = Number(process.env.BENCH_LINKS ?? 100_000);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = 50;
const FLUSH_MS = 1000;
/** Codes checked for their exact Location (every answer's Location is checked for its prefix). */
const EXACT_SAMPLE = 1000;
/** The node:http round after each round of a Curt scenario. */
const REFERENCE_ROUND_S = 2;
const ZIPF_DRAWS = 1_000_000;

/** A value read until two reads 200 ms apart agree. */
async function settled(read: () => Promise<number>): Promise<number> {
  let last = await read();
  for (;;) {
    await sleep(200);
    const now = await read();
    if (now === last) return now;
    last = now;
  }
}

async function scrape(service: ServiceProcess, series: string): Promise<number> {
  return (await metricValue(service.metricsUrl, series)) ?? 0;
}

/** Where a service's clicks went, read just before its SIGTERM: what to look at when PostgreSQL holds fewer than it served. */
interface ClickAccount extends ClickCounters {
  service: string;
  /** The exit code of the SIGTERM that flushed the rest. */
  exitCode: number | null;
  /** The end of its log (warn and above), printed when the check fails. */
  logTail: string;
}

/** Most characters of a service's log kept with its accounting. */
const LOG_TAIL_CHARS = 4000;

async function stopAccounted(name: string, service: ServiceProcess): Promise<ClickAccount> {
  const counters = await clickCounters(service);
  const exitCode = await service.stop();
  return { service: name, ...counters, exitCode, logTail: service.output().slice(-LOG_TAIL_CHARS) };
}

function formatAccount(a: ClickAccount): string {
  return `${a.service}: redirected ${a.redirected}, clicks written ${a.flushed}, dropped ${a.dropped}, detail shed ${a.shed} (values or days of hits counted), flush failures ${a.flushFailures}, pending at stop ${a.pending}, exit ${a.exitCode}`;
}

async function main(): Promise<void> {
  if (!(await wrkInstalled())) throw new Error(WRK_MISSING);
  const log = createLogger({ service: 'bench', level: 'warn' });
  const id = randomUUID().slice(0, 8);
  const prefix = `bench:${id}:`;
  const work = mkdtempSync(join(tmpdir(), 'curt-bench-'));
  const database = await withDatabase(DATABASE_URL, `curt_bench_${id}`);
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  const deps = await dependencyPids(redis);
  // A redirect round ends when its clicks are written: each request pays for writing its click.
  const written = (service: ServiceProcess): Measured => serverOf(service, deps, () => clicksWritten([service]));
  const processes: ServiceProcess[] = [];
  const rows: Row[] = [];
  const db = new pg.Client({ connectionString: database.url });
  db.on('error', () => undefined); // the drop at the end terminates it on purpose
  let dbOpen = false;
  const redirectRun = (url: string, env: Record<string, string>): WrkOptions => ({ url, script: 'redirect', connections: CONNECTIONS, durationS: DURATION_S, env });
  try {
    await db.connect();
    dbOpen = true;
    await migrate(db, log);

    // The references run first and last: on a shared machine one reading can be disturbed, and the
    // ratios use the lower CPU per request of the two (the conservative choice).
    const nodeHttp = await startService(join(ROOT, 'bench/baseline-server.ts'), { BASELINE_MODE: 'redirect' });
    const fastify = await startService(join(ROOT, 'bench/baseline-server.ts'), { BASELINE_MODE: 'fastify-redirect' });
    processes.push(nodeHttp, fastify);
    // The references are driven as lightly as wrk can (CHECK=0: Lua reads no answer).
    const fixed = { FIXED_PATH: 'x', CHECK: '0' };
    // After every round of a Curt scenario, a short round of the bare node:http server: the row's
    // "× node:http" is the median of the per-round ratios.
    const reference: Reference = { wrk: { ...redirectRun(nodeHttp.url, fixed), durationS: REFERENCE_ROUND_S }, target: serverOf(nodeHttp) };
    const references = async (when: string): Promise<[Row, Row]> => {
      console.error(`references (${when})`);
      const a = await measure(`reference: bare node:http 302 (${when})`, ROUNDS, () => redirectRun(nodeHttp.url, fixed), serverOf(nodeHttp));
      const b = await measure(`reference: bare Fastify route 302 (${when})`, ROUNDS, () => redirectRun(fastify.url, fixed), serverOf(fastify));
      rows.push(a, b);
      return [a, b];
    };
    const [nodeFirst, fastifyFirst] = await references('first');

    // The load generator is not the bottleneck: its own CPU per request and how busy it was, beside
    // autocannon's (a Node process: this one) against the same server.
    console.error('load generator check: autocannon against the bare node:http server');
    const acBefore = readCpu(withDescendants(nodeHttp.child.pid ?? 0));
    const acOwnBefore = process.cpuUsage();
    const acStarted = performance.now();
    const ac = await runAutocannon({ url: `${nodeHttp.url}/x`, connections: CONNECTIONS, durationS: DURATION_S });
    const acOwn = process.cpuUsage(acOwnBefore);
    const acGenerator = { cpuUs: (acOwn.user + acOwn.system) / Math.max(1, ac.requests), busy: (acOwn.user + acOwn.system) / ((performance.now() - acStarted) * 1000) };
    const acCpu = cpuSpent(acBefore, readCpu(withDescendants(nodeHttp.child.pid ?? 0))) / Math.max(1, ac.requests);
    const autocannonRow: Row = {
      scenario: 'check: autocannon → bare node:http (1 round)',
      rounds: [],
      rps: ac.rps,
      p50Ms: ac.p50,
      p99Ms: ac.p99,
      cpuUs: acCpu,
      depsCpuUs: null,
      requests: ac.requests,
      errors: ac.errors,
      wrong: 0,
      statuses: ac.statusCounts,
      stopped: false,
    };
    rows.push(autocannonRow);

    const codeTarget = String(Math.max(200_000, LINKS + 100_000));
    const kgs = await startKgs({ REDIS_URL, REDIS_KEY_PREFIX: prefix, KGS_POOL_TARGET: codeTarget, KGS_POOL_LOW_WATERMARK: String(Math.floor(Number(codeTarget) / 2)), KGS_REUSE_COOLDOWN_S: '0' });
    processes.push(kgs);
    console.error(`loading ${LINKS.toLocaleString('en-US')} links`);
    const loadStarted = performance.now();
    const links = await loadLinks(db, kgs, LINKS);
    console.error(`  loaded in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s`);
    const codes = links.map(([code]) => code);
    const zipfFile = writeLines(join(work, 'zipf.txt'), Array.from(zipfSequence(codes.length, ZIPF_DRAWS), (rank) => codes[rank] ?? ''));
    const allFile = writeLines(join(work, 'all.txt'), codes);
    // Cold rounds take disjoint slices of the codes, never requested before: each code once.
    const coldShare = Math.floor(Math.min(LINKS, 150_000) / ROUNDS);
    const coldFile = (round: number): string => writeLines(join(work, `cold-${round}.txt`), codes.slice(round * coldShare, (round + 1) * coldShare));
    const prefixCheck = { LOCATION_PREFIX: 'https://example.com/bench/' };

    const urlEnv = { DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: prefix, KGS_URL: kgs.url, CLICK_FLUSH_INTERVAL_MS: String(FLUSH_MS), PUBLIC_BASE_URL: 'http://sho.rt' };
    const service = await startUrlService(urlEnv);
    processes.push(service);

    console.error('redirects, cold (each code once, none requested since start)');
    rows.push(await measure('redirect, cold', ROUNDS, (round) => redirectRun(service.url, { ...prefixCheck, PATHS_FILE: coldFile(round), ONCE: '1' }), written(service), { reference }));
    console.error('warming every code');
    await measure('(warming)', 1, () => ({ ...redirectRun(service.url, { ...prefixCheck, PATHS_FILE: allFile, ONCE: '1' }), durationS: 900 }), written(service));
    // Where the warm redirects were answered from: "warm" means the in-process tier; a tier whose
    // entries expire (CACHE_NEAR_TTL_S) during a slow run sends part of them to Redis.
    const lookups = async (): Promise<number[]> =>
      Promise.all(['near_cache_lookups_total{result="hit"}', 'cache_lookups_total{result="hit"}', 'cache_lookups_total{result="miss"}'].map((s) => scrape(service, s)));
    const lookupsBefore = await lookups();
    console.error('redirects, warm, Zipf mix');
    rows.push(await measure('redirect, warm (Zipf)', ROUNDS, () => redirectRun(service.url, { ...prefixCheck, PATHS_FILE: zipfFile }), written(service), { reference }));
    const [near, redisHit, redisMiss] = (await lookups()).map((v, i) => v - (lookupsBefore[i] ?? 0));
    const warmTiers = { inProcess: near ?? 0, redis: (redisHit ?? 0) - (near ?? 0), postgres: redisMiss ?? 0 };
    console.error(`  warm redirects answered from: in-process ${warmTiers.inProcess}, Redis ${warmTiers.redis}, PostgreSQL ${warmTiers.postgres}`);
    const wrongExact = await checkExactLocations(service.url, links, EXACT_SAMPLE);

    const uncached = await startUrlService({ ...urlEnv, CACHE_TTL_S: '0' });
    processes.push(uncached);
    console.error('redirects, cache disabled (PostgreSQL only)');
    rows.push(await measure('redirect, no cache (PostgreSQL only)', ROUNDS, () => redirectRun(uncached.url, { ...prefixCheck, PATHS_FILE: zipfFile }), written(uncached), { reference }));
    const accounts = [await stopAccounted('URL service, no cache', uncached)];

    console.error('link creation, POST /urls');
    const createRun = (url: string, env: Record<string, string>): WrkOptions => ({ url, script: 'create', connections: CONNECTIONS, durationS: DURATION_S, env });
    const createRow = await measure(
      'create (POST /urls)',
      ROUNDS,
      (round) => createRun(service.url, { BODY_TEMPLATE: `{"url":"https://example.com/created/${round}-{n}"}`, AUTHORIZATION: `Bearer ${E2E_ADMIN_KEY}` }),
      { server: [...withDescendants(service.child.pid ?? 0), ...withDescendants(kgs.child.pid ?? 0)], deps },
      { reference },
    );
    rows.push(createRow);

    // Creations wrk gave up on when its time was up are still answered: the count must settle first.
    const createdServed = await settled(() => scrape(service, 'links_created_total{kind="generated"}'));
    // SIGTERM flushes the clicks still in memory: then PostgreSQL must hold every redirect served.
    accounts.push(await stopAccounted('URL service', service));
    const redirectsServed = accounts.reduce((sum, a) => sum + a.redirected, 0);
    const oneMachine = await benchOneMachine(work, rows, redirectRun, createRun, reference);
    const [nodeLast, fastifyLast] = await references('last');
    const { rows: sums } = await db.query<{ clicks: string; created: string }>(
      `SELECT coalesce(sum(t.clicks), 0)::text AS clicks, count(*) FILTER (WHERE urls.original_url LIKE 'https://example.com/created/%')::text AS created FROM urls JOIN url_totals t ON t.url_id = urls.id`,
    );
    await db.end();
    dbOpen = false;
    const clicks = Number(sums[0]?.clicks);
    const createdRows = Number(sums[0]?.created);
    const created201 = createRow.statuses['201'] ?? 0;

    const nodeRef = Math.min(nodeFirst.cpuUs, nodeLast.cpuUs);
    const fastifyRef = Math.min(fastifyFirst.cpuUs, fastifyLast.cpuUs);
    console.log(`\nCurt bench — ${LINKS.toLocaleString('en-US')} links, ${CONNECTIONS} connections, wrk, ${ROUNDS} rounds × ${DURATION_S} s per scenario (medians), ${new Date().toISOString()}\n`);
    console.log(formatTable(rows, { nodeHttp: nodeRef, fastify: fastifyRef }));
    console.log(
      `\nCPU µs/req: the server process(es) only (the create row: the URL service and the KGS). × node:http: for Curt's rows the median of ` +
        `the ratios to a ${REFERENCE_ROUND_S} s round of the bare node:http server after each round; for the references, to the lower of its two readings ` +
        `(${nodeRef.toFixed(1)} µs). × Fastify: to the lower of the bare Fastify route's two readings (${fastifyRef.toFixed(1)} µs). Redis+PG: those servers' CPU over the same window.`,
    );
    const wrkRounds = [...nodeFirst.rounds, ...nodeLast.rounds];
    const wrkBusy = median(wrkRounds.map((r) => r.generatorBusy));
    console.log(
      `load generator: wrk (1 thread) drove the bare node:http server at ${Math.round(Math.max(nodeFirst.rps, nodeLast.rps)).toLocaleString('en-US')} req/s ` +
        `spending ${median(wrkRounds.map((r) => r.generatorCpuUs)).toFixed(1)} µs of its CPU per request (${Math.round(100 * wrkBusy)} % of one core); ` +
        `autocannon reached ${Math.round(ac.rps).toLocaleString('en-US')} req/s spending ${acGenerator.cpuUs.toFixed(1)} µs per request (${Math.round(100 * acGenerator.busy)} % of one core)`,
    );
    const wrong = rows.reduce((sum, r) => sum + r.wrong + r.errors, 0) + wrongExact;
    console.log(
      `\ncorrectness: wrong or failed answers ${wrong} (exact Location on ${Math.ceil(links.length / Math.max(1, Math.floor(links.length / EXACT_SAMPLE)))} codes: ${wrongExact} wrong); ` +
        `clicks in PostgreSQL ${clicks}, redirects served ${redirectsServed}; links in PostgreSQL ${createdRows}, created ${createdServed} (wrk saw ${created201})`,
    );
    console.log(`click accounting (before each SIGTERM): ${[...accounts, oneMachine.account].map(formatAccount).join('; ')}`);
    console.log(`warm redirects answered from: in-process tier ${warmTiers.inProcess}, Redis ${warmTiers.redis}, PostgreSQL ${warmTiers.postgres}`);
    console.log(
      `correctness, one-machine mode: exact Location wrong ${oneMachine.wrongExact}; clicks ${oneMachine.clicks}, redirects served ${oneMachine.redirectsServed}; ` +
        `links kept ${oneMachine.linksKept}, created ${oneMachine.createdServed}; warm redirects (Zipf over the last ${oneMachine.warmLinks} links made) not in the in-process cache, read from PGlite: ${oneMachine.warmMisses}`,
    );
    const ok =
      wrong === 0 &&
      clicks === redirectsServed &&
      createdRows === createdServed &&
      oneMachine.wrongExact === 0 &&
      oneMachine.clicks === oneMachine.redirectsServed &&
      oneMachine.linksKept === oneMachine.createdServed;
    if (!ok) for (const a of [...accounts, oneMachine.account]) console.log(`\n${a.service}, the end of its log:\n${a.logTail || '(nothing logged)'}`);
    console.log(ok ? 'correctness: OK' : 'correctness: FAILED');

    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, `bench/results/bench-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
    const result = {
      date: new Date().toISOString(),
      links: LINKS,
      connections: CONNECTIONS,
      durationS: DURATION_S,
      rounds: ROUNDS,
      loadGenerator: { wrk: { busy: wrkBusy }, autocannon: { rps: ac.rps, ...acGenerator } },
      references: { nodeHttpCpuUs: nodeRef, fastifyCpuUs: fastifyRef },
      rows,
      warmTiers,
      correctness: { wrong, wrongExact, clicks, redirectsServed, accounts, createdRows, createdServed, wrk201: created201, oneMachine },
      ok,
    };
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`written to ${file}`);
    if (!ok) process.exitCode = 1;
  } finally {
    if (dbOpen) await db.end();
    await tearDown({ processes, redis, prefixes: [prefix], database, work });
  }
}

/**
 * The one-machine mode (`curt serve`: PGlite, in-process cache and key pool) as `npm start` runs it.
 * Its links are the ones its own creation rounds made; clicks are read back through the API.
 */
async function benchOneMachine(
  work: string,
  rows: Row[],
  redirectRun: (url: string, env: Record<string, string>) => WrkOptions,
  createRun: (url: string, env: Record<string, string>) => WrkOptions,
  reference: Reference,
): Promise<{ clicks: number; redirectsServed: number; wrongExact: number; createdServed: number; linksKept: number; warmMisses: number; warmLinks: number; account: ClickAccount }> {
  const adminKey = 'curt_bench-admin-key-0123456789abcdef';
  console.error('one-machine mode (curt serve on PGlite)');
  const start = (): Promise<ServiceProcess> =>
    startService(join(ROOT, 'bin/curt.mjs'), { ADMIN_API_KEY: adminKey, RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_KEY: '0', CLICK_FLUSH_INTERVAL_MS: String(FLUSH_MS) }, {
      args: ['serve', '--data-dir', join(work, 'data')],
      timeoutMs: 60_000,
    });
  let serve = await start();
  try {
    const recorded = join(work, 'serve-links');
    mkdirSync(recorded);
    rows.push(await measure('one-machine: create', ROUNDS, (round) => createRun(serve.url, { BODY_TEMPLATE: `{"url":"https://example.com/serve/${round}-{n}"}`, RECORD_FILE: join(recorded, `round-${round}`) }), serverOf(serve), { reference }));
    // Creation fills the in-process cache: started again on the same data, nothing is cached.
    const createdServed = await settled(async () => (await metricValue(serve.metricsUrl, 'links_created_total{kind="generated"}')) ?? 0);
    await serve.stop();
    serve = await start();
    const target = serverOf(serve, undefined, () => clicksWritten([serve]));
    const links = readdirSync(recorded).flatMap((name) =>
      readFileSync(join(recorded, name), 'utf8')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => line.split('\t') as [string, string]),
    );
    const codes = links.map(([code]) => code);
    const share = Math.floor(codes.length / ROUNDS);
    const prefixCheck = { LOCATION_PREFIX: 'https://example.com/serve/' };
    rows.push(await measure('one-machine: redirect, cold', ROUNDS, (round) => redirectRun(serve.url, { ...prefixCheck, ONCE: '1', PATHS_FILE: writeLines(join(work, `serve-cold-${round}.txt`), codes.slice(round * share, (round + 1) * share)) }), target, { reference }));
    // Warm as the URL service's warm rows are: a Zipf mix over BENCH_LINKS links (however many the
    // creation rounds made on this machine), each requested once before. The last ones made, which the
    // cold rounds requested last: the in-process cache (CACHE_NEAR_MAX, 100,000) holds them.
    const hot = codes.slice(Math.max(0, codes.length - LINKS));
    const zipf = writeLines(join(work, 'serve-zipf.txt'), Array.from(zipfSequence(hot.length, ZIPF_DRAWS), (rank) => hot[rank] ?? ''));
    await measure('(warming)', 1, () => ({ ...redirectRun(serve.url, { ...prefixCheck, PATHS_FILE: writeLines(join(work, 'serve-hot.txt'), hot), ONCE: '1' }), durationS: 900 }), target);
    // A link the in-process cache does not hold is read from PGlite, behind any click transaction
    // running there: misses make the row's p99 (docs/performance.md, "One machine" in docs/operations.md).
    const misses = (): Promise<number> => scrape(serve, 'cache_lookups_total{result="miss"}');
    const missesBefore = await misses();
    rows.push(await measure('one-machine: redirect, warm (Zipf)', ROUNDS, () => redirectRun(serve.url, { ...prefixCheck, PATHS_FILE: zipf }), target, { reference }));
    const warmMisses = (await misses()) - missesBefore;
    const wrongExact = await checkExactLocations(serve.url, links, EXACT_SAMPLE);
    // Every counted click written (the exact-Location sample's too), then where they went.
    await clicksWritten([serve]);
    const client = createCurtClient({ baseUrl: serve.url, apiKey: adminKey });
    let clicks = 0;
    let linksKept = 0;
    for await (const link of client.listAll(100)) {
      clicks += link.clicks;
      linksKept += 1;
    }
    const account = await stopAccounted('curt serve', serve);
    return { clicks, redirectsServed: account.redirected, wrongExact, createdServed, linksKept, warmMisses, warmLinks: hot.length, account };
  } finally {
    await serve.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

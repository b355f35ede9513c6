// `npm run bench:clicks`: the click pipeline at scale — what a click costs to write (PostgreSQL CPU,
// flush time, the service's CPU per redirect) and what the once-a-second flush does to redirect
// latency. For each number of links in CLICKS_LINKS: a database and Redis key prefix of its own, a
// KGS and a URL service as real processes (CLICK_FLUSH_INTERVAL_MS=1000), the links loaded by SQL,
// every code requested once (the warm pass), then CLICKS_DURATION_S seconds of redirects paced at
// CLICKS_RATE per second (wrk, bench/wrk/redirect.lua with RATE) over codes drawn uniformly from all the
// links — the worst case for the flush, the most distinct links per batch. A probe beside the load
// times one request every 2 ms while PostgreSQL is watched for open flush transactions
// (bench/lib/flush-latency.ts). The redirects carry the User-Agent mix of bench/wrk/user-agents.txt
// (CLICKS_UA=mix: 88 % people, 12 % bots and link previews, each line checked first against Curt's
// classifier) or none at all (CLICKS_UA=none: every hit a click, as before the mix). At the end the
// service is stopped (it flushes); then clicks + bot_hits in PostgreSQL must equal the redirects it
// served, and bot_hits the requests wrk sent with a bot's User-Agent. Prints Markdown tables, writes
// bench/results/.
//
//   CLICKS_LINKS (default 10000,100000,1000000)  CLICKS_DURATION_S (default 20)
//   CLICKS_RATE (default 20000)  CLICKS_CONNECTIONS (default CLICKS_RATE / 100, at least 50)
//   CLICKS_UA (mix or none, default mix)
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createUserAgentClassifier } from '../src/analytics/user-agent.ts';
import { migrate } from '../src/core/migrate.ts';
import { createLogger } from '../src/core/logger.ts';
import { ROOT, startKgs, startUrlService, type ServiceProcess } from '../test/support/processes.ts';
import { BROWSER_UA } from '../test/support/user-agents.ts';
import { measureFlushLatency, POLL_MS, PROBE_INTERVAL_MS, type FlushLatency } from './lib/flush-latency.ts';
import { clickCounters, type ClickCounters } from './lib/click-counters.ts';
import { cpuSpent, exitedBetween, pidsNamed, readCpu, withDescendants, type CpuReading } from './lib/process-cpu.ts';
import { loadLinks, withDatabase, writeLines , tearDown } from './lib/setup.ts';
import { disagreements, labelShares, readUserAgents, USER_AGENTS_FILE } from './lib/user-agents.ts';
import { pacing, runWrk, WRK_MISSING, wrkInstalled, type WrkResult } from './lib/wrk.ts';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const LINK_COUNTS = (process.env.CLICKS_LINKS ?? '10000,100000,1000000').split(',').map(Number);
const DURATION_S = Number(process.env.CLICKS_DURATION_S ?? 20);
const RATE = Number(process.env.CLICKS_RATE ?? 20_000);
/** Enough that the schedule, not the connections, sets the rate: 200 reach 20,000/s on a bare server here. */
const CONNECTIONS = Number(process.env.CLICKS_CONNECTIONS ?? Math.max(50, Math.ceil(RATE / 100)));
const FLUSH_MS = 1000;
/** Lines of the uniform paths file; wrk cycles through it if the run asks for more. */
const PATH_LINES = Math.min(2_000_000, Math.ceil(RATE * DURATION_S * 1.2));
const LOCATION_PREFIX = 'https://example.com/bench/';
const UA_MODE = ((mode: string): 'mix' | 'none' => {
  if (mode !== 'mix' && mode !== 'none') throw new Error(`CLICKS_UA must be mix or none, not ${mode}`);
  return mode;
})(process.env.CLICKS_UA ?? 'mix');
/** What wrk is given: the mix (UA_FILE), or no User-Agent at all (the script as before the mix). */
const UA_ENV: Record<string, string> = UA_MODE === 'mix' ? { UA_FILE: USER_AGENTS_FILE } : {};
/** The probe is a person's browser with the mix; without it, it sends no User-Agent either (a person too). */
const PROBE_HEADERS: Record<string, string> = UA_MODE === 'mix' ? { 'user-agent': BROWSER_UA } : {};

/** The service's counters the figures are deltas of. */
/** Waits until every redirect the service has served is written (a flush in flight has landed) or dropped. */
async function settled(service: ServiceProcess, timeoutMs = 60_000): Promise<ClickCounters> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await clickCounters(service);
    if (now.flushed + now.dropped >= now.redirected) return now;
    if (Date.now() > deadline) {
      // Why, in the service's words: its first warnings (a failing flush says what failed).
      const warnings = [...new Set(service.output().split('\n').filter((line) => line.includes('"level":"warn"') || line.includes('"level":"error"')).map((line) => line.replace(/"time":"[^"]*",/, '')))];
      throw new Error(
        `hits not written after ${timeoutMs} ms: ${now.flushed} of ${now.redirected} (dropped ${now.dropped}, failed flushes ${now.flushFailures}); the service's first warnings:\n${warnings.slice(0, 5).join('\n')}`,
      );
    }
    await sleep(100);
  }
}

/** The processes whose CPU is read: the service, PostgreSQL (all, and the bench database's backends), Redis. */
interface CpuSets {
  service: number[];
  postgres: number[];
  benchBackends: number[];
  redis: number[];
}

async function benchBackends(db: pg.Client, database: string): Promise<number[]> {
  const { rows } = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
  return rows.map((r) => r.pid);
}

/** What PostgreSQL holds: clicks and bot hits over all links. */
async function hitsInPostgres(db: pg.Client): Promise<{ clicks: number; botHits: number }> {
  const { rows } = await db.query<{ clicks: string; bot_hits: string }>('SELECT coalesce(sum(clicks), 0)::text AS clicks, coalesce(sum(bot_hits), 0)::text AS bot_hits FROM url_totals');
  return { clicks: Number(rows[0]?.clicks ?? 0), botHits: Number(rows[0]?.bot_hits ?? 0) };
}

async function rowsUpdated(db: pg.Client): Promise<number> {
  await db.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await db.query<{ n: string }>(`SELECT n_tup_upd::text AS n FROM pg_stat_user_tables WHERE relname = 'url_totals'`);
  return Number(rows[0]?.n ?? 0);
}

function loadAverage(): string {
  return execFileSync('uptime', { encoding: 'utf8' }).trim().replace(/^.*load average: /, '');
}

export interface ClicksResult {
  links: number;
  date: string;
  loadBefore: string;
  loadAfter: string;
  targetRate: number;
  connections: number;
  /** CLICKS_UA: the User-Agent mix, or none. */
  userAgents: 'mix' | 'none';
  wrk: WrkResult;
  /** All redirects answered per second over the load (wrk's and the probe's). */
  redirectsPerS: number;
  /** Hits written over the window (clicks_flushed_total + bot_hits_flushed_total), per second of load. */
  hitsWrittenPerS: number;
  /** The same split by PostgreSQL: sum(url_totals.clicks) and sum(url_totals.bot_hits) over the window, per second of load. */
  clicksPerS: number;
  botHitsPerS: number;
  /** Hits written over the window (clicks_flushed_total + bot_hits_flushed_total). The "per click" figures divide by it. */
  clicksWritten: number;
  /** Over the window: hits dropped (the buffer full), hits whose detail was shed, flushes that failed. */
  hitsDropped: number;
  detailsShed: number;
  flushFailures: number;
  flushes: number;
  clicksPerFlush: number;
  /** Rows of `url_totals` updated by the run's flushes, per flush (pg_stat_user_tables.n_tup_upd). */
  distinctLinksPerFlush: number;
  /** What uniform draws predict: N × (1 − (1 − 1/N)^clicksPerFlush). */
  distinctExpected: number;
  flushMsMean: number;
  flushMsPer1000Clicks: number;
  pgCpuUsPerClickBenchDb: number;
  pgCpuUsPerClickAllPostgres: number;
  /** Backends of the bench's database that exited during the window: the PostgreSQL CPU figures miss what they spent in it. */
  pgBackendsExited: number;
  serviceCpuUsPerRedirect: number;
  redisCpuUsPerRedirect: number;
  latency: Omit<FlushLatency, 'windows'> & { windowsDetected: number; windowMsMean: number };
  correctness: {
    clicksInPostgres: number;
    botHitsInPostgres: number;
    redirectsServed: number;
    /** clicks + bot_hits written over the window, by PostgreSQL, = clicks_flushed_total + bot_hits_flushed_total over it. */
    windowSplitOk: boolean;
    /** Hits the service dropped over the whole run (clicks_dropped_total): PostgreSQL holds the rest. */
    dropped: number;
    /** Requests sent by wrk (warm pass and load) and the probe: known with the mix only. */
    requestsSent: number | null;
    /** Requests wrk sent with a bot's User-Agent: what bot_hits must be. */
    botRequestsSent: number;
    /**
     * Whether bot_hits can be held to botRequestsSent exactly: every request sent was served (or no bot
     * was sent). Else a few requests in flight when wrk stopped were never served, and bot_hits may be
     * lower by at most that many.
     */
    botsExact: boolean;
    ok: boolean;
  };
}

async function measureLinks(links: number): Promise<ClicksResult> {
  const log = createLogger({ service: 'bench', level: 'warn' });
  const id = randomUUID().slice(0, 8);
  const name = `curt_clicks_${id}`;
  const prefix = `bench:clicks:${id}:`;
  const work = mkdtempSync(join(tmpdir(), 'curt-clicks-'));
  const database = await withDatabase(DATABASE_URL, name);
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  const db = new pg.Client({ connectionString: database.url });
  db.on('error', () => undefined); // the drop at the end terminates it on purpose
  let dbOpen = false;
  const processes: ServiceProcess[] = [];
  try {
    await redis.connect();
    const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1] ?? 0);
    await db.connect();
    dbOpen = true;
    await migrate(db, log);
    // The pool must hold every code the load takes at once (bench/run.ts): a million links outrun the default.
    const codeTarget = Math.max(200_000, links + 100_000);
    const kgs = await startKgs({ REDIS_URL, REDIS_KEY_PREFIX: prefix, KGS_POOL_TARGET: String(codeTarget), KGS_POOL_LOW_WATERMARK: String(Math.floor(codeTarget / 2)), KGS_REUSE_COOLDOWN_S: '0' });
    processes.push(kgs);
    console.error(`[${links}] loading ${links.toLocaleString('en-US')} links`);
    const codes = (await loadLinks(db, kgs, links)).map(([code]) => code);
    const service = await startUrlService({ DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: prefix, KGS_URL: kgs.url, CLICK_FLUSH_INTERVAL_MS: String(FLUSH_MS) });
    processes.push(service);
    const updatedBefore = await rowsUpdated(db);

    console.error(`[${links}] warm pass: every code once (User-Agents: ${UA_MODE})`);
    const warmWrk = await runWrk({ url: service.url, script: 'redirect', connections: 50, durationS: 1800, env: { PATHS_FILE: writeLines(join(work, 'all.txt'), codes), ONCE: '1', LOCATION_PREFIX, ...UA_ENV } });
    const warmed = await settled(service);
    const hitsBefore = await hitsInPostgres(db);
    const uniform = writeLines(join(work, 'uniform.txt'), Array.from({ length: PATH_LINES }, () => codes[Math.floor(Math.random() * codes.length)] ?? ''));

    const loadBefore = loadAverage();
    console.error(`[${links}] ${DURATION_S} s at ${RATE}/s over ${CONNECTIONS} connections (load ${loadBefore})`);
    const sets = async (): Promise<CpuSets> => ({ service: withDescendants(service.child.pid ?? 0), postgres: pidsNamed('postgres'), benchBackends: await benchBackends(db, name), redis: [redisPid] });
    const setsBefore = await sets();
    const cpuBefore: Record<keyof CpuSets, CpuReading> = {
      service: readCpu(setsBefore.service),
      postgres: readCpu(setsBefore.postgres),
      benchBackends: readCpu(setsBefore.benchBackends),
      redis: readCpu(setsBefore.redis),
    };
    const startedAt = performance.now();
    let endLoad = (): void => undefined;
    const loadEnded = new Promise<void>((resolve) => (endLoad = resolve));
    const latencyRun = measureFlushLatency(`${service.url}/${codes[0] ?? ''}`, PROBE_HEADERS, db, name, loadEnded);
    const wrk = await runWrk({ url: service.url, script: 'redirect', connections: CONNECTIONS, durationS: DURATION_S, env: { PATHS_FILE: uniform, ...pacing(RATE), LOCATION_PREFIX, ...UA_ENV } }).finally(endLoad);
    const loadSeconds = (performance.now() - startedAt) / 1000;
    const latency = await latencyRun;
    const done = await settled(service);
    const setsAfter = await sets();
    const cpuAfter = (key: keyof CpuSets): CpuReading => readCpu(new Set([...setsBefore[key], ...setsAfter[key]]));
    const after = { service: cpuAfter('service'), postgres: cpuAfter('postgres'), benchBackends: cpuAfter('benchBackends'), redis: cpuAfter('redis') };
    const spent = (key: keyof CpuSets): number => cpuSpent(cpuBefore[key], after[key]);
    const cpu = { service: spent('service'), postgres: spent('postgres'), benchBackends: spent('benchBackends'), redis: spent('redis') };
    // A PostgreSQL backend that exits during the window (the pool drops a connection whose query timed
    // out) takes its CPU reading with it: those figures are then short.
    const pgBackendsExited = exitedBetween(cpuBefore.benchBackends, after.benchBackends);
    const loadAfter = loadAverage();

    // SIGTERM flushes what is left (nothing, once settled): then PostgreSQL must hold every redirect
    // served, as a click or as a bot hit.
    const redirectsServed = done.redirected;
    await service.stop();
    await sleep(500); // backends report their statistics as they exit
    const updatedAfter = await rowsUpdated(db);
    const hitsAfter = await hitsInPostgres(db);
    const botRequestsSent = (warmWrk.agents?.bots ?? 0) + (wrk.agents?.bots ?? 0);
    const requestsSent = warmWrk.agents === null || wrk.agents === null ? null : warmWrk.agents.sent + wrk.agents.sent + latency.probesSent;
    // Requests wrk sent but the service never served (in flight when wrk stopped), and hits it dropped:
    // bot_hits may miss that many.
    const unserved = requestsSent === null ? 0 : Math.max(0, requestsSent - redirectsServed);
    const botsExact = botRequestsSent === 0 || unserved + done.dropped === 0;
    const botsOk = botsExact ? hitsAfter.botHits === botRequestsSent : hitsAfter.botHits <= botRequestsSent && hitsAfter.botHits >= botRequestsSent - unserved - done.dropped;

    const clicksWritten = done.flushed - warmed.flushed;
    const windowClicks = hitsAfter.clicks - hitsBefore.clicks;
    const windowBotHits = hitsAfter.botHits - hitsBefore.botHits;
    const windowSplitOk = windowClicks + windowBotHits === clicksWritten;
    const flushes = done.flushes - warmed.flushes;
    const redirects = done.redirected - warmed.redirected;
    const clicksPerFlush = clicksWritten / Math.max(1, flushes);
    // The warm pass requested each code once, so it updated each row exactly once.
    const runUpdates = updatedAfter - updatedBefore - links;
    const windowMs = latency.windows.map((w) => w.lastSeen - w.start);
    const { windows, ...latencyRest } = latency;
    return {
      links,
      date: new Date().toISOString(),
      loadBefore,
      loadAfter,
      targetRate: RATE,
      connections: CONNECTIONS,
      userAgents: UA_MODE,
      wrk,
      redirectsPerS: redirects / loadSeconds,
      hitsWrittenPerS: clicksWritten / loadSeconds,
      clicksPerS: windowClicks / loadSeconds,
      botHitsPerS: windowBotHits / loadSeconds,
      clicksWritten,
      hitsDropped: done.dropped - warmed.dropped,
      detailsShed: done.shed - warmed.shed,
      flushFailures: done.flushFailures - warmed.flushFailures,
      flushes,
      clicksPerFlush,
      distinctLinksPerFlush: runUpdates / Math.max(1, flushes),
      distinctExpected: links * (1 - (1 - 1 / links) ** clicksPerFlush),
      flushMsMean: ((done.flushSeconds - warmed.flushSeconds) * 1000) / Math.max(1, flushes),
      flushMsPer1000Clicks: ((done.flushSeconds - warmed.flushSeconds) * 1e6) / Math.max(1, clicksWritten),
      pgCpuUsPerClickBenchDb: cpu.benchBackends / Math.max(1, clicksWritten),
      pgCpuUsPerClickAllPostgres: cpu.postgres / Math.max(1, clicksWritten),
      pgBackendsExited,
      serviceCpuUsPerRedirect: cpu.service / Math.max(1, redirects),
      redisCpuUsPerRedirect: cpu.redis / Math.max(1, redirects),
      latency: { ...latencyRest, windowsDetected: windows.length, windowMsMean: windowMs.reduce((a, b) => a + b, 0) / Math.max(1, windowMs.length) },
      correctness: {
        clicksInPostgres: hitsAfter.clicks,
        botHitsInPostgres: hitsAfter.botHits,
        redirectsServed,
        dropped: done.dropped,
        windowSplitOk,
        requestsSent,
        botRequestsSent,
        botsExact,
        ok: hitsAfter.clicks + hitsAfter.botHits === redirectsServed && botsOk && windowSplitOk && wrk.errors === 0 && wrk.wrong === 0 && warmWrk.errors === 0 && warmWrk.wrong === 0,
      },
    };
  } finally {
    if (dbOpen) await db.end();
    await tearDown({ processes, redis, prefixes: [prefix], database, work });
  }
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '-');

function tables(results: ClicksResult[]): string {
  const cost = [
    '| links | target/s | reached/s (wrk) | redirects/s (all) | wrk p50 / p99 ms | hits written | flushes | hits/flush | distinct links/flush (uniform, at the mean batch) | flush ms (mean) | flush ms / 1,000 hits | PG CPU µs/hit (bench DB backends) | PG CPU µs/hit (all postgres) | service CPU µs/redirect | Redis CPU µs/redirect | load before → after |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...results.map(
      (r) =>
        `| ${int(r.links)} | ${int(r.targetRate)} | ${int(r.wrk.rps)} | ${int(r.redirectsPerS)} | ${ms(r.wrk.p50Ms)} / ${ms(r.wrk.p99Ms)} | ${int(r.clicksWritten)} | ${r.flushes} | ${int(r.clicksPerFlush)} | ${int(r.distinctLinksPerFlush)} (${int(r.distinctExpected)}) | ${ms(r.flushMsMean)} | ${ms(r.flushMsPer1000Clicks)} | ${r.pgCpuUsPerClickBenchDb.toFixed(1)}${r.pgBackendsExited > 0 ? '*' : ''} | ${r.pgCpuUsPerClickAllPostgres.toFixed(1)}${r.pgBackendsExited > 0 ? '*' : ''} | ${r.serviceCpuUsPerRedirect.toFixed(1)} | ${r.redisCpuUsPerRedirect.toFixed(1)} | ${r.loadBefore} → ${r.loadAfter} |`,
    ),
  ];
  const latency = [
    '| links | between flushes: probes, p50 / p99 / max ms | during a flush: probes, p50 / p99 / max ms | flush windows seen / flushes | window ms (mean, seen) | probe failures |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map((r) => {
      const l = r.latency;
      return `| ${int(r.links)} | ${int(l.between.count)}: ${ms(l.between.p50Ms)} / ${ms(l.between.p99Ms)} / ${ms(l.between.maxMs)} | ${int(l.during.count)}: ${ms(l.during.p50Ms)} / ${ms(l.during.p99Ms)} / ${ms(l.during.maxMs)} | ${l.windowsDetected} / ${r.flushes} | ${l.windowMsMean.toFixed(0)} | ${l.probeFailures} |`;
    }),
  ];
  const hits = [
    '| links | User-Agents | hits written/s (clicks_ + bot_hits_flushed_total) | clicks/s (PostgreSQL) | bot hits/s (PostgreSQL) | bot share | hits dropped / detail shed / failed flushes | service CPU µs/redirect | clicks + bot_hits in PG = redirects served | bot_hits = bot requests sent |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    ...results.map((r) => {
      const c = r.correctness;
      const written = c.clicksInPostgres + c.botHitsInPostgres;
      const total = `${written === c.redirectsServed ? 'yes' : 'NO'} (${int(c.clicksInPostgres)} + ${int(c.botHitsInPostgres)} = ${int(written)}${written === c.redirectsServed ? '' : ` of ${int(c.redirectsServed)}; ${int(c.dropped)} dropped`})`;
      const slack = (c.requestsSent === null ? 0 : Math.max(0, c.requestsSent - c.redirectsServed)) + c.dropped;
      const bots = c.botsExact
        ? `${c.botHitsInPostgres === c.botRequestsSent ? 'yes' : 'NO'} (${int(c.botHitsInPostgres)} = ${int(c.botRequestsSent)}${c.requestsSent === null ? '' : `; all ${int(c.requestsSent)} sent were served`})`
        : `${c.botHitsInPostgres <= c.botRequestsSent && c.botHitsInPostgres >= c.botRequestsSent - slack ? 'within' : 'NO'}: ${int(c.botHitsInPostgres)} of ${int(c.botRequestsSent)} sent, ${int(slack)} requests never served or hits dropped`;
      const share = r.clicksPerS + r.botHitsPerS > 0 ? (100 * r.botHitsPerS) / (r.clicksPerS + r.botHitsPerS) : 0;
      return (
        `| ${int(r.links)} | ${r.userAgents} | ${int(r.hitsWrittenPerS)} | ${int(r.clicksPerS)} | ${int(r.botHitsPerS)} | ${share.toFixed(1)} % | ${int(r.hitsDropped)} / ${int(r.detailsShed)} / ${r.flushFailures} | ${r.serviceCpuUsPerRedirect.toFixed(1)} | ` +
        `${total} | ${bots}${c.windowSplitOk ? '' : '; the window\'s clicks + bot hits in PG ≠ clicks_ + bot_hits_flushed_total'} |`
      );
    }),
  ];
  return `${cost.join('\n')}\n\n${latency.join('\n')}\n\n${hits.join('\n')}`;
}

async function main(): Promise<void> {
  if (!(await wrkInstalled())) throw new Error(WRK_MISSING);
  let mix = 'no User-Agent (every hit a click)';
  if (UA_MODE === 'mix') {
    // bot_hits is held to the requests sent with a bot line: that needs Curt to agree with every label.
    const agents = readUserAgents();
    const wrong = disagreements(agents, createUserAgentClassifier());
    if (wrong.length > 0) throw new Error(`${USER_AGENTS_FILE}: Curt disagrees with ${wrong.length} lines:\n${wrong.join('\n')}`);
    const shares = labelShares(agents);
    mix = `User-Agents from bench/wrk/user-agents.txt (${Object.entries(shares).map(([label, share]) => `${label} ${Math.round(share * 100)} %`).join(', ')}; the probe a desktop Chrome)`;
  }
  const results: ClicksResult[] = [];
  for (const links of LINK_COUNTS) results.push(await measureLinks(links));
  console.log(`\nCurt click pipeline — ${DURATION_S} s per row, target ${int(RATE)} redirects/s (wrk, ${CONNECTIONS} connections, paced), codes uniform over all links, ${mix}, flush every ${FLUSH_MS} ms, ${new Date().toISOString()}\n`);
  console.log(tables(results));
  console.log(
    `\nA hit is a click or a bot hit. Per hit: CPU over the load and until its last hit was written, divided by the hits written. "bench DB backends": the PostgreSQL ` +
      `backends connected to the bench's database (the service's pool; the watcher's own is left out); "all postgres": every postgres process on ` +
      `the machine (WAL writer, checkpointer, and anything else using this server: the machine is shared). Latency: one request every ` +
      `${PROBE_INTERVAL_MS} ms to one warm code over one keep-alive connection; flush windows from pg_stat_activity polled every ${POLL_MS} ms ` +
      `(a window starts at its transaction's BEGIN and ends at most ${POLL_MS} ms after its COMMIT; "during" = started within a window ± ${POLL_MS} ms; ` +
      `the flush's work in Node before BEGIN, sorting and building the arrays, is only covered by that margin).`,
  );
  console.log(
    `\nHits, clicks and bot hits per second: written over the window (the warm pass excluded, the probe included), per second of load; ` +
      `clicks and bot hits from PostgreSQL (sum of url_totals.clicks and url_totals.bot_hits before and after), hits from clicks_flushed_total + bot_hits_flushed_total. ` +
      `"bot requests sent": counted by redirect.lua as it writes each request with a bot line of the file (warm pass and load); exact when ` +
      `every request sent (wrk's and the probe's) was served. No "hits described per second of the service's CPU": the service's CPU per ` +
      `redirect pays for the answer, the lookup, the description and the flush together, and nothing here tells the description apart ` +
      `(npm run bench:pipeline measures the pipeline alone).`,
  );
  const exited = results.filter((r) => r.pgBackendsExited > 0);
  if (exited.length > 0) {
    console.log(`\n* ${exited.map((r) => `${int(r.links)} links: ${r.pgBackendsExited}`).join(', ')} PostgreSQL backend(s) exited during the window (a connection dropped after a timeout): their CPU is missing, the figure is short.`);
  }
  const short = results.filter((r) => r.wrk.rps < 0.97 * RATE);
  if (short.length > 0) console.log(`\nTarget rate NOT reached at ${short.map((r) => `${int(r.links)} links (${int(r.wrk.rps)}/s)`).join(', ')}.`);
  const ok = results.every((r) => r.correctness.ok);
  console.log(ok ? 'correctness: OK' : 'correctness: FAILED');
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, `bench/results/clicks-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), durationS: DURATION_S, targetRate: RATE, connections: CONNECTIONS, userAgents: UA_MODE, flushIntervalMs: FLUSH_MS, probeIntervalMs: PROBE_INTERVAL_MS, pollMs: POLL_MS, results, ok }, null, 2)}\n`);
  console.log(`written to ${file}`);
  if (!ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

// `npm run soak`: a bounded soak, opt-in (not part of `npm test`). Starts 2 KGS and 2 URL service
// processes on a private redis-server (its own, so that it can kill it) and a fresh database on the
// PostgreSQL at DATABASE_URL (dropped at the end), drives a steady mix of creations, redirects,
// deletions, disables and one-time links from a child process (bench/soak-driver.ts), kills Redis at
// half time and starts it again (empty) on the same port. Then it checks what must survive that:
// no failed request, 503s only where the outage explains them, every code unique and mapped to the
// URL asked for, click totals exact, deleted links 404, a graceful stop, and memory that stays flat.
//
//   npm run soak                               5 minutes at 200 ops/s
//   npm run soak -- --duration-s 60 --rate 300 (or SOAK_DURATION_S, SOAK_RATE, SOAK_REDIS_DOWN_S, SOAK_RSS_GROWTH_MAX)
//
// Prints a summary, writes bench/results/soak-<date>.json, and exits 1 when a check failed.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { migrate } from '../src/core/migrate.ts';
import { hashApiKey } from '../src/url/api-keys.ts';
import { createLogger } from '../src/core/logger.ts';
import { inParallel, metricValue, seriesValue, timedFetch } from '../test/support/fault-probes.ts';
import { E2E_ADMIN_KEY, ROOT, startKgs, startUrlService, type ServiceProcess } from '../test/support/processes.ts';
import { startPrivateRedis, type PrivateRedis } from '../test/support/redis-server.ts';
import type { DriverConfig, DriverResult, FromDriver, LinkRecord, ToDriver } from './soak-driver.ts';
import { evaluate, resultJson, summaryLines, type DbRow, type MemorySample, type OutageTimeline, type SoakOptions, type SoakRun } from './soak-report.ts';

// A benchmark is a script run by hand: it reads its own knobs here (src/ reads env only in config).
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SAMPLE_EVERY_MS = 10_000;
const FLUSH_MS = 1000;
const BREAKER = 'dependency_breaker_state{dependency="redis"}';
/** Live links re-checked with HEAD at the end (every deleted link is checked). */
const FINAL_SAMPLE = 1000;
// What a mixed workload looks like: mostly redirects, a steady stream of new links, some churn.
const MIX = { create: 14, create_one_time: 3, redirect: 72, delete: 7, disable: 4 };

const USAGE = `usage: npm run soak -- [--duration-s N] [--rate OPS] [--redis-down-s N] [--rss-growth-max F] [--max-in-flight N]
  --duration-s      traffic duration, seconds (SOAK_DURATION_S, default 300)
  --rate            operations per second, open loop (SOAK_RATE, default 200)
  --redis-down-s    how long Redis stays dead at half time (SOAK_REDIS_DOWN_S, default 15)
  --rss-growth-max  largest allowed RSS growth, first to last window (SOAK_RSS_GROWTH_MAX, default 0.5 = 50%)
  --max-in-flight   ops in flight before new ones are skipped (SOAK_MAX_IN_FLIGHT, default 256)`;

class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): SoakOptions {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') throw new UsageError(USAGE, 0);
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (match?.[1] === undefined) throw new UsageError(`unexpected argument ${arg}\n${USAGE}`);
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${match[1]} needs a value\n${USAGE}`);
    flags.set(match[1], value);
  }
  const known = ['duration-s', 'rate', 'redis-down-s', 'rss-growth-max', 'max-in-flight'];
  for (const name of flags.keys()) if (!known.includes(name)) throw new UsageError(`unknown option --${name}\n${USAGE}`);
  const number = (flag: string, variable: string, fallback: number, min: number, max: number): number => {
    const raw = flags.get(flag) ?? env[variable];
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) throw new UsageError(`--${flag} (${variable}) must be a number from ${min} to ${max} (got "${raw}")`);
    return value;
  };
  const durationS = number('duration-s', 'SOAK_DURATION_S', 300, 30, 24 * 3600);
  return {
    durationS,
    ratePerS: number('rate', 'SOAK_RATE', 200, 1, 10_000),
    redisDownS: number('redis-down-s', 'SOAK_REDIS_DOWN_S', Math.min(15, durationS / 4), 1, durationS / 4),
    rssGrowthMax: number('rss-growth-max', 'SOAK_RSS_GROWTH_MAX', 0.5, 0, 100),
    maxInFlight: number('max-in-flight', 'SOAK_MAX_IN_FLIGHT', 256, 1, 10_000),
  };
}

async function createDatabase(name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** The first time `check` holds (epoch ms), polling every 100 ms; null after `timeoutMs`. */
async function whenTrue(check: () => Promise<boolean>, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return Date.now();
    await sleep(100);
  }
  return null;
}

const sleepUntil = (epochMs: number): Promise<void> => sleep(Math.max(0, epochMs - Date.now()));

/** RSS, heap and the longest event-loop stall of every process from its /metrics, every 10 s from the start of the traffic. */
function startSampler(targets: Record<string, ServiceProcess>, t0: number): { samples: MemorySample[]; stop(): Promise<void> } {
  const samples: MemorySample[] = [];
  let stopped = false;
  const takeAt = async (t: number): Promise<void> => {
    const taken = await Promise.all(
      Object.entries(targets).map(async ([name, service]) => {
        // One scrape for all three: each scrape resets the event-loop delay histogram.
        const exposition = await fetch(`${service.metricsUrl}/metrics`).then((res) => res.text()).catch(() => '');
        const read = (series: string): number | null => seriesValue(exposition, series);
        return {
          process: name,
          t,
          rssBytes: read('process_resident_memory_bytes'),
          heapUsedBytes: read('nodejs_heap_size_used_bytes'),
          eventLoopLagMaxS: read('nodejs_eventloop_lag_max_seconds'),
        };
      }),
    );
    samples.push(...taken);
  };
  const loop = (async () => {
    for (let slot = 0; ; slot++) {
      await sleepUntil(t0 + slot * SAMPLE_EVERY_MS);
      if (stopped) return;
      await takeAt((slot * SAMPLE_EVERY_MS) / 1000);
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
      await takeAt(Math.round((Date.now() - t0) / 100) / 10);
    },
  };
}

/** Kills Redis at half time, tells the driver, starts it again (empty) after `redisDownS`, and times the recovery. */
async function redisOutage(redis: PrivateRedis, urlServices: ServiceProcess[], kgs: ServiceProcess[], tell: (m: ToDriver) => void, t0: number, options: SoakOptions): Promise<OutageTimeline> {
  const breakers = (state: number) => async (): Promise<boolean> => (await Promise.all(urlServices.map((u) => metricValue(u.metricsUrl, BREAKER)))).every((v) => v === state);
  await sleepUntil(t0 + (options.durationS * 1000) / 2);
  const killedAt = Date.now();
  await redis.kill();
  tell({ type: 'phase', phase: 'outage' });
  console.error(`redis: SIGKILL at ${((killedAt - t0) / 1000).toFixed(1)} s; down for ${options.redisDownS} s`);
  const breakersOpenAt = await whenTrue(breakers(2), options.redisDownS * 1000);
  await sleepUntil(killedAt + options.redisDownS * 1000);
  await redis.restart();
  const restartedAt = Date.now();
  tell({ type: 'phase', phase: 'after' });
  console.error(`redis: restarted (empty) on port ${redis.port}`);
  const [breakersClosedAt, kgsReadyAt] = await Promise.all([
    whenTrue(breakers(0), 60_000),
    whenTrue(async () => (await Promise.all(kgs.map((k) => timedFetch(`${k.url}/ready`)))).every((r) => r.status === 200), 60_000),
  ]);
  return { killedAt, breakersOpenAt, restartedAt, breakersClosedAt, kgsReadyAt };
}

/** Every deleted code answers 404 on every replica; a sample of the others answer as their state says (HEAD: no click). */
async function checkFinalAnswers(links: LinkRecord[], urlServices: ServiceProcess[]): Promise<{ checked: number; wrong: string[] }> {
  const deleted = links.filter((l) => l.state === 'deleted');
  const kept = links.filter((l) => l.state === 'active' || l.state === 'disabled' || l.state === 'used');
  const sampled = kept.sort(() => Math.random() - 0.5).slice(0, FINAL_SAMPLE);
  const probes = [...deleted, ...sampled].flatMap((link) => urlServices.map((service) => ({ link, service })));
  const wrong: string[] = [];
  await inParallel(probes.length, 16, async (i) => {
    const probe = probes[i];
    if (probe === undefined) return;
    const { link, service } = probe;
    const method = link.state === 'deleted' ? 'GET' : 'HEAD';
    const res = await timedFetch(`${service.url}/${link.code}`, { method });
    const want = link.state === 'deleted' ? 404 : link.state === 'active' ? 302 : 410;
    const okCode = link.state !== 'deleted' || res.body.code === 'link_not_found';
    const okLocation = want !== 302 || res.headers.get('location') === link.url;
    if (res.status !== want || !okCode || !okLocation) {
      const said = typeof res.body.code === 'string' ? res.body.code : (res.headers.get('location') ?? '');
      wrong.push(`${method} ${link.code} (${link.state}) on ${service.url}: ${res.status} ${said}`);
    }
  });
  return { checked: probes.length, wrong };
}

async function readDatabase(url: string): Promise<{ rows: DbRow[]; duplicateCodes: string[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // The UNIQUE constraint should make this empty; the soak checks the outcome, not the schema.
    const dupes = await client.query<{ short_code: string }>('SELECT short_code FROM urls GROUP BY short_code HAVING count(*) > 1');
    const { rows } = await client.query<{ short_code: string; original_url: string; clicks: string; bot_hits: string; is_active: boolean; is_one_time: boolean; consumed: boolean }>(
      'SELECT urls.short_code, urls.original_url, t.clicks::text, t.bot_hits::text, urls.is_active, urls.is_one_time, urls.consumed_at IS NOT NULL AS consumed FROM urls JOIN url_totals t ON t.url_id = urls.id',
    );
    return {
      rows: rows.map((r) => ({ code: r.short_code, url: r.original_url, clicks: Number(r.clicks), botHits: Number(r.bot_hits), isActive: r.is_active, isOneTime: r.is_one_time, consumed: r.consumed })),
      duplicateCodes: dupes.rows.map((r) => r.short_code),
    };
  } finally {
    await client.end();
  }
}

/**
 * Until the URL services have stored ADMIN_API_KEY. They answer /health before that (the bootstrap
 * runs in the background), and a request with the key that comes first gets 401 for 30 s: its
 * "unknown key" is cached. Watching PostgreSQL instead of asking them keeps that from happening here.
 */
async function adminKeyStoredAfter(databaseUrl: string, timeoutMs: number): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const started = Date.now();
  try {
    const at = await whenTrue(async () => (await client.query('SELECT 1 FROM api_keys WHERE key_hash = $1', [hashApiKey(E2E_ADMIN_KEY)])).rowCount === 1, timeoutMs);
    if (at === null) throw new Error(`the URL services did not store ADMIN_API_KEY within ${timeoutMs} ms`);
    return at - started;
  } finally {
    await client.end();
  }
}

async function sumMetric(services: ServiceProcess[], series: string): Promise<number> {
  return (await Promise.all(services.map((s) => metricValue(s.metricsUrl, series)))).reduce<number>((sum, v) => sum + (v ?? 0), 0);
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2), process.env);
  const id = randomUUID().slice(0, 8);
  const work = mkdtempSync(join(tmpdir(), 'curt-soak-'));
  // Undone in reverse order, on every way out (Ctrl-C included): processes, database, Redis, files.
  const undo: (() => Promise<unknown>)[] = [async () => rmSync(work, { recursive: true, force: true })];
  let cleaning: Promise<void> | null = null;
  const cleanUp = (): Promise<void> =>
    (cleaning ??= (async () => {
      for (const step of undo.reverse()) await step().catch((err: unknown) => console.error(`cleanup: ${String(err)}`));
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`${signal}: cleaning up`);
      void cleanUp().finally(() => process.exit(130));
    });
  }

  try {
    const redis = await startPrivateRedis();
    undo.push(() => redis.stop());
    const database = await createDatabase(`curt_soak_${id}`);
    undo.push(() => database.drop());
    const migrator = new pg.Client({ connectionString: database.url });
    await migrator.connect();
    await migrate(migrator, createLogger({ service: 'soak', level: 'warn' }));
    await migrator.end();

    // Production defaults but a smaller pool, so that refilling the empty Redis after the restart is quick.
    const kgsEnv = { REDIS_URL: redis.url, KGS_POOL_TARGET: '20000', KGS_POOL_LOW_WATERMARK: '5000' };
    const kgs = await Promise.all([startKgs(kgsEnv), startKgs(kgsEnv)]);
    undo.push(() => Promise.all(kgs.map((k) => k.stop('SIGKILL'))));
    const [kgs1, kgs2] = kgs;
    const urlEnv = (kgsUrls: string): Record<string, string> => ({ DATABASE_URL: database.url, REDIS_URL: redis.url, KGS_URL: kgsUrls, CLICK_FLUSH_INTERVAL_MS: String(FLUSH_MS) });
    // Each replica prefers a different KGS, so both serve codes.
    const urlServices = await Promise.all([startUrlService(urlEnv(`${kgs1.url},${kgs2.url}`)), startUrlService(urlEnv(`${kgs2.url},${kgs1.url}`))]);
    undo.push(() => Promise.all(urlServices.map((u) => u.stop('SIGKILL'))));
    const [urlA, urlB] = urlServices;
    const keyWaitMs = await adminKeyStoredAfter(database.url, 30_000);
    console.error(`started: redis-server :${redis.port}, KGS ${kgs1.url} ${kgs2.url}, URL services ${urlA.url} ${urlB.url}, database curt_soak_${id}; admin key stored after ${keyWaitMs} ms`);

    const config: DriverConfig = {
      urls: urlServices.map((u) => u.url),
      adminKey: E2E_ADMIN_KEY,
      ratePerS: options.ratePerS,
      durationS: options.durationS,
      maxInFlight: options.maxInFlight,
      runId: id,
      resultFile: join(work, 'driver.json'),
      mix: MIX,
    };
    const driver = fork(join(ROOT, 'bench/soak-driver.ts'), [JSON.stringify(config)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    undo.push(async () => driver.exitCode === null && driver.signalCode === null && driver.kill('SIGKILL'));
    // The driver's clock starts the run: the outage and the memory samples are timed from it.
    let startTime = 0;
    let started: (at: number) => void = () => undefined;
    const startedAt = new Promise<number>((resolve) => (started = resolve));
    const done = new Promise<string>((resolve, reject) => {
      driver.on('message', (message: FromDriver) => {
        if (message.type === 'started') started(message.at);
        else if (message.type === 'done') resolve(message.file);
        else
          console.error(
            `  ${Math.round((message.at - startTime) / 1000)} s: ${(message.sent / (SAMPLE_EVERY_MS / 1000)).toFixed(0)} ops/s, ` +
              `${message.expected} expected 503s, ${message.failures} failures, ${message.skipped} skipped, ${message.inFlight} in flight, ${message.live} live links`,
          );
      });
      driver.once('exit', (code) => reject(new Error(`soak driver exited with ${code} before its result`)));
    });
    startTime = await Promise.race([startedAt, done.then(() => Date.now())]);
    console.error(`traffic: ${options.ratePerS} ops/s for ${options.durationS} s`);
    const sampler = startSampler({ 'url-a': urlA, 'url-b': urlB, 'kgs-1': kgs1, 'kgs-2': kgs2 }, startTime);
    const [outage, resultFile] = await Promise.all([redisOutage(redis, urlServices, kgs, (m) => driver.send(m), startTime, options), done]);
    const driverResult = JSON.parse(readFileSync(resultFile, 'utf8')) as DriverResult;
    await sampler.stop();

    console.error('traffic done: final answers, then SIGTERM (clicks flushed), then PostgreSQL');
    const server = {
      redirected: await sumMetric(urlServices, 'redirects_total{outcome="redirected"}'),
      clicksDropped: await sumMetric(urlServices, 'clicks_dropped_total'),
    };
    await sleep(2 * FLUSH_MS);
    const finalAnswers = await checkFinalAnswers(driverResult.links, urlServices);
    const exits: Record<string, number | null> = {};
    const [exitA, exitB] = await Promise.all(urlServices.map((u) => u.stop('SIGTERM')));
    Object.assign(exits, { 'url-a': exitA ?? null, 'url-b': exitB ?? null });
    const [exit1, exit2] = await Promise.all(kgs.map((k) => k.stop('SIGTERM')));
    Object.assign(exits, { 'kgs-1': exit1 ?? null, 'kgs-2': exit2 ?? null });

    const run: SoakRun = {
      options,
      date: new Date().toISOString(),
      driver: driverResult,
      outage,
      samples: sampler.samples,
      finalAnswers,
      server,
      exits,
      db: await readDatabase(database.url),
    };
    const checks = evaluate(run);
    console.log(`\n${summaryLines(run, checks).join('\n')}`);
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, `bench/results/soak-${run.date.slice(0, 19).replace(/:/g, '')}.json`);
    writeFileSync(file, `${JSON.stringify(resultJson(run, checks), null, 2)}\n`);
    console.log(`written to ${file}`);
    for (const [name, service] of Object.entries({ 'url-a': urlA, 'url-b': urlB, 'kgs-1': kgs1, 'kgs-2': kgs2 })) {
      const errors = service.output().split('\n').filter((line) => line.includes('"level":"error"') || line.includes('"level":"fatal"'));
      if (errors.length > 0) console.log(`${name}: ${errors.length} error log lines, first: ${errors[0]}`);
    }
    return checks.every((c) => c.ok) ? 0 : 1;
  } finally {
    await cleanUp();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      (err.exitCode === 0 ? console.log : console.error)(err.message);
      process.exit(err.exitCode);
    }
    console.error(err);
    process.exit(1);
  },
);

// `npm run bench:capacity`: the capacity plan's numbers (docs/scaling.md, "Capacity plan").
//
// 1. Measures, on real servers, what the plan needs per row and per operation (bench/lib/capacity-measure.ts):
//    bytes per link and per click row in PostgreSQL, its CPU and WAL per creation, lookup and flushed
//    link, Redis memory per cached link and per used code, Redis CPU per cache read, and the CPU of one
//    eviction of the in-process cache class. `--no-measure` uses the figures recorded below instead.
// 2. Simulates a month of synthetic traffic at a fraction of the full scale (`--scale`, default
//    1/1000), deterministic for `--seed` (bench/lib/capacity-simulation.ts): near-cache hit ratios by
//    CACHE_NEAR_MAX and replicas, Redis hit ratio by Redis memory, distinct links per flush and per day.
// 3. Checks the analytic model (bench/lib/capacity-model.ts) against the simulation at that scale,
//    then uses the model for the full scale, at the average rate and at 10× (the peak).
// 4. Prints the per-second load on Redis and PostgreSQL, storage per year, and the headline: replicas,
//    Redis memory and shards, PostgreSQL size, CPU and IOPS for 10 billion redirects and 100 million
//    links a month. Writes everything to bench/results/capacity-<time>.json.
//
//   --scale 1/1000   --days 30   --warmup-days 1   --history-months 12   --seed 1
//   --zipf 1.0   --recency-days 1   --recency-exponent 1   (0: no recency skew)
//   --near-sizes 10000,100000,1000000,10000000   --replicas 1,4,16   --redis-gb 1,4,16
//   --no-measure   (no servers: the recorded per-row and per-operation figures)
//   --json <file>  (where the JSON goes)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../test/support/processes.ts';
import { measureNearEviction, measurePostgres, measureRedis, TARGET_URL_LENGTH, type PostgresFigures, type RedisFigures } from './lib/capacity-measure.ts';
import { distinctLinks, population, populationOfRates, tiers, valueRowsIn, type Population, type TierModel } from './lib/capacity-model.ts';
import { DEFAULT_SIMULATION, simulate, type SimulationOptions, type SimulationResult } from './lib/capacity-simulation.ts';
import { DAY_S, MONTH_S } from './lib/capacity-workload.ts';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Per-request CPU of a URL-service replica, µs (docs/performance.md, 2026-12-02, wrk, 100,000 links):
 * the highest median of the runs and A/Bs there, so the plan errs on the side of more replicas.
 */
export const SERVICE_CPU_US = {
  /** Answered from the near tier: bench runs 16.7 and 20.9, A/B medians 22.9–28.4. */
  warm: 28.4,
  /**
   * A near miss answered by Redis: NOT measured (no bench scenario has the near tier off with Redis
   * warm); taken as the PostgreSQL-only path (36.0 and 37.9), one round trip and no fill either.
   */
  redisHit: 37.9,
  /** A Redis miss: Redis read, PostgreSQL read, Redis fill (bench 55.6 and 61.7, A/B medians 61.2–81.9). */
  cold: 81.9,
  /** POST /urls (bench 106.9 and 143.4, A/B median 79.7). */
  create: 143.4,
  /** Describing and counting a hit with real User-Agents and addresses (bench:pipeline: 4.23); wrk sent none. */
  clickDescribe: 4.2,
};
/** A replica (one Node process: one core) is planned at this share of its core at peak. */
const TARGET_UTILISATION = 0.7;
/** A PostgreSQL or Redis core, likewise. */
const SERVER_UTILISATION = 0.7;
/** Memory planned per Redis shard of the cache (the rest of a 32 GB node for forks, fragmentation). */
const REDIS_SHARD_GB = 24;
/** Connections of one URL-service replica: the request pool (10) and the background pool (2), src/storage/postgres/postgres-link-storage.ts. */
const CONNECTIONS_PER_REPLICA = 12;
/** ANALYTICS_RETENTION_DAYS default. */
const RETENTION_DAYS = 400;
const PEAK_FACTOR = 10;

/**
 * The measured figures of the run this page's tables come from (`npm run bench:capacity`, 2026-12-02,
 * a shared 2-core machine at load average 10–20), used with --no-measure.
 */
export const RECORDED: { postgres: PostgresFigures; redis: RedisFigures; nearEvictionUs: Record<string, number> } = {
  postgres: {
    linksLoaded: 500_000,
    urlsHeapBytesPerRow: 234,
    urlsIndexBytesPerRow: 353,
    urlsIndexes: 9,
    dailyClicksBytesPerRow: 110,
    dailyValuesBytesPerRow: 137,
    creationCpuUs: 165,
    creationWalBytes: 6306,
    lookupCpuUs: 219,
    lookupBatchedCpuUs: 16.5,
    flushLinksPerBatch: 2000,
    flushCpuUsPerLink: 221,
    flushWalBytesPerLink: 19_561,
    flushFpiBytesPerLink: 16_601,
    flushPagesPerLink: 1.49,
    flushWallMsPerBatch: 1245,
  },
  redis: { bytesPerCachedLink: 245, bytesPerUsedCode: 56.7, cpuUsPerRead: 8, cpuUsPerWrite: 13.6 },
  // Measured after the eviction walk was kept between evictions (before: 8.6 and 127.1 µs).
  nearEvictionUs: { '10000': 2.0, '100000': 4.1 },
};

/**
 * Pages a flushed link dirties in a table of a billion links, derived from the schema rather than
 * measured (the scratch table is too small: 16,000 flushed links there share its few thousand index
 * pages, 1.5 pages each): the UPDATE of `urls` is not HOT (it changes `clicks` and `last_clicked_at`,
 * which listing indexes hold), so it writes the old row's heap page and a new entry in each of the
 * indexes, five of them at a random place (primary key, short_code, owner+id, owner+md5(url),
 * owner+created_at); the others and the new row's page are written in order; then one leaf of
 * url_daily_clicks' and one of url_daily_values' primary key (by link id: random).
 */
const PAGES_PER_FLUSHED_LINK = 1 + 5 + 2;
const PAGE_BYTES = 8192;

interface Args {
  sim: SimulationOptions;
  redisGb: number[];
  measure: boolean;
  /** Where the JSON goes (default bench/results/capacity-<time>.json). */
  json: string | null;
}

function parseArgs(argv: string[]): Args {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const [key, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (key === 'no-measure') given.set(key, 'true');
    else given.set(key, inline ?? argv[++i] ?? '');
  }
  const known = ['scale', 'days', 'warmup-days', 'history-months', 'seed', 'zipf', 'recency-days', 'recency-exponent', 'near-sizes', 'replicas', 'redis-gb', 'no-measure', 'json'];
  for (const key of given.keys()) if (!known.includes(key)) throw new Error(`unknown option --${key} (known: ${known.join(', ')})`);
  const number = (key: string, fallback: number): number => {
    const raw = given.get(key);
    if (raw === undefined) return fallback;
    const [a, b] = raw.split('/');
    const value = b === undefined ? Number(a) : Number(a) / Number(b);
    if (!Number.isFinite(value)) throw new Error(`--${key} must be a number, not ${raw}`);
    return value;
  };
  const list = (key: string, fallback: number[]): number[] => (given.get(key)?.split(',').map(Number) ?? fallback);
  return {
    sim: {
      ...DEFAULT_SIMULATION,
      scale: number('scale', DEFAULT_SIMULATION.scale),
      days: number('days', DEFAULT_SIMULATION.days),
      warmupDays: number('warmup-days', DEFAULT_SIMULATION.warmupDays),
      historyMonths: number('history-months', DEFAULT_SIMULATION.historyMonths),
      seed: number('seed', DEFAULT_SIMULATION.seed),
      zipfS: number('zipf', DEFAULT_SIMULATION.zipfS),
      recencyDays: number('recency-days', DEFAULT_SIMULATION.recencyDays),
      recencyExponent: number('recency-exponent', DEFAULT_SIMULATION.recencyExponent),
      nearSizes: list('near-sizes', DEFAULT_SIMULATION.nearSizes),
      replicas: list('replicas', DEFAULT_SIMULATION.replicas),
    },
    redisGb: list('redis-gb', [1, 4, 16]),
    measure: given.get('no-measure') !== 'true',
    json: given.get('json') ?? null,
  };
}

// ---------- formatting ----------

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '∞');
const pct = (n: number): string => `${(n * 100).toFixed(1)} %`;
const size = (n: number): string => (n >= 1e6 ? `${fmt(n / 1e6, n % 1e6 === 0 ? 0 : 1)}M` : n >= 1e3 ? `${fmt(n / 1e3)}k` : fmt(n));
const bytes = (n: number): string => (n >= 1e12 ? `${fmt(n / 1e12, 2)} TB` : n >= 1e9 ? `${fmt(n / 1e9, 1)} GB` : `${fmt(n / 1e6, 1)} MB`);

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [line(header), `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(Math.max(1, w - 1))}:`)).join(' | ')} |`, ...cells.slice(1).map(line)].join('\n');
}

// ---------- the model at a given scale ----------

interface Scaled {
  pop: Population;
  linksPerSecond: number;
  redirectRate: number;
}

function modelAt(sim: SimulationOptions, scale: number, rateFactor: number, atS: number): Scaled {
  const linksPerSecond = (sim.linksPerMonth * scale) / MONTH_S;
  const redirectRate = ((sim.redirectsPerMonth * scale) / MONTH_S) * rateFactor;
  const historyS = sim.historyMonths * MONTH_S;
  const ranks = Math.max(1, Math.round(sim.linksPerMonth * scale * sim.historyMonths + linksPerSecond * (sim.warmupDays + sim.days) * DAY_S));
  return {
    pop: population({ redirectRate, linksPerSecond, oldestS: historyS + atS, ranks, zipfS: sim.zipfS, recencyDays: sim.recencyDays, recencyExponent: sim.recencyExponent }),
    linksPerSecond,
    redirectRate,
  };
}

const tierOptions = (sim: SimulationOptions, nearSize: number, replicas: number, redisSize: number): Parameters<typeof tiers>[1] => ({
  replicas,
  nearSize,
  nearTtlS: sim.nearTtlS,
  redisSize,
  redisTtlS: sim.redisTtlS,
});

/** The model averaged over the simulation's snapshots of its own links (their realized popularity). */
function averaged<T extends object>(pops: Population[], f: (pop: Population) => T): T {
  const results = pops.map((pop) => f(pop) as Record<string, number>);
  const keys = Object.keys(results[0] ?? {});
  return Object.fromEntries(keys.map((k) => [k, results.reduce((sum, r) => sum + (r[k] ?? 0), 0) / results.length])) as T;
}

// ---------- the plan ----------

interface Load {
  replicas: number;
  tier: TierModel;
  redirectRate: number;
  creationRate: number;
  serviceCores: number;
  distinctPerReplicaFlush: number;
  flushRowsPerSecond: { urls: number; dailyClicks: number; dailyValues: number };
  redisOps: { reads: number; fills: number; creationWrites: number; publishes: number; deliveries: number; keyPool: number };
  redisCores: number;
  postgresCores: { lookups: [number, number]; flush: number; creations: number };
  /** WAL without full-page images (each page written since the last checkpoint already) and with one for every page touched. */
  walBytesPerSecond: [number, number];
  pageWritesPerSecond: number;
  pageReadsPerSecond: number;
}

interface PlanOptions {
  nearSize: number;
  creationFactor: number;
  /** CPU µs one near-tier eviction costs (every Redis hit fills the near tier; a full one evicts): 0 when fixed. */
  evictionUs: number;
  flushMs?: number;
  fixedReplicas?: number;
}

function planLoad(sim: SimulationOptions, scaled: Scaled, pgf: PostgresFigures, rf: RedisFigures, plan: PlanOptions): Load {
  const { nearSize, fixedReplicas } = plan;
  const flushMs = plan.flushMs ?? sim.flushMs;
  const creationRate = scaled.linksPerSecond * plan.creationFactor;
  const cpuOf = (tier: TierModel): number => {
    const r = scaled.redirectRate;
    const near = r * tier.nearHitRatio;
    const redisHits = tier.redisReads - tier.postgresReads;
    const eviction = redisHits * plan.evictionUs;
    return (near * SERVICE_CPU_US.warm + redisHits * SERVICE_CPU_US.redisHit + tier.postgresReads * SERVICE_CPU_US.cold + r * SERVICE_CPU_US.clickDescribe + creationRate * SERVICE_CPU_US.create + eviction) / 1e6;
  };
  // Replicas and the near tier's hit ratio depend on each other: iterate to a fixed point.
  let replicas = fixedReplicas ?? 2;
  let tier = tiers(scaled.pop, tierOptions(sim, nearSize, replicas, Infinity));
  for (let k = 0; k < 20 && fixedReplicas === undefined; k++) {
    const next = Math.max(2, Math.ceil(cpuOf(tier) / TARGET_UTILISATION));
    if (next === replicas) break;
    replicas = next;
    tier = tiers(scaled.pop, tierOptions(sim, nearSize, replicas, Infinity));
  }
  const distinctPerReplicaFlush = distinctLinks(scaled.pop, flushMs / 1000, replicas);
  const flushesPerSecond = (replicas * 1000) / flushMs;
  const urlsRows = distinctPerReplicaFlush * flushesPerSecond;
  const valueRows = valueRowsIn(scaled.pop, flushMs / 1000, replicas) * flushesPerSecond;
  const fills = tier.postgresReads;
  const keyPool = creationRate * 2; // taking and offering each code: a few script calls per 200-1,000 codes, each code touched twice
  const redisOps = { reads: tier.redisReads, fills, creationWrites: creationRate, publishes: creationRate, deliveries: creationRate * replicas, keyPool };
  const redisCpu = (tier.redisReads * rf.cpuUsPerRead + (fills + creationRate) * rf.cpuUsPerWrite + creationRate * replicas * rf.cpuUsPerRead) / 1e6;
  return {
    replicas,
    tier,
    redirectRate: scaled.redirectRate,
    creationRate,
    serviceCores: cpuOf(tier),
    distinctPerReplicaFlush,
    flushRowsPerSecond: { urls: urlsRows, dailyClicks: urlsRows, dailyValues: valueRows },
    redisOps,
    redisCores: redisCpu,
    postgresCores: {
      lookups: [(tier.postgresReads * pgf.lookupBatchedCpuUs) / 1e6, (tier.postgresReads * pgf.lookupCpuUs) / 1e6],
      flush: (urlsRows * pgf.flushCpuUsPerLink) / 1e6,
      creations: (creationRate * pgf.creationCpuUs) / 1e6,
    },
    walBytesPerSecond: [
      urlsRows * (pgf.flushWalBytesPerLink - pgf.flushFpiBytesPerLink) + creationRate * pgf.creationWalBytes,
      urlsRows * (pgf.flushWalBytesPerLink - pgf.flushFpiBytesPerLink + PAGES_PER_FLUSHED_LINK * PAGE_BYTES) + creationRate * pgf.creationWalBytes,
    ],
    pageWritesPerSecond: urlsRows * PAGES_PER_FLUSHED_LINK + creationRate * (pgf.urlsIndexes + 1),
    // Upper bound: every page a lookup (index leaf and heap) or a flushed link needs is read from disk.
    pageReadsPerSecond: tier.postgresReads * 2 + urlsRows * PAGES_PER_FLUSHED_LINK,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { sim } = args;
  const started = new Date();
  let pgf = RECORDED.postgres;
  let rf = RECORDED.redis;
  let evictions = RECORDED.nearEvictionUs;
  const measured = args.measure;
  if (measured) {
    console.error('measuring: Redis (a private redis-server)');
    rf = await measureRedis();
    console.error(`measuring: PostgreSQL (database curt_capacity_${process.pid} on ${new URL(DATABASE_URL).host})`);
    pgf = await measurePostgres(DATABASE_URL);
    console.error('measuring: the in-process cache class, CPU per eviction when full');
    evictions = Object.fromEntries([10_000, 100_000].map((n) => [String(n), measureNearEviction(n)]));
  }
  const redisSizes = args.redisGb.map((gb) => Math.floor((gb * 1e9) / rf.bytesPerCachedLink));
  const simOptions: SimulationOptions = { ...sim, redisSizes };
  console.error(`simulating ${sim.warmupDays + sim.days} days at scale ${sim.scale} (${fmt((sim.redirectsPerMonth * sim.scale * (sim.warmupDays + sim.days)) / 30)} redirects)`);
  const result: SimulationResult = simulate(simOptions, (done) => process.stderr.write(`  ${(done * 100).toFixed(0)} %\r`));
  console.error(`  simulated in ${(result.wallMs / 1000).toFixed(0)} s`);

  const out: string[] = [];
  const say = (s = ''): void => void out.push(s);
  say(`# Capacity simulation, ${started.toISOString()}`);
  say();
  say(`Workload (full scale): ${fmt(sim.linksPerMonth)} links and ${fmt(sim.redirectsPerMonth)} redirects a month (${fmt(sim.redirectsPerMonth / MONTH_S)}/s on average, ${fmt((PEAK_FACTOR * sim.redirectsPerMonth) / MONTH_S)}/s at ${PEAK_FACTOR}× peak), ` +
    `${sim.historyMonths} months of links before the simulated month; popularity Zipf(s = ${sim.zipfS}) in a random rank × (1 + age / ${sim.recencyDays} d)^-${sim.recencyExponent}; requests spread at random over the replicas; ` +
    `CACHE_NEAR_TTL_S ${sim.nearTtlS}, CACHE_TTL_S ${sim.redisTtlS}, CLICK_FLUSH_INTERVAL_MS ${sim.flushMs}.`);
  say(`Simulated: scale ${sim.scale} (${fmt(result.linksAtStart)} links at the start, ${fmt(result.linksCreated)} created, ${fmt(result.redirectRate, 2)} redirects/s, ${fmt(result.configs[0]?.counts.requests ?? 0)} redirects measured over ${sim.days} days after ${sim.warmupDays} of warm-up), seed ${sim.seed}, ${(result.wallMs / 1000).toFixed(0)} s.`);
  say(`Share of redirects to links younger than a day: ${pct(result.youngShare.day)}, a week: ${pct(result.youngShare.week)}, a month: ${pct(result.youngShare.month)}.`);
  say();

  // Simulation against the model at the simulated scale.
  const atScale = modelAt(sim, sim.scale, 1, sim.warmupDays * DAY_S + (sim.days * DAY_S) / 2);
  const realized = result.snapshots.map(populationOfRates);
  const onRealized = (nearSize: number, replicas: number, redisSize: number): TierModel =>
    averaged(realized, (pop) => tiers(pop, tierOptions(sim, nearSize, replicas, redisSize)));
  say(`## Simulated (scale ${sim.scale}) and the model at the same scale`);
  say();
  say(`"model, sim links": the model's formulas on the simulated links' own rates (${realized.length} snapshots, averaged); "model, law": on the workload law's expected population, as used for the full scale.`);
  say();
  const simRows = result.configs.filter((c) => !Number.isFinite(c.redisSize)).map((c) => {
    const m = tiers(atScale.pop, tierOptions(sim, c.nearSizeScaled, c.replicas, Infinity));
    const r = onRealized(c.nearSizeScaled, c.replicas, Infinity);
    const k = c.counts;
    return [`${size(c.nearSize)} (${fmt(c.nearSizeScaled)} at scale)`, c.replicas, pct(k.nearHits / k.requests), pct(r.nearHitRatio), pct(m.nearHitRatio), pct(k.redisHits / Math.max(1, k.redisReads)), pct(r.redisHitRatio), pct(m.redisHitRatio), pct(k.postgresReads / k.requests), pct(r.postgresShare), pct(m.postgresShare)];
  });
  say(table(['CACHE_NEAR_MAX', 'replicas', 'near hit: sim', 'model, sim links', 'model, law', 'Redis hit (of its reads): sim', 'model, sim links', 'model, law', 'to PostgreSQL: sim', 'model, sim links', 'model, law'], simRows));
  say();
  const sweep = result.configs.filter((c) => c.replicas === sim.sweepReplicas && c.nearSize === sim.sweepNearSize);
  say(`Redis memory (CACHE_NEAR_MAX ${size(sim.sweepNearSize)}, ${sim.sweepReplicas} replicas; entries = memory / ${fmt(rf.bytesPerCachedLink)} bytes, scaled):`);
  say();
  say(table(['Redis memory (full scale)', 'entries at scale', 'Redis hit: sim', 'model, sim links', 'model, law', 'to PostgreSQL: sim', 'model, sim links', 'model, law'], sweep.map((c) => {
    const m = tiers(atScale.pop, tierOptions(sim, c.nearSizeScaled, c.replicas, c.redisSizeScaled));
    const r = onRealized(c.nearSizeScaled, c.replicas, c.redisSizeScaled);
    const gb = Number.isFinite(c.redisSize) ? `${fmt((c.redisSize * rf.bytesPerCachedLink) / 1e9, 1)} GB` : 'unbounded';
    return [gb, fmt(c.redisSizeScaled), pct(c.counts.redisHits / Math.max(1, c.counts.redisReads)), pct(r.redisHitRatio), pct(m.redisHitRatio), pct(c.counts.postgresReads / c.counts.requests), pct(r.postgresShare), pct(m.postgresShare)];
  })));
  say();
  const unbounded = sweep.find((c) => !Number.isFinite(c.redisSize));
  if (unbounded) {
    const m = tiers(atScale.pop, tierOptions(sim, unbounded.nearSizeScaled, unbounded.replicas, Infinity));
    const r = onRealized(unbounded.nearSizeScaled, unbounded.replicas, Infinity);
    say(`Live Redis entries (unbounded): sim ${fmt(unbounded.counts.redisLiveEntries)} (hourly max ${fmt(unbounded.counts.redisLiveEntriesMax)}), model on sim links ${fmt(r.redisEntries + atScale.linksPerSecond * sim.redisTtlS)}, on the law ${fmt(m.redisEntries + atScale.linksPerSecond * sim.redisTtlS)} (fills + creations).`);
  }
  say();
  const realizedDistinct = (windowS: number, replicas: number): number => averaged(realized, (pop) => ({ d: distinctLinks(pop, windowS, replicas) })).d;
  say(table(['replicas', 'distinct links per replica per flush: sim', 'model, sim links', 'model, law', 'clicks per replica per flush'], result.flushes.map((f) => [f.replicas, fmt(f.distinctPerFlush, 3), fmt(realizedDistinct(sim.flushMs / 1000, f.replicas), 3), fmt(distinctLinks(atScale.pop, sim.flushMs / 1000, f.replicas), 3), fmt(f.clicksPerFlush, 3)])));
  say();
  say(`Distinct links clicked per day (url_daily_clicks rows per day): sim ${fmt(result.distinctPerDay)}, model on sim links ${fmt(realizedDistinct(DAY_S, 1))}, on the law ${fmt(distinctLinks(atScale.pop, DAY_S))}.`);
  say();

  // Full scale, from the model.
  const midMonth = MONTH_S / 2;
  const full = modelAt(sim, 1, 1, midMonth);
  const peak = modelAt(sim, 1, PEAK_FACTOR, midMonth);
  say('## Full scale (the model)');
  say();
  say(table(['CACHE_NEAR_MAX', ...sim.replicas.flatMap((r) => [`${r} replicas: avg`, `${r}: peak`])], sim.nearSizes.map((n) => [size(n), ...sim.replicas.flatMap((r) => [pct(tiers(full.pop, tierOptions(sim, n, r, Infinity)).nearHitRatio), pct(tiers(peak.pop, tierOptions(sim, n, r, Infinity)).nearHitRatio)])])));
  say();
  say('Redis hit ratio (of its reads) and redirects reaching PostgreSQL, by Redis memory, CACHE_NEAR_MAX 100k:');
  say();
  const gbs = [...args.redisGb, 64, Infinity];
  say(table(['Redis memory', ...sim.replicas.flatMap((r) => [`${r} replicas: Redis hit`, 'to PG/s avg'])], gbs.map((gb) => [Number.isFinite(gb) ? `${gb} GB` : 'unbounded', ...sim.replicas.flatMap((r) => {
    const m = tiers(full.pop, tierOptions(sim, 100_000, r, (gb * 1e9) / rf.bytesPerCachedLink));
    return [pct(m.redisHitRatio), fmt(m.postgresReads)];
  })])));
  say();
  say('Longer lifetimes (8 replicas, CACHE_NEAR_MAX 100k, Redis unbounded): what each tier catches, and the Redis memory that takes:');
  say();
  const lifetimes: string[][] = [];
  for (const [nearTtlS, redisTtlS] of [[60, 3600], [300, 3600], [60, 6 * 3600], [60, 24 * 3600], [300, 24 * 3600]] as const) {
    const avg = tiers(full.pop, { replicas: 8, nearSize: 100_000, nearTtlS, redisSize: Infinity, redisTtlS });
    const pk = tiers(peak.pop, { replicas: 8, nearSize: 100_000, nearTtlS, redisSize: Infinity, redisTtlS });
    lifetimes.push([fmt(nearTtlS), fmt(redisTtlS), pct(avg.nearHitRatio), pct(avg.postgresShare), fmt(avg.postgresReads), fmt(pk.postgresReads), bytes((avg.redisEntries + full.linksPerSecond * redisTtlS) * rf.bytesPerCachedLink)]);
  }
  say(table(['CACHE_NEAR_TTL_S', 'CACHE_TTL_S', 'near hit (avg)', 'to PostgreSQL (avg)', 'PG reads/s avg', 'PG reads/s peak', 'Redis memory (avg)'], lifetimes));
  say();
  const fullUnbounded = tiers(full.pop, tierOptions(sim, 100_000, 16, Infinity));
  say(`Redis cache entries live (unbounded, TTL ${sim.redisTtlS} s): ${fmt(fullUnbounded.redisEntries + full.linksPerSecond * sim.redisTtlS)} = ${bytes((fullUnbounded.redisEntries + full.linksPerSecond * sim.redisTtlS) * rf.bytesPerCachedLink)} at ${fmt(rf.bytesPerCachedLink)} bytes each.`);
  say();

  // Storage.
  const dailyRows = distinctLinks(full.pop, DAY_S);
  const dailyValueRows = valueRowsIn(full.pop, DAY_S);
  const linkBytes = pgf.urlsHeapBytesPerRow + pgf.urlsIndexBytesPerRow;
  const storage = (years: number): { urls: number; clicks: number; values: number } => {
    const days = Math.min(years * 365, RETENTION_DAYS);
    return { urls: sim.linksPerMonth * 12 * years * linkBytes, clicks: dailyRows * days * pgf.dailyClicksBytesPerRow, values: dailyValueRows * days * pgf.dailyValuesBytesPerRow };
  };
  const s1 = storage(1);
  const s3 = storage(3);
  say('## Storage (measured bytes per row × modelled rows; no bloat, WAL or backups)');
  say();
  say(`Per link ${fmt(linkBytes)} bytes (heap ${fmt(pgf.urlsHeapBytesPerRow)}, ${pgf.urlsIndexes} indexes ${fmt(pgf.urlsIndexBytesPerRow)}; ${TARGET_URL_LENGTH}-character URLs); url_daily_clicks ${fmt(pgf.dailyClicksBytesPerRow)} bytes per row, url_daily_values ${fmt(pgf.dailyValuesBytesPerRow)}.`);
  say(`Rows per day: url_daily_clicks ${fmt(dailyRows)} (distinct links clicked), url_daily_values ${fmt(dailyValueRows)}; ANALYTICS_RETENTION_DAYS ${RETENTION_DAYS}.`);
  say();
  say(table(['table', 'after 1 year', 'after 3 years'], [
    ['urls', bytes(s1.urls), bytes(s3.urls)],
    ['url_daily_clicks', bytes(s1.clicks), bytes(s3.clicks)],
    ['url_daily_values', bytes(s1.values), bytes(s3.values)],
    ['total', bytes(s1.urls + s1.clicks + s1.values), bytes(s3.urls + s3.clicks + s3.values)],
    ['Redis key pool (used_keys)', bytes(sim.linksPerMonth * 12 * rf.bytesPerUsedCode), bytes(sim.linksPerMonth * 36 * rf.bytesPerUsedCode)],
  ]));
  say();

  // The headline.
  // Planned with the in-process cache's evictions at what they were measured to cost, and at about
  // 1 µs (the floor: the walk kept between evictions, as the class and bench/lib/second-chance-cache.ts do).
  const evictionUs = evictions['100000'] ?? 0;
  const avgLoad = planLoad(sim, full, pgf, rf, { nearSize: 100_000, creationFactor: 1, evictionUs });
  const peakLoad = planLoad(sim, peak, pgf, rf, { nearSize: 100_000, creationFactor: PEAK_FACTOR, evictionUs });
  const peakFixed = planLoad(sim, peak, pgf, rf, { nearSize: 100_000, creationFactor: PEAK_FACTOR, evictionUs: 1 });
  const avgAtPeakReplicas = planLoad(sim, full, pgf, rf, { nearSize: 100_000, creationFactor: 1, evictionUs, fixedReplicas: peakLoad.replicas });
  const loads: [string, Load][] = [['average', avgAtPeakReplicas], [`${PEAK_FACTOR}× peak`, peakLoad]];
  const row = (label: string, f: (l: Load) => string): string[] => [label, ...loads.map(([, l]) => f(l))];
  say(`## Headline: ${fmt(sim.redirectsPerMonth)} redirects and ${fmt(sim.linksPerMonth)} links a month (CACHE_NEAR_MAX 100k, Redis unbounded)`);
  say();
  say(table(['', ...loads.map(([name]) => name)], [
    row('redirects/s; creations/s', (l) => `${fmt(l.redirectRate)}; ${fmt(l.creationRate)}`),
    row('URL-service replicas (1 core each, 70 % at peak)', (l) => `${l.replicas} (${fmt(l.serviceCores, 1)} cores busy)`),
    row('near hit; Redis hit of its reads; to PostgreSQL', (l) => `${pct(l.tier.nearHitRatio)}; ${pct(l.tier.redisHitRatio)}; ${pct(l.tier.postgresShare)}`),
    row('Redis ops/s: reads, fills, creation writes, PUBLISH (deliveries)', (l) => `${fmt(l.redisOps.reads)}, ${fmt(l.redisOps.fills)}, ${fmt(l.redisOps.creationWrites)}, ${fmt(l.redisOps.publishes)} (${fmt(l.redisOps.deliveries)})`),
    row('Redis CPU (cores)', (l) => fmt(l.redisCores, 2)),
    row('distinct links per replica per flush', (l) => fmt(l.distinctPerReplicaFlush)),
    row('flush rows/s: urls, url_daily_clicks, url_daily_values', (l) => `${fmt(l.flushRowsPerSecond.urls)}, ${fmt(l.flushRowsPerSecond.dailyClicks)}, ${fmt(l.flushRowsPerSecond.dailyValues)}`),
    row('PostgreSQL reads/s (Redis misses)', (l) => fmt(l.tier.postgresReads)),
    row('PostgreSQL CPU, cores: lookups (batched–single), flush, creations', (l) => `${fmt(l.postgresCores.lookups[0], 2)}–${fmt(l.postgresCores.lookups[1], 2)}, ${fmt(l.postgresCores.flush, 2)}, ${fmt(l.postgresCores.creations, 2)}`),
    row('PostgreSQL WAL: no full-page images – one per page touched', (l) => `${fmt(l.walBytesPerSecond[0] / 1e6, 1)}–${fmt(l.walBytesPerSecond[1] / 1e6)} MB/s`),
    row('PostgreSQL pages written/s (upper bound); read/s (cold cache bound)', (l) => `${fmt(l.pageWritesPerSecond)}; ${fmt(l.pageReadsPerSecond)}`),
    row('PostgreSQL connections (replicas × 12)', (l) => fmt(l.replicas * CONNECTIONS_PER_REPLICA)),
  ]));
  say();
  say(`Replicas needed at the average rate alone: ${avgLoad.replicas}; at peak with the in-process cache's eviction fixed (about 1 µs instead of ${fmt(evictionUs, 1)}): ${peakFixed.replicas} (${fmt(peakFixed.serviceCores, 1)} cores busy).`);
  say(`Redis cache shards by memory (${REDIS_SHARD_GB} GB each): ${Math.ceil(((fullUnbounded.redisEntries + full.linksPerSecond * sim.redisTtlS) * rf.bytesPerCachedLink) / 1e9 / REDIS_SHARD_GB)}; by CPU at peak (${pct(SERVER_UTILISATION)} of a core): ${Math.ceil(peakLoad.redisCores / SERVER_UTILISATION)}.`);
  say(`In-process cache eviction, CPU µs per eviction of the class as it is: ${Object.entries(evictions).map(([n, us]) => `${size(Number(n))} entries ${fmt(us, 1)}`).join(', ')} (grows with CACHE_NEAR_MAX; in the replica counts above, one per Redis hit).`);
  say();

  // The flush: one transaction per replica per interval, written one after another. What one
  // replica's flush can write per second was measured (the batch above); past it, batches grow,
  // the click buffer fills (CLICK_BUFFER_MAX), details are shed and then clicks dropped.
  const flushCapacity = (pgf.flushLinksPerBatch / pgf.flushWallMsPerBatch) * 1000;
  say(`## The click flush at ${PEAK_FACTOR}× peak, by CLICK_FLUSH_INTERVAL_MS and replicas`);
  say();
  say(`One replica's flush wrote ${fmt(flushCapacity)} links/s in the measurement (wall time, a loaded machine); its backend's CPU per link (${fmt(pgf.flushCpuUsPerLink)} µs) caps one flush stream at ${fmt(1e6 / pgf.flushCpuUsPerLink)} links/s on any machine. "Keeps up" uses the measured rate.`);
  say();
  const flushRows: string[][] = [];
  for (const replicas of [peakLoad.replicas, 8, 16, 32]) {
    for (const flushMs of [1000, 5000, 10_000, 30_000, 60_000]) {
      const l = planLoad(sim, peak, pgf, rf, { nearSize: 100_000, creationFactor: PEAK_FACTOR, evictionUs, flushMs, fixedReplicas: replicas });
      const perReplica = l.flushRowsPerSecond.urls / replicas;
      flushRows.push([String(replicas), fmt(flushMs / 1000), fmt(l.distinctPerReplicaFlush), fmt(perReplica), perReplica <= flushCapacity ? 'yes' : 'no', fmt(l.flushRowsPerSecond.urls), fmt(l.flushRowsPerSecond.dailyValues), fmt(l.postgresCores.flush, 1), `${fmt(l.walBytesPerSecond[0] / 1e6)}–${fmt(l.walBytesPerSecond[1] / 1e6)} MB/s`]);
    }
  }
  say(table(['replicas', 'interval s', 'links per flush', 'links/s per replica', 'keeps up', 'urls rows/s (all)', 'url_daily_values rows/s', 'PG cores (flush)', 'WAL (no FPI – all FPI)'], flushRows));
  say();
  say(`Per-operation figures ${measured ? 'measured in this run' : 'recorded (--no-measure)'}: ${JSON.stringify({ postgres: pgf, redis: rf })}`);
  const text = out.join('\n');
  console.log(text);
  const dir = join(ROOT, 'bench', 'results');
  if (args.json === null) mkdirSync(dir, { recursive: true });
  const file = args.json ?? join(dir, `capacity-${started.toISOString().replace(/[:.-]/g, '').slice(0, 15)}.json`);
  writeFileSync(file, `${JSON.stringify({ args: { ...args, sim: simOptions }, measured, postgres: pgf, redis: rf, evictions, simulation: { ...result, snapshots: result.snapshots.length }, serviceCpuUs: SERVICE_CPU_US, headline: { average: avgAtPeakReplicas, peak: peakLoad, averageAlone: avgLoad, peakEvictionFixed: peakFixed }, storage: { oneYear: s1, threeYears: s3 } }, (_, v: unknown) => (v === Infinity ? 'Infinity' : v), 1)}\n`);
  console.error(`wrote ${file}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

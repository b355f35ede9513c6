// The simulation of `npm run bench:capacity`: a month of synthetic traffic (capacity-workload.ts)
// replayed through R URL-service replicas, each with the in-process cache's policy (the near tier of
// src/storage/tiered-link-cache.ts: src/storage/memory/memory-link-cache.ts, entry for entry, as
// second-chance-cache.ts) on a simulated clock, in front of one Redis tier, in front of PostgreSQL.
// No I/O: every tier is counted.
//
// What each request does here is what src/storage/tiered-link-cache.ts and src/url/link-service.ts do:
//  - near tier: `peek` (the warm redirect's fast path); a hit ends there;
//  - a near miss reads Redis (one script call: entry, epoch and PTTL); a hit fills the near tier
//    with a lifetime of min(CACHE_NEAR_TTL_S, what is left of the Redis entry), whole seconds down,
//    not at all below one second;
//  - a Redis miss reads PostgreSQL and fills Redis (SET only when absent, CACHE_TTL_S); the near
//    tier is not filled by it (the next request on that replica reads Redis again);
//  - a creation writes the new link to Redis (CACHE_TTL_S) and publishes one invalidation, which
//    every replica receives (a new code has no near entry to drop).
// The load balancer sends each request to a replica at random, so every replica's near tier sees
// the whole key space at 1/R of the rate. Every configuration sees the same request sequence.
// The Redis tier is unbounded (as many entries as live: the memory that needs is reported), or
// bounded for the memory sweep; bounded, it is the same second-chance class standing in for Redis's
// sampled LRU (allkeys-lru), which evicts by recency too but not exactly in the same order.
import { createRandom, createWorkload, DAY_S, MONTH_S, REFRESH_S } from './capacity-workload.ts';
import { createSecondChanceCache, type SecondChanceCache } from './second-chance-cache.ts';

export interface SimulationOptions {
  /** Fraction of the full traffic simulated: links, redirects and cache sizes are all multiplied by it. */
  scale: number;
  /** Full-scale links created per month, and redirects per month. */
  linksPerMonth: number;
  redirectsPerMonth: number;
  /** Months of links that exist before the simulated month. */
  historyMonths: number;
  /** Simulated days measured, after `warmupDays` not measured (caches filling). */
  days: number;
  warmupDays: number;
  zipfS: number;
  recencyDays: number;
  recencyExponent: number;
  /** Full-scale CACHE_NEAR_MAX values and replica counts: every pair is one configuration. */
  nearSizes: number[];
  replicas: number[];
  /** The Redis memory sweep: full-scale entry limits (Infinity: unbounded), with one near configuration. */
  redisSizes: number[];
  sweepNearSize: number;
  sweepReplicas: number;
  nearTtlS: number;
  redisTtlS: number;
  flushMs: number;
  seed: number;
  /** Days between snapshots of every link's request rate (for the model on the simulated links); 0: none. */
  snapshotEveryDays: number;
}

export const DEFAULT_SIMULATION: SimulationOptions = {
  scale: 1 / 1000,
  linksPerMonth: 100e6,
  redirectsPerMonth: 10e9,
  historyMonths: 12,
  days: 30,
  warmupDays: 1,
  zipfS: 1,
  recencyDays: 1,
  recencyExponent: 1,
  nearSizes: [10_000, 100_000, 1_000_000, 10_000_000],
  replicas: [1, 4, 16],
  redisSizes: [5e6, 20e6, 80e6],
  sweepNearSize: 100_000,
  sweepReplicas: 4,
  nearTtlS: 60,
  redisTtlS: 3600,
  flushMs: 1000,
  seed: 1,
  snapshotEveryDays: 5,
};

/** Counts over the measured days, at the simulated scale. */
export interface TierCounts {
  requests: number;
  nearHits: number;
  /** Near misses: one Redis read each. */
  redisReads: number;
  redisHits: number;
  /** Redis misses: one PostgreSQL read and one Redis fill each. */
  postgresReads: number;
  creations: number;
  /** Invalidations delivered to replicas (one PUBLISH per creation, R deliveries). */
  deliveries: number;
  /** Live Redis entries (unbounded tier), averaged over the measured hours. */
  redisLiveEntries: number;
  /** Largest number of live entries, sampled hourly. */
  redisLiveEntriesMax: number;
}

export interface ConfigResult {
  nearSize: number;
  /** CACHE_NEAR_MAX at the simulated scale (at least 1). */
  nearSizeScaled: number;
  replicas: number;
  /** Full-scale Redis entry limit (Infinity: unbounded) and at the simulated scale. */
  redisSize: number;
  redisSizeScaled: number;
  counts: TierCounts;
}

export interface FlushResult {
  replicas: number;
  /** Flush intervals observed (per replica, summed over replicas). */
  intervals: number;
  /** Mean distinct links per replica per flush: the rows of each of the flush's link statements. */
  distinctPerFlush: number;
  /** Mean clicks per replica per flush. */
  clicksPerFlush: number;
}

export interface SimulationResult {
  options: SimulationOptions;
  linksAtStart: number;
  linksCreated: number;
  /** Redirects per simulated second (at scale). */
  redirectRate: number;
  measuredSeconds: number;
  configs: ConfigResult[];
  flushes: FlushResult[];
  /** Mean distinct links clicked per UTC day (rows of url_daily_clicks written per day). */
  distinctPerDay: number;
  /** Share of redirects that went to links created less than a day, a week, a month before. */
  youngShare: { day: number; week: number; month: number };
  /** Every link's request rate per second at moments of the measured days (see snapshotEveryDays). */
  snapshots: Float64Array[];
  wallMs: number;
}

interface Config {
  result: ConfigResult;
  near: SecondChanceCache[];
  /** The Redis tier: bounded, the second-chance cache; unbounded, each link's end of life by id (nothing is ever evicted). */
  redis: SecondChanceCache | null;
  redisUntil: Float64Array | null;
  /** Fills and creation writes per minute of the last hour, for the live count of the unbounded tier. */
  writesPerMinute: Float64Array;
  liveSamples: number;
  liveSum: number;
}

export const scaledSize = (size: number, scale: number): number => (Number.isFinite(size) ? Math.max(1, Math.round(size * scale)) : Infinity);

/** Runs the simulation; `onProgress` gets the fraction done now and then. */
export function simulate(options: SimulationOptions, onProgress?: (done: number) => void): SimulationResult {
  const started = performance.now();
  const { scale } = options;
  const linksPerSecond = (options.linksPerMonth * scale) / MONTH_S;
  const redirectRate = (options.redirectsPerMonth * scale) / MONTH_S;
  const historyLinks = Math.round(options.linksPerMonth * scale * options.historyMonths);
  const warmupS = options.warmupDays * DAY_S;
  const endS = warmupS + options.days * DAY_S;
  const workload = createWorkload({
    linksPerSecond,
    historyLinks,
    durationS: endS,
    zipfS: options.zipfS,
    recencyDays: options.recencyDays,
    recencyExponent: options.recencyExponent,
    seed: options.seed,
  });
  const random = createRandom(options.seed ^ 0x51ed270b);
  let clockMs = 0;
  const now = (): number => clockMs;

  const emptyCounts = (): TierCounts => ({ requests: 0, nearHits: 0, redisReads: 0, redisHits: 0, postgresReads: 0, creations: 0, deliveries: 0, redisLiveEntries: 0, redisLiveEntriesMax: 0 });
  const makeConfig = (nearSize: number, replicas: number, redisSize: number): Config => {
    const nearSizeScaled = scaledSize(nearSize, scale);
    const redisSizeScaled = scaledSize(redisSize, scale);
    return {
      result: { nearSize, nearSizeScaled, replicas, redisSize, redisSizeScaled, counts: emptyCounts() },
      near: Array.from({ length: replicas }, () => createSecondChanceCache(nearSizeScaled, now)),
      redis: Number.isFinite(redisSizeScaled) ? createSecondChanceCache(redisSizeScaled, now) : null,
      redisUntil: Number.isFinite(redisSizeScaled) ? null : new Float64Array(workload.ranks),
      writesPerMinute: new Float64Array(60),
      liveSamples: 0,
      liveSum: 0,
    };
  };
  const configs: Config[] = [];
  for (const replicas of options.replicas) for (const nearSize of options.nearSizes) configs.push(makeConfig(nearSize, replicas, Infinity));
  for (const redisSize of options.redisSizes) configs.push(makeConfig(options.sweepNearSize, options.sweepReplicas, redisSize));

  // Distinct links per replica per flush interval, per replica count (independent of the caches).
  const flushSets = options.replicas.map((replicas) => ({ replicas, sets: Array.from({ length: replicas }, () => new Set<number>()), intervals: 0, distinct: 0, clicks: 0 }));
  let daySet = new Set<number>();
  let days = 0;
  let distinctDays = 0;
  const young = { day: 0, week: 0, month: 0 };

  const nearTtlMs = options.nearTtlS * 1000;
  let measuring = false;
  let nextRefresh = REFRESH_S;
  const flushS = options.flushMs / 1000;
  let nextFlush = flushS;
  let nextMinute = 60;
  let minute = 0;
  let nextDay = DAY_S;
  const snapshotS = options.snapshotEveryDays * DAY_S;
  // The first in the middle of the first snapshot period (or of the measured days, if shorter).
  let nextSnapshot = snapshotS > 0 ? warmupS + Math.min(snapshotS, options.days * DAY_S) / 2 : Infinity;
  const snapshots: Float64Array[] = [];
  let t = 0;
  let nextProgress = 0;

  function writeRedis(config: Config, code: number, ifAbsent: boolean): void {
    if (config.redis !== null) config.redis.set(code, options.redisTtlS, ifAbsent);
    else if (config.redisUntil !== null && (!ifAbsent || (config.redisUntil[code] ?? 0) <= clockMs)) config.redisUntil[code] = clockMs + options.redisTtlS * 1000;
    config.writesPerMinute[minute % 60] = (config.writesPerMinute[minute % 60] ?? 0) + 1;
  }

  function create(from: number, to: number): void {
    for (let id = from; id < to; id++) {
      for (const config of configs) {
        writeRedis(config, id, false);
        if (measuring) {
          config.result.counts.creations += 1;
          config.result.counts.deliveries += config.result.replicas;
        }
      }
    }
  }

  function request(code: number, replicaDraw: number): void {
    for (const config of configs) {
      const counts = config.result.counts;
      const near = config.near[Math.floor(replicaDraw * config.result.replicas)] as SecondChanceCache;
      if (measuring) counts.requests += 1;
      if (near.peek(code) !== undefined) {
        if (measuring) counts.nearHits += 1;
        continue;
      }
      const farUntil = config.redis !== null ? config.redis.peek(code) : (config.redisUntil?.[code] ?? 0) > clockMs ? config.redisUntil?.[code] : undefined;
      if (measuring) counts.redisReads += 1;
      if (farUntil !== undefined) {
        if (measuring) counts.redisHits += 1;
        const leftS = Math.floor(Math.min(nearTtlMs, farUntil - clockMs) / 1000);
        if (leftS > 0) near.set(code, leftS);
        continue;
      }
      if (measuring) counts.postgresReads += 1;
      writeRedis(config, code, true);
    }
  }

  // Each periodic event counts only when the period it closes lies within the measured days.
  const measured = (periodStart: number): boolean => periodStart >= warmupS;

  function tick(upTo: number): void {
    while (nextRefresh <= upTo) {
      workload.refresh(nextRefresh);
      nextRefresh += REFRESH_S;
    }
    while (nextFlush <= upTo) {
      const counted = measured(nextFlush - flushS);
      for (const f of flushSets) {
        for (const set of f.sets) {
          if (counted) {
            f.intervals += 1;
            f.distinct += set.size;
          }
          set.clear();
        }
      }
      nextFlush += flushS;
    }
    while (nextMinute <= upTo) {
      // The minute that ends now was the 60th of the hour: the last 60 minutes' writes are what lives.
      if (measured(nextMinute - 3600) && (minute + 1) % 60 === 0) {
        for (const config of configs) {
          let live = 0;
          for (const n of config.writesPerMinute) live += n;
          config.liveSamples += 1;
          config.liveSum += live;
          config.result.counts.redisLiveEntriesMax = Math.max(config.result.counts.redisLiveEntriesMax, live);
        }
      }
      minute += 1;
      nextMinute += 60;
      if (minute % 5 === 0) for (const config of configs) config.redis?.purgeExpired();
      for (const config of configs) config.writesPerMinute[minute % 60] = 0;
    }
    while (nextDay <= upTo) {
      if (measured(nextDay - DAY_S)) {
        days += 1;
        distinctDays += daySet.size;
      }
      daySet = new Set();
      nextDay += DAY_S;
    }
    while (nextSnapshot <= upTo) {
      const p = workload.probabilities();
      for (let i = 0; i < p.length; i++) p[i] = (p[i] ?? 0) * redirectRate;
      snapshots.push(p);
      nextSnapshot += snapshotS;
    }
    measuring = upTo >= warmupS;
  }

  const linksAtStart = workload.count();
  measuring = warmupS === 0;
  while (true) {
    t += -Math.log(1 - random()) / redirectRate;
    if (t >= endS) break;
    tick(t);
    clockMs = t * 1000;
    const { from, to } = workload.createUntil(t);
    if (to > from) create(from, to);
    const id = workload.sample();
    const replicaDraw = random();
    request(id, replicaDraw);
    if (measuring) {
      for (const f of flushSets) {
        const set = f.sets[Math.floor(replicaDraw * f.replicas)] as Set<number>;
        set.add(id);
        f.clicks += 1;
      }
      daySet.add(id);
      const age = t - workload.createdAt(id);
      if (age < DAY_S) young.day += 1;
      if (age < 7 * DAY_S) young.week += 1;
      if (age < MONTH_S) young.month += 1;
    }
    if (onProgress && t >= nextProgress) {
      onProgress(t / endS);
      nextProgress += endS / 20;
    }
  }
  tick(endS);

  const requests = configs[0]?.result.counts.requests ?? 0;
  for (const config of configs) {
    config.result.counts.redisLiveEntries = config.liveSamples === 0 ? 0 : config.liveSum / config.liveSamples;
  }
  return {
    options,
    linksAtStart,
    linksCreated: workload.count() - linksAtStart,
    redirectRate,
    measuredSeconds: options.days * DAY_S,
    configs: configs.map((c) => c.result),
    flushes: flushSets.map((f) => ({
      replicas: f.replicas,
      intervals: f.intervals,
      distinctPerFlush: f.intervals === 0 ? 0 : f.distinct / f.intervals,
      clicksPerFlush: f.intervals === 0 ? 0 : f.clicks / f.intervals,
    })),
    distinctPerDay: days === 0 ? 0 : distinctDays / days,
    youngShare: { day: young.day / Math.max(1, requests), week: young.week / Math.max(1, requests), month: young.month / Math.max(1, requests) },
    snapshots,
    wallMs: performance.now() - started,
  };
}

// The analytic side of `npm run bench:capacity`: the same workload law as capacity-workload.ts, as a
// distribution of per-link request rates, and the cache figures that follow from it. The simulation
// can only run at a fraction of the traffic, and hit ratios are not scale-free (under Zipf, a cache
// holding the same fraction of the links catches more of the traffic when there are more links, and
// a 60 s lifetime catches more when each link is asked for more often); so the simulation checks this
// model at the scales it can run, and the model gives the full-scale figures.
//
// Per link j with rate λ_j (Poisson):
//  - a cache with lifetime τ from the fill (reads never extend it) and room for C entries holds j
//    with probability h_j = min(1 − e^(−λ_j T), λ_j τ / (1 + λ_j τ)), T chosen so that Σ h_j = C
//    (Che's approximation for LRU, which second chance follows closely, capped by the lifetime alone;
//    no T when Σ λτ/(1+λτ) ≤ C: the lifetime alone decides). A request hits with probability h_j.
//  - each replica's near tier sees λ_j / R; Redis sees the near tier's misses, λ_j (1 − h_j).
//  - distinct links in a window Δ at rate x: Σ (1 − e^(−x Δ)); distinct values of a dimension among
//    a Poisson(m) number of clicks: Σ_v (1 − e^(−p_v m)).
import { DAY_S } from './capacity-workload.ts';

export interface PopulationOptions {
  /** Redirects per second over all links. */
  redirectRate: number;
  /** Links created per second. */
  linksPerSecond: number;
  /** Age of the oldest link, in seconds (the links are spread evenly over ages 0..oldestS). */
  oldestS: number;
  /** Popularity ranks N: each link's rank uniform in 1..N. */
  ranks: number;
  zipfS: number;
  recencyDays: number;
  recencyExponent: number;
}

/** Links grouped by request rate: bin i holds `count[i]` links with `rate[i]` requests/s each. */
export interface Population {
  count: Float64Array;
  rate: Float64Array;
  totalRate: number;
  totalLinks: number;
}

/** Mean of (1 + a/a0)^-β over ages [lo, hi]. */
function meanAgeFactor(lo: number, hi: number, a0: number, beta: number): number {
  if (beta === 0) return 1;
  if (hi <= lo) return (1 + lo / a0) ** -beta;
  const x = 1 + lo / a0;
  const y = 1 + hi / a0;
  const integral = beta === 1 ? a0 * Math.log(y / x) : (a0 / (1 - beta)) * (y ** (1 - beta) - x ** (1 - beta));
  return integral / (hi - lo);
}

/** Mean of ρ^-s over the integers lo..hi. */
function meanWeight(lo: number, hi: number, s: number): number {
  if (hi - lo < 64) {
    let sum = 0;
    for (let r = lo; r <= hi; r++) sum += r ** -s;
    return sum / (hi - lo + 1);
  }
  const a = lo - 0.5;
  const b = hi + 0.5;
  const integral = s === 1 ? Math.log(b / a) : (b ** (1 - s) - a ** (1 - s)) / (1 - s);
  return integral / (b - a);
}

const LOG_BINS_PER_DECADE = 200;
const MIN_LOG_RATE = -16;
const MAX_LOG_RATE = 6;

export function population(options: PopulationOptions): Population {
  const a0 = options.recencyDays * DAY_S;
  const beta = options.recencyExponent;
  // Ages: the first minute, then geometric steps to the oldest link.
  const ageEdges = [0];
  const ageSteps = 240;
  const firstAge = Math.min(60, options.oldestS);
  for (let k = 0; k <= ageSteps; k++) ageEdges.push(firstAge * (options.oldestS / firstAge) ** (k / ageSteps));
  // Ranks: the first 1,000 one by one, then geometric steps to N.
  const rankBins: { count: number; weight: number }[] = [];
  const exact = Math.min(1000, options.ranks);
  for (let r = 1; r <= exact; r++) rankBins.push({ count: 1, weight: r ** -options.zipfS });
  let lo = exact + 1;
  while (lo <= options.ranks) {
    const hi = Math.min(options.ranks, Math.max(lo, Math.floor(lo * 1.02)));
    rankBins.push({ count: hi - lo + 1, weight: meanWeight(lo, hi, options.zipfS) });
    lo = hi + 1;
  }
  const cells: { count: number; weight: number }[] = [];
  let z = 0;
  for (let k = 0; k + 1 < ageEdges.length; k++) {
    const from = ageEdges[k] ?? 0;
    const to = ageEdges[k + 1] ?? 0;
    const links = options.linksPerSecond * (to - from);
    if (links <= 0) continue;
    const g = meanAgeFactor(from, to, a0, beta);
    for (const bin of rankBins) {
      const count = (links * bin.count) / options.ranks;
      cells.push({ count, weight: g * bin.weight });
      z += count * g * bin.weight;
    }
  }
  const bins = (MAX_LOG_RATE - MIN_LOG_RATE) * LOG_BINS_PER_DECADE;
  const count = new Float64Array(bins);
  const rateSum = new Float64Array(bins);
  let totalLinks = 0;
  for (const cell of cells) {
    const rate = (options.redirectRate * cell.weight) / z;
    const i = Math.max(0, Math.min(bins - 1, Math.floor((Math.log10(rate) - MIN_LOG_RATE) * LOG_BINS_PER_DECADE)));
    count[i] = (count[i] ?? 0) + cell.count;
    rateSum[i] = (rateSum[i] ?? 0) + cell.count * rate;
    totalLinks += cell.count;
  }
  const rate = new Float64Array(bins);
  for (let i = 0; i < bins; i++) rate[i] = (count[i] ?? 0) > 0 ? (rateSum[i] ?? 0) / (count[i] ?? 1) : 0;
  return { count, rate, totalRate: options.redirectRate, totalLinks };
}

/** The population of a set of links given each one's rate (e.g. the simulation's links at one moment). */
export function populationOfRates(rates: Float64Array): Population {
  const bins = (MAX_LOG_RATE - MIN_LOG_RATE) * LOG_BINS_PER_DECADE;
  const count = new Float64Array(bins);
  const rateSum = new Float64Array(bins);
  let totalRate = 0;
  for (const rate of rates) {
    if (!(rate > 0)) continue;
    const i = Math.max(0, Math.min(bins - 1, Math.floor((Math.log10(rate) - MIN_LOG_RATE) * LOG_BINS_PER_DECADE)));
    count[i] = (count[i] ?? 0) + 1;
    rateSum[i] = (rateSum[i] ?? 0) + rate;
    totalRate += rate;
  }
  const rate = new Float64Array(bins);
  for (let i = 0; i < bins; i++) rate[i] = (count[i] ?? 0) > 0 ? (rateSum[i] ?? 0) / (count[i] ?? 1) : 0;
  return { count, rate, totalRate, totalLinks: rates.length };
}

/**
 * Probability that a cache (lifetime `ttlS` from the fill, Che time `t`) holds a link asked for `x`
 * times a second, when a miss fills it only with probability `q` (the near tier is filled from a
 * Redis hit, not from a PostgreSQL read): h = q·p / (1 − p + q·p) with p = 1 − e^(−x t) (the entry
 * the last request left is still there), capped by the lifetime alone, q·xτ / (1 + q·xτ) (a cycle
 * is one fill, τ of hits, then 1/q misses). q = 1: Che's formula and the plain TTL cache.
 */
function holds(x: number, ttlS: number, t: number, q = 1): number {
  const byTtl = (q * x * ttlS) / (1 + q * x * ttlS);
  if (t === Infinity) return byTtl;
  const p = -Math.expm1(-x * t);
  return Math.min((q * p) / (1 - p + q * p), byTtl);
}

/** Che's characteristic time for the cache, Infinity when the lifetime alone keeps it under capacity. */
function characteristicTime(counts: Float64Array, rates: Float64Array, ttlS: number, capacity: number, fill?: Float64Array): number {
  const occupancy = (t: number): number => {
    let sum = 0;
    for (let i = 0; i < counts.length; i++) if ((counts[i] ?? 0) > 0) sum += (counts[i] ?? 0) * holds(rates[i] ?? 0, ttlS, t, fill?.[i] ?? 1);
    return sum;
  };
  if (!Number.isFinite(capacity) || occupancy(Infinity) <= capacity) return Infinity;
  let lo = 1e-6;
  let hi = 1e12;
  for (let k = 0; k < 64; k++) {
    const mid = Math.sqrt(lo * hi);
    if (occupancy(mid) > capacity) hi = mid;
    else lo = mid;
  }
  return Math.sqrt(lo * hi);
}

export interface TierModel {
  nearHitRatio: number;
  /** Near misses per second (Redis reads), over all replicas. */
  redisReads: number;
  /** Share of Redis reads that hit. */
  redisHitRatio: number;
  /** Redis misses per second: PostgreSQL reads, and Redis fills. */
  postgresReads: number;
  /** Live Redis entries (filled by misses; creations add linksPerSecond × redisTtlS more). */
  redisEntries: number;
  /** Share of all redirects answered by PostgreSQL. */
  postgresShare: number;
}

export interface TierOptions {
  replicas: number;
  nearSize: number;
  nearTtlS: number;
  redisSize: number;
  redisTtlS: number;
}

/**
 * The two tiers together. They depend on each other (Redis sees the near tier's misses; the near
 * tier is filled only by a Redis hit), so the per-link figures are iterated to a fixed point.
 */
export function tiers(pop: Population, options: TierOptions): TierModel {
  const { count, rate } = pop;
  const n = count.length;
  const perReplica = new Float64Array(n);
  for (let i = 0; i < n; i++) perReplica[i] = (rate[i] ?? 0) / options.replicas;
  const fill = new Float64Array(n).fill(1);
  const farRate = new Float64Array(n);
  let result: TierModel | null = null;
  for (let round = 0; round < 6; round++) {
    const tNear = characteristicTime(count, perReplica, options.nearTtlS, options.nearSize, fill);
    let nearHits = 0;
    let redisReads = 0;
    for (let i = 0; i < n; i++) {
      const c = count[i] ?? 0;
      if (c === 0) continue;
      const h = holds(perReplica[i] ?? 0, options.nearTtlS, tNear, fill[i] ?? 1);
      nearHits += c * (rate[i] ?? 0) * h;
      farRate[i] = (rate[i] ?? 0) * (1 - h);
      redisReads += c * (farRate[i] ?? 0);
    }
    const tFar = characteristicTime(count, farRate, options.redisTtlS, options.redisSize);
    let postgresReads = 0;
    let redisEntries = 0;
    for (let i = 0; i < n; i++) {
      const c = count[i] ?? 0;
      if (c === 0) continue;
      const h = holds(farRate[i] ?? 0, options.redisTtlS, tFar);
      postgresReads += c * (farRate[i] ?? 0) * (1 - h);
      redisEntries += c * h;
      fill[i] = h;
    }
    result = {
      nearHitRatio: nearHits / pop.totalRate,
      redisReads,
      redisHitRatio: redisReads === 0 ? 1 : 1 - postgresReads / redisReads,
      postgresReads,
      redisEntries,
      postgresShare: postgresReads / pop.totalRate,
    };
  }
  return result as TierModel;
}

/** Expected distinct links asked for in `windowS` seconds at 1/`replicas` of the traffic. */
export function distinctLinks(pop: Population, windowS: number, replicas = 1): number {
  let sum = 0;
  for (let i = 0; i < pop.count.length; i++) sum += (pop.count[i] ?? 0) * -Math.expm1((-(pop.rate[i] ?? 0) * windowS) / replicas);
  return sum;
}

/**
 * How a click's values spread, per dimension, for the rows of url_daily_values: an assumption (no
 * traffic of the kind is at hand), stated in docs/scaling.md. Each is a Zipf(1) law over `values`
 * values, after a share that always takes the first value (direct visits without a Referer, the
 * most common device).
 */
export const VALUE_PROFILE: { dimension: string; values: number; head: number }[] = [
  { dimension: 'referrer', values: 2000, head: 0.4 },
  { dimension: 'country', values: 200, head: 0 },
  { dimension: 'browser', values: 20, head: 0 },
  { dimension: 'os', values: 10, head: 0 },
  { dimension: 'device', values: 3, head: 0.5 },
];
/** Values kept per link, day and dimension; the rest is one '(other)' row (pg-link-store.ts VALUES_PER_DAY). */
const VALUES_KEPT = 100;

function valueShares(values: number, head: number): Float64Array {
  const p = new Float64Array(values);
  let h = 0;
  for (let v = 1; v <= values; v++) h += 1 / v;
  for (let v = 0; v < values; v++) p[v] = ((1 - head) * (1 / (v + 1))) / h + (v === 0 ? head : 0);
  return p;
}

const SHARES = VALUE_PROFILE.map((d) => valueShares(d.values, d.head));

/** Expected url_daily_values rows for a link and day (or flush) with a Poisson(m) number of clicks. */
export function valueRows(m: number): number {
  let rows = 0;
  for (const p of SHARES) {
    let distinct = 0;
    for (const share of p) distinct += -Math.expm1(-share * m);
    rows += Math.min(distinct, VALUES_KEPT + 1);
  }
  return rows;
}

/** Expected url_daily_values rows written in a window of `windowS` at 1/`replicas` of the traffic. */
export function valueRowsIn(pop: Population, windowS: number, replicas = 1): number {
  // valueRows is smooth in log m: read it from a table instead of once per bin.
  const table = new Map<number, number>();
  let sum = 0;
  for (let i = 0; i < pop.count.length; i++) {
    const c = pop.count[i] ?? 0;
    if (c === 0) continue;
    const m = ((pop.rate[i] ?? 0) * windowS) / replicas;
    const key = Math.round(Math.log10(m) * 50);
    let rows = table.get(key);
    if (rows === undefined) {
      rows = valueRows(10 ** (key / 50));
      table.set(key, rows);
    }
    sum += c * rows;
  }
  return sum;
}

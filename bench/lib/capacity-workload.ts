// The synthetic traffic of `npm run bench:capacity` (bench/capacity-sim.ts): links created at a
// steady rate, and redirects spread over them by a popularity that is Zipf in the link and decays with
// the link's age. Deterministic for a seed, so two runs (and a test) see the same requests.
//
// The law, for link j of age a at the moment of a request:
//   P(j) ∝ w_j · g(a),   w_j = ρ_j^-s,   g(a) = (1 + a / a0)^-β
// ρ_j is the link's popularity rank, drawn uniformly from 1..N (N: every link the run will have), so
// popularity is independent of when a link was made; g makes new links hotter (a0 = 1 day and β = 1
// by default: a link a day old is half as hot as a new one of the same rank, a month old 1/31).
//
// Sampling is exact up to one approximation: links are grouped by the hour they were created in and
// a group's age factor is read at its middle and refreshed every REFRESH_S of simulated time (the
// factor moves by under 0.4 % for a group an hour old in that time, less for older ones).

/** A seeded generator of doubles in [0, 1) (mulberry32: fast, 32-bit state, good enough for a simulation). */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const DAY_S = 86_400;
export const MONTH_S = 30 * DAY_S;
const GROUP_S = 3600;
/** How often the groups' age factors are read again, in simulated seconds. */
export const REFRESH_S = 300;

export interface WorkloadOptions {
  /** Links created per simulated second. */
  linksPerSecond: number;
  /** Links that exist when the simulation starts (created at the same rate before it). */
  historyLinks: number;
  /** Simulated seconds the run will last (sets N, the number of popularity ranks). */
  durationS: number;
  zipfS: number;
  /** a0 of the age factor, in days. */
  recencyDays: number;
  /** β of the age factor; 0 = no recency skew (pure Zipf). */
  recencyExponent: number;
  seed: number;
}

export interface Workload {
  /** Links created so far (ids 0..count-1; ids below historyLinks existed at the start). */
  count(): number;
  /** Creates every link due by simulated time `t` (seconds from the start); returns the new ids' range. */
  createUntil(t: number): { from: number; to: number };
  /** Moves the age factors to time `t`; call at least every REFRESH_S. */
  refresh(t: number): void;
  /** The link the next redirect asks for. */
  sample(): number;
  /** The link's popularity rank ρ. */
  rank(id: number): number;
  /** Age factor g(a) for an age in seconds. */
  ageFactor(ageS: number): number;
  /** Creation time of a link, in simulated seconds (negative: before the start). */
  createdAt(id: number): number;
  /** Every link's current probability (for tests: O(links)). */
  probabilities(): Float64Array;
  /** Total number of ranks N. */
  readonly ranks: number;
}

export function createWorkload(options: WorkloadOptions): Workload {
  const { linksPerSecond: kappa, historyLinks, zipfS, seed } = options;
  const a0 = options.recencyDays * DAY_S;
  const beta = options.recencyExponent;
  const total = historyLinks + Math.ceil(kappa * options.durationS) + 1;
  const ranks = Math.max(1, total);
  const random = createRandom(seed);
  const pick = createRandom(seed ^ 0x9e3779b9);
  // Within-group running sums of weights, by id; groups by the hour of creation.
  const cumWeight = new Float64Array(total);
  const rankOf = new Uint32Array(total);
  const historyS = historyLinks / kappa;
  const firstGroupOffset = Math.ceil(historyS / GROUP_S);
  const groupCount = firstGroupOffset + Math.ceil(options.durationS / GROUP_S) + 2;
  const groupStart = new Int32Array(groupCount).fill(-1);
  const groupEnd = new Int32Array(groupCount); // exclusive
  const groupWeight = new Float64Array(groupCount);
  const groupCum = new Float64Array(groupCount);
  let closedUpTo = 0; // groups below this index are in groupCum
  let closedTotal = 0;
  let openFactor = 1;
  let created = 0;
  let now = 0;

  const ageFactor = (ageS: number): number => (beta === 0 ? 1 : (1 + Math.max(0, ageS) / a0) ** -beta);
  const createdAt = (id: number): number => (id - historyLinks) / kappa;
  const groupOf = (id: number): number => firstGroupOffset + Math.floor(createdAt(id) / GROUP_S);
  const groupMiddle = (g: number): number => (g - firstGroupOffset + 0.5) * GROUP_S;

  function add(id: number): void {
    const rank = 1 + Math.floor(random() * ranks);
    const weight = rank ** -zipfS;
    const g = groupOf(id);
    if (groupStart[g] === -1) groupStart[g] = id;
    groupEnd[g] = id + 1;
    groupWeight[g] = (groupWeight[g] ?? 0) + weight;
    cumWeight[id] = groupWeight[g] ?? 0;
    rankOf[id] = rank;
    created = id + 1;
  }

  function refresh(t: number): void {
    now = t;
    const open = firstGroupOffset + Math.floor(t / GROUP_S);
    closedUpTo = Math.min(open, groupCount);
    let sum = 0;
    for (let g = 0; g < closedUpTo; g++) {
      sum += (groupWeight[g] ?? 0) * ageFactor(t - groupMiddle(g));
      groupCum[g] = sum;
    }
    closedTotal = sum;
    openFactor = ageFactor((t - (open - firstGroupOffset) * GROUP_S) / 2);
  }

  function createUntil(t: number): { from: number; to: number } {
    const from = created;
    const due = Math.min(total, historyLinks + Math.floor(kappa * t) + 1);
    for (let id = created; id < due; id++) add(id);
    return { from, to: created };
  }

  /** First index in [lo, hi) whose running sum exceeds x (the arrays are non-decreasing). */
  function search(array: Float64Array, lo: number, hi: number, x: number): number {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((array[mid] ?? 0) <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function sample(): number {
    const open = firstGroupOffset + Math.floor(now / GROUP_S);
    const openWeight = open < groupCount ? (groupWeight[open] ?? 0) * openFactor : 0;
    const x = pick() * (closedTotal + openWeight);
    let group = open;
    if (x < closedTotal) group = search(groupCum, 0, closedUpTo, x);
    // Float rounding may land on an empty group at the edge: step to the nearest group with links.
    while (group > 0 && (groupStart[group] === -1 || groupStart[group] === undefined)) group -= 1;
    const start = groupStart[group] ?? 0;
    const end = groupEnd[group] ?? start + 1;
    const y = pick() * (groupWeight[group] ?? 0);
    return Math.min(end - 1, search(cumWeight, start, end, y));
  }

  createUntil(0);
  refresh(0);

  return {
    count: () => created,
    createUntil,
    refresh,
    sample,
    rank: (id) => rankOf[id] ?? 0,
    ageFactor,
    createdAt,
    probabilities() {
      const p = new Float64Array(created);
      let sum = 0;
      for (let id = 0; id < created; id++) {
        const g = groupOf(id);
        const factor = g < closedUpTo ? ageFactor(now - groupMiddle(g)) : openFactor;
        const weight = (rankOf[id] ?? 1) ** -zipfS;
        p[id] = weight * factor;
        sum += weight * factor;
      }
      for (let id = 0; id < created; id++) p[id] = (p[id] ?? 0) / sum;
      return p;
    },
    ranks,
  };
}

// The capacity simulation (bench/capacity-sim.ts, docs/scaling.md "Capacity plan") at a tiny scale:
// its cache policy is the in-process cache's, answer for answer; its sampler draws the law it claims;
// its counts add up; a bigger cache never does worse; the model's formulas agree with it on its own
// links; and the script runs end to end without servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLinkCache } from '../../src/storage/memory/memory-link-cache.ts';
import { distinctLinks, populationOfRates, tiers } from '../../bench/lib/capacity-model.ts';
import { DEFAULT_SIMULATION, simulate, type SimulationOptions } from '../../bench/lib/capacity-simulation.ts';
import { createRandom, createWorkload } from '../../bench/lib/capacity-workload.ts';
import { createSecondChanceCache } from '../../bench/lib/second-chance-cache.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const link = { id: 1, url: 'https://example.com/', expiresAt: null, limited: false, isActive: true, consumed: false, forwardQuery: false, hasPassword: false };

test('the simulation cache answers every lookup as the in-process cache class does (eviction order, expiry, set-if-absent)', () => {
  let clock = 1_000;
  const real = createMemoryLinkCache({ maxEntries: 50, now: () => clock });
  const sim = createSecondChanceCache(50, () => clock);
  const random = createRandom(7);
  let hits = 0;
  for (let step = 0; step < 200_000; step++) {
    clock += Math.floor(random() * 40);
    // A skewed choice over 400 ids: some stay hot, most come and go, so eviction runs all the time.
    const id = Math.floor(400 * random() ** 3);
    const action = random();
    if (action < 0.7) {
      const expected = real.peek(String(id));
      const got = sim.peek(id);
      assert.equal(got !== undefined, expected !== undefined, `step ${step}: peek ${id}`);
      if (got !== undefined) hits += 1;
    } else if (action < 0.97) {
      const ttlS = 1 + Math.floor(random() * 60);
      const ifAbsent = random() < 0.5;
      void real.set(String(id), link, ttlS, ifAbsent ? { ifAbsent: true } : undefined);
      sim.set(id, ttlS, ifAbsent);
    } else {
      void real.delete(String(id));
      sim.delete(id);
    }
  }
  // The trace exercised both answers.
  assert.ok(hits > 20_000 && hits < 130_000, `hits ${hits}`);
});

test('the sampler draws each link as often as the law says: Zipf in the rank, times the age factor', () => {
  for (const recencyExponent of [0, 1]) {
    const workload = createWorkload({ linksPerSecond: 1 / 600, historyLinks: 300, durationS: 3600, zipfS: 1, recencyDays: 0.01, recencyExponent, seed: 3 });
    workload.refresh(0);
    const p = workload.probabilities();
    if (recencyExponent === 0) {
      // Without the age factor, the law is exactly Zipf(1) in each link's rank.
      const [a, b] = [0, 1].map((id) => workload.rank(id));
      assert.ok(Math.abs((p[0] ?? 0) / (p[1] ?? 0) - (b ?? 0) / (a ?? 1)) < 1e-9);
    } else {
      // With it, the newest links are the hottest of the same rank.
      const newest = p.length - 1;
      const oldest = 0;
      const perRank = (id: number): number => (p[id] ?? 0) * workload.rank(id);
      assert.ok(perRank(newest) > 10 * perRank(oldest), 'a new link is hotter than an old one of the same rank');
    }
    const draws = 300_000;
    const seen = new Float64Array(p.length);
    for (let i = 0; i < draws; i++) {
      const id = workload.sample();
      seen[id] = (seen[id] ?? 0) + 1;
    }
    // Total variation distance between the draws and the law: sampling noise alone is about 0.01 here.
    let distance = 0;
    for (let id = 0; id < p.length; id++) distance += Math.abs((seen[id] ?? 0) / draws - (p[id] ?? 0)) / 2;
    assert.ok(distance < 0.02, `recency ${recencyExponent}: total variation ${distance.toFixed(4)}`);
  }
});

const TINY: SimulationOptions = {
  ...DEFAULT_SIMULATION,
  scale: 1 / 5000,
  historyMonths: 2,
  days: 2,
  warmupDays: 0.5,
  nearSizes: [10_000, 10_000_000],
  replicas: [1, 4],
  redisSizes: [2_000_000],
  sweepNearSize: 10_000_000,
  sweepReplicas: 4,
  snapshotEveryDays: 1,
};

test('at a tiny scale the counts add up, a bigger cache never does worse, and a seed gives the same month', () => {
  const result = simulate(TINY);
  const requests = result.configs[0]?.counts.requests ?? 0;
  assert.ok(requests > 50_000, `requests ${requests}`);
  for (const { counts: k, nearSize, replicas, redisSize } of result.configs) {
    const name = `near ${nearSize} × ${replicas}, Redis ${redisSize}`;
    assert.equal(k.requests, requests, name);
    assert.equal(k.nearHits + k.redisReads, k.requests, `${name}: near hits + misses = requests`);
    assert.ok(k.redisHits <= k.redisReads && k.redisHits >= 0, name);
    assert.equal(k.redisReads - k.redisHits, k.postgresReads, `${name}: Redis hits + misses = Redis reads`);
    assert.equal(k.deliveries, k.creations * replicas, name);
    for (const ratio of [k.nearHits / k.requests, k.redisHits / k.redisReads]) assert.ok(ratio >= 0 && ratio <= 1, name);
  }
  const config = (nearSize: number, replicas: number, redisSize = Infinity) =>
    result.configs.find((c) => c.nearSize === nearSize && c.replicas === replicas && c.redisSize === redisSize)?.counts;
  for (const replicas of TINY.replicas) {
    const small = config(10_000, replicas);
    const big = config(10_000_000, replicas);
    assert.ok(small && big && big.nearHits >= small.nearHits, `bigger near tier, ${replicas} replicas`);
  }
  // Fewer near hits per replica with more replicas: each sees a quarter of the traffic.
  assert.ok((config(10_000_000, 4)?.nearHits ?? 0) < (config(10_000_000, 1)?.nearHits ?? 0));
  const bounded = config(10_000_000, 4, 2_000_000);
  const unbounded = config(10_000_000, 4);
  assert.ok(bounded && unbounded && unbounded.redisHits / unbounded.redisReads >= bounded.redisHits / bounded.redisReads, 'more Redis memory');
  for (const f of result.flushes) assert.ok(f.distinctPerFlush <= f.clicksPerFlush && f.distinctPerFlush > 0);

  const again = simulate(TINY);
  assert.deepEqual(again.configs, result.configs, 'the same seed, the same month');
  const other = simulate({ ...TINY, seed: 2, days: 0.5 });
  assert.notDeepEqual(other.configs.map((c) => c.counts.nearHits), result.configs.map((c) => c.counts.nearHits));

  // The model's formulas on the simulation's own links give what the simulation counted.
  const pops = result.snapshots.map(populationOfRates);
  assert.equal(pops.length, 2);
  const mean = (f: (pop: ReturnType<typeof populationOfRates>) => number): number => pops.reduce((s, pop) => s + f(pop), 0) / pops.length;
  for (const c of result.configs.filter((x) => !Number.isFinite(x.redisSize))) {
    const options = { replicas: c.replicas, nearSize: c.nearSizeScaled, nearTtlS: 60, redisSize: Infinity, redisTtlS: 3600 };
    const near = mean((pop) => tiers(pop, options).nearHitRatio);
    const toPg = mean((pop) => tiers(pop, options).postgresShare);
    assert.ok(Math.abs(near - c.counts.nearHits / c.counts.requests) < 0.03, `near ${c.nearSize} × ${c.replicas}: model ${near}`);
    assert.ok(Math.abs(toPg - c.counts.postgresReads / c.counts.requests) < 0.03, `PostgreSQL ${c.nearSize} × ${c.replicas}: model ${toPg}`);
  }
  for (const f of result.flushes) {
    const model = mean((pop) => distinctLinks(pop, 1, f.replicas));
    assert.ok(Math.abs(model / f.distinctPerFlush - 1) < 0.05, `distinct per flush, ${f.replicas} replicas: model ${model}, sim ${f.distinctPerFlush}`);
  }
});

test('npm run bench:capacity runs without servers at a tiny scale and writes a plan whose figures hold together', () => {
  const dir = mkdtempSync(join(tmpdir(), 'capacity-'));
  try {
    const json = join(dir, 'plan.json');
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', 'bench/capacity-sim.ts', '--scale', '1/100000', '--days', '1', '--warmup-days', '0.5', '--history-months', '1', '--no-measure', '--json', json], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    assert.match(stdout, /## Headline/);
    const plan = JSON.parse(readFileSync(json, 'utf8')) as {
      headline: Record<'average' | 'peak', { replicas: number; redirectRate: number; tier: { nearHitRatio: number; redisReads: number; postgresReads: number }; flushRowsPerSecond: { urls: number } }>;
    };
    const { average, peak } = plan.headline;
    assert.ok(Math.abs(peak.redirectRate / average.redirectRate - 10) < 1e-9);
    assert.ok(peak.replicas >= 2 && peak.replicas === average.replicas, 'the average is planned on the peak replicas');
    for (const load of [average, peak]) {
      // Near misses are what Redis reads; Redis misses are what PostgreSQL reads.
      assert.ok(Math.abs(load.tier.redisReads - load.redirectRate * (1 - load.tier.nearHitRatio)) < 1e-6 * load.redirectRate);
      assert.ok(load.tier.postgresReads <= load.tier.redisReads);
    }
    assert.ok(peak.flushRowsPerSecond.urls > average.flushRowsPerSecond.urls);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

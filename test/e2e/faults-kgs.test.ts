// The KGS fails under a running URL service (real processes: two KGS replicas, a URL service, the
// shared PostgreSQL and Redis): one replica killed or hung under creation load, every replica killed,
// every replica hung. What must hold (docs/operations.md, "When a dependency fails"): a replica down costs no creation; with none left,
// creation goes on from the local code buffer, then answers 503 quickly, and recovers by itself when
// a KGS returns; a hung KGS opens the client's breakers so creations fail fast instead of queuing;
// /health stays 200 and /ready reports the KGS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { E2E_ADMIN_KEY, startKgs, startUrlService, type ServiceProcess } from '../support/processes.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';
import { inParallel, metricValue, timedFetch, until, type TimedResponse } from '../support/fault-probes.ts';

const ADMIN = { authorization: `Bearer ${E2E_ADMIN_KEY}` };
const BATCH = 20;

describe('URL service while the KGS replicas fail', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let kgsEnv: Record<string, string>;
  const kgs: ServiceProcess[] = [];
  let service: ServiceProcess;
  let base: string;
  let metricsBase: string;
  let n = 0;

  before(async () => {
    database = await createTestDatabase('faults_kgs');
    redis = await openTestRedis('faults-kgs');
    kgsEnv = { REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_POOL_TARGET: '6000', KGS_POOL_LOW_WATERMARK: '2000' };
    kgs.push(await startKgs(kgsEnv), await startKgs(kgsEnv));
    service = await startUrlService({
      DATABASE_URL: database.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: redis.prefix,
      KGS_URL: kgs.map((k) => k.url).join(','),
      // Small batches: refills, and so KGS calls, happen all through the load.
      KGS_CLIENT_BATCH: String(BATCH),
      LOG_LEVEL: 'info',
    });
    base = service.url;
    metricsBase = service.metricsUrl;
  });

  after(async () => {
    for (const k of kgs) k.child.kill('SIGCONT');
    await Promise.all([service?.stop('SIGKILL'), ...kgs.map((k) => k.stop('SIGKILL'))]);
    await database?.drop();
    await redis?.cleanup();
  });

  const create = (): Promise<TimedResponse> => timedFetch(`${base}/urls`, { method: 'POST', headers: ADMIN, body: { url: `https://example.com/kgs/${n++}` } });
  // Metric labels name a replica by its place in KGS_URL, never its address.
  const kgsIndex = (k: ServiceProcess): number => kgs.findIndex((other) => other.port === k.port);
  const breakerState = (k: ServiceProcess): Promise<number | null> => metricValue(metricsBase, `kgs_client_breaker_state{kgs="${kgsIndex(k)}"}`);

  /** Creates links until the service has had codes from replica `k` again (its breaker closed). */
  async function usedAgain(k: ServiceProcess): Promise<void> {
    const served = `kgs_client_requests_total{kgs="${kgsIndex(k)}",outcome="ok"}`;
    const before = (await metricValue(metricsBase, served)) ?? 0;
    await until(async () => {
      await inParallel(BATCH, 4, create);
      return ((await metricValue(metricsBase, served)) ?? 0) > before && (await breakerState(k)) === 0;
    }, 20_000, `the service to use ${k.url} again`);
  }

  /** Restarts (killed) replica `i` on its port, and waits until the service uses it again. */
  async function restart(i: number): Promise<void> {
    const back = await startKgs({ ...kgsEnv, PORT: String((kgs[i] as ServiceProcess).port) });
    kgs[i] = back;
    await usedAgain(back);
  }

  /** Whether the service logged the breaker of replica `k` opening. */
  const breakerOpened = (k: ServiceProcess): boolean =>
    service.output().split('\n').some((line) => line.includes(`"kgs":"${k.url}"`) && line.includes('"to":"open"'));

  /** Creations under load from 16 callers; `fault` runs once `at` of them have started. */
  async function createUnderLoad(total: number, at: number, fault: () => void): Promise<TimedResponse[]> {
    return inParallel(total, 16, async (i) => {
      if (i === at) fault();
      return create();
    });
  }

  function assertAllCreated(results: TimedResponse[], what: string): void {
    const failed = results.filter((r) => r.status !== 201).map((r) => `${r.status} ${JSON.stringify(r.body)}`);
    assert.deepEqual(failed.slice(0, 5), [], `${what}: ${failed.length} creations failed`);
    const codes = new Set(results.map((r) => r.body.short_code));
    assert.equal(codes.size, results.length, `${what}: every link has its own code`);
  }

  async function assertReadiness(kgsCheck: 'up' | 'down', what: string): Promise<void> {
    const health = await timedFetch(`${base}/health`);
    assert.equal(health.status, 200, `${what}: /health`);
    const ready = await timedFetch(`${base}/ready`);
    assert.equal(ready.status, 200, `${what}: /ready stays 200 (the KGS is not needed to redirect)`);
    assert.deepEqual(ready.body, { status: kgsCheck === 'up' ? 'ready' : 'degraded', checks: { postgres: 'up', redis: 'up', kgs: kgsCheck } });
  }

  /** Waits until the code buffer is above its low-water mark, so that no refill is running. */
  async function settledBuffer(): Promise<number> {
    let level = 0;
    await until(async () => (level = (await metricValue(metricsBase, 'kgs_client_buffer_codes')) ?? 0) >= BATCH / 2, 10_000, 'the code buffer to fill');
    return level;
  }

  test('one of two KGS replicas killed (SIGKILL) under creation load: no creation fails', async () => {
    const victim = kgs[0] as ServiceProcess;
    const results = await createUnderLoad(1500, 300, () => victim.child.kill('SIGKILL'));
    assertAllCreated(results, 'one KGS killed');
    await victim.stop('SIGKILL');
    assert.equal(victim.child.signalCode, 'SIGKILL');
    await restart(0);
  });

  test('one of two KGS replicas hung (SIGSTOP) under creation load: no creation fails, none waits long', async () => {
    const victim = kgs[1] as ServiceProcess;
    let results: TimedResponse[];
    try {
      results = await createUnderLoad(1500, 300, () => victim.child.kill('SIGSTOP'));
    } finally {
      victim.child.kill('SIGCONT');
    }
    assertAllCreated(results, 'one KGS hung');
    assert.ok(breakerOpened(victim), 'the hung replica got skipped behind its open breaker');
    // A take waits for the failover to the live replica (one attempt timeout, 1 s), never for the hung one.
    const slowest = Math.max(...results.map((r) => r.ms));
    assert.ok(slowest < 3000, `slowest creation took ${Math.round(slowest)} ms`);
    await usedAgain(victim);
  });

  test('every KGS killed: creation goes on from the buffer, then answers 503 within 1 s, and recovers by itself when a KGS returns on its port', async () => {
    const buffered = await settledBuffer();
    await Promise.all(kgs.map((k) => k.stop('SIGKILL')));

    const results: TimedResponse[] = [];
    await until(async () => {
      results.push(await create());
      return results.slice(-5).filter((r) => r.status === 503).length === 5;
    }, 20_000, 'creation to run out of codes');
    assert.equal(results.filter((r) => r.status === 201).length, buffered, 'each code in the buffer made a link');
    assert.deepEqual(results.slice(0, buffered).map((r) => r.status), Array<number>(buffered).fill(201), 'the buffer serves first');
    for (const r of results.slice(buffered)) {
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.code, 'kgs_unavailable');
      assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
      assert.ok(r.ms < 1000, `a creation with no KGS answered in ${Math.round(r.ms)} ms`);
    }
    await assertReadiness('down', 'every KGS killed');

    const back = await startKgs({ ...kgsEnv, PORT: String((kgs[0] as ServiceProcess).port) });
    kgs[0] = back;
    await until(async () => (await create()).status === 201, 15_000, 'creation to work again with one KGS back');
    await assertReadiness('up', 'one KGS back');
    await restart(1);
  });

  test('every KGS hung (SIGSTOP): the breakers open, creations answer 503 at once instead of queuing, /ready reports the KGS down; all recovers on SIGCONT', async () => {
    await settledBuffer();
    for (const k of kgs) k.child.kill('SIGSTOP');
    try {
      const results: TimedResponse[] = [];
      const allOpen = async (): Promise<boolean> => (await Promise.all(kgs.map(breakerState))).every((s) => s === 2);
      await until(async () => {
        results.push(await create());
        return results.at(-1)?.status === 503 && (await allOpen());
      }, 30_000, 'the KGS client breakers to open');
      // Before the breakers open, a take waits at most one failover (1.5 s) for a refill, then 503.
      for (const r of results) {
        assert.ok(r.status === 201 || (r.status === 503 && r.body.code === 'kgs_unavailable'), JSON.stringify(r.body));
        assert.ok(r.ms < 2500, `a creation while the KGS hung answered in ${Math.round(r.ms)} ms`);
      }
      // Open: 20 creations at once all fail at once, none waits on the hung KGS.
      const burst = await Promise.all(Array.from({ length: 20 }, create));
      for (const r of burst) {
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.equal(r.body.code, 'kgs_unavailable');
        assert.ok(r.headers.get('retry-after'));
        assert.ok(r.ms < 1000, `a creation with the breakers open answered in ${Math.round(r.ms)} ms`);
      }
      await assertReadiness('down', 'every KGS hung');
      assert.match(service.output(), /KGS circuit breaker closed -> open/);
    } finally {
      for (const k of kgs) k.child.kill('SIGCONT');
    }
    await until(async () => (await create()).status === 201, 15_000, 'creation to work again after SIGCONT');
    await until(async () => (await timedFetch(`${base}/ready`)).body.status === 'ready', 10_000, '/ready to report the KGS up');
  });
});

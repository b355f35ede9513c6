// PostgreSQL fails under a running URL service (real processes: a KGS, a URL service, the shared
// Redis) — killed and restarted, then frozen and thawed. The database is a private instance of this
// test, never the shared one. What must hold (docs/operations.md, "When a dependency fails"): cached links keep redirecting; creation,
// deletion and analytics answer 503 with Retry-After within a second, never hang; /health stays 200
// and /ready reports PostgreSQL down; the breaker shows in /metrics and the logs; every click served
// during the outage is in the analytics once PostgreSQL is back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { E2E_ADMIN_KEY, startKgs, startUrlService, withOutputOf, type ServiceProcess } from '../support/processes.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';
import { metricValue, redirectLoad, timedFetch, until, type TimedResponse } from '../support/fault-probes.ts';

const FLUSH_MS = 200;
const ADMIN = { authorization: `Bearer ${E2E_ADMIN_KEY}` };
const BREAKER = 'dependency_breaker_state{dependency="postgres"}';

describe('URL service while PostgreSQL is down or hung', () => {
  let postgres: PrivatePostgres;
  let redis: TestRedis;
  let kgs: ServiceProcess;
  let service: ServiceProcess;
  let base: string;
  let metricsBase: string;
  let clicksDb: string;

  before(async () => {
    postgres = await startPrivatePostgres('faults');
    const databaseUrl = await postgres.createMigratedDatabase('curt');
    clicksDb = 'curt';
    redis = await openTestRedis('faults-pg');
    kgs = await startKgs({ REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_POOL_TARGET: '3000', KGS_POOL_LOW_WATERMARK: '1000' });
    service = await startUrlService({
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      REDIS_KEY_PREFIX: redis.prefix,
      KGS_URL: kgs.url,
      CLICK_FLUSH_INTERVAL_MS: String(FLUSH_MS),
      KGS_CLIENT_BATCH: '50',
      LOG_LEVEL: 'info',
    });
    base = service.url;
    metricsBase = service.metricsUrl;
  });

  after(async () => {
    postgres?.thaw();
    await Promise.all([service?.stop('SIGKILL'), kgs?.stop('SIGKILL')]);
    await postgres?.destroy();
    await redis?.cleanup();
  });

  /** A failure's message, with what the URL service printed and how its process stands: the cause is often there. */
  const withServiceLog = (work: () => Promise<void>): Promise<void> => withOutputOf([{ name: 'URL service', process: service }], work);

  /** What a redirect load got so far, for a timeout's message. */
  const progress = (load: ReturnType<typeof redirectLoad>, what: string) => () =>
    `${what} (served ${load.total()}, ${load.failures.length} failed: ${load.failures.slice(0, 3).join('; ')})`;

  async function createLinks(n: number): Promise<string[]> {
    const codes: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await timedFetch(`${base}/urls`, { method: 'POST', headers: ADMIN, body: { url: `https://example.com/pg/${Date.now()}/${i}` } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      codes.push(res.body.short_code as string);
    }
    return codes;
  }

  async function clicksInDb(codes: readonly string[]): Promise<Map<string, number>> {
    const rows = await postgres.query<{ short_code: string; clicks: number }>(clicksDb, 'SELECT urls.short_code, t.clicks::int AS clicks FROM urls JOIN url_totals t ON t.url_id = urls.id WHERE urls.short_code = ANY($1)', [codes]);
    return new Map(rows.map((r) => [r.short_code, r.clicks]));
  }

  /** Clicks written equal the redirects served, per link; then stay so over further flushes (nothing written twice). */
  async function assertClicksMatch(served: Map<string, number>, what: string): Promise<void> {
    const codes = [...served.keys()];
    const same = async (): Promise<boolean> => {
      const inDb = await clicksInDb(codes);
      return codes.every((c) => inDb.get(c) === served.get(c));
    };
    await until(same, 20_000, `${what}: clicks in PostgreSQL to equal the redirects served`).catch(async (err: Error) => {
      assert.fail(`${err.message}: served ${JSON.stringify([...served])}, in db ${JSON.stringify([...(await clicksInDb(codes))])}`);
    });
    await sleep(3 * FLUSH_MS);
    assert.ok(await same(), `${what}: clicks changed after they matched`);
  }

  /** Each management call that needs PostgreSQL: 503 postgres_unavailable with Retry-After, within a second. */
  async function assertManagementFailsFast(existing: string, what: string): Promise<void> {
    const calls: [string, () => Promise<TimedResponse>][] = [
      ['create', () => timedFetch(`${base}/urls`, { method: 'POST', headers: ADMIN, body: { url: 'https://example.com/while-down' } })],
      ['create (anonymous)', () => timedFetch(`${base}/urls`, { method: 'POST', body: { url: 'https://example.com/while-down-anon' } })],
      ['delete', () => timedFetch(`${base}/urls/${existing}`, { method: 'DELETE', headers: ADMIN })],
      ['analytics', () => timedFetch(`${base}/urls/${existing}/analytics`, { headers: ADMIN })],
    ];
    for (let round = 0; round < 3; round++) {
      // Concurrently too: nothing queues behind the dead database.
      const results = await Promise.all(calls.map(async ([name, call]) => [name, await call()] as const));
      for (const [name, res] of results) {
        assert.equal(res.status, 503, `${what}, ${name}: ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.body.code, 'postgres_unavailable', `${what}, ${name}`);
        assert.match(res.headers.get('retry-after') ?? '', /^\d+$/, `${what}, ${name}: Retry-After`);
        assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
        assert.ok(res.ms < 1000, `${what}, ${name}: answered in ${Math.round(res.ms)} ms`);
      }
    }
  }

  async function assertHealthAndReadiness(what: string): Promise<void> {
    const health = await timedFetch(`${base}/health`);
    assert.equal(health.status, 200, `${what}: /health`);
    const ready = await timedFetch(`${base}/ready`);
    assert.ok(ready.ms < 1000, `${what}: /ready answered in ${Math.round(ready.ms)} ms`);
    // Redis still answers, so the service still serves (cached redirects): degraded, not out of rotation.
    assert.equal(ready.status, 200, `${what}: /ready ${JSON.stringify(ready.body)}`);
    assert.deepEqual(ready.body, { status: 'degraded', checks: { postgres: 'down', redis: 'up', kgs: 'up' } });
  }

  async function waitForRecovery(what: string): Promise<void> {
    await until(async () => (await timedFetch(`${base}/urls`, { method: 'POST', headers: ADMIN, body: { url: 'https://example.com/back' } })).status === 201, 20_000, `${what}: creation to work again`);
    assert.equal(await metricValue(metricsBase, BREAKER), 0, `${what}: breaker closed`);
    const ready = await timedFetch(`${base}/ready`);
    assert.deepEqual(ready.body, { status: 'ready', checks: { postgres: 'up', redis: 'up', kgs: 'up' } });
  }

  /** Redirects until their clicks are all written, so that no flush is in flight when the fault hits. */
  async function settledLinks(n: number): Promise<{ codes: string[]; served: Map<string, number> }> {
    const codes = await createLinks(n);
    const load = redirectLoad(base, codes, 2);
    try {
      await until(() => load.total() >= 50, 10_000, 'redirects before the fault');
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.failures, []);
    await assertClicksMatch(load.served, 'before the fault');
    return { codes, served: load.served };
  }

  test('PostgreSQL killed (SIGKILL) and restarted: cached links redirect throughout, management answers 503 within 1 s, no click is lost', (t) => withServiceLog(async () => {
    const { codes, served } = await settledLinks(5);
    const during = redirectLoad(base, codes);
    t.after(() => during.stop()); // also when an assertion fails: the loop must not outlive the test
    await postgres.kill();

    await until(() => during.total() >= 200, 20_000, progress(during, 'redirects while PostgreSQL is down'));
    await assertManagementFailsFast(codes[0] as string, 'PostgreSQL killed');
    await until(async () => (await metricValue(metricsBase, BREAKER)) === 2, 5000, 'the postgres breaker to show open in /metrics');
    await assertHealthAndReadiness('PostgreSQL killed');
    assert.ok(((await metricValue(metricsBase, 'clicks_pending')) ?? 0) > 0, 'clicks are kept in memory meanwhile');
    assert.match(service.output(), /postgres circuit breaker closed -> open/);

    await postgres.start();
    await waitForRecovery('PostgreSQL restarted');
    await until(() => during.total() >= 400, 20_000, progress(during, 'redirects after PostgreSQL is back'));
    await during.stop();
    assert.deepEqual(during.failures, [], 'no redirect of a cached link failed');
    for (const [code, n] of during.served) served.set(code, (served.get(code) ?? 0) + n);
    await assertClicksMatch(served, 'after the restart');
    assert.match(service.output(), /postgres circuit breaker half_open -> closed/);
  }));

  test('PostgreSQL hung (SIGSTOP) and resumed: no request hangs, cached links redirect, the breaker opens, no click is lost', (t) => withServiceLog(async () => {
    const { codes, served } = await settledLinks(5);
    const during = redirectLoad(base, codes);
    t.after(() => during.stop()); // also when an assertion fails: the loop must not outlive the test
    postgres.freeze();
    try {
      // The first calls wait out the short request timeouts (under a second); then the breaker answers at once.
      await assertManagementFailsFast(codes[0] as string, 'PostgreSQL hung');
      await until(async () => (await metricValue(metricsBase, BREAKER)) === 2, 5000, 'the postgres breaker to show open in /metrics');
      await assertHealthAndReadiness('PostgreSQL hung');
      await until(() => during.total() >= 200, 20_000, progress(during, 'redirects while PostgreSQL is hung'));
      // Still fast once the breaker has gone half-open and a trial call meets the hung server again.
      await sleep(2500);
      await assertManagementFailsFast(codes[1] as string, 'PostgreSQL still hung');
    } finally {
      postgres.thaw();
    }
    await waitForRecovery('PostgreSQL resumed');
    await until(() => during.total() >= 400, 20_000, progress(during, 'redirects after PostgreSQL resumed'));
    await during.stop();
    assert.deepEqual(during.failures, [], 'no redirect of a cached link failed');
    for (const [code, n] of during.served) served.set(code, (served.get(code) ?? 0) + n);
    await assertClicksMatch(served, 'after the resume');
  }));
});

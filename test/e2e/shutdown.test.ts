// Graceful shutdown of the real processes (docs/operations.md, "Shutdown (SIGTERM)"): on SIGTERM a URL service stops accepting,
// finishes the requests in flight, writes every counted click and gives its unused buffered codes
// back to the KGS; a KGS finishes the calls in flight. A shutdown that cannot finish (PostgreSQL
// frozen with clicks still to write) exits 1 by SHUTDOWN_TIMEOUT_MS; a second SIGTERM exits at once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { redisKeyNames } from '../../src/storage/redis/redis-key-store.ts';
import { E2E_ADMIN_KEY, startKgs, startUrlService, type ServiceProcess } from '../support/processes.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';
import { inParallel, timedFetch, until } from '../support/fault-probes.ts';

const ADMIN = { authorization: `Bearer ${E2E_ADMIN_KEY}` };

/** Keeps creating links and following one link from several callers until stopped. */
function mixedLoad(base: string, redirectCode: string) {
  const created: string[] = [];
  let served = 0;
  let running = true;
  let n = 0;
  const creators = Array.from({ length: 6 }, async () => {
    while (running) {
      const res = await timedFetch(`${base}/urls`, { method: 'POST', headers: ADMIN, body: { url: `https://example.com/shutdown/${n++}` }, limitMs: 20_000 });
      if (res.status === 201) created.push(res.body.short_code as string);
      // Anything else (connection refused, 503 while closing) made no link.
    }
  });
  const redirectors = Array.from({ length: 6 }, async () => {
    while (running) {
      const res = await timedFetch(`${base}/${redirectCode}`, { limitMs: 20_000 });
      if (res.status === 302) served += 1;
    }
  });
  return {
    created,
    served: () => served,
    async stop(): Promise<void> {
      running = false;
      await Promise.all([...creators, ...redirectors]);
    },
  };
}

async function createLink(base: string, url: string): Promise<string> {
  const res = await timedFetch(`${base}/urls`, { method: 'POST', headers: ADMIN, body: { url } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.short_code as string;
}

describe('graceful shutdown under load', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  const kgs: ServiceProcess[] = [];
  let urlEnv: Record<string, string>;
  const services: ServiceProcess[] = [];

  before(async () => {
    database = await createTestDatabase('shutdown');
    redis = await openTestRedis('shutdown');
    // Cool-down 0: a returned code goes straight back to available_keys.
    const kgsEnv = { REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_POOL_TARGET: '5000', KGS_POOL_LOW_WATERMARK: '1000', KGS_REUSE_COOLDOWN_S: '0', LOG_LEVEL: 'info' };
    kgs.push(await startKgs(kgsEnv), await startKgs(kgsEnv));
    urlEnv = {
      DATABASE_URL: database.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: redis.prefix,
      KGS_URL: kgs.map((k) => k.url).join(','),
      KGS_CLIENT_BATCH: '50',
      // Long enough that many clicks are still only in memory when SIGTERM arrives.
      CLICK_FLUSH_INTERVAL_MS: '2000',
      LOG_LEVEL: 'info',
    };
  });

  after(async () => {
    await Promise.all([...services, ...kgs].map((p) => p.stop('SIGKILL')));
    await database?.drop();
    await redis?.cleanup();
  });

  /** used_keys holds exactly the codes of the links in PostgreSQL: no code was kept by a stopped service. */
  async function assertNoCodeKept(what: string): Promise<void> {
    const keys = redisKeyNames(redis.prefix);
    const used = (await redis.redis.smembers(keys.used)).sort();
    const { rows } = await database.db.query<{ short_code: string }>('SELECT short_code FROM urls ORDER BY short_code');
    const linked = rows.map((r) => r.short_code).sort();
    const kept = used.filter((c) => !linked.includes(c));
    assert.deepEqual(kept.slice(0, 10), [], `${what}: ${kept.length} codes are used without a link`);
    assert.equal(used.length, linked.length, `${what}: every link's code is used`);
    assert.deepEqual(used, linked);
    assert.equal(await redis.redis.smismember(keys.available, ...linked).then((f) => f.filter((x) => x === 1).length), 0, 'no linked code is available');
  }

  test('SIGTERM under creation and redirect load: the URL service exits 0, every click is written and every unused code goes back', async () => {
    const service = await startUrlService(urlEnv);
    services.push(service);
    const target = await createLink(service.url, 'https://example.com/counted');
    const load = mixedLoad(service.url, target);
    await until(() => load.created.length >= 300 && load.served() >= 1000, 60_000, 'load before SIGTERM');
    const exitCode = await service.stop('SIGTERM');
    await load.stop();
    assert.equal(exitCode, 0, `graceful exit:\n${service.output().slice(-3000)}`);

    // Every redirect answered before the exit is a click in PostgreSQL.
    const { rows } = await database.db.query<{ clicks: number }>('SELECT t.clicks FROM urls JOIN url_totals t ON t.url_id = urls.id WHERE urls.short_code = $1', [target]);
    assert.equal(rows[0]?.clicks, load.served());
    // Every 201 is a link, and every link was a 201.
    const { rows: links } = await database.db.query<{ short_code: string }>('SELECT short_code FROM urls WHERE short_code <> $1', [target]);
    assert.deepEqual(links.map((r) => r.short_code).sort(), [...load.created].sort());
    // The buffer it held went back: logged, and visible in Redis.
    const returned = /"buffered":(\d+),"returned":(\d+),"msg":"returned unused codes to the KGS"/.exec(service.output());
    assert.ok(returned, `the service logged giving its buffer back:\n${service.output().slice(-2000)}`);
    assert.equal(returned[1], returned[2], 'every buffered code was taken back by the KGS');
    await assertNoCodeKept('after the URL service stopped');
  });

  test('a KGS stopped with SIGTERM under creation load exits 0, and no creation fails', async () => {
    const service = await startUrlService(urlEnv);
    services.push(service);
    const victim = kgs[1] as ServiceProcess;
    let victimExit: Promise<number | null> | undefined;
    const results = await inParallel(1500, 16, async (i) => {
      if (i === 300) victimExit = victim.stop('SIGTERM');
      return timedFetch(`${service.url}/urls`, { method: 'POST', headers: ADMIN, body: { url: `https://example.com/kgs-term/${i}` } });
    });
    assert.equal(await victimExit, 0, `the KGS exits 0:\n${victim.output().slice(-2000)}`);
    const failed = results.filter((r) => r.status !== 201).map((r) => `${r.status} ${JSON.stringify(r.body)}`);
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} creations failed`);
    assert.equal(await service.stop('SIGTERM'), 0, service.output().slice(-2000));
    await assertNoCodeKept('after the KGS and then the URL service stopped');
  });
});

describe('a shutdown that cannot finish', () => {
  let postgres: PrivatePostgres;
  let redis: TestRedis;
  let kgs: ServiceProcess;
  let urlEnv: Record<string, string>;
  const services: ServiceProcess[] = [];

  before(async () => {
    postgres = await startPrivatePostgres('shutdown');
    redis = await openTestRedis('shutdown-hung');
    kgs = await startKgs({ REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_POOL_TARGET: '2000', KGS_POOL_LOW_WATERMARK: '500' });
    urlEnv = {
      DATABASE_URL: await postgres.createMigratedDatabase('curt'),
      REDIS_URL,
      REDIS_KEY_PREFIX: redis.prefix,
      KGS_URL: kgs.url,
      // No flush before shutdown: the clicks wait in memory for the final one.
      CLICK_FLUSH_INTERVAL_MS: '600000',
      LOG_LEVEL: 'info',
    };
  });

  after(async () => {
    postgres?.thaw();
    await Promise.all([...services, kgs].map((p) => p?.stop('SIGKILL')));
    await postgres?.destroy();
    await redis?.cleanup();
  });

  /** A URL service with clicks counted but not written, and its PostgreSQL frozen. */
  async function serviceWithStuckClicks(env: Record<string, string>): Promise<ServiceProcess> {
    const service = await startUrlService({ ...urlEnv, ...env });
    services.push(service);
    const code = await createLink(service.url, 'https://example.com/stuck');
    for (let i = 0; i < 20; i++) assert.equal((await timedFetch(`${service.url}/${code}`)).status, 302);
    postgres.freeze();
    return service;
  }

  test('PostgreSQL frozen with clicks to write: the URL service still exits by SHUTDOWN_TIMEOUT_MS, with code 1', async () => {
    const service = await serviceWithStuckClicks({ SHUTDOWN_TIMEOUT_MS: '2000' });
    try {
      const started = performance.now();
      const exitCode = await service.stop('SIGTERM');
      const took = performance.now() - started;
      assert.equal(exitCode, 1, service.output().slice(-2000));
      assert.ok(took < 5000, `exited ${Math.round(took)} ms after SIGTERM`);
      assert.match(service.output(), /shutdown deadline passed|counted clicks could not be written/);
    } finally {
      postgres.thaw();
    }
  });

  test('a second SIGTERM during a stuck shutdown exits at once, with code 1', async () => {
    const service = await serviceWithStuckClicks({ SHUTDOWN_TIMEOUT_MS: '60000' });
    try {
      const exited = new Promise<number | null>((resolve) => service.child.once('exit', (code) => resolve(code)));
      service.child.kill('SIGTERM');
      await until(() => service.output().includes('"msg":"shutting down"'), 5000, 'the shutdown to start');
      const second = performance.now();
      service.child.kill('SIGTERM');
      const exitCode = await exited;
      const took = performance.now() - second;
      assert.equal(exitCode, 1);
      // "At once" against a deadline of 60 s: a machine loaded by other tests took 1,024 ms once.
      assert.ok(took < 5000, `exited ${Math.round(took)} ms after the second SIGTERM`);
      assert.match(service.output(), /second signal: exiting now/);
    } finally {
      postgres.thaw();
    }
  });
});

// Two real KGS processes on one Redis key pool, drained hard over HTTP while both replenish: the
// design's central promise — no code is ever handed out twice, across replicas — checked code by code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { redisKeyNames } from '../../src/storage/redis/redis-key-store.ts';
import { until } from '../support/fault-probes.ts';
import { startKgs, type ServiceProcess } from '../support/processes.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';

const DRAIN_AT_LEAST = 100_000;
const PER_REQUEST = 100;
const CLIENTS = 16;
// A target this small next to the drain forces several replenishments while both replicas take,
// so replenishing and handing out race each other on both processes.
const POOL_TARGET = 30_000;
const LOW_WATERMARK = 10_000;
const CODE = /^[a-zA-Z]{6}$/;
const SMISMEMBER_CHUNK = 5000;
/** 503 pool_empty answers the drain waits out (Retry-After) before one fails the test. */
const MAX_EMPTY_ANSWERS = 32;


/** Sums a counter's samples in a Prometheus text exposition. */
function counterValue(exposition: string, name: string): number {
  return exposition
    .split('\n')
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('two KGS replicas on one Redis pool', () => {
  let redis: TestRedis;
  const replicas: ServiceProcess[] = [];
  const pools: Pool[] = [];

  before(async () => {
    redis = await openTestRedis('e2e-kgs-two');
    const env = {
      REDIS_URL,
      REDIS_KEY_PREFIX: redis.prefix,
      KGS_POOL_TARGET: String(POOL_TARGET),
      KGS_POOL_LOW_WATERMARK: String(LOW_WATERMARK),
      KGS_REUSE_COOLDOWN_S: '0',
    };
    replicas.push(...(await Promise.all([startKgs(env), startKgs(env)])));
    pools.push(...replicas.map((replica) => new Pool(replica.url, { connections: CLIENTS / 2 })));
  });

  after(async () => {
    await Promise.all(pools.map((pool) => pool.close()));
    await Promise.all(replicas.map((replica) => replica.stop()));
    await redis?.cleanup();
  });

  test(`${DRAIN_AT_LEAST} codes drained by ${CLIENTS} clients over both replicas are unique and all marked used`, async () => {
    const started = performance.now();
    const handedOut: string[] = [];
    const perReplica = [0, 0];
    let requests = 0;
    let emptyAnswers = 0;

    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        // Each client alternates replicas, and half the clients start on each, so both are always busy.
        for (let turn = client; handedOut.length < DRAIN_AT_LEAST; turn++) {
          const which = turn % 2;
          const pool = pools[which];
          assert.ok(pool);
          requests++;
          const res = await pool.request({ method: 'GET', path: `/codes?count=${PER_REQUEST}`, headers: { authorization: 'Bearer test-token' } });
          const text = await res.body.text();
          // An empty pool is an answer the API documents (503 pool_empty, Retry-After): a drain that
          // outruns both replicas' replenishment on a loaded machine meets it, and a client retries.
          // It hands out no code, so the checks below hold whatever the timing.
          if (res.statusCode === 503 && text.includes('"code":"pool_empty"') && emptyAnswers < MAX_EMPTY_ANSWERS) {
            emptyAnswers++;
            await sleep(Number(res.headers['retry-after'] ?? 1) * 1000);
            continue;
          }
          assert.equal(res.statusCode, 200, `replica ${which} answered ${res.statusCode}: ${text}`);
          const { codes } = JSON.parse(text) as { codes: string[] };
          // "May return fewer than N when the pool runs low, never none."
          assert.ok(codes.length >= 1 && codes.length <= PER_REQUEST, `got ${codes.length} codes`);
          handedOut.push(...codes);
          perReplica[which] = (perReplica[which] ?? 0) + codes.length;
        }
      }),
    );
    const drainMs = performance.now() - started;

    assert.ok(handedOut.length >= DRAIN_AT_LEAST);
    assert.ok((perReplica[0] ?? 0) > DRAIN_AT_LEAST / 4 && (perReplica[1] ?? 0) > DRAIN_AT_LEAST / 4, `both replicas served: ${perReplica.join(' / ')}`);
    const unique = new Set(handedOut);
    assert.equal(unique.size, handedOut.length, `${handedOut.length - unique.size} codes were handed out more than once`);

    const misshapen = handedOut.filter((code) => !CODE.test(code));
    assert.deepEqual(misshapen.slice(0, 10), [], `${misshapen.length} codes are not 6 letters of a-z A-Z`);

    const keys = redisKeyNames(redis.prefix);
    let notUsed = 0;
    let stillAvailable = 0;
    for (let i = 0; i < handedOut.length; i += SMISMEMBER_CHUNK) {
      const chunk = handedOut.slice(i, i + SMISMEMBER_CHUNK);
      const [inUsed, inAvailable] = await Promise.all([redis.redis.smismember(keys.used, ...chunk), redis.redis.smismember(keys.available, ...chunk)]);
      notUsed += inUsed.filter((member) => member === 0).length;
      stillAvailable += inAvailable.filter((member) => member === 1).length;
    }
    assert.equal(notUsed, 0, 'every handed-out code is in used_keys');
    assert.equal(stillAvailable, 0, 'no handed-out code is still in available_keys');

    // The drain only proves something about the race if replenishment ran during it, on the pool
    // both replicas share. Once the last top-up has finished (and none is due: available is at or
    // above the low watermark; a top-up may stop short of the target while takes race it), every code
    // either replica ever added is in exactly one of the two sets: available + used = added
    // (cool-down 0, nothing returned). The counter moves when a run ends, so mid-run they differ.
    let sizes = { available: 0, used: 0, added: 0, runs: 0 };
    await until(async () => {
      const [available, used] = await Promise.all([redis.redis.scard(keys.available), redis.redis.scard(keys.used)]);
      const expositions = await Promise.all(replicas.map(async (replica) => (await fetch(`${replica.metricsUrl}/metrics`)).text()));
      const sum = (name: string): number => expositions.reduce((total, text) => total + counterValue(text, name), 0);
      sizes = { available, used, added: sum('kgs_replenish_codes_added_total'), runs: sum('kgs_replenish_runs_total') };
      return available >= LOW_WATERMARK && sizes.added === available + used;
    }, 10_000, () => `the pool to settle with available + used = added (${JSON.stringify(sizes)})`);
    assert.equal(sizes.used, handedOut.length, 'used_keys holds exactly the codes handed out (nothing else took any)');
    assert.ok(sizes.added >= handedOut.length, `replenishment added ${sizes.added} codes`);
    // A run adds at most one target's worth, so covering the drain took several runs racing the takes.
    const fewestRuns = Math.ceil(handedOut.length / POOL_TARGET);
    assert.ok(sizes.runs >= fewestRuns, `replenishment ran ${sizes.runs} times (at least ${fewestRuns}: the drain ÷ the pool target)`);

    const rate = Math.round(handedOut.length / (drainMs / 1000));
    console.log(
      `# drained ${handedOut.length} codes in ${requests} requests (${emptyAnswers} answered 503 pool_empty and retried) over ${Math.round(drainMs)} ms (${rate} codes/s); per replica ${perReplica.join(' / ')}; replenish runs ${sizes.runs} adding ${sizes.added}`,
    );
  });
});

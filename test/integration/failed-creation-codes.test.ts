// A creation that fails must not cost its code: the generated code or the claimed alias goes
// back to the key pool (real, on Redis) at once, since no link ever had it. An alias that stayed
// claimed would answer every retry with 409 alias_taken, for a link that does not exist.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Conflict, DependencyDown } from '../../src/core/errors.ts';
import { createLocalCodeSource } from '../../src/kgs/local-code-source.ts';
import type { CodeSource } from '../../src/kgs-client/types.ts';
import { CodeExists, type LinkStore } from '../../src/storage/link-store.ts';
import { redisKeyNames } from '../../src/storage/redis/redis-key-store.ts';
import { createLinkService, type LinkService, type LinkServiceOptions } from '../../src/url/link-service.ts';
import { until } from '../support/fault-probes.ts';
import { buildTestKgs, type TestKgs } from '../support/kgs.ts';
import { linkServiceOptions } from '../support/link-service.ts';

describe('a creation that PostgreSQL fails gives its code back at once', () => {
  let kgs: TestKgs;
  let codes: CodeSource;
  let links: LinkService;
  let serviceOptions: LinkServiceOptions;
  const attempted: string[] = [];

  before(async () => {
    // A long cool-down: only the "unused" return can make the codes usable again during the test.
    kgs = await buildTestKgs('failed-creation', { reuseCooldownS: 3600 });
    codes = createLocalCodeSource(kgs.pool, { batchSize: 10 });
    const unavailable = (): Promise<never> => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    const store = {
      insert: (link: { code: string }) => {
        attempted.push(link.code);
        return unavailable();
      },
      applyClicks: unavailable,
    } as unknown as LinkStore;
    serviceOptions = linkServiceOptions('failed-creation', { store, codes });
    links = createLinkService(serviceOptions);
  });
  after(async () => {
    await codes.close();
    await kgs.close();
  });

  test('a claimed alias is released: the retry can claim it again instead of 409 alias_taken', async () => {
    await assert.rejects(links.createLink({ url: 'https://example.com/a', alias: 'launch-day' }, null), DependencyDown);
    assert.deepEqual(attempted.slice(-1), ['launch-day'], 'the insert was tried with the alias');
    await until(async () => (await kgs.redis.redis.sismember(redisKeyNames(kgs.redis.prefix).used, 'launch-day')) === 0, 2000, 'the alias to leave used_keys');
    assert.equal(await codes.claimCode('launch-day'), 'launch-day', 'claimable again at once, despite the cool-down');
  });

  test('an alias claim whose answer was lost is released: it landed, and a retry can claim it again', async () => {
    let insertsTried = 0;
    // The claim reaches the KGS and lands, but its answer never comes back (a timeout, a reset).
    const lostAnswer: CodeSource = {
      ...codes,
      claimCode: async (code, context) => {
        await codes.claimCode(code, context);
        throw new DependencyDown('kgs', 'No answer from the Key Generation Service.', 1);
      },
    };
    const store = { insert: () => ((insertsTried += 1), Promise.reject(new Error('not reached'))), findByCode: async () => null } as unknown as LinkStore;
    const lost = createLinkService({ ...serviceOptions, store, codes: lostAnswer });
    await assert.rejects(lost.createLink({ url: 'https://example.com/l', alias: 'lost-claim' }, null), DependencyDown);
    assert.equal(insertsTried, 0, 'no link was created');
    const used = redisKeyNames(kgs.redis.prefix).used;
    await until(async () => (await kgs.redis.redis.sismember(used, 'lost-claim')) === 0, 2000, 'the alias to leave used_keys');
    assert.equal(await codes.claimCode('lost-claim'), 'lost-claim', 'claimable again at once, despite the cool-down');
  });

  test('an alias claim whose answer was lost stays claimed when a link has the alias: the KGS must not hand it out', async () => {
    assert.equal(await codes.claimCode('linked-1'), 'linked-1', 'a live link holds it');
    const returned: string[] = [];
    // The KGS refused the claim (taken), but the answer was lost on the way back.
    const lostRefusal: CodeSource = {
      ...codes,
      claimCode: async () => {
        throw new DependencyDown('kgs', 'No answer from the Key Generation Service.', 1);
      },
      returnCodes: (given, context, options) => (returned.push(...given), codes.returnCodes(given, context, options)),
    };
    let looked = 0;
    const store = {
      insert: () => Promise.reject(new Error('not reached')),
      findByCode: async (code: string) => ((looked += 1), code === 'linked-1' ? ({ code } as unknown) : null),
    } as unknown as LinkStore;
    const lost = createLinkService({ ...serviceOptions, store, codes: lostRefusal });
    await assert.rejects(lost.createLink({ url: 'https://example.com/k', alias: 'linked-1' }, null), DependencyDown);
    await until(async () => looked === 1, 2000, 'the link service to look for a link with the alias');
    await sleep(100);
    assert.deepEqual(returned, [], 'nothing given back');
    assert.equal(await kgs.redis.redis.sismember(redisKeyNames(kgs.redis.prefix).used, 'linked-1'), 1, 'still used in the KGS');
  });

  test('an alias claim the KGS answered as taken is not released: the alias is someone else\'s', async () => {
    assert.equal(await codes.claimCode('theirs-1'), 'theirs-1');
    const returned: string[] = [];
    // Returns are started before createLink settles, so a spy sees any without waiting.
    const spied: CodeSource = { ...codes, returnCodes: (given, context, options) => (returned.push(...given), codes.returnCodes(given, context, options)) };
    const answered = createLinkService({ ...serviceOptions, codes: spied });
    await assert.rejects(answered.createLink({ url: 'https://example.com/o', alias: 'theirs-1' }, null), (err: unknown) => err instanceof Conflict && err.code === 'alias_taken');
    assert.deepEqual(returned, [], 'nothing given back');
    assert.equal(await kgs.redis.redis.sismember(redisKeyNames(kgs.redis.prefix).used, 'theirs-1'), 1, 'still used in the KGS');
  });

  test('an alias PostgreSQL refuses as taken is not released: it belongs to the link that has it', async () => {
    const taken = createLinkService({ ...serviceOptions, store: { insert: () => Promise.reject(new CodeExists('in-use-1')) } as unknown as LinkStore });
    await assert.rejects(taken.createLink({ url: 'https://example.com/t', alias: 'in-use-1' }, null), (err: unknown) => err instanceof Conflict && err.code === 'alias_taken');
    await sleep(200);
    assert.equal(await kgs.redis.redis.sismember(redisKeyNames(kgs.redis.prefix).used, 'in-use-1'), 1, 'still used in the KGS');
    await assert.rejects(codes.claimCode('in-use-1'), Conflict);
  });

  test('a generated code goes back to available_keys, not into the cool-down', async () => {
    await assert.rejects(links.createLink({ url: 'https://example.com/g' }, null), DependencyDown);
    const code = attempted.at(-1) ?? '';
    assert.match(code, /^[a-zA-Z]{6}$/);
    const keys = redisKeyNames(kgs.redis.prefix);
    await until(async () => (await kgs.redis.redis.sismember(keys.available, code)) === 1, 2000, `${code} to be available again`);
    assert.equal((await kgs.pool.sizes()).coolingDown, 0);
  });
});

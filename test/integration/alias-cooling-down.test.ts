// Issue 10 (friction): deleting a link and re-using its alias said "already taken". The alias is
// cooling down (KGS_REUSE_COOLDOWN_S): the answer says so, and until when, in both modes — the KGS
// over HTTP (its 409 carries `available_at` through the KGS client) and the in-process key pool.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createKgsClient } from '../../src/kgs-client/kgs-client.ts';
import { buildTestKgs, TOKEN } from '../support/kgs.ts';
import { testLogger } from '../support/log.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

const COOLDOWN_S = 3600;

interface Mode {
  name: string;
  build(): Promise<{ svc: TestUrlService; close(): Promise<void> }>;
}

const modes: Mode[] = [
  {
    name: 'in-process key pool',
    async build() {
      const svc = await buildTestUrlService('alias-cool-local', { reuseCooldownS: COOLDOWN_S });
      return { svc, close: () => svc.close() };
    },
  },
  {
    name: 'KGS over HTTP',
    async build() {
      const kgs = await buildTestKgs('alias-cool-kgs', { reuseCooldownS: COOLDOWN_S, target: 200, lowWatermark: 10 });
      const url = await kgs.app.listen({ host: '127.0.0.1', port: 0 });
      const codes = createKgsClient({ urls: [url], token: TOKEN, log: testLogger('kgs-client'), batchSize: 20 });
      const svc = await buildTestUrlService('alias-cool-http', { codes });
      return {
        svc,
        async close() {
          await svc.close();
          await kgs.close();
        },
      };
    },
  },
];

for (const mode of modes) {
  describe(`alias cool-down: ${mode.name}`, () => {
    let built: Awaited<ReturnType<Mode['build']>> | undefined;
    after(() => built?.close());

    test('re-using the alias of a deleted link is 409 alias_cooling_down with available_at, not alias_taken', async () => {
      // The KGS test support's clock stands still from its start: bound available_at from before that.
      const startedAt = Date.now();
      built = await mode.build();
      const { svc } = built;
      const create = (alias: string) =>
        svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url: 'https://example.com/launch', alias } });
      assert.equal((await create('launch-1')).statusCode, 201);
      assert.equal((await svc.app.inject({ method: 'DELETE', url: '/urls/launch-1', headers: svc.admin })).statusCode, 204);

      const again = await create('launch-1');
      assert.equal(again.statusCode, 409, again.body);
      assert.equal(again.headers['content-type'], 'application/problem+json; charset=utf-8');
      const problem = again.json<{ code: string; detail: string; available_at?: string }>();
      assert.equal(problem.code, 'alias_cooling_down');
      const availableAt = Date.parse(problem.available_at ?? '');
      assert.ok(availableAt >= startedAt + COOLDOWN_S * 1000 && availableAt <= Date.now() + COOLDOWN_S * 1000, `available_at ${problem.available_at}`);
      assert.ok(problem.detail.includes(problem.available_at ?? '?'), `the detail says until when: ${problem.detail}`);

      // An alias in use is still simply taken.
      assert.equal((await create('in-use-9')).statusCode, 201);
      assert.equal((await create('in-use-9')).json<{ code: string }>().code, 'alias_taken');
    });
  });
}

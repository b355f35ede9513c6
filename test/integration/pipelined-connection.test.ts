// One connection's pipelined requests may not take the lookups' shared queue from everyone else
// (MAX_WAITING_PER_CONNECTION, src/core/http-app.ts): past the bound a request is answered 503
// server_busy at once, in its turn, and the connection and other clients go on being served.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_WAITING_PER_CONNECTION } from '../../src/core/http-app.ts';
import { RawConnection, rawGet, type RawResponse } from '../support/raw-http.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

let svc: TestUrlService;
let port: number;

before(async () => {
  svc = await buildTestUrlService('pipelined-connection');
  port = Number(new URL(await svc.app.listen({ port: 0, host: '127.0.0.1' })).port);
});
after(() => svc.close());

test(`a connection pipelining more than ${MAX_WAITING_PER_CONNECTION} lookups: the rest are 503 server_busy at once, in order; another client is served meanwhile`, async () => {
  const sent = 400;
  // Codes no one has: each is a lookup (cache, then PostgreSQL) that the request waits for.
  const codes = Array.from({ length: sent }, (_, i) => `nope${String(i).padStart(4, '0')}`);
  const flood = await RawConnection.open(port);
  const other = await RawConnection.open(port);
  try {
    flood.send(codes.map((code) => rawGet(`/${code}`)));
    other.send([rawGet('/othercode')]);
    const answers: RawResponse[] = [];
    for (let i = 0; i < sent; i++) {
      const answer = await flood.read();
      assert.ok(answer !== null, `answer ${i + 1} of ${sent}: the connection ended (${flood.ended ?? '?'})`);
      answers.push(answer);
    }
    const statuses = answers.map((a) => a.status);
    const looked = statuses.filter((s) => s === 404).length;
    const refused = answers.filter((a) => a.status === 503);
    assert.equal(looked + refused.length, sent, `only 404s and 503s: ${[...new Set(statuses)].join(', ')}`);
    // The first ones were looked up; the bound held while they waited (one write, parsed at once).
    assert.ok(looked >= MAX_WAITING_PER_CONNECTION && looked < sent / 2, `${looked} looked up`);
    assert.deepEqual(statuses.slice(0, MAX_WAITING_PER_CONNECTION), Array(MAX_WAITING_PER_CONNECTION).fill(404));
    for (const answer of refused) {
      assert.equal(answer.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(answer.headers['retry-after'], '1');
      const problem = JSON.parse(answer.body) as { code: string; request_id: string };
      assert.equal(problem.code, 'server_busy');
      // Refused before Fastify sees it: the id is sent as every answer's is, header and body alike.
      assert.equal(answer.headers['x-request-id'], problem.request_id);
    }
    assert.match((JSON.parse(refused[0]?.body ?? '{}') as { detail: string }).detail, /waiting on this connection/);
    // The other client's lookup was not refused, and the flooding connection still works.
    assert.equal((await other.read())?.status, 404);
    flood.send([rawGet('/nopeagain')]);
    assert.equal((await flood.read())?.status, 404);
  } finally {
    flood.close();
    other.close();
  }
});

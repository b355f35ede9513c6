// SIGTERM while clients keep their connections open, as a proxy does while Kubernetes removes a pod's
// endpoints (docs/operations.md, "Shutdown (SIGTERM)"): every request the process received is
// answered — served, or 503 problem+json — and a connection ends only after an answer saying
// `Connection: close`, never with a reset or with requests left unanswered.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startKgs, startUrlService, E2E_ADMIN_KEY, type ServiceProcess } from '../support/processes.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';
import { timedFetch, until } from '../support/fault-probes.ts';
import { RawConnection, rawGet, type RawResponse } from '../support/raw-http.ts';

interface Tally {
  answers: RawResponse[];
  /** Requests sent and never answered, and how their connection ended. */
  failures: string[];
  /** Set when SIGTERM is sent: from then on a client that is told to close does not reconnect. */
  terminating: boolean;
}

/**
 * Like a proxy's upstream connection: sends `depth` requests at a time (pipelined when > 1) on one
 * kept-alive connection, opening a new one when told to close, until SIGTERM has been sent (the
 * proxy has taken the pod out). Every request must get its answer before the connection ends.
 */
async function client(port: number, path: string, depth: number, tally: Tally): Promise<void> {
  while (!tally.terminating) {
    let connection: RawConnection;
    try {
      connection = await RawConnection.open(port);
    } catch (err) {
      tally.failures.push(`connect: ${(err as Error).message}`);
      return;
    }
    let open = true;
    while (open) {
      connection.send(Array.from({ length: depth }, () => rawGet(path)));
      for (let i = 0; i < depth; i++) {
        const answer = await connection.read();
        if (answer === null) {
          tally.failures.push(`request ${i + 1} of ${depth} unanswered; connection ${connection.ended ?? '?'}`);
          open = false;
          break;
        }
        tally.answers.push(answer);
        if (answer.headers.connection === 'close') {
          // The server said so: nothing may be left unanswered behind this answer.
          if (i < depth - 1) tally.failures.push(`Connection: close on answer ${i + 1} of ${depth} pipelined`);
          open = false;
          break;
        }
      }
    }
    connection.close();
  }
}

describe('SIGTERM with kept-alive and pipelined clients', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let kgs: ServiceProcess;

  before(async () => {
    database = await createTestDatabase('drain');
    redis = await openTestRedis('drain');
    kgs = await startKgs({ REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_POOL_TARGET: '2000', KGS_POOL_LOW_WATERMARK: '500' });
  });

  after(async () => {
    await kgs?.stop('SIGKILL');
    await database?.drop();
    await redis?.cleanup();
  });

  test('every request on a kept-alive or pipelined connection during SIGTERM is answered; none is reset', async () => {
    const service = await startUrlService({
      DATABASE_URL: database.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: redis.prefix,
      KGS_URL: kgs.url,
      SHUTDOWN_DRAIN_MS: '1500',
    });
    try {
      const created = await timedFetch(`${service.url}/urls`, { method: 'POST', headers: { authorization: `Bearer ${E2E_ADMIN_KEY}` }, body: { url: 'https://example.com/drain' } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const path = `/${String(created.body.short_code)}`;
      const tally: Tally = { answers: [], failures: [], terminating: false };
      const clients = [
        ...Array.from({ length: 4 }, () => client(service.port, path, 1, tally)),
        ...Array.from({ length: 2 }, () => client(service.port, path, 4, tally)),
      ];
      await until(() => tally.answers.length >= 200, 30_000, 'traffic on every connection before SIGTERM');
      const beforeSigterm = tally.answers.length;
      tally.terminating = true;
      const exitCode = await service.stop('SIGTERM');
      await Promise.all(clients);

      assert.equal(exitCode, 0, service.output().slice(-2000));
      assert.deepEqual(tally.failures.slice(0, 10), [], `${tally.failures.length} requests unanswered or connections reset`);
      const wrong = tally.answers.filter((a) => !(a.status === 302 || (a.status === 503 && /^application\/problem\+json/.test(a.headers['content-type'] ?? ''))));
      assert.deepEqual(wrong.slice(0, 3).map((a) => `${a.status} ${a.headers['content-type'] ?? ''} ${a.body}`), [], 'every answer is a redirect or a 503 problem');
      assert.ok(tally.answers.length > beforeSigterm, 'requests after SIGTERM were answered');
      assert.ok(tally.answers.some((a) => a.headers.connection === 'close'), 'connections were told to close');
    } finally {
      await service.stop('SIGKILL');
    }
  });

  test('a request still arriving when the drain and the settle end (a slow body, slow headers) is answered 408 problem+json and closed; the stop is clean (exit 0)', async () => {
    // Node's own request and header timeouts far away: the 408s below are the stop's.
    const service = await startUrlService({
      DATABASE_URL: database.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: redis.prefix,
      KGS_URL: kgs.url,
      SHUTDOWN_DRAIN_MS: '500',
      HTTP_REQUEST_TIMEOUT_MS: '60000',
      HTTP_HEADERS_TIMEOUT_MS: '60000',
    });
    const sockets: Socket[] = [];
    try {
      const slowClient = async (first: string, more: string): Promise<{ answer: string; ended: string }> => {
        const socket = connect(service.port, '127.0.0.1');
        sockets.push(socket);
        await once(socket, 'connect');
        let answer = '';
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
        const ended = new Promise<string>((resolve) => {
          socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
          socket.on('close', () => resolve('closed'));
        });
        socket.write(first);
        const dribble = setInterval(() => socket.writable && socket.write(more), 200);
        const how = await ended;
        clearInterval(dribble);
        return { answer, ended: how };
      };
      // Connected and sending before SIGTERM: its body never ends.
      const body = slowClient('POST /urls HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{', ' ');
      await sleep(200);
      const stopping = service.stop('SIGTERM');
      // Connected during the drain: its headers never end.
      await sleep(150);
      const headers = slowClient('POST /urls HTTP/1.1\r\nHost: a\r\n', 'X-Slow: 1\r\n');
      const [bodyClient, headersClient, exitCode] = await Promise.all([body, headers, stopping]);
      for (const [what, seen] of [
        ['slow body', bodyClient],
        ['slow headers', headersClient],
      ] as const) {
        assert.match(seen.answer, /^HTTP\/1\.1 408 /, `${what}: ${seen.answer.slice(0, 200) || `no answer, ${seen.ended}`}`);
        assert.match(seen.answer, /\r\nConnection: close\r\n/i, what);
        assert.match(seen.answer, /application\/problem\+json/, what);
        assert.match(seen.answer, /"code":"request_timeout"/, what);
      }
      assert.equal(exitCode, 0, service.output().slice(-2000));
    } finally {
      for (const socket of sockets) socket.destroy();
      await service.stop('SIGKILL');
    }
  });

  test('with the default drain and deadline, a connection opened at the drain\'s end leaves the flush its time: every click written, exit 0', async () => {
    // Defaults but for Node's own timeouts (far away: the settle is the stop's) and a flush that
    // would not come by itself before the deadline.
    const service = await startUrlService({
      DATABASE_URL: database.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: redis.prefix,
      KGS_URL: kgs.url,
      HTTP_REQUEST_TIMEOUT_MS: '60000',
      HTTP_HEADERS_TIMEOUT_MS: '60000',
      CLICK_FLUSH_INTERVAL_MS: '600000',
      // The defaults, which the test processes shorten otherwise.
      SHUTDOWN_DRAIN_MS: '5000',
      SHUTDOWN_TIMEOUT_MS: '10000',
    });
    let socket: Socket | null = null;
    try {
      const created = await fetch(`${service.url}/urls`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${E2E_ADMIN_KEY}` }, body: JSON.stringify({ url: 'https://example.com/drain' }) });
      assert.equal(created.status, 201);
      const { short_code: code } = (await created.json()) as { short_code: string };
      const CLICKS = 3;
      for (let i = 0; i < CLICKS; i++) {
        const res = await fetch(`${service.url}/${code}`, { redirect: 'manual', headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36' } });
        assert.equal(res.status, 302);
      }
      const signalledAt = performance.now();
      const stopping = service.stop('SIGTERM');
      // Connected near the drain's end and never used, as a balancer's pre-opened connection: the
      // stop waits out the settle and the last timeout check for it.
      await sleep(4600);
      socket = connect(service.port, '127.0.0.1');
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      const exitCode = await stopping;
      const stoppedAfterMs = performance.now() - signalledAt;
      assert.equal(exitCode, 0, service.output().slice(-2000));
      // The settle takes half of what the drain left (2 s), so the process is done by about 8 s (the
      // last timeout check may take 1 s more). Taking half of what was left before the drain (4.5 s),
      // it reached 9.5-10.5 s, into the flush's last second or past the deadline (exit 1, clicks lost).
      assert.ok(stoppedAfterMs < 9000, `stopped after ${Math.round(stoppedAfterMs)} ms: past SHUTDOWN_TIMEOUT_MS less the flush's reserve`);
      const { rows } = await database.pool.query<{ clicks: string }>('SELECT t.clicks FROM urls JOIN url_totals t ON t.url_id = urls.id WHERE urls.short_code = $1', [code]);
      assert.equal(Number(rows[0]?.clicks), CLICKS, 'every click written before the exit');
    } finally {
      socket?.destroy();
      await service.stop('SIGKILL');
    }
  });
});

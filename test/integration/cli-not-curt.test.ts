// `curt` against a server that is not Curt (a web server answering HTML, an empty body, other JSON):
// one line saying so, exit code 3, instead of an empty line, a JSON parse error or a page of HTML.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseCommand } from '../../src/cli/args.ts';
import { describeFailure, runClientCommand, type ClientCommand } from '../../src/cli/commands.ts';
import { createCurtClient } from '../../src/client/curt-client.ts';

const ANSWERS: Record<string, { status: number; type?: string; body: string }> = {
  '/html': { status: 200, type: 'text/html; charset=utf-8', body: '<!doctype html><html><body>It works!</body></html>' },
  '/html-404': { status: 404, type: 'text/html', body: '<html><body><h1>404 Not Found</h1></body></html>' },
  '/empty': { status: 200, body: '' },
  '/empty-500': { status: 500, body: '' },
  '/other-json': { status: 400, type: 'application/json', body: '{"error":"bad"}' },
};

let server: Server;
let base = '';
before(async () => {
  server = createServer((req, res) => {
    const answer = ANSWERS[`/${(req.url ?? '').split('/')[1] ?? ''}`] ?? { status: 200, type: 'text/plain', body: 'hello' };
    res.writeHead(answer.status, answer.type === undefined ? {} : { 'content-type': answer.type }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function run(prefix: string, argv: string[]): Promise<{ printed: string[]; failure: ReturnType<typeof describeFailure> }> {
  const printed: string[] = [];
  const server = `${base}${prefix}`;
  try {
    await runClientCommand(parseCommand(argv) as ClientCommand, createCurtClient({ baseUrl: server }), (text) => printed.push(text));
    return { printed, failure: null };
  } catch (err) {
    const failure = describeFailure(err, server);
    assert.ok(failure !== null, `not described: ${String(err)}`);
    return { printed, failure };
  }
}

test('every client command against a server that is not Curt fails with one line saying so, exit code 3', async () => {
  for (const prefix of Object.keys(ANSWERS)) {
    for (const argv of [['shorten', 'https://example.com'], ['stats', 'abc123'], ['list'], ['delete', 'abc123'], ['keys', 'create']]) {
      const { printed, failure } = await run(prefix, argv);
      const what = `${prefix}: curt ${argv.join(' ')}`;
      assert.deepEqual(printed, [], `${what} printed ${JSON.stringify(printed)}`);
      assert.equal(failure?.exitCode, 3, what);
      assert.match(failure?.message ?? '', /is not a Curt server \(the server answered HTTP \d{3} with [^)]+\)/, what);
      assert.ok(!/<html|<body|<!doctype/i.test(failure?.message ?? ''), `${what}: no HTML in the message`);
      assert.equal(failure?.problem.code, 'not_curt', what);
    }
  }
});

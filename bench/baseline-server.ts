// The references for every benchmark figure, run in the same session as what they measure:
//  - BASELINE_MODE=redirect: a bare node:http server answering every request with a fixed 302 — the
//    floor for any Node.js service on this machine;
//  - BASELINE_MODE=fastify-redirect: a bare Fastify app (no logger, no hooks) whose one route
//    `GET /:code` answers the same 302 — the framework's own share, next to the floor;
//  - BASELINE_MODE=fastify-create: a bare Fastify app (no logger, no hooks) whose one route
//    `POST /urls` validates the body and serialises the answer with Curt's own schemas
//    (CreateLinkBody, LinkView) and answers 201 with a link made in memory: what a creation costs in
//    the framework alone, with no key, no target check, no storage;
//  - BASELINE_MODE=json: node:http answering BASELINE_BODY as JSON (the KGS bench's reference).
import { createServer } from 'node:http';
import Fastify from 'fastify';
import { CreateLinkBody, LinkView } from '../src/url/routes/schemas.ts';

const port = Number(process.env.PORT ?? 0);
const mode = process.env.BASELINE_MODE ?? 'redirect';
const body = process.env.BASELINE_BODY ?? '';
const LOCATION = 'https://example.com/baseline';

function announce(address: ReturnType<ReturnType<typeof createServer>['address']>): void {
  process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : port}\n`);
}

if (mode === 'fastify-redirect') {
  const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
  app.get('/health', async () => '');
  app.get('/:code', async (_request, reply) => reply.code(302).header('location', LOCATION).send());
  await app.listen({ port, host: '127.0.0.1' });
  announce(app.server.address());
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
} else if (mode === 'fastify-create') {
  const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
  app.addSchema(LinkView);
  let made = 0;
  app.get('/health', async () => '');
  app.post<{ Body: { url: string } }>('/urls', { schema: { body: CreateLinkBody, response: { 201: { $ref: 'Link' } } } }, async (request, reply) => {
    const code = (made++).toString(36).padStart(7, '0');
    return reply
      .code(201)
      .header('location', `/urls/${code}`)
      .send({
        short_code: code,
        short_url: `http://127.0.0.1/${code}`,
        original_url: request.body.url,
        created_at: new Date().toISOString(),
        expires_at: null,
        is_one_time: false,
        max_visits: null,
        visits: 0,
        forward_query: false,
        is_active: true,
        is_expired: false,
        is_custom_alias: false,
        state: 'active',
        clicks: 0,
        bot_hits: 0,
        last_clicked_at: null,
        has_password: false,
        tags: [],
      });
  });
  await app.listen({ port, host: '127.0.0.1' });
  announce(app.server.address());
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
} else {
  const server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    } else if (mode === 'redirect') {
      res.writeHead(302, { location: LOCATION, 'content-length': '0' });
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1', () => announce(server.address()));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

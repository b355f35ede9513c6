// An HTTP app closed the way the services close theirs (installGracefulClose from
// src/core/graceful-close.ts, stopped by onShutdown from src/core/shutdown.ts) that throws from a timer
// 100 ms after it starts listening: an uncaught exception with no connection open. It prints
// `listening <port>` first. Usage: node --import tsx test/support/serve-then-crash.ts <drain ms>
import Fastify from 'fastify';
import { installGracefulClose } from '../../src/core/graceful-close.ts';
import { createLogger } from '../../src/core/logger.ts';
import { onShutdown } from '../../src/core/shutdown.ts';

const drainMs = Number(process.argv[2]);
const app = Fastify();
const graceful = installGracefulClose(app);
app.get('/', async () => ({ ok: true }));
await app.listen({ host: '127.0.0.1', port: 0 });
onShutdown(createLogger({ service: 'crash-test', level: 'info' }), (drain) => graceful.close(drainMs, () => 100, drain), 4 * drainMs);
const address = app.server.address();
process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : address}\n`);
setTimeout(() => {
  throw new Error('a timer callback threw');
}, 100);

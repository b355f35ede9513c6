// A process that counts clicks into PostgreSQL the way the URL service does (the real click counter
// and store, onShutdown from src/core/shutdown.ts), then crashes: argv[3] says how —
// `rejection` (a promise nobody awaits rejects) or `exception` (a throw from a timer).
// Usage: node --import tsx test/support/crash-with-clicks.ts <database url> <rejection|exception> <link id> <clicks>
import { createLogger } from '../../src/core/logger.ts';
import { createPgPool, pgRunner } from '../../src/core/postgres.ts';
import { onShutdown } from '../../src/core/shutdown.ts';
import { createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { createClickCounter } from '../../src/url/click-counter.ts';
import { seenFromPerson, testVisitors } from './visitors.ts';

const [url = '', how = '', linkId = '0', clicks = '0'] = process.argv.slice(2);
const log = createLogger({ service: 'crash-test', level: 'info' });
const pool = createPgPool({ url, log });
// A long interval: the clicks are written only by the shutdown, not by a timer first.
const counter = createClickCounter({ store: createPgLinkStore(pgRunner(pool)), log, visitors: testVisitors(), flushIntervalMs: 600_000, bufferMax: 1000 });
counter.start();
onShutdown(
  log,
  async () => {
    await counter.stop(5000);
    await pool.end();
  },
  10_000,
);
for (let i = 0; i < Number(clicks); i++) counter.record(Number(linkId), seenFromPerson('https://example.org/'));
process.stdout.write(`counted ${counter.pending()}\n`);
setTimeout(() => {
  if (how === 'rejection') void Promise.reject(new Error('a promise nobody awaited failed'));
  else throw new Error('a timer callback threw');
}, 10);

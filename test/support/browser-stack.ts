// What each browser test file runs against: Chromium, and a KGS with URL services on a PostgreSQL
// database and a Redis prefix of the file's own, every one stopped and removed by close().
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';
import { freePort, startKgs, startUrlService, type ServiceProcess } from './processes.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from './redis.ts';

export interface BrowserStack {
  browser: Browser;
  database: TestDatabase;
  redis: TestRedis;
  kgs: ServiceProcess;
  /**
   * A URL service on a port of its own, its short links on its own address (so that the browser can
   * follow them), anonymous creation on unless `env` says otherwise.
   */
  urlService(env?: Record<string, string>): Promise<ServiceProcess>;
  close(): Promise<void>;
}

export async function startBrowserStack(name: string): Promise<BrowserStack> {
  // First: without Chromium the suite fails here, saying how to install it, before starting anything.
  const browser = await launchChromium();
  const services: ServiceProcess[] = [];
  let database: TestDatabase | undefined;
  let redis: TestRedis | undefined;
  const close = async (): Promise<void> => {
    await browser.close();
    await Promise.all(services.map((p) => p.stop('SIGKILL')));
    await database?.drop();
    await redis?.cleanup();
  };
  try {
    database = await createTestDatabase(name);
    redis = await openTestRedis(name);
    const kgs = await startKgs({ REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_POOL_TARGET: '2000', KGS_POOL_LOW_WATERMARK: '500' });
    services.push(kgs);
    const { url: databaseUrl } = database;
    const { prefix } = redis;
    return {
      browser,
      database,
      redis,
      kgs,
      async urlService(env = {}) {
        const port = await freePort();
        const service = await startUrlService({
          PORT: String(port),
          PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
          DATABASE_URL: databaseUrl,
          REDIS_URL,
          REDIS_KEY_PREFIX: prefix,
          KGS_URL: kgs.url,
          ALLOW_ANONYMOUS: 'true',
          ...env,
        });
        services.push(service);
        return service;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

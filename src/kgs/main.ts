// The KGS process: reads configuration, wires Redis, the pool and the HTTP app, and shuts down cleanly.
import { ConfigError, loadKgsConfig } from '../core/config.ts';
import { hostRefusal } from '../core/host-refusal.ts';
import { createLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { startMetricsServer } from '../core/metrics-server.ts';
import { connectRedis } from '../core/redis.ts';
import { onShutdown } from '../core/shutdown.ts';
import { createRedisKeyStore } from '../storage/redis/redis-key-store.ts';
import { buildKgsApp } from './app.ts';
import { weakTokenReason } from './auth.ts';
import { createCodeGenerator } from './code-generator.ts';
import { createKeyPool } from './key-pool.ts';
import { createKgsMetrics, createUnreplicatedCounter } from './metrics.ts';

async function main(): Promise<void> {
  const config = loadKgsConfig(process.env);
  const log = createLogger({ service: 'kgs', level: config.logLevel });
  const weakToken = weakTokenReason(config.token);
  if (weakToken !== null) log.warn(weakToken);
  // Each command written at once: a /codes call while Redis hangs fails after the command timeout,
  // not after waiting out another call's first (src/core/redis.ts, `autoPipelining`).
  const redis = await connectRedis({ url: config.redis.url, log, name: 'curt-kgs', autoPipelining: false });
  const registry = createRegistry();
  const store = createRedisKeyStore(redis, config.redis.keyPrefix, { log, onUnreplicated: createUnreplicatedCounter(registry) });
  const pool = createKeyPool({
    store,
    generator: createCodeGenerator(config.codes),
    log,
    ...config.pool,
    events: createKgsMetrics(registry, () => store.sizes()),
  });
  const stopUpkeep = pool.startUpkeep(1000);
  const app = await buildKgsApp({ pool, token: config.token, log, registry, checkReady: () => store.ping(), timeouts: config.listen.timeouts });
  const address = await app.listen({ host: config.listen.host, port: config.listen.port }).catch((err: unknown) => {
    throw hostRefusal(err, config.listen.host) ?? err;
  });
  const metricsServer =
    config.listen.metricsPort === null
      ? null
      : await startMetricsServer({ host: config.listen.host, port: config.listen.metricsPort, registry, log, timeouts: config.listen.timeouts });
  log.info({ address, metrics: metricsServer?.address ?? 'off', prefix: config.redis.keyPrefix }, 'kgs listening');

  onShutdown(
    log,
    async (drain) => {
      // Requests in flight finish first (a code handed out must reach its caller, or it is lost to
      // the code space), then replenishment stops, then Redis goes.
      await app.closeGracefully(config.shutdownDrainMs, () => Math.min(config.listen.timeouts.headersMs, (config.shutdownTimeoutMs - config.shutdownDrainMs) / 2), drain);
      await stopUpkeep();
      await metricsServer?.close();
      await redis.quit().catch(() => redis.disconnect());
    },
    config.shutdownTimeoutMs,
  );
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`kgs failed to start: ${(err as Error).stack ?? String(err)}\n`);
  }
  process.exit(1);
});

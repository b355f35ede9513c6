// The invalidation bus on Redis pub/sub: channel `{prefix}invalidate`, one message per changed code
// and one per new cache epoch. Subscribing needs a connection of its own; its state is what
// `subscribed()` reports, so a replica that may have missed messages (subscription down) stops
// trusting its near cache at once. (A hung Redis keeps the subscription up: the epoch's lease covers that.)
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DependencyBreaker } from '../../core/dependency-breaker.ts';
import type { Logger } from '../../core/logger.ts';
import type { InvalidationBus } from '../tiered-link-cache.ts';
import type { EpochChannel } from './redis-cache-epoch.ts';

export interface RedisInvalidationBusOptions {
  redis: Redis;
  prefix: string;
  log: Logger;
  /** While the Redis breaker is open nothing is published (and that counts as not published). */
  breaker?: DependencyBreaker;
  /** An invalidation that may not have reached the other replicas: their near tiers may be stale. */
  onPublishFailed?: (err?: unknown) => void;
}

export type RedisInvalidationBus = InvalidationBus & EpochChannel;

export function createRedisInvalidationBus(options: RedisInvalidationBusOptions): RedisInvalidationBus {
  const { redis, log, breaker } = options;
  const channel = `${options.prefix}invalidate`;
  const subscriber = redis.duplicate({
    enableOfflineQueue: true,
    lazyConnect: true,
    connectionName: `${redis.options.connectionName ?? 'curt'}-invalidations`,
  });
  let active = false;
  let onReset: () => void = () => undefined;

  // Messages are `<origin>:<code>`, or `<origin>:!<epoch>` for a new cache epoch: a replica has
  // already dropped its own entry, and hearing its own message later would only throw away a
  // fresher fill. (`!` is in no code.)
  const origin = randomUUID().slice(0, 8);
  subscriber.on('message', (_channel: string, message: string) => {
    const colon = message.indexOf(':');
    if (message.slice(0, colon) === origin) return;
    const body = message.slice(colon + 1);
    if (!body.startsWith('!')) handlers.onCode(body);
    else if (/^!\d+$/.test(body)) handlers.onEpoch(Number(body.slice(1)));
  });
  // Active only once the SUBSCRIBE is confirmed (again after every reconnect): a message sent
  // before that would be missed, so the near cache must not be trusted until then.
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).then(
      () => {
        if (active) return;
        active = true;
        onReset();
        log.info({ dependency: 'redis', channel }, 'cache invalidation subscription active');
      },
      (err: unknown) => log.warn({ dependency: 'redis', err: (err as Error).message }, 'could not subscribe to cache invalidations'),
    );
  });
  subscriber.on('close', () => {
    if (active) {
      active = false;
      onReset();
      log.warn({ dependency: 'redis', channel }, 'cache invalidation subscription lost; near cache off until it is back');
    }
  });
  subscriber.on('error', () => undefined); // reported by 'close' and by the main connection's own logging

  const handlers = { onCode: (_code: string): void => undefined, onEpoch: (_epoch: number): void => undefined };

  /** Never throws: a message that cannot be sent is reported to onPublishFailed. */
  async function send(message: string): Promise<void> {
    if (breaker && !breaker.allows()) {
      options.onPublishFailed?.();
      return;
    }
    try {
      await (breaker ? breaker.run(() => redis.publish(channel, message)) : redis.publish(channel, message));
    } catch (err) {
      log.debug({ dependency: 'redis', err: (err as Error).message }, 'invalidation not published');
      options.onPublishFailed?.(err);
    }
  }

  return {
    async publish(code) {
      await send(`${origin}:${code}`);
    },
    async publishEpoch(epoch) {
      await send(`${origin}:!${epoch}`);
    },
    onEpoch(listener) {
      handlers.onEpoch = listener;
    },
    subscribe(onCode, reset) {
      handlers.onCode = onCode;
      onReset = reset;
      // Connecting leads to 'ready', which subscribes; ioredis keeps reconnecting after a failure.
      subscriber.connect().catch((err: unknown) => {
        log.warn({ dependency: 'redis', err: (err as Error).message }, 'could not subscribe to cache invalidations yet');
      });
    },
    subscribed: () => active && subscriber.status === 'ready',
    async close() {
      subscriber.disconnect();
    },
  };
}

// The invalidation bus on Redis pub/sub: channel `{prefix}invalidate`, one message per changed code
// and one per new cache epoch. Subscribing needs a connection of its own; its state is what
// `subscribed()` reports, so a replica that may have missed messages (subscription down) stops
// trusting its near cache at once. (A hung Redis keeps the subscription up: the epoch's lease covers that.)
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DependencyBreaker } from '../../core/dependency-breaker.ts';
import type { Logger } from '../../core/logger.ts';
import type { InvalidationBus, PublishResult } from '../tiered-link-cache.ts';
import type { EpochChannel } from './redis-cache-epoch.ts';

export interface RedisInvalidationBusOptions {
  redis: Redis;
  prefix: string;
  log: Logger;
  /** While the Redis breaker is open nothing is published (and that counts as not published). */
  breaker?: DependencyBreaker;
  /** An invalidation that may not have reached the other replicas: their near tiers may be stale. */
  onPublishFailed?: (err?: unknown) => void;
  /** How long a confirmed publish waits for the other replicas' acks (default 100 ms). */
  ackTimeoutMs?: number;
}

export type RedisInvalidationBus = InvalidationBus & EpochChannel;

/** How long a writer waits for the other replicas' acks before answering anyway, unless told otherwise. */
const ACK_TIMEOUT_MS = 100;

export function createRedisInvalidationBus(options: RedisInvalidationBusOptions): RedisInvalidationBus {
  const { redis, log, breaker } = options;
  const ackTimeoutMs = options.ackTimeoutMs ?? ACK_TIMEOUT_MS;
  const channel = `${options.prefix}invalidate`;
  let nextMessageId = 0;
  const waiting = new Map<number, { acks: number; needed: number | null; done: () => void }>();
  const subscriber = redis.duplicate({
    enableOfflineQueue: true,
    lazyConnect: true,
    connectionName: `${redis.options.connectionName ?? 'curt'}-invalidations`,
  });
  let active = false;
  let onReset: () => void = () => undefined;

  // Messages are `<origin>:<code>`, `<origin>:<code>:<id>` when the writer waits for acks, or
  // `<origin>:!<epoch>` for a new cache epoch (`!` is in no code). A replica ignores its own: it has
  // already dropped its entry, and hearing it later would only throw away a fresher fill.
  const origin = randomUUID().slice(0, 8);
  // A replica that dropped a code acknowledges it on the writer's own channel (message `<id>`), so the
  // writer answers only once every replica has let go of the old state, and no one else hears acks.
  const ackChannelOf = (writer: string): string => `${options.prefix}invalidate-ack:${writer}`;
  const ackChannel = ackChannelOf(origin);
  subscriber.on('message', (from: string, message: string) => {
    if (from === ackChannel) {
      const entry = waiting.get(Number(message));
      if (entry === undefined) return;
      entry.acks += 1;
      if (entry.needed !== null && entry.acks >= entry.needed) entry.done();
      return;
    }
    const colon = message.indexOf(':');
    const sender = message.slice(0, colon);
    const body = message.slice(colon + 1);
    if (sender === origin) return;
    if (body.startsWith('!')) {
      if (/^!\d+$/.test(body)) handlers.onEpoch(Number(body.slice(1)));
      return;
    }
    const [code, id] = body.split(':');
    if (code === undefined) return;
    handlers.onCode(code);
    if (id !== undefined) redis.publish(ackChannelOf(sender), id).catch(() => undefined);
  });
  // Active only once the SUBSCRIBE is confirmed (again after every reconnect): a message sent
  // before that would be missed, so the near cache must not be trusted until then.
  subscriber.on('ready', () => {
    subscriber.subscribe(channel, ackChannel).then(
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

  /** Never throws: a message that cannot be sent is reported to onPublishFailed. Returns the receivers, null when not sent. */
  async function send(message: string): Promise<number | null> {
    if (breaker && !breaker.allows()) {
      options.onPublishFailed?.();
      return null;
    }
    try {
      return await (breaker ? breaker.run(() => redis.publish(channel, message)) : redis.publish(channel, message));
    } catch (err) {
      log.debug({ dependency: 'redis', err: (err as Error).message }, 'invalidation not published');
      options.onPublishFailed?.(err);
      return null;
    }
  }

  /**
   * Publishes and waits (at most ackTimeoutMs) until every other subscribed replica has dropped the
   * code; delivered only if the message went out and every ack came back in time.
   */
  async function sendConfirmed(code: string): Promise<PublishResult> {
    const id = nextMessageId++;
    let done = (): void => undefined;
    const acked = new Promise<void>((resolve) => (done = resolve));
    const entry = { acks: 0, needed: null as number | null, done };
    waiting.set(id, entry);
    // Whether this replica counts among the receivers: if it is unsure (its subscription is just
    // going down or coming up), counting it wrongly only ever asks for one ack more, never one less.
    const selfListening = active;
    try {
      const receivers = await send(`${origin}:${code}:${id}`);
      if (receivers === null) return { delivered: false, reason: 'the message could not be published to Redis' };
      // Acks that came in before PUBLISH answered count. A replica whose subscription is down is no
      // receiver and owes no ack: it trusts no cached state until it is subscribed again.
      entry.needed = receivers - (selfListening ? 1 : 0);
      if (entry.acks >= entry.needed) return { delivered: true };
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        done();
      }, ackTimeoutMs);
      await acked;
      clearTimeout(timer);
      if (timedOut) {
        const reason = `${entry.needed - entry.acks} of ${entry.needed} replicas did not acknowledge within ${ackTimeoutMs} ms`;
        log.debug({ code }, reason);
        return { delivered: false, reason };
      }
      return { delivered: true };
    } finally {
      waiting.delete(id);
    }
  }

  return {
    async publish(code, publishOptions) {
      if (publishOptions?.confirm === true) return sendConfirmed(code);
      return { delivered: (await send(`${origin}:${code}`)) !== null };
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

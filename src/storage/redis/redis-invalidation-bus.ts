// The invalidation bus on Redis pub/sub: channel `{prefix}invalidate`, one message per changed code,
// one per tick for the codes of new links, and one per new cache epoch. Subscribing needs a
// connection of its own; its state is what `subscribed()` reports, so a replica that may have missed
// messages (subscription down) stops trusting its near cache at once. (A hung Redis keeps the
// subscription up: the epoch's lease covers that.)
//
// On a Redis Cluster it is sharded pub/sub instead (SPUBLISH/SSUBSCRIBE, Redis 7): the channels
// carry one hash tag (`{prefix}{invalidate}`, `{prefix}{invalidate}-ack:<replica>`), so they live on
// the one master serving that slot, and the subscription is a connection of its own to that master
// (cluster-subscriber.ts), moved to the promoted replica after a failover. Messages then cross no
// cluster bus, and SPUBLISH counts the receivers as PUBLISH does on a single server.
import { randomUUID } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';
import { createTickGroup } from '../../core/tick-group.ts';
import { chunksOf } from '../../core/chunks.ts';
import type { RedisClient } from '../../core/redis.ts';
import { openShardSubscription } from './cluster-subscriber.ts';
import type { DependencyBreaker } from '../../core/dependency-breaker.ts';
import type { Logger } from '../../core/logger.ts';
import type { InvalidationBus, PublishResult } from '../tiered-link-cache.ts';
import type { EpochChannel } from './redis-cache-epoch.ts';

export interface RedisInvalidationBusOptions {
  redis: RedisClient;
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
/** Most codes one unconfirmed message carries (about 3 KB of codes). */
const MAX_CODES_PER_MESSAGE = 256;

export function createRedisInvalidationBus(options: RedisInvalidationBusOptions): RedisInvalidationBus {
  const { redis, log, breaker } = options;
  const ackTimeoutMs = options.ackTimeoutMs ?? ACK_TIMEOUT_MS;
  const sharded = redis instanceof Cluster;
  // On a cluster every channel of the bus shares one hash tag, hence one slot (and one subscription).
  const channel = sharded ? `${options.prefix}{invalidate}` : `${options.prefix}invalidate`;
  const publishTo = async (to: string, message: string): Promise<number> => Number(await (sharded ? redis.spublish(to, message) : redis.publish(to, message)));
  let nextMessageId = 0;
  const waiting = new Map<number, { acks: number; needed: number | null; done: () => void }>();
  let active = false;
  let onReset: () => void = () => undefined;

  // Messages are `<origin>:<code>,<code>,…` (one code or more: the writer waits for no ack),
  // `<origin>:<code>:<id>` when the writer waits for acks, or `<origin>:!<epoch>` for a new cache
  // epoch (`!` and `,` are in no code). A replica ignores its own: it has
  // already dropped its entry, and hearing it later would only throw away a fresher fill.
  const origin = randomUUID().slice(0, 8);
  // A replica that dropped a code acknowledges it on the writer's own channel (message `<id>`), so the
  // writer answers only once every replica has let go of the old state, and no one else hears acks.
  const ackChannelOf = (writer: string): string => `${channel}-ack:${writer}`;
  const ackChannel = ackChannelOf(origin);
  const onMessage = (from: string, message: string): void => {
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
      // `!<epoch>`: one per cache shard, comma-separated (one on a single server, as it always was).
      if (/^!\d+(,\d+)*$/.test(body)) handlers.onEpoch(body.slice(1).split(',').map(Number));
      return;
    }
    // A message with an id carries one code.
    const [codes, id] = body.split(':');
    for (const code of codes?.split(',') ?? []) handlers.onCode(code);
    if (id !== undefined) publishTo(ackChannelOf(sender), id).catch(() => undefined);
  };
  // Active only once the subscription is confirmed (again after every reconnect): a message sent
  // before that would be missed, so the near cache must not be trusted until then.
  const up = (): void => {
    if (active) return;
    active = true;
    onReset();
    log.info({ dependency: 'redis', channel }, 'cache invalidation subscription active');
  };
  const down = (): void => {
    if (!active) return;
    active = false;
    onReset();
    log.warn({ dependency: 'redis', channel }, 'cache invalidation subscription lost; near cache off until it is back');
  };
  const subscription = redis instanceof Cluster ? shardedSubscription(redis) : plainSubscription(redis);

  function plainSubscription(single: Redis): { start(): void; live(): boolean; close(): void } {
    const subscriber = single.duplicate({
      enableOfflineQueue: true,
      lazyConnect: true,
      connectionName: `${single.options.connectionName ?? 'curt'}-invalidations`,
    });
    subscriber.on('message', onMessage);
    subscriber.on('ready', () => {
      subscriber.subscribe(channel, ackChannel).then(up, (err: unknown) => log.warn({ dependency: 'redis', err: (err as Error).message }, 'could not subscribe to cache invalidations'));
    });
    subscriber.on('close', down);
    subscriber.on('error', () => undefined); // reported by 'close' and by the main connection's own logging
    return {
      start() {
        // Connecting leads to 'ready', which subscribes; ioredis keeps reconnecting after a failure.
        subscriber.connect().catch((err: unknown) => {
          log.warn({ dependency: 'redis', err: (err as Error).message }, 'could not subscribe to cache invalidations yet');
        });
      },
      live: () => subscriber.status === 'ready',
      close: () => subscriber.disconnect(),
    };
  }

  function shardedSubscription(cluster: Cluster): { start(): void; live(): boolean; close(): void } {
    let opened: ReturnType<typeof openShardSubscription> | null = null;
    return {
      start() {
        opened ??= openShardSubscription({ cluster, channels: [channel, ackChannel], log, onMessage, onUp: up, onDown: down });
      },
      live: () => opened?.live() ?? false,
      close: () => opened?.close(),
    };
  }

  const handlers = { onCode: (_code: string): void => undefined, onEpoch: (_epochs: readonly number[]): void => undefined };

  /** Never throws: a message that cannot be sent is reported to onPublishFailed. Returns the receivers, null when not sent. */
  async function send(message: string): Promise<number | null> {
    if (breaker && !breaker.allows()) {
      options.onPublishFailed?.();
      return null;
    }
    try {
      return await (breaker ? breaker.run(() => publishTo(channel, message)) : publishTo(channel, message));
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

  // The unconfirmed messages of one tick go out as one: a coalesced INSERT's creations all publish
  // as its result comes back, and one PUBLISH (and one delivery to each replica) for all of them costs
  // less than one each; the tick's callers share one promise (src/core/tick-group.ts).
  // docs/performance.md, "Creation path".
  const sendUnconfirmed = createTickGroup<string, PublishResult>((codes) => {
    const messages = chunksOf(codes, MAX_CODES_PER_MESSAGE).map((chunk) => send(`${origin}:${chunk.join(',')}`));
    return Promise.all(messages).then((receivers) => ({ delivered: receivers.every((n) => n !== null) }));
  });

  return {
    publish: (code, publishOptions) => (publishOptions?.confirm === true ? sendConfirmed(code) : sendUnconfirmed(code)),
    async publishEpoch(epochs) {
      await send(`${origin}:!${epochs.join(',')}`);
    },
    onEpoch(listener) {
      handlers.onEpoch = listener;
    },
    subscribe(onCode, reset) {
      handlers.onCode = onCode;
      onReset = reset;
      subscription.start();
    },
    subscribed: () => active && subscription.live(),
    async close() {
      subscription.close();
    },
  };
}

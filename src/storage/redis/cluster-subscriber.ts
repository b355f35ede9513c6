// A sharded pub/sub subscription on a Redis Cluster that says whether it is live: one connection of
// its own to the master serving the channels' slot (all channels given share one hash tag), which
// SSUBSCRIBEs and then only listens. When that connection ends (the master died) or the slot now
// belongs to another master (a failover's promotion, a resharding), it is down, and it reconnects to
// whichever master the cluster names for the slot, backing off to 2 s, for as long as it is open.
// ioredis's own sharded subscribers heal too, but tell nobody when they are down, and the near cache
// must stop trusting itself exactly then.
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type Cluster } from 'ioredis';
import type { Logger } from '../../core/logger.ts';

/** How often the subscription checks that its master still serves the slot. */
const CHECK_MS = 500;

export interface ShardSubscriptionOptions {
  cluster: Cluster;
  channels: readonly string[];
  log: Logger;
  onMessage(channel: string, message: string): void;
  /** SSUBSCRIBE confirmed: every message published from now on arrives. */
  onUp(): void;
  /** Messages may be missed from now on, until the next onUp. */
  onDown(): void;
}

export function openShardSubscription(options: ShardSubscriptionOptions): { live(): boolean; close(): void } {
  const { cluster, channels, log } = options;
  let closed = false;
  let live = false;
  let connection: Redis | null = null;
  let slot: number | null = null;
  let wake: () => void = () => undefined;

  const masterKey = (): string | undefined => (slot === null ? undefined : cluster.slots[slot]?.[0]);

  async function once(): Promise<void> {
    slot ??= await cluster.cluster('KEYSLOT', channels[0] ?? '');
    const nodeKey = masterKey();
    if (nodeKey === undefined) throw new Error('no master known for the channels\u2019 slot');
    const colon = nodeKey.lastIndexOf(':');
    const subscriber = new Redis({
      ...cluster.options.redisOptions,
      host: nodeKey.slice(0, colon),
      port: Number(nodeKey.slice(colon + 1)),
      lazyConnect: true,
      enableOfflineQueue: true,
      retryStrategy: () => null,
      connectionName: `${cluster.options.redisOptions?.connectionName ?? 'curt'}-invalidations`,
    });
    connection = subscriber;
    const ended = new Promise<void>((resolve) => {
      subscriber.once('end', resolve);
      wake = resolve;
    });
    subscriber.on('error', () => undefined); // its end is what counts; the main client logs node errors
    subscriber.on('smessage', (channel: string, message: string) => options.onMessage(channel, message));
    await subscriber.connect();
    await subscriber.ssubscribe(...channels);
    live = true;
    options.onUp();
    const check = setInterval(() => {
      if (masterKey() !== nodeKey) wake();
    }, CHECK_MS);
    try {
      await ended;
    } finally {
      clearInterval(check);
    }
  }

  void (async () => {
    let attempt = 0;
    while (!closed) {
      try {
        await once();
        attempt = 0;
      } catch (err) {
        if (!closed) log.debug({ dependency: 'redis', err: (err as Error).message }, 'sharded subscription not established');
        attempt += 1;
      }
      if (live) {
        live = false;
        options.onDown();
      }
      (connection as Redis | null)?.disconnect();
      connection = null;
      if (closed) return;
      // The slot may have a new master: ask the cluster before trying again.
      cluster.refreshSlotsCache();
      await sleep(Math.min(50 * 2 ** attempt, 2000), undefined, { ref: false });
    }
  })();

  return {
    live: () => live && connection?.status === 'ready',
    close() {
      closed = true;
      wake();
      connection?.disconnect();
    },
  };
}

// Delivers the webhook outbox. Every URL service replica (and `curt serve`) runs one: each claims due
// events with FOR UPDATE SKIP LOCKED and a lease (src/storage/postgres/pg-webhook-store.ts), so
// replicas share the work and an event is sent by one of them at a time; a replica that dies
// mid-delivery leaves its events due again when the lease ends. At-least-once: an event stays until
// it is delivered (2xx) or given up after the last retry; receivers dedupe by webhook-id.
// Bounded: `concurrency` endpoints are called at once per replica, each one event after another (an
// endpoint being sent to is left out of the next claims), so an endpoint that hangs holds one slot for
// at most the timeout per event and never blocks the others.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Logger } from '../core/logger.ts';
import type { ClaimedDelivery, WebhookStore } from '../storage/webhook-store.ts';
import { toLinkView } from './routes/schemas.ts';
import { deliveryFailure, isNonPublicAddress, NonPublicTarget, publicOnlyLookup } from './webhook-target.ts';
import { signWebhook } from './webhook-signature.ts';
import { within } from '../core/within.ts';

/** Waits after the 1st, 2nd, ... failed attempt; after the last the event is given up (about 21 h in all). */
export const DEFAULT_BACKOFF_MS = [10_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000, 43_200_000];

export interface WebhookDispatcherMetrics {
  delivery: (result: 'delivered' | 'retry' | 'gave_up') => void;
  endpointDisabled: () => void;
}

export interface WebhookDispatcherOptions {
  store: WebhookStore;
  log: Logger;
  /** PUBLIC_BASE_URL: the events' short URLs. */
  publicBaseUrl: string;
  /** WEBHOOK_ALLOW_PRIVATE. */
  allowPrivate: boolean;
  /** Endpoints called at once by this replica. */
  concurrency?: number;
  timeoutMs?: number;
  pollMs?: number;
  backoffMs?: readonly number[];
  /** Random share added to or taken from each wait (0.2: ±20 %), so retries of many events spread out. */
  jitter?: number;
  /** An endpoint is disabled after this many failed attempts in a row... */
  disableAfterFailures?: number;
  /** ...once it has been failing for at least this long (a short outage with many events does not disable it). */
  disableAfterMs?: number;
  now?: () => Date;
  metrics?: Partial<WebhookDispatcherMetrics>;
}

export interface WebhookDispatcher {
  start(): void;
  /** Claims what is due and delivers it; resolves when those deliveries are done. For tests and the poll loop. */
  runOnce(): Promise<number>;
  /** Stops claiming; waits up to `deadlineMs` for deliveries in flight (the rest are claimed again after their lease). */
  stop(deadlineMs: number): Promise<void>;
  /** Events pending delivery, as last counted (the webhook_outbox_pending gauge). */
  pending(): number;
}

/** Most bytes of a response's status line the dispatcher waits for; the body is never read. */
const MAX_ERROR_LENGTH = 300;
const PENDING_COUNT_EVERY_MS = 5000;

/**
 * The body of an event: Standard Webhooks' `type`, `timestamp`, `data`. A link.* event's data is the
 * link as GET /urls/{code} shows it (toLinkView), its state as of the change (`timestamp`); the
 * short URLs are filled in here, from PUBLIC_BASE_URL.
 */
export function eventBody(delivery: Pick<ClaimedDelivery, 'type' | 'data' | 'link' | 'createdAt'>, publicBaseUrl: string): string {
  const withShortUrl = (link: unknown): unknown =>
    typeof link === 'object' && link !== null && 'short_code' in link ? { ...link, short_url: `${publicBaseUrl}/${String((link).short_code)}` } : link;
  const data =
    delivery.link !== null
      ? toLinkView(delivery.link, publicBaseUrl, delivery.createdAt.getTime())
      : delivery.type === 'link.clicked'
        ? { ...delivery.data, links: (delivery.data.links as unknown[]).map(withShortUrl) }
        : // Written by the version before: its payload, as that version sent it.
          withShortUrl(delivery.data);
  return JSON.stringify({ type: delivery.type, timestamp: delivery.createdAt.toISOString(), data });
}

interface Attempt {
  status: number | null;
  /** For the delivery log: stable words, no address (deliveryFailure). */
  error: string | null;
  /** For the service's log: what the socket said. */
  cause?: string;
}

export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { store, log } = options;
  const concurrency = options.concurrency ?? 4;
  const timeoutMs = options.timeoutMs ?? 5000;
  const pollMs = options.pollMs ?? 1000;
  const backoff = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  const jitter = options.jitter ?? 0.2;
  const now = options.now ?? (() => new Date());
  // Long enough for every event of a claim to be sent one after another, each up to the timeout.
  const leaseMs = (timeoutMs + 1000) * concurrency + 10_000;
  let busy = 0;
  /** Endpoints with a group of events in flight here: claims leave them out (one slot each at most). */
  const busyEndpoints = new Set<number>();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<number> | null = null;
  const inFlight = new Set<Promise<void>>();
  let pendingCount = 0;
  let pendingCountedAt = 0;

  function send(delivery: ClaimedDelivery): Promise<Attempt> {
    const body = eventBody(delivery, options.publicBaseUrl);
    const timestampS = Math.floor(now().getTime() / 1000);
    let target: URL;
    try {
      target = new URL(delivery.url);
    } catch {
      return Promise.resolve({ status: null, error: 'the endpoint URL does not parse' });
    }
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!options.allowPrivate && isIP(host) !== 0 && isNonPublicAddress(host)) {
      const refused = new NonPublicTarget(host, host);
      return Promise.resolve({ status: null, error: deliveryFailure(refused), cause: refused.message });
    }
    const client = target.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      let settled = false;
      const done = (attempt: Attempt): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        request.destroy();
        resolve(attempt);
      };
      const request = client.request(target, {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'Curt-Webhooks/1',
          'webhook-id': delivery.eventId,
          'webhook-timestamp': String(timestampS),
          'webhook-signature': signWebhook(delivery.secret, delivery.eventId, timestampS, body),
        },
        ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup }),
      });
      // The whole exchange, connection included: a receiver that never answers costs one timeout.
      const deadline = setTimeout(() => done({ status: null, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
      request.on('response', (response) => {
        // Only the status matters; redirects are not followed (a 3xx is a failure).
        response.resume();
        const status = response.statusCode ?? 0;
        done({ status, error: status >= 200 && status < 300 ? null : `answered ${status}` });
      });
      request.on('error', (err) => done({ status: null, error: deliveryFailure(err), cause: err.message.slice(0, MAX_ERROR_LENGTH) }));
      request.end(body);
    });
  }

  async function deliver(delivery: ClaimedDelivery): Promise<void> {
    const attempt = await send(delivery);
    const at = now();
    if (attempt.error === null && attempt.status !== null) {
      await store.markDelivered(delivery.id, { now: at, status: attempt.status });
      options.metrics?.delivery?.('delivered');
      return;
    }
    const wait = backoff[delivery.attempts - 1];
    const retryAt = wait === undefined ? null : new Date(at.getTime() + Math.round(wait * (1 + jitter * (Math.random() * 2 - 1))));
    const { disabled } = await store.markFailed(delivery.id, {
      now: at,
      status: attempt.status,
      error: attempt.error ?? 'failed',
      retryAt,
      disableAfterFailures: options.disableAfterFailures ?? 10,
      disableAfterMs: options.disableAfterMs ?? 3_600_000,
    });
    options.metrics?.delivery?.(retryAt === null ? 'gave_up' : 'retry');
    log.warn({ endpoint: delivery.endpointId, event: delivery.eventId, attempt: delivery.attempts, err: attempt.cause ?? attempt.error, retryAt }, 'webhook delivery failed');
    if (disabled) {
      options.metrics?.endpointDisabled?.();
      log.warn({ endpoint: delivery.endpointId }, 'webhook endpoint disabled after failing deliveries');
    }
  }

  /** One endpoint's events, one after another. */
  async function deliverAll(deliveries: ClaimedDelivery[]): Promise<void> {
    for (const delivery of deliveries) {
      if (stopped) return; // claimed again after the lease
      try {
        await deliver(delivery);
      } catch (err) {
        // The database failed while recording: the lease ends and the event is sent again (at least once).
        log.warn({ endpoint: delivery.endpointId, err: (err as Error).message }, 'could not record a webhook delivery');
      }
    }
  }

  async function claimAndStart(): Promise<number> {
    const free = concurrency - busy;
    if (free <= 0 || stopped) return 0;
    const claimed = await store.claimDue({ now: now(), limit: free, leaseMs, skipEndpoints: [...busyEndpoints] });
    const byEndpoint = new Map<number, ClaimedDelivery[]>();
    for (const d of claimed) byEndpoint.set(d.endpointId, [...(byEndpoint.get(d.endpointId) ?? []), d]);
    // At most `free` rows, so at most `free` endpoints: the bound holds.
    for (const [endpointId, group] of byEndpoint) {
      busy += 1;
      busyEndpoints.add(endpointId);
      const work = deliverAll(group).finally(() => {
        busy -= 1;
        busyEndpoints.delete(endpointId);
        inFlight.delete(work);
        // A slot came free: look for more at once rather than at the next poll.
        if (!stopped && timer !== null) void tick();
      });
      inFlight.add(work);
    }
    return claimed.length;
  }

  async function refreshPending(): Promise<void> {
    if (Date.now() - pendingCountedAt < PENDING_COUNT_EVERY_MS) return;
    pendingCountedAt = Date.now();
    pendingCount = await store.countPending();
  }

  function tick(): Promise<number> {
    running ??= (async () => {
      try {
        await refreshPending();
        return await claimAndStart();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not claim webhook events; will retry');
        return 0;
      } finally {
        running = null;
      }
    })();
    return running;
  }

  return {
    start() {
      stopped = false;
      timer ??= setInterval(() => void tick(), pollMs);
      timer.unref();
    },
    async runOnce() {
      const n = await tick();
      await Promise.all([...inFlight]);
      return n;
    },
    async stop(deadlineMs) {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await within(Promise.all([running, ...inFlight]), deadlineMs);
    },
    pending: () => pendingCount,
  };
}

// The KGS client library: a local buffer of codes so that creating a link costs no network hop,
// refilled in batches in the background before it runs dry, over a failover HTTP layer.
import type { Logger } from '../core/logger.ts';
import { breakerStateValue } from '../core/circuit-breaker.ts';
import { AppError, DependencyDown } from '../core/errors.ts';
import { Counter, Gauge, Histogram, type Registry } from '../core/metrics.ts';
import { checkClaimed, checkCodes, checkReturned, describeDrops, UnusableAnswer, type DropCounts, type DropReason } from './kgs-answers.ts';
import { createKgsHttp, KGS_UNAVAILABLE_DETAIL, type AttemptOutcome } from './kgs-http.ts';
import type { CodeSource, RequestContext } from './types.ts';

export interface KgsClientOptions {
  urls: readonly string[];
  token: string;
  log: Logger;
  /** Codes fetched per refill (the KGS caps a request at 1000). */
  batchSize?: number;
  /** Refill starts when the buffer falls below this; default half a batch. */
  lowWater?: number;
  timeoutMs?: number;
  /**
   * Longest a take waits for a refill when the buffer is empty; then it fails with 503 while the
   * refill goes on in the background. Default: one attempt's timeout plus 500 ms, enough to fail
   * over from a hung replica to a live one.
   */
  maxTakeWaitMs?: number;
  retries?: number;
  breaker?: { failureThreshold: number; resetTimeoutMs: number };
  registry?: Registry;
}

export interface KgsClient extends CodeSource {
  /**
   * Whether codes can be had now: the buffer holds some, or a KGS replica answered its last call.
   * While the buffer is low this also starts a refill, so that a readiness probe alone (no traffic)
   * is the trial call that brings the client back once a KGS returns.
   */
  healthy(): boolean;
}

interface Waiter {
  resolve(code: string): void;
  reject(err: Error): void;
}

export function createKgsClient(options: KgsClientOptions): KgsClient {
  const batchSize = Math.min(1000, Math.max(1, options.batchSize ?? 200));
  const lowWater = Math.max(1, options.lowWater ?? Math.ceil(batchSize / 2));
  const metrics = options.registry === undefined ? undefined : createClientMetrics(options.registry, options.urls, () => buffer.length);
  const timeoutMs = options.timeoutMs ?? 1000;
  const maxTakeWaitMs = options.maxTakeWaitMs ?? timeoutMs + 500;
  const http = createKgsHttp({
    urls: options.urls,
    token: options.token,
    log: options.log,
    timeoutMs,
    retries: options.retries ?? 2,
    breaker: options.breaker ?? { failureThreshold: 3, resetTimeoutMs: 2000 },
    onAttempt: metrics?.attempt,
    onBreakerChange: metrics?.breaker,
  });
  metrics?.initBreakers();

  const buffer: string[] = [];
  const waiters: Waiter[] = [];
  let refilling: Promise<void> | null = null;
  let closed = false;

  // One refill at a time: concurrent takers share it instead of each fetching a batch.
  function ensureRefill(context?: RequestContext): Promise<void> {
    refilling ??= refillLoop(context).finally(() => {
      refilling = null;
      // Takes that arrived after the loop's last check joined a refill that was ending: start another
      // for them (it fails fast while the breakers are open, so this cannot spin).
      if (!closed && waiters.length > 0) void ensureRefill();
    });
    return refilling;
  }

  /**
   * The usable codes of a batch. The dropped ones are not returned to the KGS: a reserved word or a
   * value that is no code must not go into its pool, and a duplicate is still in use. A batch with
   * none left is an answer of no use, so the refill fails over and then fails as with a dead KGS.
   */
  function readBatch(body: unknown, kgs: string): string[] {
    const { usable, dropped } = checkCodes(body, buffer);
    const { total, summary } = describeDrops(dropped);
    if (total > 0) {
      // The counts only: a value that is no code may be anything, of any length.
      options.log.warn({ dependency: 'kgs', kgs, dropped: total, reasons: dropped, kept: usable.length }, 'dropped codes from the KGS that the URL service cannot use');
      metrics?.dropped(kgs, dropped);
    }
    if (usable.length === 0) throw new UnusableAnswer(total === 0 ? 'no code in its answer to GET /codes' : `none of its ${total} codes usable (${summary})`);
    return usable;
  }

  async function refillLoop(context?: RequestContext): Promise<void> {
    try {
      while (!closed && (buffer.length < lowWater || waiters.length > 0)) {
        // A burst bigger than a batch is served by one larger request rather than several rounds.
        const count = Math.min(1000, Math.max(batchSize, waiters.length));
        const codes = await http.call({ method: 'GET', path: `/codes?count=${count}`, replay: true, context, read: readBatch });
        for (const code of codes) {
          const waiter = waiters.shift();
          if (waiter === undefined) buffer.push(code);
          else waiter.resolve(code);
        }
      }
    } catch (err) {
      // Nobody should queue behind a KGS that cannot answer: the waiting takers fail now (503), and
      // the next take starts a new attempt (fast while the breakers are open).
      const failure = err instanceof AppError ? err : new DependencyDown('kgs', KGS_UNAVAILABLE_DETAIL, 1, { cause: err });
      for (const waiter of waiters.splice(0)) waiter.reject(failure);
      options.log.warn({ dependency: 'kgs', err: failure, buffered: buffer.length }, 'KGS refill failed');
    }
  }

  function takeCode(context?: RequestContext): Promise<string> {
    if (closed) return Promise.reject(new DependencyDown('kgs', 'The service is shutting down.', 1));
    const code = buffer.pop();
    if (buffer.length < lowWater) void ensureRefill(context);
    if (code !== undefined) return Promise.resolve(code);
    return new Promise<string>((resolve, reject) => {
      // Bounded: with every KGS hung, a refill takes several timeouts before the breakers open, and
      // requests must fail fast (503) rather than queue behind it. A code that arrives after its
      // taker gave up goes to the buffer.
      const giveUp = setTimeout(() => {
        const at = waiters.indexOf(waiter);
        if (at >= 0) waiters.splice(at, 1);
        reject(new DependencyDown('kgs', KGS_UNAVAILABLE_DETAIL, 1, { cause: new Error(`no short code came from the KGS within ${maxTakeWaitMs} ms`) }));
      }, maxTakeWaitMs);
      const waiter: Waiter = {
        resolve(code) {
          clearTimeout(giveUp);
          resolve(code);
        },
        reject(err) {
          clearTimeout(giveUp);
          reject(err);
        },
      };
      waiters.push(waiter);
      void ensureRefill(context);
    });
  }

  async function returnCodes(codes: readonly string[], context?: RequestContext, returnOptions: { unused?: boolean } = {}): Promise<number> {
    let returned = 0;
    const unused = returnOptions.unused === true;
    for (let i = 0; i < codes.length; i += 1000) {
      const chunk = codes.slice(i, i + 1000);
      // Never replayed: if the first attempt did land, its codes may have been handed out again
      // meanwhile (unused ones at once, and every one when the KGS runs with KGS_REUSE_COOLDOWN_S=0,
      // which this client cannot know), and a replay would free them a second time: one code, two
      // links. Not replaying only risks wasting them.
      const body = unused ? { codes: chunk, unused: true } : { codes: chunk };
      returned += await http.call({ method: 'POST', path: '/codes/return', body, replay: false, context, read: (answer) => checkReturned(answer, chunk.length) });
    }
    return returned;
  }

  // Fill the buffer at start so the first creations do not wait; failure here is only logged.
  void ensureRefill();

  return {
    takeCode,
    claimCode: (code, context) => http.call({ method: 'POST', path: '/codes/claim', body: { code }, replay: false, context, read: (answer) => checkClaimed(answer, code) }),
    returnCodes,
    buffered: () => buffer.length,
    healthy() {
      if (!closed && buffer.length < lowWater) void ensureRefill();
      return buffer.length > 0 || http.anyHealthy();
    },
    async close() {
      if (closed) return;
      closed = true;
      // A refill in flight may still deliver codes; they must be in the buffer before it is returned.
      await refilling;
      for (const waiter of waiters.splice(0)) waiter.reject(new DependencyDown('kgs', 'The service is shutting down.', 1));
      const unused = buffer.splice(0);
      try {
        const returned = await returnCodes(unused, undefined, { unused: true });
        options.log.info({ buffered: unused.length, returned }, 'returned unused codes to the KGS');
      } catch (err) {
        // They stay in used_keys: lost to the code space, never handed out twice.
        options.log.warn({ dependency: 'kgs', err: (err as Error).message, lost: unused.length }, 'could not return unused codes to the KGS');
      } finally {
        await http.close();
      }
    },
  };
}

/**
 * Series per KGS replica are labelled by the replica's position in KGS_URL (`kgs="0"`, `"1"`...), not
 * its URL: the exposition must not carry internal addresses (docs/operations.md).
 */
function createClientMetrics(registry: Registry, urls: readonly string[], bufferSize: () => number) {
  const replica = (url: string): string => {
    const index = urls.indexOf(url);
    return index === -1 ? 'unknown' : String(index);
  };
  new Gauge({
    name: 'kgs_client_buffer_codes',
    help: 'Codes in the local buffer of the KGS client',
    registers: [registry],
    collect() {
      this.set(bufferSize());
    },
  });
  const requests = new Counter({
    name: 'kgs_client_requests_total',
    help: 'Attempts to call a KGS replica, by outcome (skipped = its circuit breaker was open)',
    labelNames: ['kgs', 'outcome'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'kgs_client_request_duration_seconds',
    help: 'Latency of calls to a KGS replica',
    labelNames: ['kgs'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const droppedCodes = new Counter({
    name: 'kgs_client_codes_dropped_total',
    help: 'Codes from a KGS replica that the client dropped as unusable, by reason (not_a_string, not_a_code, reserved, duplicate)',
    labelNames: ['kgs', 'reason'],
    registers: [registry],
  });
  const breakerState = new Gauge({
    name: 'kgs_client_breaker_state',
    help: 'Circuit breaker per KGS replica: 0 closed, 1 half-open, 2 open',
    labelNames: ['kgs'],
    registers: [registry],
  });
  return {
    initBreakers: () => urls.forEach((url) => breakerState.set({ kgs: replica(url) }, 0)),
    attempt: (url: string, outcome: AttemptOutcome, seconds: number) => {
      const kgs = replica(url);
      requests.inc({ kgs, outcome });
      if (outcome !== 'skipped') latency.observe({ kgs }, seconds);
    },
    breaker: (url: string, to: Parameters<typeof breakerStateValue>[0]) => breakerState.set({ kgs: replica(url) }, breakerStateValue(to)),
    dropped: (url: string, counts: DropCounts) => {
      for (const [reason, n] of Object.entries(counts) as [DropReason, number][]) droppedCodes.inc({ kgs: replica(url), reason }, n);
    },
  };
}

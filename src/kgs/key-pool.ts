// The key pool: hands out codes, takes them back after a cool-down, claims aliases and keeps
// `available_keys` topped up. Uniqueness rests on the store's atomic operations; this module decides
// when to replenish and how long a caller may wait.
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AliasCoolingDown, CodesUnavailable, Conflict, InvalidRequest } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { ALIAS_PATTERN, isReservedCode } from '../core/reserved.ts';
import type { KeyStore, PoolSizes } from '../storage/key-store.ts';
import type { CodeGenerator } from './code-generator.ts';

export const MAX_CODES_PER_REQUEST = 1000;
/** A space this small is enumerated instead of sampled, so "used up" is known exactly. */
const ENUMERATE_UP_TO = 200_000;
/** Random rounds in a row that add nothing before the space counts as used up. */
const BARREN_ROUNDS = 20;
const OFFER_BATCH = 5000;
const LOCK_TTL_MS = 30_000;
const POLL_MS = 25;
/** The wait on an empty pool for a caller that does not say how long it waits itself. */
export const DEFAULT_EMPTY_WAIT_MS = 500;

export interface KeyPoolOptions {
  store: KeyStore;
  generator: CodeGenerator;
  log: Logger;
  lowWatermark: number;
  target: number;
  reuseCooldownS: number;
  /**
   * Longest wait on an empty pool; null: half the caller's timeout, or DEFAULT_EMPTY_WAIT_MS. Never
   * more than half the caller's timeout: codes taken after the caller gave up would be lost.
   */
  emptyWaitMs: number | null;
  now?: () => number;
  /** Called with counts as they happen (metrics). */
  events?: Partial<KeyPoolEvents>;
}

export interface KeyPoolEvents {
  handedOut(count: number): void;
  returned(count: number): void;
  claimed(): void;
  replenished(added: number): void;
}

export interface ReturnOptions {
  /**
   * The codes never served a link (a client's buffer given back, a creation that failed): the
   * cool-down exists so that an old printed link does not silently lead somewhere new, and no link
   * ever had these codes, so they are reusable at once.
   */
  unused?: boolean;
}

export interface TakeOptions {
  /** How long the caller waits for the answer (sent by the KGS client with each call). */
  callerTimeoutMs?: number;
  /** Aborted when the caller has gone: an empty pool is not waited on for it any longer. */
  signal?: AbortSignal;
}

export interface ReplenishResult {
  added: number;
  /** Every code of the configured space is in use: nothing more can be generated. */
  exhausted: boolean;
  /** Another replica held the lock; it is replenishing. */
  skipped: boolean;
}

export interface KeyPool {
  takeCodes(count: number, options?: TakeOptions): Promise<string[]>;
  /** `unused`: the codes never served a link, so they skip the cool-down (see ReturnOptions). */
  returnCodes(codes: readonly string[], options?: ReturnOptions): Promise<number>;
  claimCode(code: string): Promise<string>;
  replenish(): Promise<ReplenishResult>;
  sizes(): Promise<PoolSizes>;
  /** Starts the background upkeep (cool-down releases, top-ups); returns a function that stops it. */
  startUpkeep(intervalMs: number): () => Promise<void>;
}

export function createKeyPool(options: KeyPoolOptions): KeyPool {
  const { store, generator, log } = options;
  const now = options.now ?? Date.now;
  let running: Promise<ReplenishResult> | null = null;
  let exhaustedAt = 0;

  async function fill(): Promise<ReplenishResult> {
    const release = await store.tryLock('replenish', LOCK_TTL_MS);
    if (!release) return { added: 0, exhausted: false, skipped: true };
    try {
      await store.releaseDue(now());
      const result = generator.spaceSize <= ENUMERATE_UP_TO ? await fillByEnumeration() : await fillBySampling();
      if (result.added > 0) {
        options.events?.replenished?.(result.added);
        log.info({ added: result.added }, 'key pool replenished');
      }
      if (result.exhausted) log.error({ alphabet: generator.alphabet, length: generator.length }, 'code space exhausted');
      return result;
    } finally {
      await release();
    }
  }

  async function fillBySampling(): Promise<ReplenishResult> {
    let added = 0;
    let barren = 0;
    // One run adds at most one target's worth. Under a drain that outpaces it, a run that topped up
    // until `available` reached the target would never end, and would outlive its lock's TTL; the
    // next take below the low watermark starts the next run instead.
    for (;;) {
      const { available } = await store.sizes();
      const need = Math.min(options.target - available, options.target - added);
      if (need <= 0) return { added, exhausted: false, skipped: false };
      const fresh = await store.offer(generator.generate(Math.min(need, OFFER_BATCH)));
      added += fresh;
      barren = fresh === 0 ? barren + 1 : 0;
      if (barren >= BARREN_ROUNDS) return { added, exhausted: available === 0, skipped: false };
    }
  }

  async function fillByEnumeration(): Promise<ReplenishResult> {
    const { available } = await store.sizes();
    let need = options.target - available;
    if (need <= 0) return { added: 0, exhausted: false, skipped: false };
    const order = shuffledIndexes(generator.spaceSize);
    let added = 0;
    for (let i = 0; i < order.length && need > 0; i += OFFER_BATCH) {
      const candidates: string[] = [];
      for (const index of order.subarray(i, i + OFFER_BATCH)) {
        const code = generator.codeAt(index);
        if (!isReservedCode(code)) candidates.push(code);
      }
      // May overshoot the target by up to one batch; harmless, and it keeps the pass simple.
      const fresh = await store.offer(candidates);
      added += fresh;
      need -= fresh;
    }
    return { added, exhausted: added === 0 && available === 0, skipped: false };
  }

  function replenish(): Promise<ReplenishResult> {
    running ??= fill()
      .then((result) => {
        if (result.exhausted) exhaustedAt = now();
        else if (result.added > 0) exhaustedAt = 0;
        return result;
      })
      .finally(() => {
        running = null;
      });
    return running;
  }

  function replenishInBackground(): void {
    replenish().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'background replenish failed'));
  }

  /** Half the caller's timeout leaves the other half for the replenishment, Redis and the answer. */
  function emptyWaitFor(callerTimeoutMs: number | undefined): number {
    const callerBound = callerTimeoutMs === undefined ? undefined : Math.floor(callerTimeoutMs / 2);
    if (options.emptyWaitMs === null) return callerBound ?? DEFAULT_EMPTY_WAIT_MS;
    return Math.min(options.emptyWaitMs, callerBound ?? options.emptyWaitMs);
  }

  async function takeCodes(count: number, takeOptions: TakeOptions = {}): Promise<string[]> {
    const first = await store.take(count);
    const codes = first.codes;
    if (first.remaining < options.lowWatermark) replenishInBackground();
    if (codes.length > 0) {
      options.events?.handedOut?.(codes.length);
      return codes;
    }
    // Empty pool: wait a little for a replenishment (ours, or another replica's), then give up.
    // The wait is measured on the monotonic clock: `now` is wall-clock time for cool-downs.
    const deadline = performance.now() + emptyWaitFor(takeOptions.callerTimeoutMs);
    for (;;) {
      if (takeOptions.signal?.aborted === true) throw new CodesUnavailable('The caller has gone.', 'pool_empty');
      // Codes come with the refill's first batch: looked for every POLL_MS, not only once the whole
      // refill (to a target of up to millions) is done, which would outlast the wait's bound.
      const refill = replenish();
      const result = await Promise.race([refill, sleep(Math.max(0, Math.min(POLL_MS, deadline - performance.now())), null)]);
      if (result?.exhausted === true) {
        throw new CodesUnavailable('Every code of the configured length and alphabet is in use.', 'code_space_exhausted', 60);
      }
      const retry = await store.take(count);
      if (retry.codes.length > 0) {
        options.events?.handedOut?.(retry.codes.length);
        return retry.codes;
      }
      if (performance.now() >= deadline) throw new CodesUnavailable('The key pool is empty; try again shortly.', 'pool_empty');
      // The refill ended (another replica holds the lock, or others took its codes): wait before the next.
      if (result !== null) await sleep(POLL_MS);
    }
  }

  async function returnCodes(codes: readonly string[], returnOptions: ReturnOptions = {}): Promise<number> {
    const unique = [...new Set(codes)];
    const recycle = unique.filter((code) => generator.produces(code));
    const release = unique.filter((code) => !generator.produces(code));
    const releaseAt = options.reuseCooldownS === 0 || returnOptions.unused === true ? null : now() + options.reuseCooldownS * 1000;
    const count = await store.giveBack(recycle, release, releaseAt);
    options.events?.returned?.(count);
    return count;
  }

  async function claimCode(code: string): Promise<string> {
    if (!ALIAS_PATTERN.test(code)) throw new InvalidRequest('A code to claim is 3 to 10 characters of A-Z a-z 0-9 _ -.', 'invalid_alias');
    if (isReservedCode(code)) throw new Conflict('alias_reserved', `"${code}" is a reserved word and cannot be used.`);
    if (!(await store.claim(code))) {
      const until = await store.coolingUntil(code);
      if (until !== null) throw new AliasCoolingDown(code, new Date(until));
      throw new Conflict('alias_taken', `"${code}" is already taken.`);
    }
    options.events?.claimed?.();
    return code;
  }

  function startUpkeep(intervalMs: number): () => Promise<void> {
    const stop = new AbortController();
    const tick = async (): Promise<void> => {
      await store.releaseDue(now());
      const { available } = await store.sizes();
      // After the space ran out, retry only now and then: returns may free codes, but slowly.
      const recentlyExhausted = exhaustedAt !== 0 && now() - exhaustedAt < 60_000;
      if (available < options.lowWatermark && !recentlyExhausted) await replenish();
    };
    const loop = (async () => {
      while (!stop.signal.aborted) {
        await tick().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'key pool upkeep failed'));
        await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    })();
    return async () => {
      stop.abort();
      await loop;
      await running;
    };
  }

  return { takeCodes, returnCodes, claimCode, replenish, sizes: () => store.sizes(), startUpkeep };
}

/** A uniformly random permutation of 0..n-1 (Fisher-Yates over a CSPRNG). */
function shuffledIndexes(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    const tmp = order[i] as number;
    order[i] = order[j] as number;
    order[j] = tmp;
  }
  return order;
}

// Clicks leave the redirect path: a redirect only queues what it saw (a few header strings, O(1), no
// I/O, no parsing). The queue is drained soon after, off the request path: each hit is described
// (bot or person; referrer host, country, browser, OS, device: src/analytics/visitor.ts) and counted
// in memory. A timer writes the counts to PostgreSQL every interval, in transactions of at most
// MAX_BATCH_LINKS links. A failed flush keeps its hits and the next one retries them. Memory is
// bounded: the queue in hits, the counts in entries overall (one per link, per link and day, per
// link, day and value), the batches being written included, so that neither many links nor a spray
// of distinct headers during a long PostgreSQL outage can exhaust the heap. Near the bound the detail goes first (values, then new
// days), never a known link's total; only a link that does not fit at all loses its hits. A click of
// a link whose batch waits to be written is added to that batch, so a flush that falls behind does
// not hold the same links twice (docs/operations.md, "Clicks: what can be lost").
import { randomUUID } from 'node:crypto';
import type { Logger } from '../core/logger.ts';
import { UNKNOWN } from '../analytics/user-agent.ts';
import { DIRECT, type SeenRequest, type Visit, type VisitorClassifier } from '../analytics/visitor.ts';
import { eachDayValue, OTHER, type ClickAggregate, type DayClicks, type Dimension, type LinkStore } from '../storage/link-store.ts';

/** Distinct values kept per link, day and dimension per flush; more fold into OTHER (the store bounds them again). */
const VALUES_PER_DIMENSION = 100;
/**
 * Values may fill this share of the bound; the rest is kept for links and days, so that the totals
 * stay exact when a spray of headers fills the buffer.
 */
const DETAIL_SHARE = 0.75;
/**
 * Hits waiting to be described. The drain runs once per turn of the event loop; a queue this long
 * is drained at once, on the request that fills it, so memory stays bounded under any load: a hit
 * holds header strings, at most Node's 16 KB of headers, so the queue at most 16 MB.
 */
export const QUEUE_MAX = 1024;
/**
 * Most links one transaction of a flush writes; a larger buffer is written as several, one after the
 * other. One transaction of every link buffered grows with the traffic: at a million links a flush
 * of ~30,000 of them passed the background pool's 5 s statement timeout on a slow machine, and a
 * batch retried as it is never lands (docs/operations.md, "Clicks: what can be lost").
 */
export const MAX_BATCH_LINKS = 5000;
/**
 * Distinct (dimension, value) pairs a day keeps as flat triples; past them, as maps. A person's click
 * brings five (referrer, country, browser, OS, device), so a link's first clicks of a day fit.
 */
const FLAT_TRIPLES = 16;

/** One dimension's counts of a day kept as maps, made on its first value. */
function countsOf(maps: Map<Dimension, Map<string, number>>, dimension: Dimension): Map<string, number> {
  let counts = maps.get(dimension);
  if (counts === undefined) {
    counts = new Map();
    maps.set(dimension, counts);
  }
  return counts;
}

/** A day's flat triples as maps, for a day that has more values than FLAT_TRIPLES. */
function mapsOf(flat: (string | number)[]): Map<Dimension, Map<string, number>> {
  const maps = new Map<Dimension, Map<string, number>>();
  eachDayValue(flat, (dimension, value, n) => countsOf(maps, dimension).set(value, n));
  return maps;
}

const UNDESCRIBED: Visit = { bot: null, referrer: DIRECT, country: UNKNOWN, browser: UNKNOWN, os: UNKNOWN, device: 'other' };

export interface ClickCounterMetrics {
  /** A flush wrote `clicks` clicks and `botHits` bot hits in `seconds`. */
  flushed: (clicks: number, seconds: number, botHits: number) => void;
  flushFailed: () => void;
  /** Clicks not counted at all: their link did not fit in the buffer. */
  dropped: (clicks: number) => void;
  /** Hits counted in their link's total whose value (of some dimension) or day was not kept. */
  shed: (detail: 'value' | 'day', clicks: number) => void;
}

/**
 * makeRoom's walk over where values may be shed, as it was when the walk began: the buffer (`from`
 * null) and the batches waiting behind another's write; `at` goes through `sources[i]`; `fresh`: begun
 * in the current call; `freed`: entries shed so far.
 */
interface ShedWalk {
  sources: { from: Batch | null; held: Map<number, ClickAggregate> }[];
  i: number;
  at: Iterator<ClickAggregate> | null;
  fresh: boolean;
  freed: number;
}

/** One transaction's counts, with the id it is written (and retried) under. */
interface Batch {
  id: string;
  batch: Map<number, ClickAggregate>;
  clicks: number;
  botHits: number;
  /** Its entries (links, days, values), counted against bufferMax until it is written. */
  entries: number;
  /**
   * Whether it waits behind another batch's write, its links in queuedLinks: a click of one of them
   * is added here, not to the buffer. Once given to the store it is written, and retried, as it is.
   */
  waiting: boolean;
}

export interface ClickCounterOptions {
  store: Pick<LinkStore, 'applyClicks'>;
  log: Logger;
  /** Describes each hit (bot or person, and the person's values). */
  visitors: Pick<VisitorClassifier, 'describe'>;
  flushIntervalMs: number;
  /** Most entries in memory overall: one per link, per link and UTC day, per link, day and value. */
  bufferMax: number;
  /** Most links per transaction (default MAX_BATCH_LINKS). */
  maxBatchLinks?: number;
  now?: () => Date;
  metrics?: Partial<ClickCounterMetrics>;
}

export interface ClickCounter {
  /** A redirect (or a one-time link's preview) served: queued, described and counted off the request path. */
  record(linkId: number, seen: SeenRequest): void;
  /** Writes what is buffered (clicks and bot hits); on failure keeps it for the next flush and rethrows. */
  flush(): Promise<number>;
  /** Hits (clicks and bot hits) recorded but not yet written. */
  pending(): number;
  /** Time of the last successful flush (or start), for the flush-lag metric. */
  lastFlushAt(): Date;
  start(): void;
  /** Stops the timer and flushes until empty or `deadlineMs` has passed. */
  stop(deadlineMs: number): Promise<void>;
}

export function createClickCounter(options: ClickCounterOptions): ClickCounter {
  const now = options.now ?? (() => new Date());
  let buffer = new Map<number, ClickAggregate>();
  /** Hits counted in `buffer`: clicks and bot hits. */
  let pendingClicks = 0;
  let pendingBots = 0;
  /** Entries of `buffer`. */
  let entries = 0;
  /** Entries of the batches being written (or awaiting their retry): still in memory, and retried on failure. */
  let inFlightEntries = 0;
  /**
   * Set when a walk of makeRoom found no value to shed; cleared when a batch is written. Values are
   * added only below three quarters of the bound, so only a write can make new ones at the bound.
   */
  let nothingToShed = false;
  /** Where makeRoom goes on from; a source since taken by a flush or given to the store is passed over. */
  let shedWalk: ShedWalk | null = null;
  const maxBatchLinks = options.maxBatchLinks ?? MAX_BATCH_LINKS;
  const detailRoom = Math.floor(options.bufferMax * DETAIL_SHARE);
  let flushing: Promise<number> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let lastSuccess = now();
  let queue: { linkId: number; at: Date; seen: SeenRequest }[] = [];
  let drainScheduled = false;
  /**
   * The links of the batches that wait behind another's write, and their batch. A flush that falls
   * behind (PGlite: one statement at a time, docs/performance.md) holds most of the
   * links that get traffic in such batches; their next clicks are added there rather than making a
   * second entry for the link in the buffer, which under the bound could drop the clicks of links
   * not yet held anywhere (docs/operations.md, "Clicks: what can be lost").
   */
  const queuedLinks = new Map<number, Batch>();

  // The UTC day of a click, formatted once per day rather than once per click.
  let cachedDayNumber = -1;
  let cachedDay = '';
  function dayOf(ms: number): string {
    const dayNumber = Math.floor(ms / 86_400_000);
    if (dayNumber !== cachedDayNumber) {
      cachedDayNumber = dayNumber;
      cachedDay = new Date(dayNumber * 86_400_000).toISOString().slice(0, 10);
    }
    return cachedDay;
  }

  function describe(seen: SeenRequest): Visit {
    try {
      return options.visitors.describe(seen);
    } catch (err) {
      // A parser's bug must cost the detail of one hit, not the hit (nor the rest of the queue).
      options.log.warn({ err: (err as Error).message }, 'could not describe a click; counted without its detail');
      return UNDESCRIBED;
    }
  }

  /** Whether `more` entries fit under `limit`, the batch in flight counted too. */
  const fits = (more: number, limit: number): boolean => entries + inFlightEntries + more <= limit;

  /**
   * Whether `more` entries fit under the bound, after shedding values held for other links if they do
   * not: a link's total, then its day, come before the detail of others' (docs/operations.md,
   * "Clicks: what can be lost"). Without it, values that filled their share while the flush fell
   * behind left room for few new links, whose clicks were then dropped. The values of the buffer and
   * of the batches waiting behind another's write are shed, never those of a batch given to the store:
   * it must be retried as it was. The walk goes on where it left off, so each link is looked at about
   * once per flush, and a walk that found nothing is not repeated until a batch is written. Below the
   * bound a click pays one comparison for all this: a form that kept a running count of the values
   * cost cold redirects 8-17 % of their CPU in four A/Bs (docs/performance.md, "2026-12-06, evening"),
   * for reasons no profile showed.
   */
  function makeRoom(more: number): boolean {
    while (!fits(more, options.bufferMax)) {
      if (nothingToShed) return false;
      if (shedWalk === null) {
        const waiting = unwritten.filter((batch) => batch.waiting).map((batch) => ({ from: batch, held: batch.batch }));
        shedWalk = { sources: [{ from: null, held: buffer }, ...waiting], i: 0, at: null, fresh: true, freed: 0 };
      }
      const aggregate = nextToShed(shedWalk);
      if (aggregate !== null) {
        shedWalk.freed += shedValues(aggregate.from, aggregate.of);
        continue;
      }
      // A walk begun in this call that freed nothing has seen every value there is: none.
      if (shedWalk.fresh && shedWalk.freed === 0) nothingToShed = true;
      shedWalk = null;
    }
    if (shedWalk !== null) shedWalk.fresh = false;
    return true;
  }

  function nextToShed(walk: ShedWalk): { from: Batch | null; of: ClickAggregate } | null {
    for (let source = walk.sources[walk.i]; source !== undefined; source = walk.sources[++walk.i]) {
      // Still where the walk found it: the buffer not yet taken by a flush, the batch still waiting.
      const live = source.from === null ? source.held === buffer : source.from.waiting;
      if (live) {
        walk.at ??= source.held.values();
        const next = walk.at.next();
        if (next.done !== true) return { from: source.from, of: next.value };
      }
      walk.at = null;
    }
    return null;
  }

  /** Sheds the values of every day of `aggregate`, held in the buffer (`from` null) or in a waiting batch; how many. */
  function shedValues(from: Batch | null, aggregate: ClickAggregate): number {
    let n = 0;
    let hits = 0;
    for (const day of aggregate.days.values()) {
      eachDayValue(day.values, (_dimension, _value, count) => {
        n += 1;
        hits += count;
      });
      day.values = [];
    }
    if (n === 0) return 0;
    if (from === null) entries -= n;
    else {
      from.entries -= n;
      inFlightEntries -= n;
    }
    options.metrics?.shed?.('value', hits);
    return n;
  }

  /** New entries of the buffer, or of `batch` when the hit is added to a batch not yet written. */
  function addEntries(batch: Batch | null, n: number): void {
    if (batch === null) entries += n;
    else {
      batch.entries += n;
      inFlightEntries += n;
    }
  }

  function countValue(batch: Batch | null, day: DayClicks, dimension: Dimension, value: string): void {
    let values = day.values;
    if (Array.isArray(values)) {
      for (let i = 0; i < values.length; i += 3) {
        // The same strings mostly (the visitor's memos hand them out): an identity test, then the text.
        if (values[i] === dimension && values[i + 1] === value) {
          values[i + 2] = (values[i + 2] as number) + 1;
          return;
        }
      }
      // A value the day has not had: kept flat while few, far under VALUES_PER_DIMENSION.
      if (values.length < 3 * FLAT_TRIPLES) {
        if (fits(1, detailRoom)) {
          values.push(dimension, value, 1);
          addEntries(batch, 1);
        } else options.metrics?.shed?.('value', 1);
        return;
      }
      values = mapsOf(values);
      day.values = values;
    }
    const counts = countsOf(values, dimension);
    const kept = counts.has(value) || counts.size < VALUES_PER_DIMENSION ? value : OTHER;
    const n = counts.get(kept);
    if (n !== undefined) counts.set(kept, n + 1);
    else if (fits(1, detailRoom)) {
      counts.set(kept, 1);
      addEntries(batch, 1);
    } else options.metrics?.shed?.('value', 1);
  }

  function count(linkId: number, at: Date, seen: SeenRequest): void {
    let entry = buffer.get(linkId);
    // The batch not yet given to the store that holds this link, if any (then the buffer does not).
    let batch: Batch | null = null;
    if (!entry) {
      batch = queuedLinks.get(linkId) ?? null;
      entry = batch?.batch.get(linkId);
    }
    if (!entry) {
      // The batch in flight counts too: a failed flush keeps it in memory, and without it each failing
      // flush during an outage would let another `bufferMax` entries in. A new link needs two: itself
      // and its day.
      if (!fits(2, options.bufferMax) && !makeRoom(2)) {
        options.metrics?.dropped?.(1);
        return;
      }
      entry = { linkId, clicks: 0, botHits: 0, lastClickedAt: null, days: new Map() };
      buffer.set(linkId, entry);
      entries += 1;
    }
    const visit = describe(seen);
    if (visit.bot === null) {
      entry.clicks += 1;
      entry.lastClickedAt = at;
      if (batch === null) pendingClicks += 1;
      else batch.clicks += 1;
    } else {
      entry.botHits += 1;
      if (batch === null) pendingBots += 1;
      else batch.botHits += 1;
    }
    const dayName = dayOf(at.getTime());
    let day = entry.days.get(dayName);
    if (day === undefined) {
      if (!fits(1, options.bufferMax) && !makeRoom(1)) {
        options.metrics?.shed?.('day', 1);
        return;
      }
      day = { clicks: 0, botHits: 0, values: [] };
      entry.days.set(dayName, day);
      addEntries(batch, 1);
    }
    if (visit.bot !== null) {
      day.botHits += 1;
      countValue(batch, day, 'bot', visit.bot);
      return;
    }
    day.clicks += 1;
    countValue(batch, day, 'referrer', visit.referrer);
    countValue(batch, day, 'country', visit.country);
    countValue(batch, day, 'browser', visit.browser);
    countValue(batch, day, 'os', visit.os);
    countValue(batch, day, 'device', visit.device);
  }

  /** Describes and counts every queued hit. Never throws: a hit that cannot be described is still counted. */
  function drain(): void {
    drainScheduled = false;
    const queued = queue;
    queue = [];
    for (const hit of queued) count(hit.linkId, hit.at, hit.seen);
  }

  function record(linkId: number, seen: SeenRequest): void {
    queue.push({ linkId, at: now(), seen });
    if (queue.length >= QUEUE_MAX) drain();
    else if (!drainScheduled) {
      drainScheduled = true;
      setImmediate(drain);
    }
  }

  /**
   * Batches taken from the buffer and not written yet, in order: one that failed first, then those
   * after it. Each keeps its id and its content and is retried as it is before anything newer: if
   * its first COMMIT did go through (only the answer was lost), the store recognises the id and the
   * retry adds nothing. Merging it into newer clicks would lose that protection.
   */
  const unwritten: Batch[] = [];

  function entriesOf(aggregate: ClickAggregate): number {
    let n = 1;
    for (const day of aggregate.days.values()) {
      n += 1;
      if (Array.isArray(day.values)) n += day.values.length / 3;
      else for (const counts of day.values.values()) n += counts.size;
    }
    return n;
  }

  /** The buffer as batches of at most maxBatchLinks links; the buffer starts empty. */
  function takeBuffer(): Batch[] {
    const batches: Batch[] = [];
    let current: Batch | null = null;
    for (const aggregate of buffer.values()) {
      if (current === null || current.batch.size >= maxBatchLinks) {
        current = { id: randomUUID(), batch: new Map(), clicks: 0, botHits: 0, entries: 0, waiting: false };
        batches.push(current);
      }
      current.batch.set(aggregate.linkId, aggregate);
      current.clicks += aggregate.clicks;
      current.botHits += aggregate.botHits;
      current.entries += entriesOf(aggregate);
    }
    // Counted against bufferMax while in flight (and while waiting for a retry), so an outage
    // cannot let more than bufferMax entries into memory; each batch gives its share back once written.
    for (const batch of batches) inFlightEntries += batch.entries;
    buffer = new Map();
    pendingClicks = 0;
    pendingBots = 0;
    entries = 0;
    shedWalk = null;
    return batches;
  }

  async function writeOnce(): Promise<number> {
    const started = performance.now();
    const written = { clicks: 0, botHits: 0 };
    const succeeded = (): void => {
      lastSuccess = now();
      if (written.clicks + written.botHits > 0) options.metrics?.flushed?.(written.clicks, (performance.now() - started) / 1000, written.botHits);
    };
    // What failed before goes first; then this interval's buffer. Never more than that: under
    // traffic the buffer fills again while the batches are written, and that is the next flush's.
    if (buffer.size > 0) unwritten.push(...takeBuffer());
    // The batches behind the first wait for its write: their links' next clicks go into them. Only the
    // first is ever given to the store (a failure ends the flush), and it is given at once, so a flush
    // of one batch registers nothing.
    for (const batch of unwritten.slice(1)) {
      if (batch.waiting) continue;
      batch.waiting = true;
      for (const linkId of batch.batch.keys()) queuedLinks.set(linkId, batch);
    }
    for (let next = unwritten[0]; next !== undefined; next = unwritten[0]) {
      if (next.waiting) {
        // From here on its content is what the id stands for: a retry must send exactly it again.
        next.waiting = false;
        for (const linkId of next.batch.keys()) queuedLinks.delete(linkId);
      }
      try {
        await options.store.applyClicks([...next.batch.values()], next.id);
      } catch (err) {
        options.metrics?.flushFailed?.();
        // The batches written before this one are reported even though the flush fails.
        if (written.clicks + written.botHits > 0) succeeded();
        throw err;
      }
      unwritten.shift();
      inFlightEntries -= next.entries;
      nothingToShed = false;
      written.clicks += next.clicks;
      written.botHits += next.botHits;
      // A turn of the event loop between transactions: a store whose statements run on this thread
      // (PGlite in-process, pglite-runner.ts; curt serve runs it on a thread of its own) then holds
      // requests for one transaction at most, not for the whole flush.
      if (unwritten.length > 0) await new Promise((resolve) => setImmediate(resolve));
    }
    succeeded();
    return written.clicks + written.botHits;
  }

  const unwrittenHits = (): number => unwritten.reduce((sum, b) => sum + b.clicks + b.botHits, 0);
  /** Hits not written yet: queued, counted, and in batches a failed write left. */
  const pending = (): number => queue.length + pendingClicks + pendingBots + unwrittenHits();

  function flush(): Promise<number> {
    drain();
    flushing ??= writeOnce().finally(() => {
      flushing = null;
    });
    return flushing;
  }

  return {
    record,
    flush,
    pending,
    lastFlushAt: () => lastSuccess,
    start() {
      timer ??= setInterval(() => {
        flush().catch((err: unknown) =>
          // The failed batch's hits among them: taken out of the counts, they wait in `unwritten`.
          options.log.warn({ err: (err as Error).message, pending: pending() }, 'click flush failed; clicks kept for the next try'),
        );
      }, options.flushIntervalMs);
      timer.unref();
    },
    async stop(deadlineMs) {
      if (timer) clearInterval(timer);
      timer = null;
      const deadline = performance.now() + deadlineMs;
      for (;;) {
        try {
          if (flushing) await flushing.catch(() => 0);
          await flush();
          if (queue.length === 0 && pendingClicks + pendingBots === 0 && unwritten.length === 0) return;
        } catch (err) {
          if (performance.now() >= deadline) {
            options.log.error({ err: (err as Error).message, lost: pendingClicks + pendingBots + unwrittenHits() }, 'clicks could not be written before shutdown');
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    },
  };
}

// Marks links past their expiry as expired in PostgreSQL, so listings and analytics show it. The
// redirect path does not depend on it: it checks `expires_at` itself, to the second. It also forgets
// click-batch ids older than a day (they only guard retries of a flush, which come within seconds),
// and deletes daily click detail older than ANALYTICS_RETENTION_DAYS: whole monthly partitions of the
// per-day tables first, then in slices inside the month that straddles the cutoff. Each sweep (the
// first at start) also creates those tables' partitions for this month and the months ahead.
import type { Logger } from '../core/logger.ts';
import { within } from '../core/within.ts';
import type { LinkStore } from '../storage/link-store.ts';
import type { WebhookStore } from '../storage/webhook-store.ts';

const BATCH = 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface ExpirySweepOptions {
  intervalMs: number;
  /** Days of daily click detail kept; 0 = forever. */
  retentionDays: number;
  /** Delivered and given-up webhook events older than WEBHOOK_RETENTION_MS are deleted. */
  webhooks?: Pick<WebhookStore, 'pruneOutbox'>;
  partitionMetrics?: ClickPartitionMetrics;
}

export interface ClickPartitionMetrics {
  /** Partitions created and dropped by one sweep. */
  upkept(created: number, dropped: number): void;
  upkeepFailed(): void;
}

/** How long the webhook delivery log keeps an event after it was written. */
export const WEBHOOK_RETENTION_MS = 7 * DAY_MS;

/** The first UTC day (YYYY-MM-DD) whose detail is kept when `retentionDays` days are, today included. */
export function firstKeptDay(now: Date, retentionDays: number): string {
  return new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS - (retentionDays - 1) * DAY_MS).toISOString().slice(0, 10);
}

export function startExpirySweep(
  store: Pick<LinkStore, 'markExpired' | 'pruneClickBatches' | 'pruneDailyDetail' | 'maintainClickPartitions'>,
  log: Logger,
  options: ExpirySweepOptions,
): (deadlineMs?: number) => Promise<void> {
  /** The pass under way, which stop waits for: the store may be closed right after. */
  let running: Promise<void> | null = null;
  let stopped = false;
  /** Runs `slice` until one comes back short of `size`, or the sweep is stopped; the rows it did. */
  const inSlices = async (size: number, slice: () => Promise<number>): Promise<number> => {
    let done = 0;
    for (;;) {
      const n = await slice();
      done += n;
      if (n < size || stopped) return done;
    }
  };
  const sweep = async (): Promise<void> => {
    // Apart from the rest: a partition that could not be made now must not hold up expiry marking, and
    // the next sweep tries again (two months ahead leave time; a flush creates a missing one itself).
    try {
      const now = new Date();
      const kept = options.retentionDays > 0 ? firstKeptDay(now, options.retentionDays) : null;
      const { created, dropped } = await store.maintainClickPartitions(now.toISOString().slice(0, 10), kept);
      if (created.length > 0) log.info({ created }, 'click partitions created');
      if (dropped.length > 0) log.info({ dropped, before: kept }, 'click partitions past their retention dropped');
      options.partitionMetrics?.upkept(created.length, dropped.length);
    } catch (err) {
      options.partitionMetrics?.upkeepFailed();
      log.warn({ err: (err as Error).message }, 'click partition upkeep failed; will retry');
    }
    if (stopped) return;
    try {
      const marked = await inSlices(BATCH, () => store.markExpired(new Date(), BATCH));
      if (marked > 0) log.info({ marked }, 'expired links marked');
      if (stopped) return;
      await store.pruneClickBatches(new Date(Date.now() - DAY_MS));
      if (options.retentionDays > 0 && !stopped) {
        const before = firstKeptDay(new Date(), options.retentionDays);
        const pruned = await inSlices(BATCH * 10, () => store.pruneDailyDetail(before, BATCH * 10));
        if (pruned > 0) log.info({ pruned, before }, 'daily click detail past its retention deleted');
      }
      const { webhooks } = options;
      if (webhooks && !stopped) {
        const pruned = await inSlices(BATCH * 10, () => webhooks.pruneOutbox(new Date(Date.now() - WEBHOOK_RETENTION_MS), BATCH * 10));
        if (pruned > 0) log.info({ pruned }, 'webhook events past their retention deleted');
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'expiry sweep failed; will retry');
    }
  };
  const start = (): void => {
    if (running !== null || stopped) return;
    running = sweep().finally(() => {
      running = null;
    });
  };
  const timer = setInterval(start, options.intervalMs);
  timer.unref();
  start();
  // Stops the timer, cuts a pass short at its next slice, and resolves once no pass is under way (a
  // process that closed its database at once had the first pass fail, "will retry", as it exited),
  // or after `deadlineMs`: a statement on a hung database must not hold a stop past its deadline.
  return async (deadlineMs = Number.POSITIVE_INFINITY) => {
    stopped = true;
    clearInterval(timer);
    if (running === null) return;
    await within(running, deadlineMs);
  };
}

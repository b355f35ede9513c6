// Marks links past their expiry as expired in PostgreSQL, so listings and analytics show it. The
// redirect path does not depend on it: it checks `expires_at` itself, to the second. It also forgets
// click-batch ids older than a day (they only guard retries of a flush, which come within seconds).
import type { Logger } from '../core/logger.ts';
import type { LinkStore } from '../storage/link-store.ts';

const BATCH = 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export function startExpirySweep(store: Pick<LinkStore, 'markExpired' | 'pruneClickBatches'>, log: Logger, intervalMs: number): () => void {
  let running = false;
  const sweep = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      let marked = 0;
      for (;;) {
        const n = await store.markExpired(new Date(), BATCH);
        marked += n;
        if (n < BATCH) break;
      }
      if (marked > 0) log.info({ marked }, 'expired links marked');
      await store.pruneClickBatches(new Date(Date.now() - DAY_MS));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'expiry sweep failed; will retry');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  void sweep();
  return () => clearInterval(timer);
}

// KGS series: pool sizes are read from the store at scrape time; the rest count as things happen.
import { Counter, Gauge, type Registry } from '../core/metrics.ts';
import type { KeyPoolEvents } from './key-pool.ts';
import type { PoolSizes } from '../storage/key-store.ts';

/** Counts takes and claims on a Redis Cluster that no replica acknowledged in time (redis-key-store.ts). */
export function createUnreplicatedCounter(registry: Registry): () => void {
  const unreplicated = new Counter({
    name: 'kgs_unreplicated_writes_total',
    help: 'Key pool takes and claims on a Redis Cluster that no replica acknowledged in time (a failover then could hand their codes out again)',
    registers: [registry],
  });
  return () => unreplicated.inc();
}

export function createKgsMetrics(registry: Registry, readSizes: () => Promise<PoolSizes>): KeyPoolEvents {
  const handedOut = new Counter({ name: 'kgs_codes_handed_out_total', help: 'Codes handed out', registers: [registry] });
  const returned = new Counter({ name: 'kgs_codes_returned_total', help: 'Codes taken back into the pool (cool-down included)', registers: [registry] });
  const claimed = new Counter({ name: 'kgs_codes_claimed_total', help: 'Custom aliases claimed', registers: [registry] });
  const replenishRuns = new Counter({ name: 'kgs_replenish_runs_total', help: 'Replenishment runs that added codes', registers: [registry] });
  const replenishAdded = new Counter({ name: 'kgs_replenish_codes_added_total', help: 'Codes added by replenishment', registers: [registry] });
  new Gauge({
    name: 'kgs_pool_codes',
    help: 'Codes in the pool by set: available, used, cooling_down (a subset of used)',
    labelNames: ['set'],
    registers: [registry],
    async collect() {
      try {
        const sizes = await readSizes();
        this.set({ set: 'available' }, sizes.available);
        this.set({ set: 'used' }, sizes.used);
        this.set({ set: 'cooling_down' }, sizes.coolingDown);
      } catch {
        // Redis down: the series are left out of this scrape rather than reported as zero.
        this.reset();
      }
    },
  });
  return {
    handedOut: (n) => handedOut.inc(n),
    returned: (n) => returned.inc(n),
    claimed: () => claimed.inc(),
    replenished: (added) => {
      replenishRuns.inc();
      replenishAdded.inc(added);
    },
  };
}

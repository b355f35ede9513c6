// Where a URL service's clicks went, from one read of its /metrics (src/url/metrics.ts): what the
// benches compare with the clicks PostgreSQL holds.
import { seriesValue } from '../../test/support/fault-probes.ts';
import type { ServiceProcess } from '../../test/support/processes.ts';

export interface ClickCounters {
  redirected: number;
  /** Hits written: people's clicks and bots' hits have a counter each. */
  flushed: number;
  /** Hits not counted at all: their link did not fit in the click buffer (CLICK_BUFFER_MAX). */
  dropped: number;
  /** Hits counted in their link's total whose value or day was not kept, the buffer being near its bound. */
  shed: number;
  flushFailures: number;
  flushSeconds: number;
  flushes: number;
  /** Hits counted and not written yet. */
  pending: number;
}

export async function clickCounters(service: ServiceProcess): Promise<ClickCounters> {
  const text = await (await fetch(`${service.metricsUrl}/metrics`)).text();
  const value = (series: string): number => seriesValue(text, series) ?? 0;
  return {
    redirected: value('redirects_total{outcome="redirected"}'),
    flushed: value('clicks_flushed_total') + value('bot_hits_flushed_total'),
    dropped: value('clicks_dropped_total'),
    shed: value('click_details_shed_total{detail="value"}') + value('click_details_shed_total{detail="day"}'),
    flushFailures: value('click_flush_failures_total'),
    flushSeconds: value('click_flush_duration_seconds_sum'),
    flushes: value('click_flush_duration_seconds_count'),
    pending: value('clicks_pending'),
  };
}

// Redirect latency during click flushes and between them (bench/clicks.ts). Two loops run beside the
// load: a probe that requests one warm code every PROBE_INTERVAL_MS over one keep-alive connection
// and records when each request started and how long it took, and a watcher that asks PostgreSQL
// (pg_stat_activity) every POLL_MS which flush transactions are open. A flush window runs from its
// transaction's start (xact_start: exact) to the last poll that saw it (so it ends up to POLL_MS
// late); a probe request is "during a flush" when it started within a window widened by POLL_MS on
// each side. Flushes shorter than POLL_MS may fall between two polls and go undetected: the caller
// compares the windows found with the flushes the service counted.
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { Agent, request } from 'undici';

export const PROBE_INTERVAL_MS = 2;
export const POLL_MS = 20;

export interface ProbeSample {
  /** Epoch ms (sub-ms) at which the request was sent. */
  at: number;
  ms: number;
  ok: boolean;
}

export interface FlushWindow {
  /** Epoch ms of the flush transaction's BEGIN (PostgreSQL's clock: the same machine). */
  start: number;
  /** Epoch ms of the last poll that saw the transaction open. */
  lastSeen: number;
}

export interface LatencySplit {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface FlushLatency {
  windows: FlushWindow[];
  /** Requests the probe sent (answered or not). */
  probesSent: number;
  probeFailures: number;
  between: LatencySplit;
  during: LatencySplit;
}

const epochNow = (): number => performance.timeOrigin + performance.now();

/** Requests `url` (a warm code; redirects are not followed) with `headers` until `stop` resolves. */
async function runProbe(url: string, headers: Record<string, string>, stop: Promise<void>): Promise<ProbeSample[]> {
  const agent = new Agent({ connections: 1, keepAliveTimeout: 60_000 });
  const samples: ProbeSample[] = [];
  let stopped = false;
  void stop.then(() => (stopped = true));
  try {
    while (!stopped) {
      const started = performance.now();
      let ok = false;
      try {
        const res = await request(url, { dispatcher: agent, headers });
        await res.body.dump();
        ok = res.statusCode === 302;
      } catch {
        // counted as a failure below; the next request opens a new connection
      }
      const ms = performance.now() - started;
      samples.push({ at: performance.timeOrigin + started, ms, ok });
      if (ms < PROBE_INTERVAL_MS) await sleep(PROBE_INTERVAL_MS - ms);
    }
  } finally {
    await agent.close();
  }
  return samples;
}

/** Open flush transactions of `database`, seen by `client` (whose own backend is left out). */
async function watchFlushes(client: pg.Client, database: string, stop: Promise<void>): Promise<FlushWindow[]> {
  const windows = new Map<string, FlushWindow>();
  let stopped = false;
  void stop.then(() => (stopped = true));
  while (!stopped) {
    const polled = performance.now();
    // Any statement of the flush transaction (src/storage/postgres/pg-link-store.ts, applyClicks)
    // marks it: the batch id insert, the UPDATE of the totals, the per-day upsert and the per-value
    // one (a WITH … INSERT INTO url_daily_values; pg_stat_activity keeps a query's first 1 KB).
    const { rows } = await client.query<{ pid: number; xs: string }>(
      `SELECT pid, (extract(epoch FROM xact_start) * 1000)::text AS xs FROM pg_stat_activity
        WHERE datname = $1 AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
          AND (query LIKE 'UPDATE url_totals AS t SET clicks%' OR query LIKE 'INSERT INTO click_batches%'
               OR query LIKE 'INSERT INTO url_daily_clicks%' OR query LIKE 'WITH v AS (%url_daily_values%')`,
      [database],
    );
    const seen = epochNow();
    for (const row of rows) {
      const key = `${row.pid}:${row.xs}`;
      const window = windows.get(key);
      if (window) window.lastSeen = seen;
      else windows.set(key, { start: Number(row.xs), lastSeen: seen });
    }
    const elapsed = performance.now() - polled;
    if (elapsed < POLL_MS) await sleep(POLL_MS - elapsed);
  }
  return [...windows.values()].sort((a, b) => a.start - b.start);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function split(latencies: number[]): LatencySplit {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1) ?? Number.NaN };
}

/**
 * Runs the probe (sending `headers`: a User-Agent decides whether its redirects are clicks or bot
 * hits) and the watcher until `stop` resolves, then splits the probe's latencies.
 */
export async function measureFlushLatency(
  probeUrl: string,
  headers: Record<string, string>,
  watcher: pg.Client,
  database: string,
  stop: Promise<void>,
): Promise<FlushLatency> {
  const [samples, windows] = await Promise.all([runProbe(probeUrl, headers, stop), watchFlushes(watcher, database, stop)]);
  const during: number[] = [];
  const between: number[] = [];
  for (const sample of samples) {
    if (!sample.ok) continue;
    const inFlush = windows.some((w) => sample.at >= w.start - POLL_MS && sample.at <= w.lastSeen + POLL_MS);
    (inFlush ? during : between).push(sample.ms);
  }
  return { windows, probesSent: samples.length, probeFailures: samples.filter((s) => !s.ok).length, between: split(between), during: split(during) };
}

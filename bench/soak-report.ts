// What `npm run soak` concludes from a run: the checks (each pass/fail with a one-line reason), the
// summary table it prints and the JSON it keeps. Pure functions of what bench/soak.ts gathered.
import { OPS, STALE_WINDOW_MS, type DriverResult, type LinkRecord, type Outcome } from './soak-driver.ts';

export interface SoakOptions {
  durationS: number;
  ratePerS: number;
  redisDownS: number;
  /** Fail when a process's RSS in the last window is more than this fraction above the first. */
  rssGrowthMax: number;
  maxInFlight: number;
}

/** Epoch ms; null when it never happened within its wait. */
export interface OutageTimeline {
  killedAt: number;
  breakersOpenAt: number | null;
  restartedAt: number;
  breakersClosedAt: number | null;
  kgsReadyAt: number | null;
}

export interface MemorySample {
  process: string;
  /** Seconds since the traffic started (the sampling slot, so windows compare like with like). */
  t: number;
  rssBytes: number | null;
  heapUsedBytes: number | null;
  /** The longest event-loop delay since the previous sample (prom-client resets it on each scrape). */
  eventLoopLagMaxS: number | null;
}

export interface DbRow {
  code: string;
  url: string;
  clicks: number;
  /** Hits counted as a bot's: none, since the driver sends a browser's User-Agent. */
  botHits: number;
  isActive: boolean;
  isOneTime: boolean;
  consumed: boolean;
}

export interface SoakRun {
  options: SoakOptions;
  date: string;
  driver: DriverResult;
  outage: OutageTimeline;
  samples: MemorySample[];
  /** Answers of the final pass over deleted links (GET) and a sample of the others (HEAD), on every replica. */
  finalAnswers: { checked: number; wrong: string[] };
  /** redirects_total{outcome="redirected"} and clicks_dropped_total summed over the URL services, before the final pass. */
  server: { redirected: number; clicksDropped: number };
  exits: Record<string, number | null>;
  db: { rows: DbRow[]; duplicateCodes: string[] };
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface MemoryRow {
  process: string;
  rssFirstMb: number;
  rssLastMb: number;
  growth: number;
  heapFirstMb: number;
  heapLastMb: number;
  samples: { first: number; last: number };
  /** The longest event-loop stall after warm-up, and the sample (s since start) that saw it. */
  lagMaxMs: number;
  lagMaxAtS: number;
}

/** 503s are expected from creation only, from the kill until this long after the restart. */
export const RECOVERY_GRACE_S = 30;

const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;
const average = (values: number[]): number => (values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length);
const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * RSS and heap, first window after warm-up against the last window. Windows are a minute after 30 s
 * of warm-up on a 5-minute run, shrinking on short runs so that they never overlap.
 */
export function memoryRows(samples: MemorySample[], durationS: number): MemoryRow[] {
  const warmupS = Math.min(30, durationS / 6);
  const windowS = Math.min(60, (durationS - warmupS) / 2);
  const names = [...new Set(samples.map((x) => x.process))];
  return names.map((name) => {
    const mine = samples.filter((x) => x.process === name);
    const first = mine.filter((x) => x.t >= warmupS && x.t <= warmupS + windowS);
    const last = mine.filter((x) => x.t >= durationS - windowS);
    const avg = (list: MemorySample[], field: 'rssBytes' | 'heapUsedBytes'): number => average(list.flatMap((x) => (x[field] === null ? [] : [x[field]])));
    const rssFirst = avg(first, 'rssBytes');
    const rssLast = avg(last, 'rssBytes');
    return {
      process: name,
      rssFirstMb: mb(rssFirst),
      rssLastMb: mb(rssLast),
      growth: rssLast / rssFirst - 1,
      heapFirstMb: mb(avg(first, 'heapUsedBytes')),
      heapLastMb: mb(avg(last, 'heapUsedBytes')),
      samples: { first: first.length, last: last.length },
      // After warm-up: the first scrape's histogram covers start-up (module loading, JIT).
      ...longestStall(mine.filter((x) => x.t >= warmupS)),
    };
  });
}

/** A stall of the process itself (GC, a blocked loop, the machine) delays every timer and answer in it at once. */
function longestStall(samples: MemorySample[]): { lagMaxMs: number; lagMaxAtS: number } {
  let worst = { lagMaxMs: 0, lagMaxAtS: 0 };
  for (const x of samples) {
    const ms = Math.round((x.eventLoopLagMaxS ?? 0) * 1000);
    if (ms > worst.lagMaxMs) worst = { lagMaxMs: ms, lagMaxAtS: x.t };
  }
  return worst;
}

function compareWithDatabase(run: SoakRun): { mapping: string[]; clicks: string[]; pgClicks: number; pgBotHits: number; served: number; uncertainRows: number } {
  const { driver, db } = run;
  const links = new Map<string, LinkRecord>(driver.links.map((l) => [l.code, l]));
  const uncertain = new Set(driver.uncertainUrls);
  const rows = new Map(db.rows.map((r) => [r.code, r]));
  const mapping: string[] = [];
  const clicks: string[] = [];
  let pgClicks = 0;
  let pgBotHits = 0;
  let served = 0;
  let uncertainRows = 0;
  for (const row of db.rows) {
    const link = links.get(row.code);
    pgClicks += row.clicks;
    pgBotHits += row.botHits;
    if (link === undefined) {
      // A creation that got no clear answer may still have written its row; nobody redirected it.
      if (uncertain.has(row.url) && row.clicks === 0) uncertainRows += 1;
      else mapping.push(`${row.code} → ${row.url}: in PostgreSQL, but no creation answered with it`);
      continue;
    }
    served += link.served;
    if (row.url !== link.url) mapping.push(`${row.code}: PostgreSQL has ${row.url}, the creation answered ${link.url}`);
    if (row.isOneTime !== link.oneTime) mapping.push(`${row.code}: is_one_time ${row.isOneTime}, created as ${link.oneTime}`);
    if (link.state === 'deleted') mapping.push(`${row.code}: deleted (204) but still in PostgreSQL`);
    if (link.state === 'disabled' && row.isActive) mapping.push(`${row.code}: disabled (200) but is_active`);
    if (link.state === 'active' && !row.isActive) mapping.push(`${row.code}: never disabled but not is_active`);
    if (link.state === 'used' && !row.consumed) mapping.push(`${row.code}: one-time, redirected once, not consumed`);
    if (link.state === 'active' && row.consumed) mapping.push(`${row.code}: one-time, never redirected, consumed`);
    if (row.clicks !== link.served) clicks.push(`${row.code}: ${row.clicks} clicks in PostgreSQL, ${link.served} redirects served`);
  }
  for (const link of driver.links) {
    const kept = link.state === 'active' || link.state === 'disabled' || link.state === 'used';
    if (kept && !rows.has(link.code)) mapping.push(`${link.code}: created (201), never deleted, not in PostgreSQL`);
  }
  return { mapping, clicks, pgClicks, pgBotHits, served, uncertainRows };
}

const sample = (list: string[]): string => (list.length === 0 ? '' : `: ${list.slice(0, 3).join('; ')}${list.length > 3 ? '; …' : ''}`);

export function evaluate(run: SoakRun): Check[] {
  const { driver, outage, options } = run;
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string): void => void checks.push({ name, ok, detail });

  const failedKinds = driver.outcomes.filter((o) => o.kind === 'failure').map((o) => `${o.op} ${o.status} ${o.code || '-'} (${o.phase}) ×${o.count}`);
  add('no failed requests', driver.failureCount === 0, `${driver.failureCount} failed (5xx other than 503 problem+json, wrong status or Location, no answer)${sample(failedKinds)}`);

  const stale = driver.outcomes.filter((o) => o.kind === 'stale');
  add(
    'a change answered by one replica holds at once on the other',
    stale.length === 0,
    `redirects sent through the other replica right after a 204 DELETE / 200 PATCH: ${driver.sent.recheck}; ` +
      `answered 302 from the old state (within ${STALE_WINDOW_MS} ms of the change): ${stale.reduce((sum, o) => sum + o.count, 0)}` +
      sample(stale.map((o) => `${o.op} ${o.status} (${o.phase}) ×${o.count}`)),
  );

  const graceEnd = outage.restartedAt + RECOVERY_GRACE_S * 1000;
  const stray = driver.outcomes.filter(
    (o) => o.kind === 'expected' && (!o.op.startsWith('create') || o.firstAt < outage.killedAt || o.lastAt > graceEnd),
  );
  const expected = driver.outcomes.filter((o) => o.kind === 'expected').reduce((sum, o) => sum + o.count, 0);
  add(
    '503s only from creation, only during the outage',
    stray.length === 0,
    `${expected} expected 503s; outside creation or the window (kill → restart + ${RECOVERY_GRACE_S} s): ${stray.reduce((sum, o) => sum + o.count, 0)}` +
      sample(stray.map((o) => `${o.op} ${o.status} ${o.code} (${o.phase}) ×${o.count}`)),
  );

  const dupes = [...run.db.duplicateCodes, ...driver.duplicateCodes];
  add('every code unique', dupes.length === 0, `duplicate short_code in PostgreSQL: ${run.db.duplicateCodes.length}; codes handed out to two links: ${driver.duplicateCodes.length}${sample(dupes)}`);

  const compared = compareWithDatabase(run);
  add(
    'every code maps to the one URL asked for',
    compared.mapping.length === 0,
    `${run.db.rows.length} rows, ${driver.links.length} links created, ${driver.links.filter((l) => l.state === 'deleted').length} deleted; ` +
      `${compared.mapping.length} mismatches${compared.uncertainRows > 0 ? `, ${compared.uncertainRows} rows of unanswered creations` : ''}${sample(compared.mapping)}`,
  );

  const totalServed = driver.links.reduce((sum, l) => sum + l.served, 0);
  add(
    'click totals exact',
    compared.clicks.length === 0 && compared.pgClicks === compared.served && compared.pgBotHits === 0 && run.server.redirected === totalServed && run.server.clicksDropped === 0,
    `clicks in PostgreSQL ${compared.pgClicks}, 302s received for those links ${compared.served}; per-link mismatches ${compared.clicks.length}; ` +
      `bot hits in PostgreSQL ${compared.pgBotHits} (every request a browser's: none expected); ` +
      `302s received in all ${totalServed}, served by the URL services ${run.server.redirected}; clicks dropped ${run.server.clicksDropped}${sample(compared.clicks)}`,
  );

  add('deleted links 404 (and the rest as expected) on every replica', run.finalAnswers.wrong.length === 0, `${run.finalAnswers.checked} answers checked, ${run.finalAnswers.wrong.length} wrong${sample(run.finalAnswers.wrong)}`);

  const badExits = Object.entries(run.exits).filter(([, code]) => code !== 0);
  add('graceful stop (SIGTERM → exit 0)', badExits.length === 0, Object.entries(run.exits).map(([name, code]) => `${name} ${code}`).join(', '));

  const createdAfter = driver.outcomes.some((o) => o.op.startsWith('create') && o.phase === 'after' && o.status === 201);
  add(
    'recovered after the Redis restart',
    outage.breakersClosedAt !== null && outage.kgsReadyAt !== null && createdAfter,
    `breakers closed ${outage.breakersClosedAt === null ? 'never' : `+${s(outage.breakersClosedAt - outage.restartedAt)}`}, ` +
      `KGS ready ${outage.kgsReadyAt === null ? 'never' : `+${s(outage.kgsReadyAt - outage.restartedAt)}`}, links created after the restart: ${createdAfter ? 'yes' : 'no'}`,
  );

  const memory = memoryRows(run.samples, options.durationS);
  const grown = memory.filter((m) => !(m.growth <= options.rssGrowthMax));
  add(
    `memory flat (RSS last window ≤ first + ${Math.round(options.rssGrowthMax * 100)}%)`,
    grown.length === 0,
    memory.map((m) => `${m.process} ${m.growth >= 0 ? '+' : ''}${(m.growth * 100).toFixed(1)}%`).join(', '),
  );
  return checks;
}

function table(header: string[], rows: string[][], leftColumns = 1): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].map((l) => `  ${l.trimEnd()}`);
}

export function summaryLines(run: SoakRun, checks: Check[]): string[] {
  const { driver, outage, options } = run;
  const t = (epochMs: number): string => `${((epochMs - driver.startedAt) / 1000).toFixed(1)} s`;
  const count = (op: string, kind: Outcome['kind']): number => driver.outcomes.filter((o) => o.op === op && o.kind === kind).reduce((sum, o) => sum + o.count, 0);
  const lines: string[] = [];
  const seconds = (driver.endedAt - driver.startedAt) / 1000;
  const sent = OPS.reduce((sum, op) => sum + driver.sent[op], 0);
  lines.push(
    `Curt soak — ${options.durationS} s at ${options.ratePerS} ops/s (${(sent / seconds).toFixed(0)} sent/s, ${driver.skipped} skipped at ${options.maxInFlight} in flight), ` +
      `2 URL services + 2 KGS, private Redis killed at half time for ${options.redisDownS} s, ${run.date}`,
    '',
    'operations',
  );
  lines.push(
    ...table(
      ['op', 'sent', 'ok', '503', 'stale', 'failed', 'p50 ms', 'p99 ms', 'max ms'],
      OPS.map((op) => [
        op,
        String(driver.sent[op]),
        String(count(op, 'ok')),
        String(count(op, 'expected')),
        String(count(op, 'stale')),
        String(count(op, 'failure')),
        driver.latency[op].p50Ms.toFixed(2),
        driver.latency[op].p99Ms.toFixed(2),
        driver.latency[op].maxMs.toFixed(1),
      ]),
    ),
  );
  const phases = ['before', 'outage', 'after'];
  const errors = driver.outcomes
    .filter((o) => o.kind !== 'ok' || o.status >= 400)
    .sort((a, b) => phases.indexOf(a.phase) - phases.indexOf(b.phase) || OPS.indexOf(a.op) - OPS.indexOf(b.op) || a.status - b.status || a.code.localeCompare(b.code));
  lines.push('', 'answers other than success, by status and code (404/410 of deleted, disabled and used links are the expected answers)');
  lines.push(
    ...table(
      ['op', 'phase', 'status', 'code', 'count', 'kind', 'first', 'last'],
      errors.map((o) => [o.op, o.phase, String(o.status), o.code || '-', String(o.count), o.kind, t(o.firstAt), t(o.lastAt)]),
      4,
    ),
  );
  const after = (at: number | null, from: number): string => (at === null ? 'never' : `+${s(at - from)}`);
  lines.push(
    '',
    `redis outage: SIGKILL at ${t(outage.killedAt)}, both breakers open ${after(outage.breakersOpenAt, outage.killedAt)}; ` +
      `restarted (empty) at ${t(outage.restartedAt)}, breakers closed ${after(outage.breakersClosedAt, outage.restartedAt)}, KGS ready ${after(outage.kgsReadyAt, outage.restartedAt)}`,
    '',
    'memory (MB; first window after warm-up vs last window, sampled every 10 s from /metrics) and the longest event-loop stall after warm-up',
  );
  lines.push(
    ...table(
      ['process', 'rss first', 'rss last', 'growth', 'heap first', 'heap last', 'max loop lag'],
      memoryRows(run.samples, options.durationS).map((m) => [
        m.process,
        m.rssFirstMb.toFixed(1),
        m.rssLastMb.toFixed(1),
        `${m.growth >= 0 ? '+' : ''}${(m.growth * 100).toFixed(1)}%`,
        m.heapFirstMb.toFixed(1),
        m.heapLastMb.toFixed(1),
        `${m.lagMaxMs} ms (≤ ${m.lagMaxAtS} s)`,
      ]),
    ),
  );
  lines.push('', 'checks');
  for (const check of checks) lines.push(`  ${check.ok ? 'PASS' : 'FAIL'}  ${check.name} — ${check.detail}`);
  if (driver.failures.length > 0) lines.push('', 'failed and stale answers (up to 5 of each kind)', ...driver.failures.map((f) => `  ${f}`));
  const failed = checks.filter((c) => !c.ok).length;
  lines.push('', failed === 0 ? `soak: OK (${checks.length} checks passed)` : `soak: FAILED (${failed} of ${checks.length} checks failed)`);
  return lines;
}

/** What is kept in bench/results: everything but the per-link list (counts of it are in the checks). */
export function resultJson(run: SoakRun, checks: Check[]): unknown {
  const { links, ...driver } = run.driver;
  const states: Record<string, number> = {};
  for (const link of links) states[link.state] = (states[link.state] ?? 0) + 1;
  return {
    date: run.date,
    options: run.options,
    driver: { ...driver, linkStates: states, redirectsServed: links.reduce((sum, l) => sum + l.served, 0) },
    outage: run.outage,
    memory: memoryRows(run.samples, run.options.durationS),
    samples: run.samples,
    server: run.server,
    exits: run.exits,
    database: { rows: run.db.rows.length, clicks: run.db.rows.reduce((sum, r) => sum + r.clicks, 0), botHits: run.db.rows.reduce((sum, r) => sum + r.botHits, 0), duplicateCodes: run.db.duplicateCodes },
    finalAnswers: run.finalAnswers,
    checks,
    ok: checks.every((c) => c.ok),
  };
}

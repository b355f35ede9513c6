// KGS throughput and cost: how many codes one KGS process hands out per second, over plain HTTP
// (wrk) and through the client library the URL service uses, with the KGS's CPU µs per request (from
// /proc, all its processes) next to a bare node:http server measured in the same run on the same
// machine (the floor for any Node HTTP service here).
//
//   npm run bench:kgs        (REDIS_URL, default redis://127.0.0.1:6379)
//
// Works under a fresh random Redis key prefix and deletes it at the end; prints a table and writes
// bench/results/kgs-<timestamp>.json.
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createLogger } from '../src/core/logger.ts';
import { createRegistry, type Registry } from '../src/core/metrics.ts';
import { deleteByPrefix } from '../src/core/redis.ts';
import { createKgsClient } from '../src/kgs-client/kgs-client.ts';
import { redisKeyNames } from '../src/storage/redis/redis-key-store.ts';
import { startKgs, startService, type ServiceProcess } from '../test/support/processes.ts';
import { measureRound } from './lib/measure.ts';
import { cpuSpent, readCpu } from './lib/process-cpu.ts';
import { serverOf } from './lib/setup.ts';
import { WRK_MISSING, wrkInstalled } from './lib/wrk.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
// A benchmark is a script run by hand: reading its own two knobs here is fine (src/ reads env only in config).
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DURATION_S = 5;
const CONNECTIONS = 10;
/** Concurrent takeCode() loops in the client-library rows: as many as the HTTP rows' connections. */
const CLIENT_LOOPS = 10;
// Big enough that a 5 s run at full speed is mostly served from the pool, not from replenishment.
const POOL_TARGET = 500_000;
const LOW_WATERMARK = 200_000;
const START_TIMEOUT_MS = 20_000;
/** Before each KGS row a replenishment still running from the last one is let finish; bounded. */
const SETTLE_WAIT_MS = 8_000;

const prefix = `bench:kgs:${randomUUID().slice(0, 8)}:`;
const keys = redisKeyNames(prefix);
const token = randomUUID();
/** The baseline server and the KGS. */
const services: ServiceProcess[] = [];

interface Row {
  scenario: string;
  requestsPerS: number;
  codesPerS: number | null;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  errors: number;
  ratioToBaseline: number | null;
  /** The KGS's CPU µs per HTTP request (the baseline's own, on its row). */
  cpuUs: number | null;
  cpuRatio: number | null;
  notes: string;
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) {
      console.warn(`! gave up waiting for ${what} after ${timeoutMs} ms`);
      return false;
    }
    await sleep(50);
  }
  return true;
}

/** The reference: a bare node:http server answering what a one-code /codes answer looks like. */
function startBaseline(): Promise<ServiceProcess> {
  return startService('bench/baseline-server.ts', { BASELINE_MODE: 'json', BASELINE_BODY: JSON.stringify({ codes: ['abcdef'] }) }, { timeoutMs: START_TIMEOUT_MS });
}

function startKgsProcess(): Promise<ServiceProcess> {
  return startKgs({
    KGS_TOKEN: token,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    KGS_REUSE_COOLDOWN_S: '0',
    KGS_POOL_TARGET: String(POOL_TARGET),
    KGS_POOL_LOW_WATERMARK: String(LOW_WATERMARK),
  });
}

const round = (value: number, digits = 0): number => Number(value.toFixed(digits));

async function measureHttp(scenario: string, target: ServiceProcess, path: string, count: number | null, redis: Redis, baseline: Row | null): Promise<Row> {
  const usedBefore = count === null ? 0 : await redis.scard(keys.used);
  const availableBefore = count === null ? 0 : await redis.scard(keys.available);
  const env: Record<string, string> = { FIXED_PATH: path, EXPECT_STATUS: '200', ...(count === null ? {} : { AUTHORIZATION: `Bearer ${token}` }) };
  const result = await measureRound({ url: target.url, script: 'redirect', connections: CONNECTIONS, durationS: DURATION_S, env }, serverOf(target));
  // Codes are counted where they are recorded, not inferred from responses: used_keys only grows
  // when a code is handed out (cool-down 0, nothing returned during an HTTP row).
  const codes = count === null ? 0 : (await redis.scard(keys.used)) - usedBefore;
  const availableAfter = count === null ? 0 : await redis.scard(keys.available);
  const ok = result.statuses['200'] ?? 0;
  return {
    scenario,
    requestsPerS: round(result.rps),
    codesPerS: count === null ? null : round(codes / result.durationS),
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    // With a fixed number of connections always busy, Little's law gives the mean: connections / throughput.
    meanMs: round((CONNECTIONS / result.rps) * 1000, 3),
    errors: result.errors + result.wrong,
    ratioToBaseline: baseline === null ? 1 : round(result.rps / baseline.requestsPerS, 3),
    cpuUs: round(result.cpuUs, 1),
    cpuRatio: baseline?.cpuUs ? round(result.cpuUs / baseline.cpuUs, 2) : 1,
    notes:
      count === null
        ? `${result.requests} requests`
        : `${ok} x 200, ${round(ok > 0 ? codes / ok : 0, 1)} codes per response; available_keys ${availableBefore} before, ${availableAfter} after`,
  };
}

async function counterTotal(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

/**
 * CLIENT_LOOPS concurrent loops of `await takeCode()` for DURATION_S. A taken code is a synchronous
 * pop from the local buffer, so the loops run back to back on microtasks and let the event loop
 * handle I/O only when the buffer is empty: each batch is drained, then one KGS round trip is waited
 * for. That makes this the library's ceiling, and its p99 the cost of that round trip; a URL service,
 * doing I/O between takes, lets the background refill land before the buffer runs dry.
 */
async function measureClient(batchSize: number, kgs: ServiceProcess, baseline: Row): Promise<Row> {
  const registry = createRegistry({ defaultMetrics: false });
  const client = createKgsClient({ urls: [kgs.url], token, log: createLogger({ service: 'bench', level: 'warn' }), batchSize, registry });
  await until('the client buffer to fill', START_TIMEOUT_MS, async () => client.buffered() > 0);
  const requestsBefore = await counterTotal(registry, 'kgs_client_requests_total', { outcome: 'ok' });
  const latency: RecordableHistogram = createHistogram();
  const kgsProcesses = serverOf(kgs).server;
  const cpuBefore = readCpu(kgsProcesses);
  let codes = 0;
  let errors = 0;
  const started = performance.now();
  const end = started + DURATION_S * 1000;
  await Promise.all(
    Array.from({ length: CLIENT_LOOPS }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await client.takeCode();
          codes++;
        } catch {
          errors++;
        }
        latency.record(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const kgsCpu = cpuSpent(cpuBefore, readCpu(kgsProcesses));
  const requests = (await counterTotal(registry, 'kgs_client_requests_total', { outcome: 'ok' })) - requestsBefore;
  const cpuUs = kgsCpu / Math.max(1, requests);
  const failed = await counterTotal(registry, 'kgs_client_requests_total', { outcome: 'unavailable' });
  await client.close();
  return {
    scenario: `createKgsClient batchSize ${batchSize}, ${CLIENT_LOOPS} takeCode loops`,
    requestsPerS: round(requests / seconds),
    codesPerS: round(codes / seconds),
    p50Ms: round(latency.percentile(50) / 1e6, 3),
    p99Ms: round(latency.percentile(99) / 1e6, 3),
    meanMs: round(latency.mean / 1e6, 4),
    errors: errors + failed,
    ratioToBaseline: round(requests / seconds / baseline.requestsPerS, 3),
    cpuUs: round(cpuUs, 1),
    cpuRatio: baseline.cpuUs ? round(cpuUs / baseline.cpuUs, 2) : null,
    notes: 'requests = KGS calls made by the client; latency = one takeCode()',
  };
}

function printTable(rows: Row[]): void {
  const header = ['#', 'scenario', 'requests/s', 'codes/s', 'p50 ms', 'p99 ms', 'mean ms', 'errors', 'req/s vs baseline', 'KGS CPU µs/req', 'CPU vs baseline'];
  const body = rows.map((row, i) => [
    String(i),
    row.scenario,
    row.requestsPerS.toLocaleString('en-US'),
    row.codesPerS === null ? '-' : row.codesPerS.toLocaleString('en-US'),
    String(row.p50Ms),
    String(row.p99Ms),
    String(row.meanMs),
    String(row.errors),
    row.ratioToBaseline === null ? '-' : row.ratioToBaseline.toFixed(3),
    row.cpuUs === null ? '-' : row.cpuUs.toFixed(1),
    row.cpuRatio === null ? '-' : row.cpuRatio.toFixed(2),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((cells) => (cells[c] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((cell, c) => (c <= 1 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, c) => (c <= 1 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const cells of body) console.log(line(cells));
}

async function main(): Promise<void> {
  if (!(await wrkInstalled())) throw new Error(WRK_MISSING);
  const startedAt = new Date();
  const t0 = performance.now();
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const rows: Row[] = [];
  try {
    const base = await startBaseline();
    services.push(base);
    const kgs = await startKgsProcess();
    services.push(kgs);
    const poolFull = async (): Promise<boolean> => (await redis.scard(keys.available)) >= POOL_TARGET;
    // A row may leave the pool anywhere above the low watermark (no top-up is due then) or below it
    // with a replenishment running; the next row starts once available_keys has stopped moving.
    const poolSettled = async (): Promise<boolean> => {
      const first = await redis.scard(keys.available);
      await sleep(300);
      return first >= LOW_WATERMARK && (await redis.scard(keys.available)) === first;
    };
    const filled = performance.now();
    await until('the pool to fill', 30_000, poolFull);
    console.log(`# KGS ready; pool filled to ${POOL_TARGET} in ${Math.round(performance.now() - filled)} ms (prefix ${prefix})`);

    const baseline = await measureHttp('baseline: bare node:http, fixed body', base, '', null, redis, null);
    rows.push(baseline);
    await base.stop();

    await until('the pool to settle', SETTLE_WAIT_MS, poolSettled);
    rows.push(await measureHttp(`GET /codes?count=100, ${CONNECTIONS} connections`, kgs, 'codes?count=100', 100, redis, baseline));
    await until('the pool to settle', SETTLE_WAIT_MS, poolSettled);
    rows.push(await measureHttp(`GET /codes?count=1, ${CONNECTIONS} connections`, kgs, 'codes?count=1', 1, redis, baseline));
    for (const batchSize of [200, 1000]) {
      await until('the pool to settle', SETTLE_WAIT_MS, poolSettled);
      rows.push(await measureClient(batchSize, kgs, baseline));
    }
    await kgs.stop();
    const warnings = kgs.output().trim();
    if (warnings !== '') console.log(`# KGS log (warn and above):\n${warnings.split('\n').slice(0, 10).join('\n')}`);
  } finally {
    await Promise.all(services.map((service) => service.stop()));
    const deleted = await deleteByPrefix(redis, prefix);
    redis.disconnect();
    console.log(`# cleaned up: ${deleted} Redis keys under ${prefix}`);
  }

  printTable(rows);
  console.log('# HTTP rows: wrk; mean = connections / throughput. Client rows: requests = KGS calls the library made; latency = one takeCode(). KGS CPU: the KGS process (from /proc) per request it answered.');
  const seconds = round((performance.now() - t0) / 1000, 1);
  const cpu = cpus()[0]?.model ?? 'unknown';
  const result = {
    benchmark: 'kgs',
    date: startedAt.toISOString(),
    seconds,
    machine: { node: process.version, platform: `${platform()} ${release()}`, cpus: cpus().length, cpu },
    settings: { durationS: DURATION_S, connections: CONNECTIONS, clientLoops: CLIENT_LOOPS, poolTarget: POOL_TARGET, lowWatermark: LOW_WATERMARK, reuseCooldownS: 0, redis: REDIS_URL.replace(/\/\/[^@/]*@/, '//') },
    rows,
  };
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}kgs-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`# ${seconds} s; results in ${file.slice(ROOT.length)}`);
}

main().catch(async (err: unknown) => {
  console.error(err);
  await Promise.all(services.map((service) => service.stop()));
  process.exit(1);
});

// What `npm run bench:capacity` measures on real servers, for the storage and per-operation figures
// of the plan: sizes per row in PostgreSQL (a scratch database curt_capacity_<pid> on the shared
// server, dropped at the end), the PostgreSQL backend's CPU and WAL per creation, per lookup and per
// link in a click flush (through the real store, src/storage/postgres/pg-link-store.ts), and in a
// private redis-server (never the shared one) the memory of a cached link and of a used code in the
// key pool, and Redis's CPU per cache read (the real src/storage/redis code writes and reads them).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createLogger } from '../../src/core/logger.ts';
import { migrate } from '../../src/core/migrate.ts';
import { createPgPool, pgRunner } from '../../src/core/postgres.ts';
import type { CachedLink } from '../../src/storage/link-cache.ts';
import { createMemoryLinkCache } from '../../src/storage/memory/memory-link-cache.ts';
import type { ClickAggregate, DayClicks, Dimension } from '../../src/storage/link-store.ts';
import { createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { createRedisKeyStore } from '../../src/storage/redis/redis-key-store.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import { startPrivateRedis } from '../../test/support/redis-server.ts';
import { cpuSpent, readCpu } from './process-cpu.ts';

/** The target URL every measured link has: 100 characters, an assumption (docs/scaling.md). */
export const TARGET_URL_LENGTH = 100;
const targetUrl = (i: number): string => {
  const head = `https://www.example-shop.com/collections/winter/item-${i}?utm_source=newsletter&utm_medium=email&c=`;
  return head + 'x'.repeat(Math.max(0, TARGET_URL_LENGTH - head.length));
};
/** The values of one click, as the flush writes them (docs/privacy.md: never an address or a User-Agent). */
const CLICK_VALUES: [Dimension, string][] = [
  ['referrer', 'www.google.com'],
  ['country', 'US'],
  ['browser', 'Chrome'],
  ['os', 'Android'],
  ['device', 'mobile'],
];

export interface PostgresFigures {
  linksLoaded: number;
  /** Bytes per link: heap, indexes, total (pg_total_relation_size / rows). */
  urlsHeapBytesPerRow: number;
  urlsIndexBytesPerRow: number;
  urlsIndexes: number;
  dailyClicksBytesPerRow: number;
  dailyValuesBytesPerRow: number;
  /** PostgreSQL backend CPU µs per creation (store.insert, batched as the service batches them). */
  creationCpuUs: number;
  creationWalBytes: number;
  /** Backend CPU µs per lookup: one at a time, and 64 at once (one coalesced query). */
  lookupCpuUs: number;
  lookupBatchedCpuUs: number;
  /** Per link in a click flush (one click with five values each): backend CPU, WAL (full-page images included), pages touched. */
  flushLinksPerBatch: number;
  flushCpuUsPerLink: number;
  flushWalBytesPerLink: number;
  flushFpiBytesPerLink: number;
  flushPagesPerLink: number;
  flushWallMsPerBatch: number;
}

export interface RedisFigures {
  /** used_memory per `url:{code}` entry with a TTL (the real cache's format, a 100-character URL). */
  bytesPerCachedLink: number;
  /** used_memory per code in used_keys (every code ever handed out stays there). */
  bytesPerUsedCode: number;
  /** redis-server CPU µs per cache read (the read script: entry, epoch, PTTL) and per cache write. */
  cpuUsPerRead: number;
  cpuUsPerWrite: number;
}

const silent = createLogger({ service: 'bench', level: 'silent' });

function link(id: number): CachedLink {
  return { id, url: targetUrl(id), expiresAt: null, limited: false, isActive: true, consumed: false, forwardQuery: false, hasPassword: false };
}

async function usedMemory(redis: { info(section: string): Promise<string> }): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 'NaN');
}

/** In chunks of `width` concurrent calls: what a busy service sends at once. */
async function inChunks(n: number, width: number, call: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i += width) await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, k) => call(i + k)));
}

export async function measureRedis(entries = 100_000): Promise<RedisFigures> {
  const server = await startPrivateRedis();
  try {
    const redis = server.client();
    const cache = createRedisLinkCache({ redis, prefix: '', log: silent });
    const codes = Array.from({ length: entries }, (_, i) => `c${i.toString(36).padStart(5, '0')}`);
    await cache.read('warm'); // the epoch read and the scripts loaded before measuring
    const memoryBefore = await usedMemory(redis);
    let cpu = readCpu([server.pid()]);
    await inChunks(entries, 500, (i) => cache.set(codes[i] ?? '', link(i), 3600, { ifAbsent: true }));
    const cpuUsPerWrite = cpuSpent(cpu, readCpu([server.pid()])) / entries;
    const bytesPerCachedLink = ((await usedMemory(redis)) - memoryBefore) / entries;
    cpu = readCpu([server.pid()]);
    await inChunks(entries, 500, (i) => cache.read(codes[(i * 7919) % entries] ?? ''));
    const cpuUsPerRead = cpuSpent(cpu, readCpu([server.pid()])) / entries;

    // The key pool: offered, then all handed out (they stay in used_keys for good).
    const keys = createRedisKeyStore(redis, 'pool:');
    const poolBefore = await usedMemory(redis);
    const pool = Array.from({ length: entries }, (_, i) => `k${i.toString(36).padStart(5, '0')}`);
    for (let i = 0; i < entries; i += 1000) await keys.offer(pool.slice(i, i + 1000));
    for (let taken = 0; taken < entries; taken += 200) await keys.take(200);
    const bytesPerUsedCode = ((await usedMemory(redis)) - poolBefore) / entries;
    return { bytesPerCachedLink, bytesPerUsedCode, cpuUsPerRead, cpuUsPerWrite };
  } finally {
    await server.stop();
  }
}

interface WalReading {
  records: number;
  fpi: number;
  pages: number;
}

/** WAL written for this database between two positions: record and full-page-image bytes, pages touched. */
async function walBetween(session: pg.Client, dbOid: number, from: string, to: string): Promise<WalReading> {
  const { rows } = await session.query<{ record_length: number; fpi_length: number; block_ref: string | null }>(
    'SELECT record_length, fpi_length, block_ref FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn) WHERE block_ref LIKE $3',
    [from, to, `%/${dbOid}/%`],
  );
  const pages = new Set<string>();
  let records = 0;
  let fpi = 0;
  for (const row of rows) {
    records += Number(row.record_length);
    fpi += Number(row.fpi_length);
    // "rel <tablespace>/<database>/<relation> [fork <name>] blk <n>": the main fork is not named.
    for (const m of (row.block_ref ?? '').matchAll(/rel (\d+)\/(\d+)\/(\d+)(?: fork (\w+))? blk (\d+)/g)) {
      if (Number(m[2]) === dbOid) pages.add(`${m[3]}:${m[4] ?? 'main'}:${m[5]}`);
    }
  }
  return { records, fpi, pages: pages.size };
}

export async function measurePostgres(adminUrl: string, options: { links?: number; flushBatches?: number; flushLinks?: number } = {}): Promise<PostgresFigures> {
  const linksLoaded = options.links ?? 500_000;
  const batches = options.flushBatches ?? 8;
  const perBatch = options.flushLinks ?? 2000;
  const name = `curt_capacity_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  // The shared server recycles WAL segments quickly under other work: a temporary slot keeps them
  // until they are read (it goes with this session, even if the bench dies).
  await admin.query('SELECT pg_create_physical_replication_slot($1, true, true)', [name]);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  // One connection: the one backend whose CPU is read.
  const pool = createPgPool({ url: url.toString(), log: silent, max: 1, applicationName: 'curt-capacity' });
  try {
    await migrate(db, silent);
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
    const dbOid = Number((await db.query<{ oid: number }>('SELECT oid FROM pg_database WHERE datname = current_database()')).rows[0]?.oid);
    const owner = Number((await db.query<{ id: number }>("INSERT INTO api_keys (key_hash, key_prefix) VALUES ('\\x00', 'cap') RETURNING id")).rows[0]?.id);
    for (let from = 0; from < linksLoaded; from += 100_000) {
      const to = Math.min(linksLoaded, from + 100_000);
      await db.query(
        `INSERT INTO urls (short_code, original_url, owner_key_id)
         SELECT lpad(to_hex(i), 6, '0'), $1 || i || repeat('x', greatest(0, $2 - length($1 || i))), $3 FROM generate_series($4::int, $5::int - 1) AS i`,
        [targetUrl(0).slice(0, targetUrl(0).indexOf('item-') + 5), TARGET_URL_LENGTH, owner, from, to],
      );
    }
    await db.query('VACUUM ANALYZE urls');
    const size = (await db.query<{ heap: string; indexes: string; n: string }>(
      "SELECT pg_table_size('urls') AS heap, pg_indexes_size('urls') AS indexes, (SELECT count(*) FROM pg_indexes WHERE tablename = 'urls') AS n",
    )).rows[0];
    const store = createPgLinkStore(pgRunner(pool));
    const backend = Number((await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
    const lsn = async (): Promise<string> => String((await admin.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn() AS lsn')).rows[0]?.lsn);
    // pg_get_wal_records_info reads only WAL already flushed: wait for the WAL writer to pass this point.
    const flushedLsn = async (): Promise<string> => {
      const target = await lsn();
      for (let i = 0; i < 100; i++) {
        const { rows } = await admin.query<{ done: boolean }>('SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn AS done', [target]);
        if (rows[0]?.done === true) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return target;
    };

    // Creations, 16 at a time: the store coalesces them into multi-row INSERTs, as under load.
    const creations = 4000;
    let walFrom = await lsn();
    let cpu = readCpu([backend]);
    await inChunks(creations, 16, (i) => store.insert({ code: `n${i.toString(36).padStart(5, '0')}`, url: targetUrl(i), expiresAt: null, isCustomAlias: false, ownerKeyId: owner }));
    const creationCpuUs = cpuSpent(cpu, readCpu([backend])) / creations;
    const creationWal = await walBetween(db, dbOid, walFrom, await flushedLsn());

    // The redirect's lookups of random existing codes: one at a time, then 64 at once (one coalesced query).
    const lookups = 10_000;
    const code = (i: number): string => ((i * 2_654_435_761) % linksLoaded).toString(16).padStart(6, '0');
    cpu = readCpu([backend]);
    for (let i = 0; i < lookups; i++) await store.findRedirect(code(i));
    const lookupCpuUs = cpuSpent(cpu, readCpu([backend])) / lookups;
    cpu = readCpu([backend]);
    await inChunks(lookups * 4, 64, (i) => store.findRedirect(code(i + lookups)));
    const lookupBatchedCpuUs = cpuSpent(cpu, readCpu([backend])) / (lookups * 4);

    // Click flushes: batches of distinct random links, one click with five values each, today.
    const ids = (await db.query<{ id: number }>('SELECT id FROM urls ORDER BY random() LIMIT $1', [batches * perBatch])).rows.map((r) => Number(r.id));
    const day = new Date().toISOString().slice(0, 10);
    const aggregate = (linkId: number): ClickAggregate => {
      const values = new Map(CLICK_VALUES.map(([dimension, value]) => [dimension, new Map([[value, 1]])]));
      const dayClicks: DayClicks = { clicks: 1, botHits: 0, values };
      return { linkId, clicks: 1, botHits: 0, lastClickedAt: new Date(), days: new Map([[day, dayClicks]]) };
    };
    walFrom = await lsn();
    cpu = readCpu([backend]);
    const started = performance.now();
    for (let b = 0; b < batches; b++) await store.applyClicks(ids.slice(b * perBatch, (b + 1) * perBatch).map(aggregate), randomUUID());
    const flushWallMsPerBatch = (performance.now() - started) / batches;
    const flushed = batches * perBatch;
    const flushCpuUsPerLink = cpuSpent(cpu, readCpu([backend])) / flushed;
    const flushWal = await walBetween(db, dbOid, walFrom, await flushedLsn());
    await db.query('VACUUM ANALYZE url_daily_clicks, url_daily_values');
    const daily = (await db.query<{ clicks: string; values: string; clicks_rows: string; values_rows: string }>(
      `SELECT pg_total_relation_size('url_daily_clicks') AS clicks, pg_total_relation_size('url_daily_values') AS values,
              (SELECT count(*) FROM url_daily_clicks) AS clicks_rows, (SELECT count(*) FROM url_daily_values) AS values_rows`,
    )).rows[0];
    return {
      linksLoaded,
      urlsHeapBytesPerRow: Number(size?.heap) / linksLoaded,
      urlsIndexBytesPerRow: Number(size?.indexes) / linksLoaded,
      urlsIndexes: Number(size?.n),
      dailyClicksBytesPerRow: Number(daily?.clicks) / Number(daily?.clicks_rows),
      dailyValuesBytesPerRow: Number(daily?.values) / Number(daily?.values_rows),
      creationCpuUs,
      creationWalBytes: creationWal.records / creations,
      lookupCpuUs,
      lookupBatchedCpuUs,
      flushLinksPerBatch: perBatch,
      flushCpuUsPerLink,
      flushWalBytesPerLink: flushWal.records / flushed,
      flushFpiBytesPerLink: flushWal.fpi / flushed,
      flushPagesPerLink: flushWal.pages / flushed,
      flushWallMsPerBatch,
    };
  } finally {
    await pool.end().catch(() => undefined);
    await db.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

/**
 * CPU µs per eviction of the in-process cache class itself (src/storage/memory/memory-link-cache.ts)
 * once full: every fill of a near miss evicts one entry. Filled to `size`, then 2 × size fills of new
 * codes; the second half is timed (the Map's deleted slots have reached their steady number by then).
 */
export function measureNearEviction(size: number): number {
  let clock = 0;
  const cache = createMemoryLinkCache({ maxEntries: size, now: () => clock });
  const entry = link(1);
  for (let i = 0; i < size; i++) void cache.set(`f${i}`, entry, 60);
  for (let i = 0; i < size; i++) void cache.set(`a${i}`, entry, 60);
  const started = process.cpuUsage();
  for (let i = 0; i < size; i++) void cache.set(`b${i}`, entry, 60);
  const spent = process.cpuUsage(started);
  clock += 1;
  return (spent.user + spent.system) / size;
}

// Redirect lookups on a streaming replica (DATABASE_READ_URL), never older than the primary was when
// the lookup began.
//
// The rule (docs/scaling.md, "PostgreSQL read replicas"): a batch of lookups first reads how far the
// primary has inserted WAL, `pg_current_wal_insert_lsn()` (no table, no lock: the cheapest
// statement there is), then asks the replica how far it has replayed and, in a later statement on
// the same connection, for the rows. The rows count only when the replica had replayed at least up
// to the primary's position. Every commit's record is inserted before the commit is acknowledged,
// whatever synchronous_commit says; the flush position would not do: with synchronous_commit off (a
// DBA's common throughput setting) a commit is acknowledged before its WAL is flushed, and a replica
// at the flush position lacks it, so it would answer 404 for a link just created. Hence every write
// acknowledged before the lookup began (a creation, an update, a deletion, the visit that used a
// one-time link up) is then in what the replica answers, so its
// answer, a row or no row, is one the primary could have given during the lookup: a stale target
// can neither be served nor written to the shared cache, and the cache's own rules for racing
// writers (fills only where no entry is, src/url/link-service.ts) hold as they do for a primary read.
// A replica a few milliseconds behind (it always is, under writes) is given one more look after a
// short wait; still behind (paused, lagging), or down or failing, the batch reads the primary.
//
// Why not a lag bound in time, or the cache's invalidations: either leaves a window (a write within
// the bound, a cache entry evicted or expired, Redis down, CACHE_TTL_S=0) in which a replica behind
// by minutes would answer with a row the primary has since changed.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createBatcher, type BatcherLimits } from '../../core/batcher.ts';
import { CircuitBreaker, breakerStateValue, type BreakerState } from '../../core/circuit-breaker.ts';
import type { Logger } from '../../core/logger.ts';
import { createTallyCounter, Gauge, type Registry } from '../../core/metrics.ts';
import type { Pool } from '../../core/postgres.ts';
import type { SqlRunner } from '../../core/sql.ts';
import { isPostgresUnavailable } from '../../core/unavailable.ts';
import type { CachedLink } from '../link-cache.ts';
import type { LinkStore } from '../link-store.ts';
import { MAX_CONCURRENT_BATCHES } from './pg-link-store.ts';
import { REDIRECT_COLUMNS, toRedirect, type RedirectRow } from './pg-link-row.ts';

/** How a lookup was answered: by the replica (a row, or none), or by the primary and why. */
export type ReplicaLookupResult = 'hit' | 'miss' | 'behind_fallback' | 'error_fallback';

export interface ReplicaLinkReads {
  /** The redirect's lookup: the replica's row when it is fresh enough, else the primary's. */
  findRedirect(code: string): Promise<CachedLink | null>;
  /** For /ready: throws while the replica cannot be reached. Never decides readiness: lookups fall back. */
  ping(): Promise<void>;
  state(): BreakerState;
}

export interface ReplicaLinkReadsOptions {
  /** The primary, behind its own breaker (its outage is the service's, as without a replica). */
  primary: SqlRunner;
  /** The primary's lookups (batched there), for every batch the replica cannot answer. */
  primaryLinks: Pick<LinkStore, 'findRedirect'>;
  /** The replica's pool: the check and the read go to one connection in one round trip. */
  replica: Pool;
  log: Logger;
  registry?: Registry;
  limits: BatcherLimits;
  /** Default CATCH_UP_WAIT_MS; 0: no second look. */
  catchUpWaitMs?: number;
  now?: () => number;
}

const MAX_BATCH = 256;

/**
 * How long a batch the replica was behind for waits before it asks again, once. Streaming replay on
 * the same network trails the primary by about a millisecond, so under a steady stream of writes
 * (click flushes, creations) the first look often comes just too early; a second look a moment later
 * keeps those lookups off the primary, and a replica still behind costs a cache miss this much more.
 */
export const CATCH_UP_WAIT_MS = 5;

/** WAL positions as byte counts: `pg_lsn - '0/0'` is numeric, which node-postgres hands over as text. */
const PRIMARY_POSITION_SQL = "SELECT (pg_current_wal_insert_lsn() - '0/0')::text AS lsn";

/**
 * Two statements in one simple-protocol round trip: each takes its own snapshot (READ COMMITTED),
 * the second after the first has answered, so it sees at least everything replayed up to the
 * position the first reports. (One statement could not say so: its snapshot is taken before it
 * reads the position.) One connection, one implicit transaction: behind a pooler or a load balancer
 * of several replicas both reach the same server. Codes are literals here (the simple protocol takes
 * no parameters), quoted by node-postgres.
 */
function replicaReadSql(codes: readonly string[]): string {
  const literals = codes.map((code) => pg.Client.prototype.escapeLiteral(code)).join(', ');
  return `SELECT pg_is_in_recovery() AS standby, (pg_last_wal_replay_lsn() - '0/0')::text AS lsn; SELECT ${REDIRECT_COLUMNS} FROM urls WHERE urls.short_code = ANY(ARRAY[${literals}]::varchar[])`;
}

type Position = { standby: boolean; lsn: string | null };

export function createReplicaLinkReads(options: ReplicaLinkReadsOptions): ReplicaLinkReads {
  const { primary, primaryLinks, replica, log } = options;
  const catchUpWaitMs = options.catchUpWaitMs ?? CATCH_UP_WAIT_MS;
  const counted = options.registry === undefined ? undefined : createLookupCounter(options.registry);
  // Its own breaker: a replica that is down costs each lookup nothing once it is open, and never
  // touches the primary's breaker (the service stays up on the primary).
  const breaker = new CircuitBreaker({
    name: 'postgres_replica',
    failureThreshold: 3,
    resetTimeoutMs: 2000,
    isFailure: isPostgresUnavailable,
    ...(options.now ? { now: options.now } : {}),
    onStateChange: (_name, from, to) => {
      const level = to === 'open' ? 'warn' : 'info';
      log[level]({ dependency: 'postgres_replica', from, to }, `postgres replica circuit breaker ${from} -> ${to}; redirect lookups ${to === 'closed' ? 'read the replica again' : 'read the primary'}`);
    },
  });
  let behindBytes = 0;
  let warnedNotStandby = false;
  /** The last look found no standby: waiting for it to catch up would be in vain. */
  let notStandby = false;
  if (options.registry !== undefined) {
    new Gauge({
      name: 'db_read_replica_state',
      help: 'Circuit breaker of the read replica (DATABASE_READ_URL): 0 closed, 1 half-open, 2 open (redirect lookups read the primary)',
      registers: [options.registry],
      collect() {
        this.set(breakerStateValue(breaker.state));
      },
    });
    new Gauge({
      name: 'db_read_replica_behind_bytes',
      help: 'At the last lookup batch, how many bytes of WAL the replica had not replayed of what the primary had written (0: caught up)',
      registers: [options.registry],
      collect() {
        this.set(behindBytes);
      },
    });
  }

  /** The replica's rows when it has replayed up to `fence`; null when it is behind. */
  async function readReplica(codes: readonly string[], fence: bigint): Promise<RedirectRow[] | null> {
    const results = (await replica.query(replicaReadSql(codes))) as unknown as [pg.QueryResult<Position>, pg.QueryResult<RedirectRow>];
    const [position, found] = results;
    const { standby = false, lsn = null } = position.rows[0] ?? {};
    notStandby = !standby;
    if (!standby) {
      // Not a standby at all (a promoted one, or the wrong URL): its rows may be anyone's. Said once.
      if (!warnedNotStandby) log.warn('DATABASE_READ_URL is not a streaming replica (not in recovery): redirect lookups read the primary');
      warnedNotStandby = true;
      return null;
    }
    // A standby that has not replayed anything yet (just started) is behind.
    if (lsn === null) return null;
    const replayed = BigInt(lsn);
    behindBytes = fence > replayed ? Number(fence - replayed) : 0;
    return replayed >= fence ? found.rows : null;
  }

  async function fromPrimary(codes: readonly string[], result: ReplicaLookupResult): Promise<(CachedLink | null | Error)[]> {
    for (let i = 0; i < codes.length; i++) counted?.(result);
    // One by one into the primary's own batcher: they go out together, as its lookups always do.
    return Promise.all(codes.map((code) => primaryLinks.findRedirect(code).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))))));
  }

  const findRedirect = createBatcher<string, CachedLink | null>(
    async (codes) => {
      // Read after every lookup of this batch began: the position that bounds what they may miss.
      // The primary down fails the batch as a lookup without a replica would.
      const { rows } = await primary.query<{ lsn: string }>(PRIMARY_POSITION_SQL);
      const fence = BigInt(rows[0]?.lsn ?? '0');
      if (!breaker.allows()) return fromPrimary(codes, 'error_fallback');
      const distinct = [...new Set(codes)];
      let found: RedirectRow[] | null;
      try {
        found = await breaker.run(() => readReplica(distinct, fence));
        if (found === null && !notStandby && catchUpWaitMs > 0) {
          await sleep(catchUpWaitMs);
          found = await breaker.run(() => readReplica(distinct, fence));
        }
      } catch (err) {
        // An outage opens the breaker; anything else (a replica without the schema) is logged: either
        // way this batch has its answer from the primary.
        if (!isPostgresUnavailable(err)) log.warn({ dependency: 'postgres_replica', err: (err as Error).message }, 'replica lookup failed; read the primary');
        return fromPrimary(codes, 'error_fallback');
      }
      if (found === null) return fromPrimary(codes, 'behind_fallback');
      const byCode = new Map(found.map((row) => [row.short_code, row]));
      return codes.map((code) => {
        const row = byCode.get(code);
        counted?.(row === undefined ? 'miss' : 'hit');
        return row === undefined ? null : toRedirect(row);
      });
    },
    MAX_BATCH,
    MAX_CONCURRENT_BATCHES,
    options.limits,
  );

  return {
    findRedirect,
    async ping() {
      // A probe is a call like any: it can close the breaker again after an outage.
      await breaker.run(() => replica.query('SELECT 1'));
    },
    state: () => breaker.state,
  };
}

function createLookupCounter(registry: Registry): (result: ReplicaLookupResult) => void {
  return createTallyCounter({
    name: 'db_read_replica_lookups_total',
    help: 'Redirect lookups that read PostgreSQL, by who answered: the replica (hit: a row, miss: none) or the primary (behind_fallback: the replica had not replayed the writes made before the lookup; error_fallback: the replica is down or failed)',
    label: 'result',
    registry,
  });
}

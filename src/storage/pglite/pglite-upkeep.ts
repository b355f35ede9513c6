// PostgreSQL's autovacuum, for PGlite. PGlite is PostgreSQL in one process without background workers:
// its `autovacuum` setting reads `on`, but no launcher ever runs, so no table is vacuumed or analysed.
// Unvacuumed, every click flush leaves a dead version of each clicked link's url_totals row, and its
// index entries, for good; unanalysed, the planner never learns how large the click tables have grown
// (a flush of 250 links took 73–695 ms on tables never analysed, 40–49 ms after ANALYZE:
// docs/performance.md). This pass does what the launcher would, with its default thresholds, from the
// same counters (pg_stat_user_tables, which PGlite keeps): a table is vacuumed once its dead rows (or, for the visibility map, rows inserted
// since its last vacuum) pass the threshold, analysed once its changes pass theirs.
//
// PGlite runs statements one at a time, in the order they come: each table is its own statement, so
// those that requests wait on get in between. A pass is skipped while one still runs.
import type { Logger } from '../../core/logger.ts';
import type { SqlRunner } from '../../core/sql.ts';

/** PostgreSQL's autovacuum defaults (autovacuum_vacuum_threshold, …_scale_factor, and the rest). */
const VACUUM_THRESHOLD = 50;
const VACUUM_SCALE = 0.2;
const INSERT_THRESHOLD = 1000;
const INSERT_SCALE = 0.2;
const ANALYZE_THRESHOLD = 50;
const ANALYZE_SCALE = 0.1;

/** A table's counters in pg_stat_user_tables. */
interface TableCounts {
  live: number;
  dead: number;
  insertedSinceVacuum: number;
  modifiedSinceAnalyze: number;
}

export type Upkeep = 'vacuum' | 'analyze';
/** What a pass did to which table (schema-qualified, quoted). */
export type UpkeepDone = { table: string; upkeep: Upkeep }[];

/** What a table needs by autovacuum's rules: a vacuum (with an analyse), an analyse alone, or nothing. */
export function upkeepOf(table: TableCounts): Upkeep | null {
  if (table.dead > VACUUM_THRESHOLD + VACUUM_SCALE * table.live) return 'vacuum';
  if (table.insertedSinceVacuum > INSERT_THRESHOLD + INSERT_SCALE * table.live) return 'vacuum';
  if (table.modifiedSinceAnalyze > ANALYZE_THRESHOLD + ANALYZE_SCALE * table.live) return 'analyze';
  return null;
}

export interface PgliteUpkeep {
  /** One pass over every table. */
  runPass(): Promise<UpkeepDone>;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

export function startPgliteUpkeep(db: SqlRunner, log: Logger, options: { intervalMs: number }): PgliteUpkeep {
  let running: Promise<UpkeepDone> | null = null;

  async function pass(): Promise<UpkeepDone> {
    const { rows } = await db.query<{ name: string; live: string; dead: string; inserted: string; modified: string }>(
      `SELECT format('%I.%I', schemaname, relname) AS name, n_live_tup AS live, n_dead_tup AS dead,
              n_ins_since_vacuum AS inserted, n_mod_since_analyze AS modified
         FROM pg_stat_user_tables ORDER BY relid`,
    );
    const done: UpkeepDone = [];
    for (const row of rows) {
      const upkeep = upkeepOf({ live: Number(row.live), dead: Number(row.dead), insertedSinceVacuum: Number(row.inserted), modifiedSinceAnalyze: Number(row.modified) });
      if (upkeep === null) continue;
      const started = performance.now();
      await db.query(upkeep === 'vacuum' ? `VACUUM (ANALYZE) ${row.name}` : `ANALYZE ${row.name}`);
      log.debug({ table: row.name, upkeep, ms: Math.round(performance.now() - started) }, 'embedded database upkeep');
      done.push({ table: row.name, upkeep });
    }
    return done;
  }

  function runPass(): Promise<UpkeepDone> {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  }

  const timer = setInterval(() => {
    if (running !== null) return;
    runPass().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'embedded database upkeep (vacuum, analyse) failed; will retry'));
  }, options.intervalMs);
  timer.unref();

  return {
    runPass,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}

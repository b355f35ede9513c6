// PostgreSQL's autovacuum, for PGlite. PGlite is PostgreSQL in one process without background workers:
// its `autovacuum` setting reads `on`, but no launcher ever runs, so no table is vacuumed or analysed.
// Unvacuumed, every click flush leaves a dead version of each clicked link's url_totals row, and its
// index entries, for good; unanalysed, the planner never learns how large the click tables have grown
// (a flush's statements took up to 14× longer on such a database: docs/performance.md). This pass does
// what the launcher would, with its default thresholds, from the same counters (pg_stat_user_tables,
// which PGlite keeps): a table is vacuumed once its dead rows (or, for the visibility map, rows inserted
// since its last vacuum) pass the threshold, analysed once its changes pass theirs.
//
// PGlite runs one statement at a time, so each table is its own statement, and the statements that
// requests wait on get in between; a pass is skipped while one still runs.
import type { Logger } from '../../core/logger.ts';
import type { SqlRunner } from '../../core/sql.ts';

/** PostgreSQL's autovacuum defaults (autovacuum_vacuum_threshold, …_scale_factor, and the rest). */
const VACUUM_THRESHOLD = 50;
const VACUUM_SCALE = 0.2;
const INSERT_THRESHOLD = 1000;
const INSERT_SCALE = 0.2;
const ANALYZE_THRESHOLD = 50;
const ANALYZE_SCALE = 0.1;

interface TableCounts {
  name: string;
  live: number;
  dead: number;
  insertedSinceVacuum: number;
  modifiedSinceAnalyze: number;
}

export type Upkeep = 'vacuum' | 'analyze';

/** What a table needs by autovacuum's rules: a vacuum (with an analyse), an analyse alone, or nothing. */
export function upkeepOf(table: Omit<TableCounts, 'name'>): Upkeep | null {
  if (table.dead > VACUUM_THRESHOLD + VACUUM_SCALE * table.live) return 'vacuum';
  if (table.insertedSinceVacuum > INSERT_THRESHOLD + INSERT_SCALE * table.live) return 'vacuum';
  if (table.modifiedSinceAnalyze > ANALYZE_THRESHOLD + ANALYZE_SCALE * table.live) return 'analyze';
  return null;
}

export interface PgliteUpkeep {
  /** One pass over every table; resolves to what was done to which (quoted) table. */
  runPass(): Promise<{ table: string; upkeep: Upkeep }[]>;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

export function startPgliteUpkeep(db: SqlRunner, log: Logger, options: { intervalMs: number }): PgliteUpkeep {
  let running: Promise<{ table: string; upkeep: Upkeep }[]> | null = null;

  async function pass(): Promise<{ table: string; upkeep: Upkeep }[]> {
    const { rows } = await db.query<{ name: string; live: string; dead: string; inserted: string; modified: string }>(
      `SELECT format('%I.%I', schemaname, relname) AS name, n_live_tup AS live, n_dead_tup AS dead,
              n_ins_since_vacuum AS inserted, n_mod_since_analyze AS modified
         FROM pg_stat_user_tables ORDER BY relid`,
    );
    const done: { table: string; upkeep: Upkeep }[] = [];
    for (const row of rows) {
      const upkeep = upkeepOf({ live: Number(row.live), dead: Number(row.dead), insertedSinceVacuum: Number(row.inserted), modifiedSinceAnalyze: Number(row.modified) });
      if (upkeep === null) continue;
      await new Promise((resolve) => setImmediate(resolve));
      const started = performance.now();
      await db.query(upkeep === 'vacuum' ? `VACUUM (ANALYZE) ${row.name}` : `ANALYZE ${row.name}`);
      log.debug({ table: row.name, upkeep, ms: Math.round(performance.now() - started) }, 'embedded database upkeep');
      done.push({ table: row.name, upkeep });
    }
    return done;
  }

  function runPass(): Promise<{ table: string; upkeep: Upkeep }[]> {
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

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
//
// A large table is analysed in parts, for the same reason. `urls` samples every row it has up to
// 300,000 for its two columns with a statistics target of 1000 (migration 010) and computes the
// import's md5(original_url) expression for each: one VACUUM (ANALYZE) of 310,000 links held every
// request for 1.3 s (docs/performance.md, "The one-machine ANALYZE stall, in parts"). From
// ANALYZE_IN_PARTS_FROM rows on, a table with columns of a target above the default has each of those
// analysed in a statement of its own and the other columns together in one more. The whole table (the only form that
// gathers an expression index's statistics, and resets the change counter) is analysed when an
// expression index has no statistics yet, and once the changes since its last whole analyse reach
// half its rows (about doubled): an expression's statistics of half the rows still hold, the md5 of
// distinct URLs staying distinct and n_distinct kept as a share of the rows. Both are read from the
// database, so a restart does not change them.
import type { Logger } from '../../core/logger.ts';
import type { SqlRunner } from '../../core/sql.ts';

/** PostgreSQL's autovacuum defaults (autovacuum_vacuum_threshold, …_scale_factor, and the rest). */
const VACUUM_THRESHOLD = 50;
const VACUUM_SCALE = 0.2;
const INSERT_THRESHOLD = 1000;
const INSERT_SCALE = 0.2;
const ANALYZE_THRESHOLD = 50;
const ANALYZE_SCALE = 0.1;
/** Rows from which a table is analysed in parts: below, a whole ANALYZE of `urls` took 115 ms. */
export const ANALYZE_IN_PARTS_FROM = 30_000;
/** A PostgreSQL default statistics target column: analysed with the others, not alone. */
const DEFAULT_TARGET = 100;

/** A table's counters in pg_stat_user_tables. */
interface TableCounts {
  live: number;
  dead: number;
  insertedSinceVacuum: number;
  modifiedSinceAnalyze: number;
}

export type Upkeep = 'vacuum' | 'analyze';
/**
 * What a pass did to which table (schema-qualified, quoted); `parts`: the statements of an analyse in
 * parts (a vacuum of such a table comes without its analyse, which then follows only when due).
 */
export type UpkeepDone = { table: string; upkeep: Upkeep; parts?: number }[];

/** What a table needs by autovacuum's rules: a vacuum (with an analyse), an analyse alone, or nothing. */
export function upkeepOf(table: TableCounts): Upkeep | null {
  if (table.dead > VACUUM_THRESHOLD + VACUUM_SCALE * table.live) return 'vacuum';
  if (table.insertedSinceVacuum > INSERT_THRESHOLD + INSERT_SCALE * table.live) return 'vacuum';
  return analyseDue(table) ? 'analyze' : null;
}

/** Whether the changes since the last analyse call for one (whether or not a vacuum is due too). */
function analyseDue(table: TableCounts): boolean {
  return table.modifiedSinceAnalyze > ANALYZE_THRESHOLD + ANALYZE_SCALE * table.live;
}

export interface PgliteUpkeep {
  /** One pass over every table. */
  runPass(): Promise<UpkeepDone>;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

export function startPgliteUpkeep(db: SqlRunner, log: Logger, options: { intervalMs: number; analyzeInPartsFrom?: number }): PgliteUpkeep {
  const inPartsFrom = options.analyzeInPartsFrom ?? ANALYZE_IN_PARTS_FROM;
  let running: Promise<UpkeepDone> | null = null;
  /**
   * Per table last analysed in parts: its change counter then (a column list leaves it as it was, so
   * the threshold applies to what changed since), and its count of analyses after them. Another
   * count (someone else analysed it, or the counters were lost) and the counter alone applies.
   */
  const inParts = new Map<string, { modifiedAt: number; analyses: number }>();

  async function statement(table: string, upkeep: Upkeep, sql: string): Promise<void> {
    const started = performance.now();
    await db.query(sql);
    log.debug({ table, upkeep, sql, ms: Math.round(performance.now() - started) }, 'embedded database upkeep');
  }

  /**
   * How an analyse of `table` goes in parts: each column with a target above the default alone, the
   * rest together; and whether an expression index has no statistics yet (only a whole ANALYZE makes them).
   */
  async function partsOf(table: string): Promise<{ groups: string[]; expressionUnanalysed: boolean }> {
    const { rows } = await db.query<{ name: string; target: number | null }>(
      `SELECT quote_ident(attname) AS name, attstattarget AS target FROM pg_attribute
        WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [table],
    );
    const expressions = await db.query<{ unanalysed: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = $1::regclass AND i.indexprs IS NOT NULL
                        AND NOT EXISTS (SELECT 1 FROM pg_statistic s WHERE s.starelid = i.indexrelid)) AS unanalysed`,
      [table],
    );
    // attstattarget: NULL (PostgreSQL 17 on) or -1 (before) is the default.
    const own = rows.filter((r) => r.target !== null && Number(r.target) > DEFAULT_TARGET).map((r) => r.name);
    const rest = rows.filter((r) => !own.includes(r.name)).map((r) => r.name);
    return { groups: [...own, ...(rest.length > 0 ? [rest.join(', ')] : [])], expressionUnanalysed: expressions.rows[0]?.unanalysed === true };
  }

  async function pass(): Promise<UpkeepDone> {
    // The larger of the counted live rows and the planner's estimate: counters lost in a crash
    // recovery read 0 for a table that is still large.
    const { rows } = await db.query<{ name: string; live: string; dead: string; inserted: string; modified: string; analyses: string }>(
      `SELECT format('%I.%I', t.schemaname, t.relname) AS name, greatest(t.n_live_tup, c.reltuples::bigint) AS live,
              t.n_dead_tup AS dead, t.n_ins_since_vacuum AS inserted, t.n_mod_since_analyze AS modified,
              t.analyze_count + t.autoanalyze_count AS analyses
         FROM pg_stat_user_tables t JOIN pg_class c ON c.oid = t.relid ORDER BY t.relid`,
    );
    const done: UpkeepDone = [];
    for (const row of rows) {
      const table = row.name;
      const live = Number(row.live);
      const modified = Number(row.modified);
      const analyses = Number(row.analyses);
      const parted = inParts.get(table);
      // Analysed in parts by this upkeep, and by nothing since: only what changed after it counts.
      const since = parted !== undefined && parted.analyses === analyses && modified >= parted.modifiedAt ? modified - parted.modifiedAt : modified;
      const counts = { live, dead: Number(row.dead), insertedSinceVacuum: Number(row.inserted), modifiedSinceAnalyze: since };
      const upkeep = upkeepOf(counts);
      if (upkeep === null) continue;
      if (live < inPartsFrom) {
        inParts.delete(table);
        await statement(table, upkeep, upkeep === 'vacuum' ? `VACUUM (ANALYZE) ${table}` : `ANALYZE ${table}`);
        done.push({ table, upkeep });
        continue;
      }
      if (upkeep === 'vacuum') {
        await statement(table, upkeep, `VACUUM ${table}`);
        done.push({ table, upkeep });
        if (!analyseDue(counts)) continue;
      }
      const { groups, expressionUnanalysed } = await partsOf(table);
      // In one statement anyway, an expression index to analyse, or half the table changed since it was analysed whole.
      if (groups.length <= 1 || expressionUnanalysed || modified >= live / 2) {
        inParts.delete(table);
        await statement(table, 'analyze', `ANALYZE ${table}`);
        done.push({ table, upkeep: 'analyze' });
        continue;
      }
      for (const columns of groups) await statement(table, 'analyze', `ANALYZE ${table} (${columns})`);
      inParts.set(table, { modifiedAt: modified, analyses: analyses + groups.length });
      done.push({ table, upkeep: 'analyze', parts: groups.length });
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

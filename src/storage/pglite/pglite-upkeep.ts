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
// import's md5(original_url) expression for each: one ANALYZE of 270,000 links held every request
// for about a second (docs/performance.md, "The one-machine ANALYZE stall"). From ANALYZE_IN_PARTS_FROM
// rows on, each column with a target of its own is analysed in a statement of its own and the other
// columns together in one more; the whole table (the only form that gathers an expression index's
// statistics, and resets the change counter) again once it has doubled since this process last
// analysed it whole. An expression's statistics from half the rows still hold: the md5 of distinct
// URLs stays distinct, n_distinct is kept as a share of the rows.
import type { Logger } from '../../core/logger.ts';
import type { SqlRunner } from '../../core/sql.ts';

/** PostgreSQL's autovacuum defaults (autovacuum_vacuum_threshold, …_scale_factor, and the rest). */
const VACUUM_THRESHOLD = 50;
const VACUUM_SCALE = 0.2;
const INSERT_THRESHOLD = 1000;
const INSERT_SCALE = 0.2;
const ANALYZE_THRESHOLD = 50;
const ANALYZE_SCALE = 0.1;
/** Live rows from which a table is analysed in parts (below, a whole ANALYZE costs little). */
export const ANALYZE_IN_PARTS_FROM = 100_000;
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
  if (table.modifiedSinceAnalyze > ANALYZE_THRESHOLD + ANALYZE_SCALE * table.live) return 'analyze';
  return null;
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
   * Per table analysed in parts: its live rows when this process last analysed it whole, and its
   * change counter after its last analyse in parts (a column list leaves the counter as it was, so
   * the threshold applies to what changed since).
   */
  const inParts = new Map<string, { wholeAtLive: number; modifiedAt: number }>();

  async function statement(table: string, upkeep: Upkeep, sql: string): Promise<void> {
    const started = performance.now();
    await db.query(sql);
    log.debug({ table, upkeep, sql, ms: Math.round(performance.now() - started) }, 'embedded database upkeep');
  }

  /** The column lists an analyse in parts runs: each column with a target of its own alone, the rest together. */
  async function columnGroups(table: string): Promise<string[]> {
    const { rows } = await db.query<{ name: string; target: number | null }>(
      `SELECT quote_ident(attname) AS name, attstattarget AS target FROM pg_attribute
        WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [table],
    );
    // attstattarget: NULL (PostgreSQL 17 on) or -1 (before) is the default.
    const own = rows.filter((r) => r.target !== null && Number(r.target) > DEFAULT_TARGET).map((r) => r.name);
    const rest = rows.filter((r) => !own.includes(r.name)).map((r) => r.name);
    return [...own, ...(rest.length > 0 ? [rest.join(', ')] : [])];
  }

  async function pass(): Promise<UpkeepDone> {
    const { rows } = await db.query<{ name: string; live: string; dead: string; inserted: string; modified: string; analysed: boolean }>(
      `SELECT format('%I.%I', schemaname, relname) AS name, n_live_tup AS live, n_dead_tup AS dead,
              n_ins_since_vacuum AS inserted, n_mod_since_analyze AS modified,
              (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL) AS analysed
         FROM pg_stat_user_tables ORDER BY relid`,
    );
    const done: UpkeepDone = [];
    for (const row of rows) {
      const table = row.name;
      const live = Number(row.live);
      const modified = Number(row.modified);
      const parted = live >= inPartsFrom ? inParts.get(table) : undefined;
      // Analysed in parts before: only what changed since counts (unless something else, a whole
      // ANALYZE run by hand, has set the counter back since).
      const since = parted !== undefined && modified >= parted.modifiedAt ? modified - parted.modifiedAt : modified;
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
        if (upkeepOf({ ...counts, dead: 0, insertedSinceVacuum: 0 }) !== 'analyze') continue;
      }
      // Whole when never analysed, or analysed whole by this process at a size it has since doubled;
      // the first time in this process, the statistics it has (whoever made them) count as made at
      // today's size.
      const wholeAtLive = parted?.wholeAtLive ?? live;
      if (!row.analysed || live >= 2 * wholeAtLive) {
        await statement(table, 'analyze', `ANALYZE ${table}`);
        inParts.set(table, { wholeAtLive: live, modifiedAt: 0 });
        done.push({ table, upkeep: 'analyze' });
        continue;
      }
      const groups = await columnGroups(table);
      for (const columns of groups) await statement(table, 'analyze', `ANALYZE ${table} (${columns})`);
      inParts.set(table, { wholeAtLive, modifiedAt: modified });
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

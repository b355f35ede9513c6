// Import: rows of a file become links through the link service, so each passes the checks of
// `POST /urls` (target URL rules, alias rules, reserved words, expiry), in batches: a batch's lookups
// are two queries, its creations run together (the store's insert batcher and the KGS's code buffer
// make them few round trips). Idempotent: re-running a file creates nothing new (docs/import-export.md).
import { AppError } from '../core/errors.ts';
import type { RequestContext } from '../kgs-client/types.ts';
import type { ImportRow } from './import-formats.ts';
import { ImportInProgress, type LinkService, type Principal } from './link-service.ts';
import type { ImportLease } from '../storage/link-store.ts';

export type ImportStatus = 'created' | 'exists' | 'refused';

/** One line of the report, per row, in the order of the file. */
export interface ImportReportRow {
  row: number;
  status: ImportStatus;
  short_code?: string;
  reason?: string;
}

/** The report's last line. */
export interface ImportSummary {
  summary: true;
  rows: number;
  created: number;
  exists: number;
  refused: number;
}

/** Rows looked up and created together. */
export const IMPORT_BATCH = 100;

type LinkRow = Extract<ImportRow, { url: string }>;

/**
 * A target URL spelled as the link service stores it and findImportMatches compares it: the WHATWG
 * parser's href, which is what normaliseTargetUrl (target-url.ts) returns for any URL it accepts (its
 * other checks need the service's policy, and only accept or refuse). Rows are compared by it, not as
 * written: `https://Example.com/a` and `https://example.com:443/a` are one link. A URL that does not
 * parse is refused at creation, so it keeps its own spelling. test/unit/import-url-key.test.ts holds
 * the two to the same answer.
 */
export function targetUrlKey(url: string): string {
  try {
    return new URL(url.trim()).href;
  } catch {
    return url;
  }
}

/** The link a row is looked up by: a row to create, or one refused as a new link that may be here already. */
function lookupOf(row: ImportRow): { url: string; alias?: string } | undefined {
  return 'url' in row ? row : row.link;
}

/**
 * A row of a batch that is looked up. `refused`: why it is not created (an expired link, or one
 * refused for what it is at its source, import-formats.ts); it is `exists` if its link is here
 * already, by the same rule as any row, and otherwise refused with that reason, never created.
 */
interface Candidate {
  row: LinkRow;
  refused: string | null;
}

export interface ImportOptions {
  principal: Principal;
  context?: RequestContext;
  now?: () => Date;
  batchSize?: number;
  /**
   * The key's import lease (LinkService.startImport), renewed before each batch: false from renew()
   * means the lease lapsed (a client that stopped reading the report for longer than it lasts) and
   * another import took it, and this one stops rather than race it.
   */
  lease?: Pick<ImportLease, 'renew'>;
}

export async function* importLinks(links: LinkService, rows: AsyncIterable<ImportRow>, options: ImportOptions): AsyncGenerator<ImportReportRow | ImportSummary, void, undefined> {
  const now = options.now ?? (() => new Date());
  const batchSize = options.batchSize ?? IMPORT_BATCH;
  const counts = { rows: 0, created: 0, exists: 0, refused: 0 };
  let batch: ImportRow[] = [];
  // What the batch's rows so far could create, as a later row would find it (findImportMatches's
  // rules): a row with an alias finds the link of that code; a row without one, the caller's link to
  // the same target URL, whether a row with or without an alias made it.
  let aliases = new Set<string>();
  let urls = new Set<string>();

  async function* flush(): AsyncGenerator<ImportReportRow> {
    // A turn of the event loop between batches: a batch of rows refused before any query (bad URLs)
    // does no I/O at all, and a file of them held every redirect of the process up for seconds.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (options.lease !== undefined && !(await options.lease.renew())) {
      throw new ImportInProgress('Another import by this API key took over while this one waited for its report to be read; the rows reported so far are done. Run the file again when that import ends.');
    }
    const done = await importBatch(links, batch, options, now());
    batch = [];
    aliases = new Set();
    urls = new Set();
    for (const line of done) {
      counts[line.status]++;
      yield line;
    }
  }

  for await (const row of rows) {
    counts.rows++;
    const link = lookupOf(row);
    if (link !== undefined) {
      // A batch is looked up before any of its rows is created, so a row that would find an earlier
      // row's link there would be created beside it: it waits for the next batch, whose lookup finds
      // that link. The report is then what it would be with a batch per row, wherever batches end. A
      // row that will not create its link (refused, or its alias taken) only ends a batch early.
      const url = targetUrlKey(link.url);
      if (link.alias === undefined ? urls.has(url) : aliases.has(link.alias)) yield* flush();
      urls.add(url);
      if (link.alias !== undefined) aliases.add(link.alias);
    }
    batch.push(row);
    if (batch.length >= batchSize) yield* flush();
  }
  if (batch.length > 0) yield* flush();
  yield { summary: true, ...counts };
}

/** Refused as a new link (but still looked up, as it may be here already): what the link service would refuse less clearly, or cannot carry. */
function precheck(row: LinkRow, now: Date): string | null {
  if (row.expiresAt !== undefined && row.expiresAt.getTime() <= now.getTime()) {
    return `expires_at ${row.expiresAt.toISOString()} is in the past: an expired link is not imported (it could only answer 410).`;
  }
  return null;
}

async function importBatch(links: LinkService, rows: readonly ImportRow[], options: ImportOptions, now: Date): Promise<ImportReportRow[]> {
  // Rows refused as new links are looked up too: importing one's own export again finds its expired,
  // used and password-protected links `exists` (docs/import-export.md, Idempotency).
  const report: (ImportReportRow | Candidate)[] = rows.map((row) => {
    if ('url' in row) return { row, refused: precheck(row, now) };
    return row.link === undefined ? { row: row.row, status: 'refused', reason: row.refused } : { row: { row: row.row, ...row.link }, refused: row.refused };
  });
  const pending = report.filter((r): r is Candidate => 'refused' in r);
  const matches = pending.length === 0 ? [] : await links.findImportMatches(options.principal, pending.map((c) => c.row));
  const principalId = options.principal?.keyId ?? null;
  // An admin's export holds every key's links and the anonymous ones: imported again, a link of the
  // same code and target is there already, whoever owns it. Another key's is "taken" for anyone else.
  const ownsAll = options.principal?.isAdmin === true;
  const answers = await Promise.all(
    pending.map(async ({ row, refused }, i): Promise<ImportReportRow> => {
      const match = matches[i];
      if (match) {
        if ((ownsAll || match.link.ownerKeyId === principalId) && match.sameTarget) return { row: row.row, status: 'exists', short_code: match.link.code };
        return { row: row.row, status: 'refused', reason: refused ?? `"${row.alias ?? match.link.code}" is already taken by another link.` };
      }
      if (refused !== null) return { row: row.row, status: 'refused', reason: refused };
      try {
        const link = await links.createLink(
          {
            url: row.url,
            ...(row.alias === undefined ? {} : { alias: row.alias }),
            ...(row.expiresAt === undefined ? {} : { expiresAt: row.expiresAt }),
            ...(row.oneTime === undefined ? {} : { oneTime: row.oneTime }),
            ...(row.maxVisits === undefined ? {} : { maxVisits: row.maxVisits }),
            ...(row.forwardQuery === undefined ? {} : { forwardQuery: row.forwardQuery }),
            ...(row.tags === undefined ? {} : { tags: row.tags }),
          },
          options.principal,
          options.context,
        );
        return { row: row.row, status: 'created', short_code: link.code };
      } catch (err) {
        // What POST /urls would answer with a 4xx or 503, per row; anything else is a bug and ends the import.
        if (!(err instanceof AppError) || err.status === 500) throw err;
        return { row: row.row, status: 'refused', reason: `${err.detail ?? err.title} (${err.code})` };
      }
    }),
  );
  let next = 0;
  return report.map((r) => ('refused' in r ? (answers[next++] as ImportReportRow) : r));
}

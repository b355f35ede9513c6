// The files `POST /urls/import` reads, each turned into the same rows: Curt's own (what
// `GET /urls/export` writes, or a generic `url,alias,expires_at,tags,max_visits` sheet), Kutt's and
// YOURLS's. Columns are found by name in the header row, in any order; unknown columns are ignored.
// docs/import-export.md describes each format and where it comes from.
import { calendarDayMs } from '../core/storable-dates.ts';
import { CsvSyntaxError, readCsvRecords, readLines } from './csv.ts';

export const IMPORT_FORMATS = ['curt', 'kutt', 'yourls'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/**
 * One link to import, or why the row cannot be one. `row`: 1 for the first row after the header.
 * `link`: on a row refused for what its link is at the source (password-protected, used, disabled,
 * banned), the link's URL and code, which the import looks up as any row's: a row whose link is here
 * already is `exists` (importing one's own export again), one whose link is not stays refused and
 * creates nothing (link-import.ts).
 */
export type ImportRow =
  | { row: number; url: string; alias?: string; expiresAt?: Date; oneTime?: boolean; maxVisits?: number; forwardQuery?: boolean; tags?: string[] }
  | { row: number; refused: string; link?: { url: string; alias?: string } };

/** The file itself cannot be read (no header with a url column, a broken quote, a line too long). */
export class ImportFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportFileError';
  }
}

/**
 * Each format's columns, by the names its files use: the first name found in the header is read.
 * To carry a new field, add its names here and read it in toRow.
 */
const COLUMNS: Record<
  ImportFormat,
  {
    url: string[];
    alias: string[];
    expiresAt: string[];
    oneTime: string[];
    maxVisits: string[];
    forwardQuery: string[];
    tags: string[];
    state: string[];
    refuseIfTrue: Record<string, string>;
  }
> = {
  curt: {
    url: ['url', 'original_url', 'target'],
    alias: ['alias', 'short_code', 'code'],
    expiresAt: ['expires_at'],
    oneTime: ['is_one_time', 'one_time'],
    maxVisits: ['max_visits'],
    forwardQuery: ['forward_query'],
    tags: ['tags'],
    state: ['state'],
    // The export says whether a password protected the link, never the password (only a hash is
    // kept): imported without one, the link would open to anyone who has its code.
    refuseIfTrue: { has_password: 'a password-protected link is not imported: its password cannot be exported, and without it the link would open to anyone; create it with its password (POST /urls, curt shorten --password) instead' },
  },
  // Kutt's link objects (its API's `data` items and the exports made from them): `target` is the URL,
  // `address` the code, `expire_in` the expiry; a password-protected or banned link cannot be carried.
  kutt: {
    url: ['target'],
    alias: ['address'],
    expiresAt: ['expire_in'],
    oneTime: [],
    maxVisits: [],
    forwardQuery: [],
    tags: [],
    state: [],
    refuseIfTrue: { password: 'password-protected links are not supported', banned: 'the link is banned in Kutt' },
  },
  // YOURLS's `yourls_url` table as exported (keyword, url, title, timestamp, ip, clicks).
  yourls: { url: ['url'], alias: ['keyword'], expiresAt: [], oneTime: [], maxVisits: [], forwardQuery: [], tags: [], state: [], refuseIfTrue: {} },
};

/** Which format a header is: Kutt's has `target` and `address`, YOURLS's `keyword` and `url`; else Curt's. */
export function detectFormat(header: readonly string[]): ImportFormat {
  const names = new Set(header.map(normaliseName));
  if (names.has('target') && names.has('address')) return 'kutt';
  if (names.has('keyword') && names.has('url')) return 'yourls';
  return 'curt';
}

function normaliseName(name: string): string {
  return name.trim().toLowerCase();
}

const TRUE = new Set(['true', '1', 'yes', 't']);
const FALSE = new Set(['false', '0', 'no', 'f', '']);

function parseDate(text: string): Date | null {
  // YOURLS and SQL dumps write "2024-01-31 12:00:00" (UTC here): read it as ISO 8601.
  const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) ? `${text.replace(' ', 'T')}Z` : text;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  // A day the month lacks (2030-02-30) is refused, as POST /urls refuses it, not rolled into March.
  const day = /^\d{4}-\d{2}-\d{2}/.exec(iso)?.[0];
  return day === undefined || calendarDayMs(day) !== null ? date : null;
}

/** A record (field name → value) as a row to import. */
function toRow(format: ImportFormat, row: number, get: (names: string[]) => string | undefined): ImportRow {
  const columns = COLUMNS[format];
  const url = get(columns.url)?.trim() ?? '';
  if (url === '') return { row, refused: 'The row has no url.' };
  const alias = get(columns.alias)?.trim();
  // Refused as a new link, but looked up: already here, the row is `exists`.
  const link = alias ? { url, alias } : { url };
  for (const [name, reason] of Object.entries(columns.refuseIfTrue)) {
    const value = get([name])?.trim().toLowerCase();
    if (value !== undefined && TRUE.has(value)) return { row, refused: `${reason[0]?.toUpperCase()}${reason.slice(1)}.`, link };
  }
  const state = get(columns.state)?.trim();
  if (state === 'used') return { row, refused: 'A used link (one-time, or its max_visits reached) is not imported: it would redirect again.', link };
  if (state === 'disabled') return { row, refused: 'A disabled link is not imported: enable it at the source first, or create it and disable it here.', link };
  const result: ImportRow & { url: string } = { row, url };
  if (alias) result.alias = alias;
  const expiry = get(columns.expiresAt)?.trim();
  if (expiry) {
    const at = parseDate(expiry);
    // Named as the file names it (Kutt's expire_in), not as Curt's column.
    const column = columns.expiresAt.find((name) => get([name]) !== undefined) ?? 'expires_at';
    if (at === null) return { row, refused: `${column} is not a date-time: ${expiry.slice(0, 40)}.` };
    result.expiresAt = at;
  }
  const oneTime = get(columns.oneTime)?.trim().toLowerCase();
  if (oneTime !== undefined) {
    if (TRUE.has(oneTime)) result.oneTime = true;
    else if (!FALSE.has(oneTime)) return { row, refused: `is_one_time must be true or false, not ${oneTime.slice(0, 20)}.` };
  }
  const maxVisits = get(columns.maxVisits)?.trim();
  if (maxVisits) {
    if (!/^[1-9][0-9]{0,9}$/.test(maxVisits)) return { row, refused: `max_visits must be a whole number from 1, not ${maxVisits.slice(0, 20)}.` };
    result.maxVisits = Number(maxVisits);
  }
  const forwardQuery = get(columns.forwardQuery)?.trim().toLowerCase();
  if (forwardQuery) {
    if (TRUE.has(forwardQuery)) result.forwardQuery = true;
    else if (!FALSE.has(forwardQuery)) return { row, refused: `forward_query must be true or false, not ${forwardQuery.slice(0, 20)}.` };
  }
  // Separated by spaces as the export writes them, or by commas as a person types them. Each tag is
  // checked where POST /urls checks it (normaliseTags): a bad one refuses the row with its reason.
  const tags = get(columns.tags)
    ?.split(/[\s,]+/)
    .filter((tag) => tag !== '');
  if (tags !== undefined && tags.length > 0) result.tags = tags;
  return result;
}

/**
 * The rows of a CSV stream, as it arrives. `format`: as asked (`?format=`), or null to tell from the
 * header row. Throws ImportFileError when the header has no url column or the CSV breaks.
 */
export async function* readCsvImport(source: AsyncIterable<Buffer | string>, format: ImportFormat | null): AsyncGenerator<ImportRow, void, undefined> {
  let columns: Map<string, number> | null = null;
  let chosen: ImportFormat = format ?? 'curt';
  let row = 0;
  try {
    for await (const record of readCsvRecords(source)) {
      if (columns === null) {
        chosen = format ?? detectFormat(record);
        columns = new Map();
        record.forEach((name, i) => {
          const key = normaliseName(name);
          if (!columns?.has(key)) columns?.set(key, i);
        });
        if (!COLUMNS[chosen].url.some((name) => columns?.has(name))) {
          throw new ImportFileError(`The header row has no ${COLUMNS[chosen].url.join(' or ')} column (format ${chosen}).`);
        }
        continue;
      }
      const header = columns;
      row++;
      yield toRow(chosen, row, (names) => {
        for (const name of names) {
          const i = header.get(name);
          if (i !== undefined) return record[i];
        }
        return undefined;
      });
    }
  } catch (err) {
    if (err instanceof CsvSyntaxError) throw new ImportFileError(err.message);
    throw err;
  }
  if (columns === null) throw new ImportFileError('The file is empty: a header row is needed.');
}

/**
 * An NDJSON field as the CSV cell it stands for; `tags` as a list of strings (`["a", "b"]`) as one
 * separated by spaces; null for a value no cell can stand for (an object, a list elsewhere, a list of
 * anything but strings).
 */
function fieldText(name: string, value: unknown): string | null {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return name === 'tags' && value.every((item) => typeof item === 'string') ? value.join(' ') : null;
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : null;
}

function unusableField(name: string): string {
  return name === 'tags'
    ? 'tags must be a list of strings, or one string with the tags separated by spaces or commas, not an object or a list of other values.'
    : `${name} must be a string, a number, true or false, not an object or a list.`;
}

/**
 * The rows of an NDJSON stream: one JSON object a line, with the same field names as the CSV header
 * (Kutt's API objects as they are). A line that is not an object is a refused row, not the end.
 */
export async function* readNdjsonImport(source: AsyncIterable<Buffer | string>, format: ImportFormat | null): AsyncGenerator<ImportRow, void, undefined> {
  let row = 0;
  try {
    for await (const line of readLines(source)) {
      row++;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        yield { row, refused: 'The line is not valid JSON.' };
        continue;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        yield { row, refused: 'The line is not a JSON object.' };
        continue;
      }
      const object = new Map(
        Object.entries(value).map(([k, v]) => {
          const name = normaliseName(k);
          return [name, fieldText(name, v)];
        }),
      );
      const chosen = format ?? detectFormat([...object.keys()]);
      // A field the format reads whose value no cell can stand for refuses the row: read as empty, a
      // `"max_visits": [5]` or `"tags": {…}` made a link without its limit or its tags. Fields the
      // format does not read (Kutt's objects carry some) may hold anything.
      let unusable: string | null = null;
      const parsed = toRow(chosen, row, (names) => {
        for (const name of names) {
          if (!object.has(name)) continue;
          const text = object.get(name);
          if (text === null) unusable ??= name;
          return text ?? undefined;
        }
        return undefined;
      });
      yield unusable === null ? parsed : { row, refused: unusableField(unusable) };
    }
  } catch (err) {
    if (err instanceof CsvSyntaxError) throw new ImportFileError(err.message);
    throw err;
  }
}

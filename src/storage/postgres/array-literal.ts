// PostgreSQL array literals built as text, for statements that unnest a batch's columns
// (click-columns.ts, pg-link-store.ts's insert). Given JS arrays instead, node-postgres converts them
// element by element (prepareValue, two regular expressions per element, a Date formatted in local
// time), and that was a measured share of a flush's and a creation's CPU (docs/performance.md).

/** `{a,b,c}`: the elements as given, already in their literal form. */
export const literal = (items: readonly (string | number)[]): string => `{${items.join(',')}}`;

/** A text element, always quoted: the text may hold anything a request carried (commas, braces, quotes). */
export function quoted(text: string): string {
  return text.includes('"') || text.includes('\\') ? `"${text.replace(/[\\"]/g, '\\$&')}"` : `"${text}"`;
}

/** A nullable text element. */
export const quotedOrNull = (text: string | null): string => (text === null ? 'NULL' : quoted(text));

/** A nullable number element. */
export const numberOrNull = (n: number | null): string | number => (n === null ? 'NULL' : n);

/** A boolean element. */
export const bool = (b: boolean): string => (b ? 't' : 'f');

/**
 * A nullable timestamptz element, in UTC. An invalid Date becomes text PostgreSQL refuses as data,
 * as node-postgres's conversion of one did, rather than a TypeError thrown here.
 */
export const timestampOrNull = (date: Date | null): string => (date === null ? 'NULL' : Number.isNaN(date.getTime()) ? '"invalid date"' : date.toISOString());

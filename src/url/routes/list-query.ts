// GET /urls's query string as ListOptions: the filters, the sort, and the opaque cursor that carries
// the previous page's position and pins the sort and order it was made for.
import { InvalidRequest } from '../../core/errors.ts';
import { isStorableTime, STORABLE_RANGE } from '../../core/storable-dates.ts';
import { LIST_SORTS, listPosition, type LinkRecord, type ListOptions, type ListOrder, type ListPosition, type ListSort } from '../../storage/link-store.ts';
import { MAX_TAGS, MAX_TAGS_GIVEN } from '../../client/tag-rule.ts';
import { isTooShortSearch, MIN_SEARCH_CHARS, searchLength } from '../../client/search-rule.ts';
import { normaliseTags } from '../tags.ts';

export interface ListQueryString {
  limit?: string;
  cursor?: string;
  q?: string;
  state?: 'active' | 'expired' | 'used' | 'disabled';
  tag?: string | string[];
  created_after?: string;
  created_before?: string;
  expires_after?: string;
  expires_before?: string;
  sort?: ListSort;
  order?: ListOrder;
}

/**
 * `v1.<sort>.<order>.<key>.<id>` in base64url: key is the clicks, the last click in epoch ms, or `-`
 * (created, or never clicked). Opaque to clients; the sort and order inside must be the request's.
 */
export function encodeCursor(link: LinkRecord, sort: ListSort, order: ListOrder): string {
  const { id, key } = listPosition(link, sort);
  const keyText = key === null ? '-' : key instanceof Date ? String(key.getTime()) : String(key);
  return Buffer.from(`v1.${sort}.${order}.${keyText}.${id}`).toString('base64url');
}

const CURSOR = /^v1\.(created|clicks|last_click)\.(desc|asc)\.(-|\d{1,16})\.(\d{1,15})$/;
/** What cursors looked like before sorting existed: newest first by id. */
const OLD_CURSOR = /^id:(\d{1,15})$/;

export function decodeCursor(cursor: string, sort: ListSort, order: ListOrder): ListPosition {
  const text = Buffer.from(cursor, 'base64url').toString();
  const old = OLD_CURSOR.exec(text);
  const match = old ? ([text, 'created', 'desc', '-', old[1]] as const) : CURSOR.exec(text);
  if (!match) throw new InvalidRequest('cursor is not valid: pass next_cursor from the previous page.');
  const [, cursorSort, cursorOrder, keyText = '-', idText] = match;
  if (cursorSort !== sort || cursorOrder !== order) {
    throw new InvalidRequest(`cursor belongs to sort=${cursorSort} order=${cursorOrder}, not sort=${sort} order=${order}: start again without a cursor.`);
  }
  if (sort === 'clicks' && keyText === '-') throw new InvalidRequest('cursor is not valid: pass next_cursor from the previous page.');
  // A last click is a moment a link could have been clicked: a forged one past Date's range was a 500.
  if (sort === 'last_click' && keyText !== '-' && !isStorableTime(Number(keyText))) throw new InvalidRequest('cursor is not valid: pass next_cursor from the previous page.');
  const key = keyText === '-' ? null : sort === 'last_click' ? new Date(Number(keyText)) : Number(keyText);
  return { id: Number(idText), key: sort === 'created' ? null : key };
}

/** An ISO date-time bound, already format-checked by the schema; a leap second (23:59:60) Date cannot hold is a 400. */
function bound(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidRequest(`${name} must be an ISO 8601 date-time.`);
  if (!isStorableTime(date.getTime())) throw new InvalidRequest(`${name} must be a date-time ${STORABLE_RANGE}.`);
  return date;
}

function range(after: Date | undefined, before: Date | undefined, what: string): void {
  if (after !== undefined && before !== undefined && after.getTime() >= before.getTime()) {
    throw new InvalidRequest(`${what}_after must be before ${what}_before.`);
  }
}

/** The tags of `tag=a&tag=b` or `tag=a,b` (or both), normalised as stored. */
export function tagFilter(tag: string | string[] | undefined): string[] {
  if (tag === undefined) return [];
  const given = (Array.isArray(tag) ? tag : [tag]).flatMap((t) => t.split(',')).filter((t) => t !== '');
  if (given.length > MAX_TAGS_GIVEN) throw new InvalidRequest(`tag: at most ${MAX_TAGS_GIVEN} tags as given (got ${given.length}); at most ${MAX_TAGS} distinct.`);
  return normaliseTags(given, 'tag');
}

// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL_CHARACTER = /[\u0000-\u001F\u007F]/;

export interface ListRequest {
  limit: number;
  sort: ListSort;
  order: ListOrder;
  options: Omit<ListOptions, 'ownerKeyId' | 'limit'>;
}

export function parseListQuery(query: ListQueryString, now: Date): ListRequest {
  const limit = query.limit === undefined ? 20 : Number(query.limit);
  if (limit < 1 || limit > 100) throw new InvalidRequest('limit must be from 1 to 100.');
  const sort = query.sort ?? 'created';
  if (!LIST_SORTS.includes(sort)) throw new InvalidRequest(`sort must be one of ${LIST_SORTS.join(', ')}.`);
  const order = query.order ?? 'desc';
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, sort, order);
  const tags = tagFilter(query.tag);
  const createdAfter = bound(query.created_after, 'created_after');
  const createdBefore = bound(query.created_before, 'created_before');
  const expiresAfter = bound(query.expires_after, 'expires_after');
  const expiresBefore = bound(query.expires_before, 'expires_before');
  range(createdAfter, createdBefore, 'created');
  range(expiresAfter, expiresBefore, 'expires');
  const { q, state } = query;
  if (q !== undefined && isTooShortSearch(q)) {
    throw new InvalidRequest(`q needs at least ${MIN_SEARCH_CHARS} characters (got ${searchLength(q)}): a shorter text cannot use the search index.`);
  }
  // No code or stored target holds one (targets are normalised URLs), and PostgreSQL refuses a NUL
  // in any text: it was a 500.
  if (q !== undefined && CONTROL_CHARACTER.test(q)) throw new InvalidRequest('q must not contain control characters: no code or target URL holds one.');
  return {
    limit,
    sort,
    order,
    options: {
      sort,
      order,
      ...(after === undefined ? {} : { after }),
      ...(q === undefined || q === '' ? {} : { search: q }),
      ...(state === undefined ? {} : { state, now }),
      ...(tags.length === 0 ? {} : { tags }),
      ...(createdAfter === undefined ? {} : { createdAfter }),
      ...(createdBefore === undefined ? {} : { createdBefore }),
      ...(expiresAfter === undefined ? {} : { expiresAfter }),
      ...(expiresBefore === undefined ? {} : { expiresBefore }),
    },
  };
}

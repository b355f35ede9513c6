// The filters of My links as its address says them (`/app/links?q=&state=&tag=a&tag=b&sort=&order=`,
// the names of GET /urls), so that Back, Forward, a reload and a shared address show the same list.
// Only what differs from the defaults is written, as only that is sent to the API. No DOM here: the
// Node tests import this file.
import { LINK_SORTS, LINK_STATES, type LinkSort, type LinkState, type ListFilter } from '../client/curt-client.ts';
import { isTooShortSearch, MIN_SEARCH_CHARS, searchLength } from '../client/search-rule.ts';
import { distinctTags, parseTags, tagsProblem } from './tags.ts';

export interface Filters {
  q: string;
  state: LinkState | '';
  tags: string[];
  sort: LinkSort;
  order: 'desc' | 'asc';
}

export const NO_FILTERS: Filters = { q: '', state: '', tags: [], sort: 'created', order: 'desc' };

/**
 * What is wrong with a search text (already trimmed), checked before sending as the server would
 * (src/client/search-rule.ts), in the form's words; null when nothing. Empty is no search at all.
 */
export function searchProblem(q: string): string | null {
  return isTooShortSearch(q) ? `A search needs at least ${MIN_SEARCH_CHARS} characters: "${q}" has ${searchLength(q)}.` : null;
}

/** What GET /urls is sent for `filters`: each filter that is not the default. */
export function listFilter(filters: Filters): ListFilter {
  return {
    ...(filters.q === '' ? {} : { q: filters.q }),
    ...(filters.state === '' ? {} : { state: filters.state }),
    ...(filters.tags.length === 0 ? {} : { tags: filters.tags }),
    ...(filters.sort === NO_FILTERS.sort ? {} : { sort: filters.sort }),
    ...(filters.order === NO_FILTERS.order ? {} : { order: filters.order }),
  };
}

/** The address's query string for `filters`: `?…`, or '' for none. */
export function filtersSearch(filters: Filters): string {
  // In listFilter's order, the order of the form's fields; the API's `tag` is repeated, once a tag.
  const params = Object.entries(listFilter(filters)).flatMap(([name, value]): [string, string][] => (Array.isArray(value) ? value.map((tag: string) => ['tag', tag]) : [[name, String(value)]]));
  return params.length === 0 ? '' : `?${new URLSearchParams(params).toString()}`;
}

/**
 * The filters an address's query string names. A state, sort or order the API does not know is left
 * out (the selects could not show it); tags are taken as given, repeated or comma-separated as the API
 * takes them, and what is wrong with them is `tagProblem`, for the form to say under its field (nothing
 * is searched), as it would have said it before sending. A search text too short is said the same way:
 * `searchProblem(filters.q)`.
 */
export function filtersFromSearch(search: string): { filters: Filters; tagProblem: string | null } {
  const params = new URLSearchParams(search);
  const state = LINK_STATES.find((s) => s === params.get('state'));
  const sort = LINK_SORTS.find((s) => s === params.get('sort'));
  const tags = distinctTags(params.getAll('tag').flatMap(parseTags));
  const filters: Filters = {
    q: (params.get('q') ?? '').trim(),
    state: state ?? NO_FILTERS.state,
    tags,
    sort: sort ?? NO_FILTERS.sort,
    order: params.get('order') === 'asc' ? 'asc' : 'desc',
  };
  return { filters, tagProblem: tagsProblem(tags) };
}

/** What a history entry of My links holds: the cursors of the pages after the first, and whose list they are in. */
export interface PagesEntry {
  pages: string[];
  /** The key's prefix (the API's key_prefix, as the API keys page shows it): a cursor is a place in that key's list only. */
  keyPrefix: string;
}

/**
 * The cursors of the pages after the first that a history entry holds (written by the page as it turns
 * them) for the key whose prefix is `keyPrefix`, or none: an entry of another key (signed out and in
 * with another since), app or version is read as the first page.
 */
export function pagesOf(historyState: unknown, keyPrefix: string): string[] {
  const entry = (historyState ?? {}) as Partial<Record<keyof PagesEntry, unknown>>;
  const pages = entry.pages;
  return entry.keyPrefix === keyPrefix && Array.isArray(pages) && pages.every((cursor) => typeof cursor === 'string') ? pages : [];
}


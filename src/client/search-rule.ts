// How short a search of the links may be, in one place for the server (src/url/routes/list-query.ts),
// the CLI's --search and the web app's Search field, each of which says it in its own words before or
// instead of a request. Dependency-free, so the browser bundle takes it from here too (as tag-rule.ts).

/**
 * Shortest search text: the trigram indexes (migrations/010_link_search.sql) cannot answer a text of 1
 * or 2 characters, and one that few links hold would read every link of the owner (seconds at a
 * million, and on PGlite every other query waits meanwhile). docs/listing.md, "Text search".
 */
export const MIN_SEARCH_CHARS = 3;

/** A search text's length as the rule counts it: characters (code points), not UTF-16 units. */
export const searchLength = (text: string): number => [...text].length;

/** True for a text the server would refuse as too short (empty is no search at all). */
export const isTooShortSearch = (text: string): boolean => text !== '' && searchLength(text) < MIN_SEARCH_CHARS;

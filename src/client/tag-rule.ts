// What a tag is, in one place for the server (src/url/tags.ts, the API's schemas), the CLI's flags
// and the web app's forms, each of which says a broken rule in its own words before or instead of a
// request. Dependency-free, so the browser bundle takes it from here too (as src/client/api-key.ts).

/** 1 to 32 of letters, digits and `- _ . : /`, any letter case as given; stored lower case. */
export const TAG_PATTERN_SOURCE = '^[A-Za-z0-9_.:/-]{1,32}$';
export const TAG_PATTERN = new RegExp(TAG_PATTERN_SOURCE);
/** Only the characters a tag may have, any length (a tag of them that is too long is said apart). */
export const TAG_CHARACTERS = /^[A-Za-z0-9_.:/-]*$/;
export const TAG_MAX_LENGTH = 32;
/** Distinct tags (letter case aside) a link may have, and a filter may name. */
export const MAX_TAGS = 20;
/** The rule in words, as every refusal says it. */
export const TAG_RULE = '1 to 32 of letters, digits and - _ . : /';

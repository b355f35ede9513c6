// What a tag is, in one place for the server (src/url/tags.ts, the API's schemas), the CLI's flags
// and the web app's forms, each of which says a broken rule in its own words before or instead of a
// request. Dependency-free, so the browser bundle takes it from here too (as src/client/api-key.ts).

/** The characters a tag may have; any letter case as given, stored lower case. */
const TAG_CLASS = 'A-Za-z0-9_.:/-';
export const TAG_MAX_LENGTH = 32;
/** A whole tag: 1 to TAG_MAX_LENGTH of TAG_CLASS (the API schema's `pattern`). */
export const TAG_PATTERN_SOURCE = `^[${TAG_CLASS}]{1,${TAG_MAX_LENGTH}}$`;
export const TAG_PATTERN = new RegExp(TAG_PATTERN_SOURCE);
/** Only the characters a tag may have, any length (a tag of them that is too long is said apart). */
export const TAG_CHARACTERS = new RegExp(`^[${TAG_CLASS}]*$`);
/** Distinct tags (letter case aside) a link may have, and a filter may name. */
export const MAX_TAGS = 20;
/**
 * Tags one request may list, repeats and other letter cases included: a bound on the request's size
 * only. The rule is MAX_TAGS distinct ones, which the server checks after folding case (src/url/tags.ts),
 * as the CLI and the web app do before sending.
 */
export const MAX_TAGS_GIVEN = 5 * MAX_TAGS;
/** The rule in words, as every refusal says it. */
export const TAG_RULE = `1 to ${TAG_MAX_LENGTH} of letters, digits and - _ . : /`;

// Tags: the rule for what a tag is, in one place (creation, PATCH, the listing's filter, import).
import { InvalidRequest } from '../core/errors.ts';

/** 1 to 32 of letters, digits and `- _ . : /`, any letter case as given; stored lower case. */
export const TAG_PATTERN = /^[A-Za-z0-9_.:/-]{1,32}$/;
export const TAG_PATTERN_SOURCE = '^[A-Za-z0-9_.:/-]{1,32}$';
export const MAX_TAGS = 20;

/**
 * A link's tags as stored: lower case (so `Launch` and `launch` are one tag, and the filter ignores
 * letter case), each once, sorted. More than MAX_TAGS distinct tags, or one that breaks the pattern,
 * is a 400 naming it.
 */
export function normaliseTags(tags: readonly string[], what = 'tags'): string[] {
  for (const tag of tags) {
    if (!TAG_PATTERN.test(tag)) {
      throw new InvalidRequest(`${what}: "${tag.slice(0, 40)}" is not a tag: 1 to 32 of letters, digits and - _ . : /`);
    }
  }
  const unique = [...new Set(tags.map((tag) => tag.toLowerCase()))].sort();
  if (unique.length > MAX_TAGS) throw new InvalidRequest(`${what}: at most ${MAX_TAGS} tags (got ${unique.length}).`);
  return unique;
}

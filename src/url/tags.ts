// Tags as the service keeps them (creation, PATCH, the listing's filter, import); what a tag is:
// src/client/tag-rule.ts.
import { InvalidRequest } from '../core/errors.ts';
import { MAX_TAGS, TAG_PATTERN, TAG_RULE } from '../client/tag-rule.ts';

/**
 * A link's tags as stored: lower case (so `Launch` and `launch` are one tag, and the filter ignores
 * letter case), each once, sorted. More than MAX_TAGS distinct tags, or one that breaks the pattern,
 * is a 400 naming it.
 */
export function normaliseTags(tags: readonly string[], what = 'tags'): string[] {
  for (const tag of tags) {
    if (!TAG_PATTERN.test(tag)) {
      throw new InvalidRequest(`${what}: "${tag.slice(0, 40)}" is not a tag: ${TAG_RULE}`);
    }
  }
  const unique = [...new Set(tags.map((tag) => tag.toLowerCase()))].sort();
  if (unique.length > MAX_TAGS) throw new InvalidRequest(`${what}: at most ${MAX_TAGS} tags (got ${unique.length}).`);
  return unique;
}

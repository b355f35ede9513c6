// Tags as people type them: separated by commas or spaces. The server checks and lower-cases them
// (src/client/tag-rule.ts); the form checks the same before sending (tagsProblem), in words, so a
// bad tag is said under the Tags field.
import { MAX_TAGS, TAG_CHARACTERS, TAG_MAX_LENGTH, TAG_PATTERN, TAG_RULE } from '../client/tag-rule.ts';

export function parseTags(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

/** A tag as the server stores it: lower case, each once (so "Promo" and "promo" are one). */
export function distinctTags(tags: readonly string[]): string[] {
  const seen = new Set<string>();
  return tags.filter((tag) => {
    const key = tag.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** What is wrong with one tag, said as a person reads it. */
export function badTagSentence(typed: string): string {
  // A long paste is named by its start, as the server does.
  const tag = [...typed].length > 40 ? `${[...typed].slice(0, 40).join('')}…` : typed;
  if (TAG_CHARACTERS.test(typed) && [...typed].length > TAG_MAX_LENGTH) return `The tag "${tag}" is too long: a tag is ${TAG_RULE}.`;
  return `The tag "${tag}" has characters a tag cannot have: ${TAG_RULE}`;
}

export const TOO_MANY_TAGS = `At most ${MAX_TAGS} tags.`;

/** What is wrong with the tags typed, checked before sending as the server would; null when nothing. */
export function tagsProblem(tags: readonly string[]): string | null {
  const bad = tags.find((tag) => !TAG_PATTERN.test(tag));
  if (bad !== undefined) return badTagSentence(bad);
  if (distinctTags(tags).length > MAX_TAGS) return TOO_MANY_TAGS;
  return null;
}

export const TAGS_HINT = `Separate tags with commas: letters, digits and - _ . : / (up to ${MAX_TAGS}).`;

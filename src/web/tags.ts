// Tags as people type them: separated by commas or spaces. The server checks and lower-cases them
// (1 to 32 of letters, digits and - _ . : /, at most 20) and answers a sentence when one is not.

export function parseTags(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

export const TAGS_HINT = 'Separate tags with commas: letters, digits and - _ . : / (up to 20).';

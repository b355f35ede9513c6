/** `items` in runs of at most `size`, in order; `items` itself when it is one run already (no copy). */
export function chunksOf<T>(items: T[], size: number): T[][] {
  if (items.length <= size) return [items];
  const chunks: T[][] = [];
  for (let from = 0; from < items.length; from += size) chunks.push(items.slice(from, from + size));
  return chunks;
}

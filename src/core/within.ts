// A stop that waits for work under way, but never past its deadline: the work goes on (a statement on
// a hung database cannot be taken back), the stop stops waiting for it.

/**
 * Resolves when `work` does, or after `ms`, whichever is first (rejects if `work` rejects first). An
 * infinite `ms` waits for `work` alone: setTimeout would read it as 1 ms.
 */
export async function within(work: Promise<unknown>, ms: number): Promise<void> {
  if (!Number.isFinite(ms)) {
    await work;
    return;
  }
  let expired: NodeJS.Timeout | undefined;
  try {
    await Promise.race([work, new Promise((resolve) => (expired = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(expired);
  }
}

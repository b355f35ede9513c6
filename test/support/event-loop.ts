// How long the event loop was held up while `work` ran: the longest wait between two ticks of a
// timer of `intervalMs`. For services run in the test's own process, whose redirects would wait as long.
export async function longestTimerGap<T>(intervalMs: number, work: () => Promise<T>): Promise<{ result: T; longestMs: number }> {
  let last = performance.now();
  let longestMs = 0;
  const timer = setInterval(() => {
    const at = performance.now();
    longestMs = Math.max(longestMs, at - last);
    last = at;
  }, intervalMs);
  try {
    const result = await work();
    return { result, longestMs };
  } finally {
    clearInterval(timer);
  }
}

// The calls made in one tick (until process.nextTick runs), sent together, with one promise for all
// of them: the Redis cache's writes (the fills after one PostgreSQL query, the creations of one
// INSERT) and the invalidations of one tick. A promise and its reactions per call cost a cold
// redirect or a creation more than its share of the one command (docs/performance.md).

/**
 * `add(item)` queues `item` for this tick's `send` and returns the promise every item of the tick
 * shares: settled as `send`'s. A call made while `send` runs, or after, starts the next tick's group.
 */
export function createTickGroup<T, R>(send: (items: T[]) => Promise<R>): (item: T) => Promise<R> {
  let items: T[] | null = null;
  let settle: { resolve: (value: R) => void; reject: (err: unknown) => void } | null = null;
  let shared: Promise<R> | null = null;

  function flush(): void {
    const batch = items ?? [];
    const outcome = settle;
    items = null;
    settle = null;
    shared = null;
    if (outcome === null) return;
    let sent: Promise<R>;
    try {
      sent = send(batch);
    } catch (err) {
      outcome.reject(err);
      return;
    }
    sent.then(outcome.resolve, outcome.reject);
  }

  return (item) => {
    if (items === null || shared === null) {
      items = [];
      shared = new Promise<R>((resolve, reject) => (settle = { resolve, reject }));
      process.nextTick(flush);
    }
    items.push(item);
    return shared;
  };
}

// The calls made in one tick (until process.nextTick runs), sent together, with one promise for all
// of them: the Redis cache's writes (the fills after one PostgreSQL query, the creations of one
// INSERT) and the invalidations of one tick. A promise and its reactions per call cost a cold
// redirect or a creation more than its share of the one command (docs/performance.md).

interface Group<T, R> {
  items: T[];
  shared: Promise<R>;
  resolve: (value: R) => void;
  reject: (err: unknown) => void;
}

/**
 * `add(item)` queues `item` for this tick's `send` and returns the promise every item of the tick
 * shares: settled as `send`'s. A call made while `send` runs, or after, starts the next tick's group.
 */
export function createTickGroup<T, R>(send: (items: T[]) => Promise<R>): (item: T) => Promise<R> {
  let group: Group<T, R> | null = null;

  function flush(sending: Group<T, R>): void {
    group = null;
    let sent: Promise<R>;
    try {
      sent = send(sending.items);
    } catch (err) {
      sending.reject(err);
      return;
    }
    sent.then(sending.resolve, sending.reject);
  }

  return (item) => {
    if (group === null) {
      // Promise.withResolvers is Node 22's.
      let resolve!: (value: R) => void;
      let reject!: (err: unknown) => void;
      const shared = new Promise<R>((onValue, onError) => {
        resolve = onValue;
        reject = onError;
      });
      group = { items: [], shared, resolve, reject };
      process.nextTick(flush, group);
    }
    group.items.push(item);
    return group.shared;
  };
}

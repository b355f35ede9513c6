// The calls made in one tick (until process.nextTick runs), sent together, with one promise for all
// of them: the Redis cache's writes (the fills after one PostgreSQL query, the creations of one
// INSERT) and the invalidations of one tick. A promise and its reactions per call cost a cold
// redirect or a creation more than its share of the one command (docs/performance.md).
import { callPromise } from './call-promise.ts';

/**
 * `add(item)` queues `item` for this tick's `send` and returns the promise every item of the tick
 * shares: settled as `send`'s. A call made while `send` runs, or after, starts the next tick's group.
 */
export function createTickGroup<T, R>(send: (items: T[]) => Promise<R>): (item: T) => Promise<R> {
  /** This tick's items and their promise, until they are sent. */
  let group: { items: T[]; shared: Promise<R> } | null = null;
  return (item) => {
    if (group === null) {
      const items: T[] = [];
      const shared = new Promise<R>((resolve, reject) => {
        process.nextTick(() => {
          group = null;
          callPromise(() => send(items)).then(resolve, reject);
        });
      });
      group = { items, shared };
    }
    group.items.push(item);
    return group.shared;
  };
}

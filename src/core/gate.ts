// A bound on how many calls of one kind run at once, with a bounded wait for a turn: the analytics
// reads (src/storage/postgres/pg-link-store.ts) may each hold a request-path connection for seconds,
// and must leave the rest of the pool to redirects and writes.
export interface Gate {
  /** `work` once a turn is free; `full()`'s error when none frees within the wait. */
  run<T>(work: () => Promise<T>): Promise<T>;
}

export interface GateOptions {
  max: number;
  maxWaitMs: number;
  /** The error of a call that found no turn in time. */
  full: () => Error;
}

export function createGate(options: GateOptions): Gate {
  let running = 0;
  const waiting: { start: () => void; timer: NodeJS.Timeout }[] = [];

  function done(): void {
    running -= 1;
    const next = waiting.shift();
    if (next === undefined) return;
    clearTimeout(next.timer);
    next.start();
  }

  return {
    run<T>(work: () => Promise<T>): Promise<T> {
      const go = (): Promise<T> => {
        running += 1;
        // A work that throws before its promise frees its turn as one that rejects.
        return Promise.resolve().then(work).finally(done);
      };
      if (running < options.max) return go();
      return new Promise<T>((resolve, reject) => {
        const entry = {
          start: () => void go().then(resolve, reject),
          timer: setTimeout(() => {
            waiting.splice(waiting.indexOf(entry), 1);
            reject(options.full());
          }, options.maxWaitMs),
        };
        waiting.push(entry);
      });
    },
  };
}

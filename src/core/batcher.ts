// Coalesces calls made in the same turn of the event loop into one call with all their inputs: under
// load, fifty concurrent redirects that miss the cache become one `WHERE short_code = ANY(...)`
// query instead of fifty round trips, and concurrent creations one multi-row INSERT. Alone, a call
// waits only until the end of the current turn (setImmediate), so a quiet server pays nothing.
//
// At most `maxConcurrent` runs are in flight: calls that arrive meanwhile wait here and go out in the
// next, larger batch when one finishes. A run holds a database connection, so unbounded runs would
// queue at the connection pool instead, where a wait that runs out looks like a failing database.

/** One result per input, in order; an Error fails only the call it stands for. */
export type BatchRun<I, O> = (inputs: readonly I[]) => Promise<(O | Error)[]>;

export function createBatcher<I, O>(run: BatchRun<I, O>, maxBatch: number, maxConcurrent = Number.POSITIVE_INFINITY): (input: I) => Promise<O> {
  if (!(maxConcurrent >= 1)) throw new Error('maxConcurrent must be at least 1');
  let queue: { input: I; resolve: (value: O) => void; reject: (err: unknown) => void }[] = [];
  let scheduled = false;
  let inFlight = 0;

  function dispatch(): void {
    scheduled = false;
    while (queue.length > 0 && inFlight < maxConcurrent) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      inFlight++;
      run(batch.map((item) => item.input))
        .then(
          (results) => {
            batch.forEach((item, i) => {
              const result = results[i];
              if (result instanceof Error) item.reject(result);
              else if (result === undefined) item.reject(new Error('batch returned no result for an input'));
              else item.resolve(result);
            });
          },
          (err: unknown) => batch.forEach((item) => item.reject(err)),
        )
        .finally(() => {
          inFlight--;
          // Whatever queued while every run was busy goes out now, as one batch.
          if (queue.length > 0) dispatch();
        });
    }
  }

  return (input) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      if (!scheduled && inFlight < maxConcurrent) {
        scheduled = true;
        setImmediate(dispatch);
      }
    });
}

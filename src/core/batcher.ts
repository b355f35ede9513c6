// Coalesces calls made in the same turn of the event loop into one call with all their inputs: under
// load, fifty concurrent redirects that miss the cache become one `WHERE short_code = ANY(...)`
// query instead of fifty round trips, and concurrent creations one multi-row INSERT. Alone, a call
// waits only until the end of the current turn (setImmediate), so a quiet server pays nothing.
//
// At most `maxConcurrent` runs are in flight: calls that arrive meanwhile wait here and go out in the
// next, larger batch when one finishes. A run holds a database connection, so unbounded runs would
// queue at the connection pool instead, where a wait that runs out looks like a failing database.
//
// That wait here is bounded like the one at the pool it replaces (see `BatcherLimits`): without a
// deadline and a length limit, a database that answers slowly but successfully (so no breaker opens)
// lets waiting calls, and their latency and memory, grow without end.

/** One result per input, in order; an Error fails only the call it stands for. */
export type BatchRun<I, O> = (inputs: readonly I[]) => Promise<(O | Error)[]>;

/** Why a call was refused without running: too many waiting already, or it waited too long. */
export type OverloadReason = 'queue_full' | 'deadline';

export interface BatcherLimits {
  /**
   * Most calls waiting beyond those the free run places take at the next dispatch; one more is refused
   * at once. A burst within one turn that the free places carry off is not a backlog.
   */
  maxQueued: number;
  /** Longest a call waits for a run to take it; past that it is refused and never runs. */
  maxWaitMs: number;
  /** The error a refused call is rejected with (the caller's back-pressure error). */
  overloaded: (reason: OverloadReason) => Error;
}

interface Waiting<I, O> {
  input: I;
  /** When it is refused if no run has taken it (performance.now()). */
  deadline: number;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
}

/**
 * When the calls gathered so far go out. setImmediate (the default) gathers across the I/O callbacks
 * of one turn, such as requests arriving on different sockets; process.nextTick only the calls made
 * in the current callback and its promise continuations, sending them before the loop moves on (for
 * calls that the one result they follow makes together).
 */
export type BatchSchedule = (dispatch: () => void) => void;

export interface BatcherOptions {
  /** When gathered calls go out (default setImmediate). */
  schedule?: BatchSchedule;
  /**
   * While a run is in flight, another starts only this long after the last one started: while runs
   * are quick, calls that arrive during one wait for it and go out together in the next (fewer,
   * larger statements), and a run that is slow or hung does not hold the others back longer than
   * this. Measured from the last start, not from the start of the youngest run still in flight: a run
   * that ended early can hold a spare back by up to this long once more. Without it, every free place
   * starts a run at once.
   */
  spareAfterMs?: number;
}

export function createBatcher<I, O>(
  run: BatchRun<I, O>,
  maxBatch: number,
  maxConcurrent = Number.POSITIVE_INFINITY,
  limits?: BatcherLimits,
  options: BatcherOptions = {},
): (input: I) => Promise<O> {
  const { schedule = setImmediate, spareAfterMs } = options;
  if (!(maxConcurrent >= 1)) throw new Error('maxConcurrent must be at least 1');
  if (limits !== undefined && !(limits.maxQueued >= 1 && limits.maxWaitMs > 0)) throw new Error('maxQueued must be at least 1 and maxWaitMs positive');
  if (spareAfterMs !== undefined && !(spareAfterMs >= 0)) throw new Error('spareAfterMs must not be negative');
  // Waiting calls are queue[head..]; taking from the front moves `head` instead of copying the rest,
  // which under a backlog would cost the whole queue on every run.
  let queue: Waiting<I, O>[] = [];
  let head = 0;
  let scheduled = false;
  let inFlight = 0;
  let expiry: NodeJS.Timeout | undefined;
  /** When a run last started (performance.now()), and the timer for a spare run after it. */
  let lastStart = 0;
  let spare: NodeJS.Timeout | undefined;

  const waiting = (): number => queue.length - head;

  function take(count: number): Waiting<I, O>[] {
    const batch = queue.slice(head, head + count);
    head += batch.length;
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head >= 1024 && head * 2 >= queue.length) {
      // Drop the taken front once it is at least half the array: amortised O(1) per call.
      queue = queue.slice(head);
      head = 0;
    }
    return batch;
  }

  // Every call waits the same maxWaitMs and joins at the back, so deadlines fall in queue order: the
  // expired ones are always at the front, and one timer, for the front's deadline, serves them all.
  function armExpiry(): void {
    if (limits === undefined || expiry !== undefined || waiting() === 0) return;
    const front = queue[head];
    if (front === undefined) return;
    expiry = setTimeout(expire, Math.max(0, front.deadline - performance.now()));
  }

  function expire(): void {
    expiry = undefined;
    if (limits === undefined) return;
    const now = performance.now();
    let count = 0;
    while (head + count < queue.length && (queue[head + count]?.deadline ?? Infinity) <= now) count++;
    for (const item of take(count)) item.reject(limits.overloaded('deadline'));
    armExpiry();
  }

  function spareRun(): void {
    spare = undefined;
    dispatch();
  }

  function dispatch(): void {
    scheduled = false;
    while (waiting() > 0 && inFlight < maxConcurrent) {
      if (inFlight > 0 && spareAfterMs !== undefined) {
        const due = lastStart + spareAfterMs - performance.now();
        if (due > 0) {
          spare ??= setTimeout(spareRun, due);
          break;
        }
      }
      const batch = take(maxBatch);
      inFlight++;
      lastStart = performance.now();
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
          if (waiting() > 0) dispatch();
        });
    }
    if (waiting() === 0 && expiry !== undefined) {
      clearTimeout(expiry);
      expiry = undefined;
    }
    if (spare !== undefined && (waiting() === 0 || inFlight >= maxConcurrent)) {
      clearTimeout(spare);
      spare = undefined;
    }
  }

  return (input) =>
    new Promise<O>((resolve, reject) => {
      const room = (maxConcurrent - inFlight) * maxBatch;
      if (limits !== undefined && waiting() - room >= limits.maxQueued) {
        reject(limits.overloaded('queue_full'));
        return;
      }
      queue.push({ input, deadline: performance.now() + (limits?.maxWaitMs ?? 0), resolve, reject });
      armExpiry();
      if (!scheduled && inFlight < maxConcurrent) {
        scheduled = true;
        schedule(dispatch);
      }
    });
}

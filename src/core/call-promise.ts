// Promise chains in place of async functions on the redirect's path (docs/performance.md, "The
// redirect path"): an async function turns a synchronous throw into a rejection, and so must they.

/** `call()`'s promise; a rejection of what it threw, should it throw before returning one. */
export function callPromise<T>(call: () => Promise<T>): Promise<T> {
  try {
    return call();
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

// Promise chains in place of async functions on the redirect's path (docs/performance.md, "The
// redirect path"): an async function turns a synchronous throw into a rejection, and so must they.

/** `call()`'s promise; a rejection of what it threw, should it throw before returning one. */
export function callPromise<T>(call: () => Promise<T>): Promise<T> {
  try {
    return call();
  } catch (err) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what an async function rejects with: the thrown value itself
    return Promise.reject(err);
  }
}

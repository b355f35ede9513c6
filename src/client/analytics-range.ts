// How long a range of days the analytics API answers (GET /urls/{code}/analytics?from=&to=), in one
// place for the server's check, the CLI's (before sending) and the web app's All range.
// Dependency-free, so the browser bundle takes it from here too (as src/client/api-key.ts).

/** Ten years of days, both ends included: what a range may span. */
export const MAX_RANGE_DAYS = 3660;

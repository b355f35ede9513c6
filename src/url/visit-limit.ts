// A link's visit limit (`max_visits`) as creation and updates take it: one-time is a limit of one.
// How a visit is counted against it is the store's conditional UPDATE (LinkStore.countVisit).
import { InvalidRequest } from '../core/errors.ts';

/** The most visits a limit may allow; the migration's CHECK says the same (migrations/005_visit_limits.sql). */
export const MAX_VISITS = 1_000_000_000;

export function checkVisitLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_VISITS) throw new InvalidRequest(`max_visits must be a whole number from 1 to ${MAX_VISITS}.`);
}

/** A new link's limit: `max_visits`, else 1 for `one_time`, else none; the two must not disagree. */
export function visitLimitOf(input: { oneTime?: boolean; maxVisits?: number }): number | null {
  if (input.maxVisits === undefined) return input.oneTime === true ? 1 : null;
  checkVisitLimit(input.maxVisits);
  if (input.oneTime !== undefined && input.oneTime !== (input.maxVisits === 1)) {
    throw new InvalidRequest(`one_time ${String(input.oneTime)} and max_visits ${input.maxVisits} disagree: a one-time link is max_visits 1. Give one of them.`);
  }
  return input.maxVisits;
}

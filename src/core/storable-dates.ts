// The dates a request may carry to the database: years 0001 to 9999 (UTC), what ISO 8601 writes with
// four digits and PostgreSQL reads back. JavaScript's Date reaches further (year 0, negative years,
// +275760), and a date-time such as 0000-01-01T00:00:00Z passes the schema's format: handed on, it
// was refused by PostgreSQL as out of range, and answered 500 (docs/architecture.md, "Configuration, errors, logs, metrics").
const EARLIEST_MS = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** Whether `ms` (epoch milliseconds) is a moment of the years 0001 to 9999, UTC. */
export function isStorableTime(ms: number): boolean {
  return ms >= EARLIEST_MS && ms <= LATEST_MS;
}

/** How a refusal says it. */
export const STORABLE_RANGE = 'from the year 0001 to 9999 (UTC)';

/**
 * Milliseconds of a YYYY-MM-DD day at 00:00 UTC, or null when it is no such day: Date rolls a day the
 * month lacks over into the next (2030-02-30 would be 2 March), which a request must not get.
 */
export function calendarDayMs(day: string): number | null {
  const ms = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day ? null : ms;
}

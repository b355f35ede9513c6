// Dates and numbers as people read them, in their own locale and time zone.
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const number = new Intl.NumberFormat();

export const formatNumber = (n: number): string => number.format(n);

export function formatDateTime(iso: string | null, none = 'never'): string {
  return iso === null ? none : dateTime.format(new Date(iso));
}

/** A UTC day (YYYY-MM-DD) as the API counts clicks, shown as it is: unambiguous in every locale. */

export const STATE_LABELS: Record<string, string> = { active: 'Active', expired: 'Expired', used: 'Used up', disabled: 'Disabled' };

/** The API's bound on a visit limit. */
const MAX_VISITS = 1_000_000_000;

/** A visit-limit field: null when empty (no limit), the number, or what is wrong with it. */
export function parseVisitLimit(text: string): number | null | string {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  const limit = /^\d{1,10}$/.test(trimmed) ? Number(trimmed) : NaN;
  return limit >= 1 && limit <= MAX_VISITS ? limit : `The visit limit must be a whole number from 1 to ${formatNumber(MAX_VISITS)}, or empty for none.`;
}

/** `2 of 5` visits made of the limit, or `no limit`. */
export function visitsText(link: { visits: number; max_visits: number | null }): string {
  return link.max_visits === null ? 'no limit' : `${formatNumber(link.visits)} of ${formatNumber(link.max_visits)}`;
}

/** A value for <input type="datetime-local">, in the browser's time zone. */
export function toLocalInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// Dates and numbers as people read them, in their own locale and time zone.
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const number = new Intl.NumberFormat();

export const formatNumber = (n: number): string => number.format(n);

export function formatDateTime(iso: string | null, none = 'never'): string {
  return iso === null ? none : dateTime.format(new Date(iso));
}

/** A UTC day (YYYY-MM-DD) as the API counts clicks, shown as it is: unambiguous in every locale. */

export const STATE_LABELS: Record<string, string> = { active: 'Active', expired: 'Expired', used: 'Used (one-time)', disabled: 'Disabled' };

/** A value for <input type="datetime-local">, in the browser's time zone. */
export function toLocalInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

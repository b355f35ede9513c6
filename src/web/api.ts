// The API's problem documents, and the SDK's other failures, as sentences a person can act on, each
// tied to the field concerned (the client itself: src/web/client.ts).
import { CurtApiError, CurtUnreachableError, NotCurtError, type Problem } from '../client/curt-client.ts';
import { formatDateTime } from './format.ts';
import { badTagSentence, TOO_MANY_TAGS } from './tags.ts';
import { TAG_RULE } from '../client/tag-rule.ts';

/** The form fields an error can belong to; `form` is the form as a whole. */
export type Field = 'url' | 'alias' | 'expiry' | 'visits' | 'tags' | 'key' | 'name' | 'password' | 'form';

/** What the request sent, for sentences that name it: the API names a tag by its place (`tags[1]`). */
export interface Sent {
  tags?: readonly string[];
}

/** The server's rule for a link password (8 to 128 characters), checked before sending; null when it holds. */
export function passwordProblem(password: string): string | null {
  const length = [...password.normalize('NFC')].length;
  if (length < 8) return 'A password needs at least 8 characters.';
  if (length > 128) return 'A password can have at most 128 characters.';
  return null;
}

const FIELD_OF: Record<string, Field> = {
  invalid_url: 'url',
  url_blocked: 'url',
  payload_too_large: 'url',
  invalid_alias: 'alias',
  alias_taken: 'alias',
  alias_reserved: 'alias',
  alias_cooling_down: 'alias',
  invalid_expiry: 'expiry',
  unauthorized: 'key',
};

export interface Explained {
  field: Field;
  message: string;
  code: string | null;
}

/** The API names fields as its JSON does (`url must be…`); a person reads the field's label. */
const FIELD_WORDS: [RegExp, string][] = [
  [/^url\b/, 'The address'],
  [/^alias\b/, 'The alias'],
  [/^expires_(at|in)\b/, 'The expiry'],
  [/^max_visits\b/, 'The visit limit'],
];

/** An ISO 8601 instant as the API writes one (Date#toISOString). */
const ISO_INSTANT = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/;

/** The cool-down's end in the detail as the app shows dates: the problem's `available_at`, else the instant the detail names. */
function coolDownDetail(problem: Problem, detail: string): string {
  const member = typeof problem.available_at === 'string' && !Number.isNaN(Date.parse(problem.available_at)) ? problem.available_at : undefined;
  const named = detail.match(ISO_INSTANT)?.[0];
  const at = member ?? named;
  if (at === undefined) return detail;
  if (named !== undefined) return detail.replace(named, formatDateTime(at));
  return `${detail} It can be used again from ${formatDateTime(at)}.`;
}

/**
 * The API's sentences about `tags` (the schema's `tags[1] has characters…`, `tags must have at most
 * 20 items.`, the service's `tags: "x" is not a tag…`) in the words of the form's own check.
 */
function tagsSentence(detail: string, sent: Sent): string {
  if (/^tags(:| must have) at most \d+/.test(detail)) return TOO_MANY_TAGS;
  const quoted = /^tags: "(.*)" is not a tag\b/.exec(detail);
  if (quoted?.[1] !== undefined) return badTagSentence(quoted[1]);
  const item = /^tags\[(\d+)\] (.*)$/.exec(detail);
  if (item?.[1] !== undefined) {
    const index = Number(item[1]);
    const tag = sent.tags?.[index];
    if (tag !== undefined && /has characters|not allowed|must be at most/.test(item[2] ?? '')) return badTagSentence(tag);
    const name = tag === undefined ? `Tag ${index + 1}` : `The tag "${tag}"`;
    if (/has characters|not allowed/.test(item[2] ?? '')) return `${name} has characters a tag cannot have: ${TAG_RULE}`;
    return `${name} ${item[2] ?? 'is not valid.'}`;
  }
  return detail.replace(/^tags\b:?/, 'The tags');
}

function sentence(problem: Problem, sent: Sent = {}): string {
  const raw = problem.detail ?? problem.title;
  if (problem.code === 'invalid_request' && /^tags\b/.test(raw)) return tagsSentence(raw, sent);
  const detail = FIELD_WORDS.reduce((text, [pattern, words]) => text.replace(pattern, words), raw);
  switch (problem.code) {
    case 'alias_taken':
      return `${detail} Choose another alias, or leave it empty for a generated code.`;
    case 'alias_reserved':
      return `${detail} Curt uses that word for its own pages; choose another alias.`;
    case 'alias_cooling_down':
      return `${coolDownDetail(problem, detail)} Choose another alias until then.`;
    case 'url_blocked':
      return `Links to this site cannot be made here. ${detail}`;
    case 'unauthorized':
      return 'This API key is not valid (or has been revoked). Check it and sign in again.';
    case 'forbidden':
      return 'Your API key may not do that: it needs an admin key.';
    case 'rate_limited':
      return `Too many requests for now. ${detail}`;
    case 'link_not_found':
      return 'No short link has this code (or it belongs to another API key).';
    default:
      if (problem.status >= 500) return `The server could not do this just now: ${detail} Try again in a moment.`;
      return detail;
  }
}

/** A visit limit or tags the API refuses are an invalid_request like any other: its sentence names the field. */
function invalidRequestField(detail: string | undefined): Field {
  if (/^max_visits\b/.test(detail ?? '')) return 'visits';
  if (/^tags\b/.test(detail ?? '')) return 'tags';
  return 'form';
}

/** Which field an API error concerns, and what to tell the person; `sent`: what the request sent, to name it. */
export function explain(error: unknown, sent: Sent = {}): Explained {
  if (error instanceof CurtApiError) {
    const field = FIELD_OF[error.problem.code] ?? (error.problem.code === 'invalid_request' ? invalidRequestField(error.problem.detail) : 'form');
    return { field, message: sentence(error.problem, sent), code: error.problem.code };
  }
  // Something in between answered (a proxy's 502 page, a 404 of another server): not Curt's JSON.
  if (error instanceof NotCurtError) {
    const message =
      error.status >= 500
        ? `The server could not do this just now (it answered HTTP ${error.status}). Try again in a moment.`
        : `The server answered something unexpected (HTTP ${error.status}), not what Curt answers. Try again; if it goes on, tell whoever runs this server.`;
    return { field: 'form', message, code: null };
  }
  if (error instanceof CurtUnreachableError) {
    return { field: 'form', message: error.reason === 'timeout' ? 'The server took too long to answer. Try again.' : 'The server could not be reached. Check your connection and try again.', code: null };
  }
  // An answer that stopped part way (a download read as it comes).
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return { field: 'form', message: 'The server took too long to answer. Try again.', code: null };
  }
  if (error instanceof TypeError) return { field: 'form', message: 'The server could not be reached. Check your connection and try again.', code: null };
  return { field: 'form', message: error instanceof Error ? error.message : String(error), code: null };
}

export function isProblem(error: unknown, code: string): boolean {
  return error instanceof CurtApiError && error.problem.code === code;
}

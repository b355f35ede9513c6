// The API's problem documents, and the SDK's other failures, as sentences a person can act on, each
// tied to the field concerned (the client itself: src/web/client.ts).
import { CurtApiError, CurtUnreachableError, type Problem } from '../client/curt-client.ts';

/** The form fields an error can belong to; `form` is the form as a whole. */
export type Field = 'url' | 'alias' | 'expiry' | 'visits' | 'key' | 'name' | 'password' | 'form';

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

function sentence(problem: Problem): string {
  const raw = problem.detail ?? problem.title;
  const detail = FIELD_WORDS.reduce((text, [pattern, words]) => text.replace(pattern, words), raw);
  switch (problem.code) {
    case 'alias_taken':
      return `${detail} Choose another alias, or leave it empty for a generated code.`;
    case 'alias_reserved':
      return `${detail} Curt uses that word for its own pages; choose another alias.`;
    case 'alias_cooling_down':
      return `${detail} Choose another alias until then.`;
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

/** Which field an API error concerns, and what to tell the person. */
export function explain(error: unknown): Explained {
  if (error instanceof CurtApiError) {
    // A visit limit the API refuses is an invalid_request like any other: its sentence names it.
    const field = FIELD_OF[error.problem.code] ?? (error.problem.code === 'invalid_request' && /^max_visits\b/.test(error.problem.detail ?? '') ? 'visits' : 'form');
    return { field, message: sentence(error.problem), code: error.problem.code };
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

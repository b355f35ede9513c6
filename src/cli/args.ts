// The `curt` command line, parsed into one typed command. Pure: no environment, no I/O, and the time
// is a parameter, so every rule here is a unit test (test/unit/cli-args.test.ts).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LINK_SORTS, LINK_STATES, type LinkSort, type LinkState, type WebhookEvent } from '../client/curt-client.ts';
import { ALIAS_PATTERN, isReservedCode } from '../core/reserved.ts';
import { shellWord } from './shell.ts';
import { MAX_TAGS, TAG_PATTERN, TAG_RULE } from '../client/tag-rule.ts';
import { MAX_RANGE_DAYS } from '../client/analytics-range.ts';
import { isTooShortSearch, MIN_SEARCH_CHARS, searchLength } from '../client/search-rule.ts';

export class UsageError extends Error {
  /** The verb whose help explains the mistake; null for the general help. */
  constructor(
    message: string,
    readonly verb: string | null,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Options of every client verb: where the server is and how to answer. */
export interface ClientFlags {
  server?: string;
  apiKey?: string;
  json: boolean;
}

/**
 * Where a link's password comes from: a prompt on the terminal (typed twice, not echoed) or the first
 * line of standard input; never the command line, which other users can read (ps, /proc) and shells
 * keep in their history. `remove`: the link loses its password.
 */
export type PasswordSource = 'prompt' | 'stdin';

export type Command =
  | { verb: 'help'; topic: string | null }
  | { verb: 'version' }
  /** Flags of `serve` become the variables they stand for (`--port 9000` is PORT=9000). */
  | { verb: 'serve'; env: Record<string, string> }
  | { verb: 'kgs' | 'url-service' | 'migrate' }
  | {
      verb: 'shorten';
      url: string;
      alias?: string;
      expiresInS?: number;
      /** `--expires-at`: an ISO 8601 date-time with its time zone, as given. */
      expiresAt?: string;
      oneTime: boolean;
      maxVisits?: number;
      forwardQuery: boolean;
      tags?: string[];
      password?: PasswordSource;
      client: ClientFlags;
    }
  /** `from`/`to`: UTC days (YYYY-MM-DD); the server's defaults when absent (the last 90 days). */
  | { verb: 'get'; code: string; client: ClientFlags }
  | { verb: 'stats'; code: string; from?: string; to?: string; top?: number; client: ClientFlags }
  | { verb: 'delete'; code: string; client: ClientFlags }
  /** `expiresInS: null`: the link no longer expires; `maxVisits: null`: it has no visit limit any more. `tags`: the whole new list (`[]`: none). */
  | {
      verb: 'edit';
      code: string;
      url?: string;
      expiresInS?: number | null;
      expiresAt?: string;
      isActive?: boolean;
      maxVisits?: number | null;
      forwardQuery?: boolean;
      tags?: string[];
      password?: PasswordSource | 'remove';
      client: ClientFlags;
    }
  | {
      verb: 'list';
      limit?: number;
      cursor?: string;
      all: boolean;
      search?: string;
      state?: LinkState;
      tags?: string[];
      sort?: LinkSort;
      order?: 'desc' | 'asc';
      /** ISO date-times. */
      createdAfter?: string;
      createdBefore?: string;
      expiresAfter?: string;
      expiresBefore?: string;
      client: ClientFlags;
    }
  | { verb: 'export'; format: 'csv' | 'ndjson'; client: ClientFlags }
  /** `output`: a file to write, else standard output; `size`: the PNG's width (the server's default when absent). */
  | { verb: 'qr'; code: string; format: 'svg' | 'png'; size?: number; output?: string; client: ClientFlags }
  /**
   * `file`: a path, or `-` for standard input. `type`: --type, else from the file's name (.csv;
   * .ndjson, .jsonl); absent for standard input and other names: told from the file's first byte.
   */
  | { verb: 'import'; file: string; format?: 'curt' | 'kutt' | 'yourls'; type?: 'csv' | 'ndjson'; client: ClientFlags }
  | { verb: 'keys create'; admin: boolean; name?: string; client: ClientFlags }
  | { verb: 'keys list'; client: ClientFlags }
  | { verb: 'keys revoke'; id: number; client: ClientFlags }
  | { verb: 'webhooks add'; url: string; events: WebhookEvent[]; description?: string; client: ClientFlags }
  | { verb: 'webhooks list'; client: ClientFlags }
  | { verb: 'webhooks rm'; id: number; client: ClientFlags }
  | { verb: 'webhooks enable' | 'webhooks disable'; id: number; client: ClientFlags }
  | { verb: 'webhooks deliveries'; id: number; limit?: number; cursor?: string; client: ClientFlags };

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  server: { type: 'string' },
  'api-key': { type: 'string' },
  json: { type: 'boolean' },
  alias: { type: 'string' },
  'expires-in': { type: 'string' },
  'expires-at': { type: 'string' },
  'one-time': { type: 'boolean' },
  'max-visits': { type: 'string' },
  'no-max-visits': { type: 'boolean' },
  'forward-query': { type: 'boolean' },
  'no-forward-query': { type: 'boolean' },
  password: { type: 'boolean' },
  'password-stdin': { type: 'boolean' },
  'no-password': { type: 'boolean' },
  url: { type: 'string' },
  'no-expiry': { type: 'boolean' },
  disable: { type: 'boolean' },
  enable: { type: 'boolean' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean' },
  search: { type: 'string' },
  state: { type: 'string' },
  tag: { type: 'string', multiple: true },
  tags: { type: 'string', multiple: true },
  'no-tags': { type: 'boolean' },
  sort: { type: 'string' },
  order: { type: 'string' },
  'created-after': { type: 'string' },
  'created-before': { type: 'string' },
  'expires-after': { type: 'string' },
  'expires-before': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  top: { type: 'string' },
  admin: { type: 'boolean' },
  format: { type: 'string' },
  type: { type: 'string' },
  name: { type: 'string' },
  // Repeatable, as --tag is: `--events link.created --events link.deleted` kept only the last.
  events: { type: 'string', multiple: true },
  description: { type: 'string' },
  size: { type: 'string' },
  output: { type: 'string', short: 'o' },
  port: { type: 'string' },
  host: { type: 'string' },
  'data-dir': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type OptionName = keyof typeof OPTIONS;
type Values = {
  [K in OptionName]?: (typeof OPTIONS)[K] extends { multiple: true } ? string[] : (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean;
};

const CLIENT: OptionName[] = ['server', 'api-key', 'json'];
/** What `curt edit` can change: its flags, and the list its "needs a change" error names. */
const EDIT_CHANGES: OptionName[] = [
  'url',
  'expires-in',
  'expires-at',
  'no-expiry',
  'disable',
  'enable',
  'max-visits',
  'no-max-visits',
  'forward-query',
  'no-forward-query',
  'tags',
  'tag',
  'no-tags',
  'password',
  'password-stdin',
  'no-password',
];
/** Flags of `curt edit` that contradict each other: one of each pair at most. */
const EDIT_EXCLUSIVE: [OptionName, OptionName][] = [
  ['disable', 'enable'],
  ['expires-in', 'no-expiry'],
  ['expires-at', 'no-expiry'],
  ['expires-in', 'expires-at'],
  ['max-visits', 'no-max-visits'],
  ['forward-query', 'no-forward-query'],
  ['tags', 'no-tags'],
  ['tag', 'no-tags'],
];
/** Each verb: the options it takes and its positional arguments. */
const VERBS: Record<string, { options: OptionName[]; positionals: string[] }> = {
  serve: { options: ['port', 'host', 'data-dir'], positionals: [] },
  kgs: { options: [], positionals: [] },
  'url-service': { options: [], positionals: [] },
  migrate: { options: [], positionals: [] },
  shorten: { options: [...CLIENT, 'alias', 'expires-in', 'expires-at', 'one-time', 'max-visits', 'forward-query', 'tag', 'tags', 'password', 'password-stdin'], positionals: ['url'] },
  get: { options: CLIENT, positionals: ['code'] },
  stats: { options: [...CLIENT, 'from', 'to', 'top'], positionals: ['code'] },
  delete: { options: CLIENT, positionals: ['code'] },
  edit: { options: [...CLIENT, ...EDIT_CHANGES], positionals: ['code'] },
  list: {
    options: [...CLIENT, 'limit', 'cursor', 'all', 'search', 'state', 'tag', 'tags', 'sort', 'order', 'created-after', 'created-before', 'expires-after', 'expires-before'],
    positionals: [],
  },
  export: { options: [...CLIENT, 'format'], positionals: [] },
  qr: { options: [...CLIENT, 'format', 'size', 'output'], positionals: ['code'] },
  import: { options: [...CLIENT, 'format', 'type'], positionals: ['file'] },
  'keys create': { options: [...CLIENT, 'admin', 'name'], positionals: [] },
  'keys list': { options: CLIENT, positionals: [] },
  'keys revoke': { options: CLIENT, positionals: ['id'] },
  'webhooks add': { options: [...CLIENT, 'events', 'description'], positionals: ['url'] },
  'webhooks list': { options: CLIENT, positionals: [] },
  'webhooks rm': { options: CLIENT, positionals: ['id'] },
  'webhooks enable': { options: CLIENT, positionals: ['id'] },
  'webhooks disable': { options: CLIENT, positionals: ['id'] },
  'webhooks deliveries': { options: [...CLIENT, 'limit', 'cursor'], positionals: ['id'] },
};

/** Verbs with subcommands (`curt keys list`, `curt webhooks add`). */
const SUBCOMMANDS: Record<string, string[]> = { keys: ['create', 'list', 'revoke'], webhooks: ['add', 'list', 'enable', 'disable', 'rm', 'deliveries'] };
const WEBHOOK_EVENTS: readonly WebhookEvent[] = ['link.created', 'link.updated', 'link.deleted', 'link.clicked'];

export const VERB_NAMES = Object.keys(VERBS);

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `90`, `45s`, `30m`, `12h`, `7d`, `2w` → seconds. */
export function parseDuration(text: string): number | null {
  // Up to 12 digits: more than any expiry the API takes (expiresIn's caller says so), and exact as a number.
  const match = /^(\d{1,12})([smhdw]?)$/.exec(text.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * (UNITS[match[2] || 's'] ?? 1);
  return seconds > 0 ? seconds : null;
}

/** The API's longest expiry: 100 years of 365 days (`expires_in`'s maximum). */
const MAX_EXPIRES_IN_S = 3_153_600_000;

/** Why `text` is not a duration, in words a person can act on. */
function durationProblem(text: string): string {
  const trimmed = text.trim();
  if (/^-/.test(trimmed)) return 'a link cannot expire in the past; give a positive duration';
  if (/^0+[smhdw]?$/.test(trimmed)) return 'a link cannot expire at once; give a duration of 1s or more';
  if (/^\d+[a-z]+$/i.test(trimmed)) return 'the units are s, m, h, d and w';
  if (/^\d+\.\d+/.test(trimmed)) return 'use a whole number with a smaller unit (90m, not 1.5h)';
  return 'it is not a duration';
}

/** Schemes people paste that are written without `//`; any other is told by its `scheme://`. */
const SCHEMES_WITHOUT_SLASHES = /^(mailto|tel|sms|javascript|vbscript|data|file|about|blob|magnet|urn|news|geo|sip|sips|xmpp|bitcoin|intent|market|itms-apps):/i;

/**
 * What the server refuses of a link's or a webhook's URL and can be told here, before any request
 * (a usage error, exit 2, not the server's 400 and exit 1): another scheme than http or https. Not
 * a host and port (`localhost:8080/x`) nor a user and password (`user:pw@example.com`): those get
 * suggestUrl's https URL.
 */
function otherScheme(text: string): string | null {
  const trimmed = text.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)?.[1] ?? SCHEMES_WITHOUT_SLASHES.exec(trimmed)?.[1];
  return scheme !== undefined && !/^https?$/i.test(scheme) ? scheme.toLowerCase() : null;
}

/**
 * A link's target or a webhook's address, checked as far as the CLI can before any request: another
 * scheme is refused, an address without one gets the https URL suggested. `subject` begins the
 * message (`shorten needs`, `--url must be`); `refusal` says what Curt does not do with the scheme.
 */
function checkWebUrl(text: string, subject: string, refusal: (scheme: string) => string, verb: string): void {
  const scheme = otherScheme(text);
  if (scheme !== null) throw new UsageError(`${subject} an http or https URL; ${refusal(scheme)}`, verb);
  const suggestion = suggestUrl(text);
  if (suggestion !== null) throw new UsageError(`${subject} an absolute http or https URL: did you mean ${suggestion}?`, verb);
}

const redirectsTo = (scheme: string): string => `Curt does not redirect to ${scheme}: links`;

/** `example.com/x` → `https://example.com/x`, when it makes a plausible web address; else null. */
export function suggestUrl(text: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return null;
  try {
    const url = new URL(`https://${text}`);
    return url.hostname.includes('.') || url.hostname === 'localhost' ? `https://${text}` : null;
  } catch {
    return null;
  }
}

/** `--limit -1`: node's parser takes `-1` for an option, so a value that is a negative number stays a value. */
function keepNegativeValues(argv: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : '';
    if (name in OPTIONS && OPTIONS[name as OptionName].type === 'string' && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else joined.push(arg);
  }
  return joined;
}

function parse(argv: string[]): { values: Values; positionals: string[] } {
  // For the hint in an error: the verb as far as it can be told before the options parse.
  const first = argv.find((arg) => !arg.startsWith('-'));
  const verb = first !== undefined && (first in SUBCOMMANDS || first in VERBS) ? first : null;
  try {
    const { values, positionals }: { values: Values; positionals: string[] } = parseArgs({
      args: keepNegativeValues(argv),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals };
  } catch (err) {
    const message = (err as Error).message;
    const option = /'(-[^ ']+)/.exec(message)?.[1] ?? '';
    const code = (err as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${option}`, verb);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /^--password/.test(option)) throw new UsageError(PASSWORD_NOT_IN_ARGV, verb);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError(`${option} needs a value`, verb);
    throw new UsageError(message, verb);
  }
}

const PASSWORD_NOT_IN_ARGV =
  '--password takes no value: the password is asked for on the terminal, or read from standard input with --password-stdin (a command line is visible to other users and kept in shell history)';

/** `--password` (a prompt) or `--password-stdin`; with `allowRemove`, also `--no-password`. */
function passwordSource(values: Values, verb: string, allowRemove: boolean): PasswordSource | 'remove' | undefined {
  const given = [values.password === true, values['password-stdin'] === true, allowRemove && values['no-password'] === true].filter(Boolean).length;
  if (given > 1) throw new UsageError(allowRemove ? 'give one of --password, --password-stdin or --no-password' : 'give --password or --password-stdin, not both', verb);
  if (values.password === true) return 'prompt';
  if (values['password-stdin'] === true) return 'stdin';
  if (allowRemove && values['no-password'] === true) return 'remove';
  return undefined;
}

function clientFlags(values: Values): ClientFlags {
  if (values.server !== undefined && !/^https?:\/\/[^/\s]+/.test(values.server)) {
    throw new UsageError(`--server must be a URL starting with http:// or https:// (got "${values.server}")`, null);
  }
  return {
    ...(values.server === undefined ? {} : { server: values.server }),
    ...(values['api-key'] === undefined ? {} : { apiKey: values['api-key'] }),
    json: values.json === true,
  };
}

function wholeNumber(text: string, flag: string, verb: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) throw new UsageError(`${flag} must be a whole number from ${min} to ${max} (got "${text}")`, verb);
  return value;
}

/** The widths of a QR PNG the API draws (README, GET /urls/{short_code}/qr). */
const QR_MIN_SIZE = 64;
const QR_MAX_SIZE = 2048;

/** The API's bound on a visit limit. */
const MAX_VISITS = 1_000_000_000;

/** `--max-visits`, when given. */
function maxVisits(values: Values, verb: string): number | undefined {
  const text = values['max-visits'];
  return text === undefined ? undefined : wholeNumber(text, '--max-visits', verb, 1, MAX_VISITS);
}

const DAY_MS = 86_400_000;

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * Why the YYYY-MM-DD at the start of `text` is no day (`February 2026 has 28 days`), or null when it is
 * one: Date.parse rolls 2026-02-30 over into March, the API refuses it.
 */
function noSuchDay(text: string): string | null {
  const [year = 0, month = 0, day = 0] = text.slice(0, 10).split('-').map(Number);
  if (month < 1 || month > 12) return 'a month is 01 to 12';
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0);
  const length = date.getUTCDate();
  return day >= 1 && day <= length ? null : `${MONTHS[month - 1] ?? ''} ${text.slice(0, 4)} has ${length} days`;
}

/**
 * `--from`/`--to`: a calendar day as YYYY-MM-DD (2026-02-30 is no day). `otherForms`: what else the
 * flag takes, said when a day of that form does not exist.
 */
function utcDay(text: string, flag: string, verb: string, otherForms = ''): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) throw new UsageError(`${flag} must be a day as YYYY-MM-DD, such as 2026-01-31 (got "${text}")`, verb);
  const problem = noSuchDay(text);
  if (problem !== null) throw new UsageError(`${flag} ${text} is no day: ${problem}${otherForms}`, verb);
  return text;
}

/**
 * The range of `stats`, checked as the server does (src/url/routes/links.ts, analyticsQuery): both
 * ends, or --from against today, the server's default --to (a UTC day, as the server counts them).
 * --to alone needs no check: --from is then 89 days before it.
 */
function statsRange(values: Values, verb: string, now: number): { from?: string; to?: string } {
  const from = values.from === undefined ? undefined : utcDay(values.from, '--from', verb);
  const to = values.to === undefined ? undefined : utcDay(values.to, '--to', verb);
  if (from !== undefined) {
    const today = new Date(now).toISOString().slice(0, 10);
    const end = to === undefined ? `today (${today} in UTC, the default --to)` : `--to ${to}`;
    const last = to ?? today;
    if (from > last) throw new UsageError(`--from ${from} is after ${end}`, verb);
    const days = (Date.parse(last) - Date.parse(from)) / DAY_MS + 1;
    if (days > MAX_RANGE_DAYS) throw new UsageError(`--from ${from} to ${end} is ${days} days; the server answers at most ${MAX_RANGE_DAYS}`, verb);
  }
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
}

/**
 * `--tag a --tag b,c` and `--tags a,b`, on every verb that takes tags: the two spellings are one
 * list (people type the other one), each tag checked, commas separating. Undefined when neither is given.
 */
function givenTags(values: Values, verb: string): string[] | undefined {
  if (values.tag === undefined && values.tags === undefined) return undefined;
  // Each flag's tags checked under its own name, then the bound on the whole list (the server's rule).
  const tags = [...tagList(values.tag ?? [], '--tag', verb), ...tagList(values.tags ?? [], '--tags', verb)];
  if (new Set(tags.map((t) => t.toLowerCase())).size > MAX_TAGS) throw new UsageError(`${values.tag === undefined ? '--tags' : '--tag'}: at most ${MAX_TAGS} tags`, verb);
  return tags;
}

/** One flag's values, split at commas, each checked as a tag. */
function tagList(given: readonly string[], flag: string, verb: string): string[] {
  const tags = given.flatMap((t) => t.split(',')).map((t) => t.trim()).filter((t) => t !== '');
  const bad = tags.find((t) => !TAG_PATTERN.test(t));
  if (bad !== undefined) throw new UsageError(`${flag}: "${bad}" is not a tag: ${TAG_RULE}`, verb);
  return tags;
}

/** The server's rule (src/client/search-rule.ts), said here in the flag's words, as a usage error. */
function searchText(text: string, verb: string): string {
  if (isTooShortSearch(text)) throw new UsageError(`--search needs at least ${MIN_SEARCH_CHARS} characters (got ${searchLength(text)}): a shorter text cannot use the search index`, verb);
  return text;
}

/** `--created-after` and the like: an ISO date-time, or a day (YYYY-MM-DD, its 00:00 UTC); sent as ISO. */
function dateTime(text: string, flag: string, verb: string): string {
  const otherForms = ' (a day as YYYY-MM-DD, or a date-time with a time zone such as 2026-01-31T12:00:00Z)';
  const day = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const ms = day ? Date.parse(`${utcDay(text, flag, verb, otherForms)}T00:00:00Z`) : /^\d{4}-\d{2}-\d{2}T/.test(text) && /(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${flag} must be a day (2026-01-31) or a date-time with a time zone (2026-01-31T12:00:00Z) (got "${text}")`, verb);
  // Date.parse takes 2026-02-30T12:00Z for 2 March: that day is as much no day as 2026-02-30 alone.
  const problem = noSuchDay(text);
  if (problem !== null) throw new UsageError(`${flag} ${text} is no day: ${problem}${otherForms}`, verb);
  return new Date(ms).toISOString();
}

function linkState(text: string, verb: string): LinkState {
  const state = LINK_STATES.find((s) => s === text);
  if (state === undefined) throw new UsageError(`--state must be one of ${LINK_STATES.join(', ')} (got "${text}")`, verb);
  return state;
}

/** `now`: epoch milliseconds, what a past --expires-at and the default end of a stats range are told by. */
export function parseCommand(argv: readonly string[], now: number = Date.now()): Command {
  const { values, positionals } = parse([...argv]);
  if (positionals.length === 0) {
    if (values.version === true) return { verb: 'version' };
    if (values.help === true) return { verb: 'help', topic: null };
    throw new UsageError('no command given', null);
  }
  let [verb = '', ...rest] = positionals;
  if (verb === 'help') return { verb: 'help', topic: rest.join(' ') || null };
  const subcommands = SUBCOMMANDS[verb];
  if (subcommands !== undefined) {
    if (rest[0] === undefined || !subcommands.includes(rest[0])) {
      if (values.help === true) return { verb: 'help', topic: verb };
      throw new UsageError(rest[0] === undefined ? `${verb} needs a subcommand: ${subcommands.join(', ')}` : `unknown ${verb} subcommand "${rest[0]}"`, verb);
    }
    verb = `${verb} ${rest[0]}`;
    rest = rest.slice(1);
  }
  const spec = VERBS[verb];
  if (spec === undefined) throw new UsageError(`unknown command "${verb}"`, null);
  if (values.help === true) return { verb: 'help', topic: verb };
  const given = (Object.keys(values) as OptionName[]).filter((name) => values[name] !== undefined);
  const stray = given.find((name) => !spec.options.includes(name));
  if (stray !== undefined) throw new UsageError(`${verb} does not take --${stray}`, verb);
  if (rest.length < spec.positionals.length) throw new UsageError(`${verb} needs <${spec.positionals[rest.length]}>`, verb);
  // `--password hunter22`: the would-be value is a stray argument; say why there is no such thing.
  if (rest.length > spec.positionals.length && values.password === true) throw new UsageError(PASSWORD_NOT_IN_ARGV, verb);
  if (rest.length > spec.positionals.length) throw new UsageError(`${verb} takes no argument "${rest[spec.positionals.length]}"`, verb);
  return build(verb, rest, values, now);
}

/** `--sort` and `--order` of `list`, when given. */
function listOrder(values: Values, verb: string): { sort?: LinkSort; order?: 'desc' | 'asc' } {
  const sort = values.sort === undefined ? undefined : LINK_SORTS.find((s) => s === values.sort);
  if (values.sort !== undefined && sort === undefined) throw new UsageError(`--sort must be one of ${LINK_SORTS.join(', ')} (got "${values.sort}")`, verb);
  const order = values.order;
  if (order !== undefined && order !== 'desc' && order !== 'asc') throw new UsageError(`--order must be desc or asc (got "${order}")`, verb);
  return { ...(sort === undefined ? {} : { sort }), ...(order === undefined ? {} : { order }) };
}

// What the API takes for expires_at: a date-time with a time zone (Z or ±hh:mm).
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i;

/**
 * `--expires-at` as given, when given and a date-time the API takes: at most 100 years from `now`
 * and, for a new link (not `allowPast`), after it (src/url/link-service.ts, resolveExpiry). On edit a
 * past one is taken: the link expires at once.
 */
function expiresAt(values: Values, verb: string, now: number, allowPast: boolean): string | undefined {
  const text = values['expires-at'];
  if (text === undefined) return undefined;
  if (!DATE_TIME.test(text)) {
    throw new UsageError(`--expires-at must be a date-time with a time zone, such as 2030-01-31T12:00Z or 2030-01-31T13:00+01:00 (got "${text}")`, verb);
  }
  const problem = noSuchDay(text);
  if (problem !== null) throw new UsageError(`--expires-at ${text} is no day: ${problem}`, verb);
  const ms = Date.parse(text);
  if (!allowPast && ms <= now) throw new UsageError(`--expires-at ${text} is not in the future (it is now ${new Date(now).toISOString()}): a new link must expire later`, verb);
  if (ms - now > MAX_EXPIRES_IN_S * 1000) throw new UsageError(`--expires-at ${text} is more than 100 years away, the longest a link may wait to expire; for none, ${verb === 'edit' ? 'give --no-expiry' : 'leave it out'}`, verb);
  return text;
}

function alias(text: string, verb: string): string {
  if (!ALIAS_PATTERN.test(text)) {
    const length = [...text].length;
    const why = length < 3 || length > 10 ? `${length} ${length === 1 ? 'character' : 'characters'}` : 'other characters';
    throw new UsageError(`--alias must be 3 to 10 characters of A-Z a-z 0-9 _ - (got "${text}": ${why})`, verb);
  }
  if (isReservedCode(text)) throw new UsageError(`--alias ${text} is reserved: Curt has a route of that name; choose another alias`, verb);
  return text;
}

/** `--expires-in` in seconds, when given. */
function expiresIn(values: Values, verb: string): number | undefined {
  const text = values['expires-in'];
  if (text === undefined) return undefined;
  const parsed = parseDuration(text);
  if (parsed !== null && parsed > MAX_EXPIRES_IN_S) throw new UsageError(`--expires-in ${text} is more than 100 years, the longest a link may wait to expire (36500d); for none, ${verb === 'edit' ? 'give --no-expiry' : 'leave it out'}`, verb);
  if (parsed === null) throw new UsageError(`--expires-in must be a duration such as 30m, 12h, 7d or 2w (got "${text}": ${durationProblem(text)})`, verb);
  return parsed;
}

function build(verb: string, args: string[], values: Values, now: number): Command {
  const first = args[0] ?? '';
  switch (verb) {
    case 'serve':
      return {
        verb,
        env: {
          ...(values.port === undefined ? {} : { PORT: String(wholeNumber(values.port, '--port', verb, 0, 65_535)) }),
          ...(values.host === undefined ? {} : { HOST: values.host }),
          ...(values['data-dir'] === undefined ? {} : { DATA_DIR: values['data-dir'] }),
        },
      };
    case 'kgs':
    case 'url-service':
    case 'migrate':
      return { verb };
    case 'shorten': {
      const expiresInS = expiresIn(values, verb);
      const at = expiresAt(values, verb, now, false);
      if (expiresInS !== undefined && at !== undefined) throw new UsageError('give --expires-in or --expires-at, not both', verb);
      const limit = maxVisits(values, verb);
      const tags = givenTags(values, verb);
      // One-time is a limit of one: asking for another as well is a mistake, whichever was meant.
      if (values['one-time'] === true && limit !== undefined && limit !== 1) throw new UsageError('give --one-time or --max-visits, not both (--one-time is --max-visits 1)', verb);
      checkWebUrl(first, 'shorten needs', redirectsTo, verb);
      return {
        verb,
        url: first,
        ...(values.alias === undefined ? {} : { alias: alias(values.alias, verb) }),
        ...(expiresInS === undefined ? {} : { expiresInS }),
        ...(at === undefined ? {} : { expiresAt: at }),
        oneTime: values['one-time'] === true,
        ...(tags === undefined ? {} : { tags }),
        ...(limit === undefined ? {} : { maxVisits: limit }),
        forwardQuery: values['forward-query'] === true,
        ...(() => {
          const password = passwordSource(values, verb, false);
          return password === undefined || password === 'remove' ? {} : { password };
        })(),
        client: clientFlags(values),
      };
    }
    case 'stats':
      return {
        verb,
        code: first,
        ...statsRange(values, verb, now),
        ...(values.top === undefined ? {} : { top: wholeNumber(values.top, '--top', verb, 1, 100) }),
        client: clientFlags(values),
      };
    case 'get':
    case 'delete':
      return { verb, code: first, client: clientFlags(values) };
    case 'export': {
      // --json asks for JSON, as on every verb: the NDJSON export (one link a line), not CSV.
      const format = values.format ?? (values.json === true ? 'ndjson' : 'csv');
      if (format !== 'csv' && format !== 'ndjson') throw new UsageError(`--format must be csv or ndjson (got "${format}")`, verb);
      if (format === 'csv' && values.json === true) throw new UsageError('--json writes NDJSON (a JSON object a line): give --json or --format csv, not both', verb);
      return { verb, format, client: clientFlags(values) };
    }
    case 'qr': {
      // `-o -` is standard output, as `curt import -` reads standard input.
      const output = values.output === '-' ? undefined : values.output;
      // The picture's format from --format, else from the file's name, else SVG (text a terminal can take).
      const named = /\.(png|svg)$/i.exec(output ?? '')?.[1]?.toLowerCase();
      const format = values.format ?? named ?? 'svg';
      if (format !== 'svg' && format !== 'png') throw new UsageError(`--format must be svg or png (got "${format}")`, verb);
      if (named !== undefined && named !== format) throw new UsageError(`--format ${format} and a file named .${named} disagree: give one of them`, verb);
      if (values.size !== undefined && format !== 'png') {
        // Named .svg, or --format svg: "give --format png" would then clash with what the user asked for.
        if (named === 'svg') {
          const png = `${(output ?? '').slice(0, -4)}.png`;
          throw new UsageError(`--size is the width of a PNG, and the file name ${output} says SVG (an SVG scales): for a PNG, give -o ${shellWord(png)} --size ${values.size}`, verb);
        }
        if (values.format === 'svg') throw new UsageError('--size is the width of a PNG, and --format svg asks for an SVG (an SVG scales): give --format png, or leave out --size', verb);
        throw new UsageError('--size is the width of a PNG: give --format png too (an SVG scales)', verb);
      }
      // The image is what goes to standard output; a JSON line there would corrupt it.
      if (values.json === true && output === undefined) throw new UsageError('--json needs --output FILE: without it the image itself goes to standard output', verb);
      return {
        verb,
        code: first,
        format,
        ...(values.size === undefined ? {} : { size: wholeNumber(values.size, '--size', verb, QR_MIN_SIZE, QR_MAX_SIZE) }),
        ...(output === undefined ? {} : { output }),
        client: clientFlags(values),
      };
    }
    case 'import': {
      const format = values.format;
      if (format !== undefined && format !== 'curt' && format !== 'kutt' && format !== 'yourls') {
        // On export, --format is csv or ndjson: said here, the flag that means that on import.
        const typeHint = format === 'csv' || format === 'ndjson' ? `; the file's type is --type ${format}` : '';
        throw new UsageError(`--format must be curt, kutt or yourls (got "${format}")${typeHint}`, verb);
      }
      const type = values.type ?? (/\.csv$/i.test(first) ? 'csv' : /\.(ndjson|jsonl)$/i.test(first) ? 'ndjson' : undefined);
      if (type !== undefined && type !== 'csv' && type !== 'ndjson') throw new UsageError(`--type must be csv or ndjson (got "${type}")`, verb);
      return { verb, file: first, ...(format === undefined ? {} : { format }), ...(type === undefined ? {} : { type }), client: clientFlags(values) };
    }
    case 'edit': {
      const given = (name: OptionName): boolean => values[name] !== undefined && values[name] !== false;
      for (const [one, other] of EDIT_EXCLUSIVE) {
        if (given(one) && given(other)) throw new UsageError(`give --${one} or --${other}, not both`, verb);
      }
      const password = passwordSource(values, verb, true);
      if (!EDIT_CHANGES.some(given)) {
        // --tag is --tags spelled as on shorten and list: one name in the list is enough.
        const flags = EDIT_CHANGES.filter((name) => name !== 'tag').map((name) => `--${name}`);
        throw new UsageError(`edit needs a change: ${flags.slice(0, -1).join(', ')} or ${flags.at(-1) ?? ''}`, verb);
      }
      if (values.url !== undefined) checkWebUrl(values.url, '--url must be', redirectsTo, verb);
      const inS = expiresIn(values, verb);
      const at = expiresAt(values, verb, now, true);
      const limit = maxVisits(values, verb);
      const tags = values['no-tags'] === true ? [] : givenTags(values, verb);
      // `--tags "$TAGS"` with the variable empty would remove every tag: that is --no-tags, said so.
      if (values['no-tags'] !== true && tags?.length === 0) {
        throw new UsageError(`${values.tags === undefined ? '--tag' : '--tags'} names no tag (got "${[...(values.tag ?? []), ...(values.tags ?? [])].join(',')}"): to remove every tag, give --no-tags`, verb);
      }
      return {
        verb,
        code: first,
        ...(values.url === undefined ? {} : { url: values.url }),
        ...(values['no-expiry'] === true ? { expiresInS: null } : inS === undefined ? {} : { expiresInS: inS }),
        ...(at === undefined ? {} : { expiresAt: at }),
        ...(values.disable === true ? { isActive: false } : values.enable === true ? { isActive: true } : {}),
        ...(tags === undefined ? {} : { tags }),
        ...(values['no-max-visits'] === true ? { maxVisits: null } : limit === undefined ? {} : { maxVisits: limit }),
        ...(values['forward-query'] === true ? { forwardQuery: true } : values['no-forward-query'] === true ? { forwardQuery: false } : {}),
        ...(password === undefined ? {} : { password }),
        client: clientFlags(values),
      };
    }
    case 'list': {
      if (values.all === true && values.cursor !== undefined) throw new UsageError('give --all or --cursor, not both', verb);
      const tags = givenTags(values, verb);
      return {
        verb,
        ...(values.limit === undefined ? {} : { limit: wholeNumber(values.limit, '--limit', verb, 1, 100) }),
        ...(values.cursor === undefined ? {} : { cursor: values.cursor }),
        ...(values.search === undefined ? {} : { search: searchText(values.search, verb) }),
        ...(values.state === undefined ? {} : { state: linkState(values.state, verb) }),
        ...(tags === undefined ? {} : { tags }),
        ...listOrder(values, verb),
        ...(values['created-after'] === undefined ? {} : { createdAfter: dateTime(values['created-after'], '--created-after', verb) }),
        ...(values['created-before'] === undefined ? {} : { createdBefore: dateTime(values['created-before'], '--created-before', verb) }),
        ...(values['expires-after'] === undefined ? {} : { expiresAfter: dateTime(values['expires-after'], '--expires-after', verb) }),
        ...(values['expires-before'] === undefined ? {} : { expiresBefore: dateTime(values['expires-before'], '--expires-before', verb) }),
        all: values.all === true,
        client: clientFlags(values),
      };
    }
    case 'keys create':
      return { verb, admin: values.admin === true, ...(values.name === undefined ? {} : { name: values.name }), client: clientFlags(values) };
    case 'keys list':
      return { verb, client: clientFlags(values) };
    case 'keys revoke':
      return { verb, id: wholeNumber(first, '<id>', verb, 1, Number.MAX_SAFE_INTEGER), client: clientFlags(values) };
    case 'webhooks add': {
      if (values.events === undefined) throw new UsageError(`webhooks add needs --events, a comma-separated list of ${WEBHOOK_EVENTS.join(', ')}`, verb);
      const events = [...new Set(values.events.flatMap((e) => e.split(',')).map((e) => e.trim()).filter((e) => e !== ''))];
      const unknown = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
      if (events.length === 0 || unknown.length > 0) throw new UsageError(`--events must be a comma-separated list of ${WEBHOOK_EVENTS.join(', ')} (got "${values.events.join(',')}")`, verb);
      checkWebUrl(first, 'webhooks add needs', (scheme) => `Curt does not deliver to ${scheme}: addresses`, verb);
      return { verb, url: first, events: events as WebhookEvent[], ...(values.description === undefined ? {} : { description: values.description }), client: clientFlags(values) };
    }
    case 'webhooks list':
      return { verb, client: clientFlags(values) };
    case 'webhooks rm':
    case 'webhooks enable':
    case 'webhooks disable':
      return { verb, id: wholeNumber(first, '<id>', verb, 1, Number.MAX_SAFE_INTEGER), client: clientFlags(values) };
    case 'webhooks deliveries':
      return {
        verb,
        id: wholeNumber(first, '<id>', verb, 1, Number.MAX_SAFE_INTEGER),
        ...(values.limit === undefined ? {} : { limit: wholeNumber(values.limit, '--limit', verb, 1, 100) }),
        ...(values.cursor === undefined ? {} : { cursor: values.cursor }),
        client: clientFlags(values),
      };
    default:
      throw new UsageError(`unknown command "${verb}"`, null);
  }
}

// The Curt SDK: a typed client of the URL service API, used by the CLI, the web page and the tests.
// Errors come back as CurtApiError carrying the server's problem+json (status, code, detail).

export interface Link {
  short_code: string;
  short_url: string;
  original_url: string;
  created_at: string;
  expires_at: string | null;
  /** max_visits is 1. */
  is_one_time: boolean;
  /** Redirects the link gives people; null = no limit. */
  max_visits: number | null;
  /** Redirects that counted toward max_visits. */
  visits: number;
  /** The short link's query string is added to the target's. */
  forward_query: boolean;
  is_active: boolean;
  is_expired: boolean;
  is_custom_alias: boolean;
  state: 'active' | 'expired' | 'used' | 'disabled';
  /** All time, by people. */
  clicks: number;
  /** All time, by bots (crawlers, link previews, HTTP libraries): never clicks. */
  bot_hits: number;
  last_clicked_at: string | null;
  /** Lower case, sorted. */
  tags: string[];
  /** A password protects the link (the password itself is never returned). */
  has_password: boolean;
}

/** One value of a breakdown and its clicks in the range; `(other)` sums the values past the top N. */
export interface NamedCount {
  name: string;
  clicks: number;
}

/**
 * GET /urls/{code}/analytics. `clicks` are people's: hits by bots (crawlers, link previews, HTTP
 * libraries) are `bot_hits`, never clicks. The `range_` totals, `daily` and the breakdowns cover the
 * UTC days `from` to `to`; each breakdown is the top N by count and, when more values exist, one
 * `(other)` entry with the rest, so it sums to `range_clicks` (`bots`: to `range_bot_hits`).
 */
export interface Analytics {
  short_code: string;
  /** All time, by people. */
  clicks: number;
  /** All time, by bots. */
  bot_hits: number;
  created_at: string;
  expires_at: string | null;
  is_one_time: boolean;
  is_active: boolean;
  is_expired: boolean;
  state: LinkState;
  last_clicked_at: string | null;
  /** The range answered: UTC days, YYYY-MM-DD, both included. */
  from: string;
  to: string;
  range_clicks: number;
  range_bot_hits: number;
  /** The days of the range with any hit, oldest first. */
  daily: { date: string; clicks: number; bot_hits: number }[];
  /** Referring hosts; `(direct)`: no referrer. */
  referrers: { host: string; clicks: number }[];
  /** ISO 3166-1 alpha-2 codes (`DE`), or `(unknown)`. */
  countries: NamedCount[];
  browsers: NamedCount[];
  operating_systems: NamedCount[];
  /** `desktop`, `mobile`, `tablet` or `other`. */
  devices: NamedCount[];
  bots: { name: string; hits: number }[];
}

/** Which days the analytics cover (UTC, YYYY-MM-DD, both included) and how long each breakdown is. */
export interface AnalyticsOptions {
  /** Default: `to` minus 89 days. */
  from?: string;
  /** Default: today (UTC). */
  to?: string;
  /** Entries per breakdown before `(other)`, 1 to 100; default 10. */
  top?: number;
}

export interface ShortenOptions {
  alias?: string;
  expiresAt?: Date | string;
  /** Seconds from now. */
  expiresIn?: number;
  /** The same as maxVisits 1. */
  oneTime?: boolean;
  /** Each 1 to 32 of letters, digits and - _ . : /; stored lower case; at most 20. */
  tags?: string[];
  /** Redirects the link gives people (1..1,000,000,000), then `410 link_used`. */
  maxVisits?: number;
  /** Add the short link's query string to the target's (README, "How a short link is spelled"). */
  forwardQuery?: boolean;
  /** Protects the link: 8 to 128 characters; the server keeps only a hash of it. */
  password?: string;
}

/** What `update` changes; a field left out stays as it is. */
export interface LinkPatch {
  isActive?: boolean;
  url?: string;
  /** null: the link no longer expires. */
  expiresAt?: Date | string | null;
  /** null removes the limit; at or below the visits made, the link is used up. */
  maxVisits?: number | null;
  forwardQuery?: boolean;
  /** Replaces every tag of the link (`[]` removes them). */
  tags?: string[];
  /** A string sets or replaces the link's password, null removes it. */
  password?: string | null;
}

export type LinkState = Link['state'];
export type LinkSort = 'created' | 'clicks' | 'last_click';
/** Every state a link can be in, as the API names them (GET /urls?state=). */
export const LINK_STATES: readonly LinkState[] = ['active', 'expired', 'used', 'disabled'];
/** What GET /urls sorts by (?sort=). */
export const LINK_SORTS: readonly LinkSort[] = ['created', 'clicks', 'last_click'];

/**
 * One page of the caller's links: `q` finds text in the code or the target, `state` keeps one state,
 * `tags` keeps links having all of them, the date ranges are half-open (`after` included). `sort`
 * (default created) and `order` (default desc) are pinned in the cursor; send the same filters with it.
 */
export interface ListOptions {
  limit?: number;
  cursor?: string;
  q?: string;
  state?: LinkState;
  tags?: string[];
  createdAfter?: Date | string;
  createdBefore?: Date | string;
  expiresAfter?: Date | string;
  expiresBefore?: Date | string;
  sort?: LinkSort;
  order?: 'desc' | 'asc';
}

/** What narrows and orders a listing: every ListOptions but the page. */
export type ListFilter = Omit<ListOptions, 'limit' | 'cursor'>;

/** GET /api/config: what this instance allows. */
export interface InstanceConfig {
  version: string;
  public_base_url: string;
  allow_anonymous: boolean;
}

export interface ApiKey {
  id: number;
  key: string;
  name: string | null;
  is_admin: boolean;
  created_at: string;
}

/** A key as listed: its first characters, never the key. */
export interface ApiKeyInfo {
  id: number;
  key_prefix: string;
  name: string | null;
  is_admin: boolean;
  created_at: string;
  revoked_at: string | null;
}

export type WebhookEvent = 'link.created' | 'link.updated' | 'link.deleted' | 'link.clicked';

/** A webhook endpoint as listed: never its secret. */
export interface Webhook {
  id: number;
  url: string;
  description: string | null;
  events: WebhookEvent[];
  state: 'active' | 'disabled' | 'disabled_failing';
  is_active: boolean;
  consecutive_failures: number;
  failing_since: string | null;
  disabled_at: string | null;
  created_at: string;
  owner_key_id: number;
}

/** The answer to creating an endpoint: the only time its signing secret is shown. */
export interface CreatedWebhook extends Webhook {
  secret: string;
}

/** One event for one endpoint in its delivery log. */
export interface WebhookDelivery {
  id: number;
  event_id: string;
  type: WebhookEvent;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  created_at: string;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
}

/** What a redirect answered, without following it. */
export interface Resolution {
  status: number;
  location: string | null;
  /** The problem code for 404/410, e.g. `link_expired`. */
  code: string | null;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  request_id?: string;
  [extension: string]: unknown;
}

export class CurtApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    readonly retryAfterS: number | null,
  ) {
    super(problem.detail ?? problem.title);
    this.name = 'CurtApiError';
  }

  get code(): string {
    return this.problem.code;
  }
}

/** The server answered, but not as Curt does (HTML, an empty body, JSON that is no problem document). */
export class NotCurtError extends Error {
  constructor(
    readonly status: number,
    readonly contentType: string | null,
  ) {
    super(`the server answered HTTP ${status} with ${contentType === null || contentType === '' ? 'no content type' : contentType.split(';')[0]}, not Curt's JSON`);
    this.name = 'NotCurtError';
  }
}

/**
 * No answer came from the server: the connection failed (refused, no route, a name that does not
 * resolve, TLS) or the answer did not come within the client's `timeoutMs`. `fetch` says so as a bare
 * `TypeError('fetch failed')` or a `DOMException` named TimeoutError; this names the server and why.
 */
export class CurtUnreachableError extends Error {
  constructor(
    /** The base URL the client was made with. */
    readonly server: string,
    /** `timeout`, or why the connection failed as the platform said it (`ECONNREFUSED`, `ENOTFOUND`, ...). */
    readonly reason: string,
    cause: unknown,
  ) {
    super(`cannot reach the Curt server at ${server} (${reason === 'timeout' ? 'no answer in time' : reason})`, { cause });
    this.name = 'CurtUnreachableError';
  }
}

/**
 * How fetch says a connection failed. Node (undici): TypeError('fetch failed') whose cause is the
 * socket's error, with one of these codes (refused, reset, no such name, no route, TLS); browsers: a
 * TypeError of their own words, and nothing more (they tell a page no more).
 */
const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|ENOTFOUND|EAI_AGAIN|EAI_FAIL|ETIMEDOUT|EHOSTUNREACH|EHOSTDOWN|ENETUNREACH|ENETDOWN|EPIPE|EADDRNOTAVAIL|UND_ERR_CONNECT_TIMEOUT|UND_ERR_SOCKET|UND_ERR_CLOSED|UND_ERR_HEADERS_TIMEOUT|ERR_TLS_\w+|ERR_SSL_\w+|CERT_\w+|UNABLE_TO_\w+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)$/;
const BROWSER_NETWORK_ERRORS = /^(Failed to fetch|NetworkError when attempting to fetch resource\.?|Load failed)$/;

/** AbortSignal.timeout's abort: a DOMException named TimeoutError, whether fetch or a body read saw it. */
const isTimeout = (err: unknown): boolean => (err as { name?: unknown } | null)?.name === 'TimeoutError';

/**
 * `err` as a CurtUnreachableError when it is fetch's way of saying no answer came (the connection
 * failed, or the client's time ran out); else null, and the caller throws it as it is: a bad
 * argument (a header a key cannot be sent in, a base URL that is none), a redirect loop, a file the
 * upload could not read, a bug, are not the server's absence.
 */
function unreachable(err: unknown, server: string): CurtUnreachableError | null {
  if (isTimeout(err)) return new CurtUnreachableError(server, 'timeout', err);
  if (!(err instanceof TypeError)) return null;
  const code = (err as { cause?: { code?: unknown } }).cause?.code;
  if (err.message === 'fetch failed' && typeof code === 'string' && NETWORK_CODES.test(code)) return new CurtUnreachableError(server, code, err);
  if (BROWSER_NETWORK_ERRORS.test(err.message)) return new CurtUnreachableError(server, err.message, err);
  return null;
}

/**
 * `importLinks`' report ended before its last line (the summary, or the reason the server stopped):
 * the connection failed part way (`cause`), a line came cut in half (`cause`: the parse error), or
 * the answer just ended. The rows reported so far (`lines`) are as reported; of the rest nothing is
 * known. Importing the same file again goes on: the rows already imported are then reported as
 * there already.
 */
export class ImportCutOffError extends Error {
  /** The failure's message, or null when the answer just ended. */
  readonly reason: string | null;

  constructor(
    /** Report lines received before the cut. */
    readonly lines: number,
    cause?: unknown,
  ) {
    const reason = cause === undefined ? null : cause instanceof Error ? cause.message : 'an unknown failure';
    super(`the import's report was cut off after ${lines} ${lines === 1 ? 'line' : 'lines'}, before its summary (${reason ?? 'it ended'})`, cause === undefined ? undefined : { cause });
    this.name = 'ImportCutOffError';
    this.reason = reason;
  }
}

/** One link of `GET /urls/export` (NDJSON): the CSV's columns, typed. */
export interface ExportedLink {
  short_code: string;
  url: string;
  created_at: string;
  expires_at: string | null;
  is_one_time: boolean;
  max_visits: number | null;
  visits: number;
  forward_query: boolean;
  is_active: boolean;
  state: Link['state'];
  clicks: number;
  bot_hits: number;
  last_clicked_at: string | null;
  /** As the API's links have them (CSV's cell has them separated by spaces). */
  tags: string[];
  /** Whether a password protects the link; the password itself is never exported. */
  has_password: boolean;
}

/** A line of the import report: one per row of the file, in order. */
export interface ImportReportRow {
  row: number;
  status: 'created' | 'exists' | 'refused';
  short_code?: string;
  reason?: string;
}

/** The report's last line. */
export interface ImportSummary {
  summary: true;
  rows: number;
  created: number;
  exists: number;
  refused: number;
}

/** Set instead of a summary when the import stopped part way (rows reported before it are done). */
export interface ImportStopped {
  error: { code: string; detail?: string };
}

export type ImportReportLine = ImportReportRow | ImportSummary | ImportStopped;

export interface ImportOptions {
  /** Default: told from the header row. */
  format?: 'curt' | 'kutt' | 'yourls';
  /** What the body is; default csv. */
  type?: 'csv' | 'ndjson';
}

export interface CurtClientOptions {
  /** The URL service, e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  apiKey?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface CurtClient {
  shorten(url: string, options?: ShortenOptions): Promise<Link>;
  get(code: string): Promise<Link>;
  update(code: string, patch: LinkPatch): Promise<Link>;
  delete(code: string): Promise<void>;
  list(options?: ListOptions): Promise<{ items: Link[]; next_cursor: string | null }>;
  /** Every link of the caller (that matches `filter`), page by page. */
  listAll(pageSize?: number, filter?: ListFilter): AsyncGenerator<Link>;
  /** Every link of the caller (an admin's: all), with click totals, streamed from `GET /urls/export`. */
  exportLinks(): AsyncGenerator<ExportedLink>;
  /** The export file as it arrives, in text chunks: what `curt export` writes out. */
  exportText(format?: 'csv' | 'ndjson'): AsyncGenerator<string>;
  /** The export file whole, as a Blob: what the web page saves as a download. */
  exportFile(format?: 'csv' | 'ndjson'): Promise<Blob>;
  /**
   * Sends a file (text, or a stream such as fs.createReadStream's) to `POST /urls/import` and yields
   * the report as it comes: a line per row, then the summary (or, should the import stop, an error).
   * Its last line is always one of those two: a report that breaks off before it throws
   * `ImportCutOffError` (the server's refusal of the request, before any line, throws as any call's).
   */
  importLinks(file: string | Blob | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>, options?: ImportOptions): AsyncGenerator<ImportReportLine>;
  /** The short URL as a QR code image: SVG (default) or PNG `size` pixels wide. */
  qr(code: string, options?: { format?: 'svg' | 'png'; size?: number }): Promise<Blob>;
  /** What this instance allows (public, no key needed). */
  config(): Promise<InstanceConfig>;
  /** Clicks and bot hits of a link: all time, and per day and per breakdown over a range (default: the last 90 days). */
  analytics(code: string, options?: AnalyticsOptions): Promise<Analytics>;
  createApiKey(options?: { name?: string; isAdmin?: boolean }): Promise<ApiKey>;
  /** Every key for an admin key (revoked ones too); only the caller's own for another key. */
  listApiKeys(): Promise<ApiKeyInfo[]>;
  /** Revokes a key at once on every replica (admin: any key; another key: only itself). */
  revokeApiKey(id: number): Promise<void>;
  /** Adds a webhook endpoint for this key; the answer holds its signing secret, shown only this once. */
  createWebhook(url: string, events: readonly WebhookEvent[], options?: { description?: string }): Promise<CreatedWebhook>;
  /** This key's endpoints (an admin key: every endpoint). */
  listWebhooks(): Promise<Webhook[]>;
  getWebhook(id: number): Promise<Webhook>;
  /** isActive true enables an endpoint again (also one disabled after failures) and resets its failure count. */
  updateWebhook(id: number, patch: { url?: string; events?: readonly WebhookEvent[]; description?: string | null; isActive?: boolean }): Promise<Webhook>;
  deleteWebhook(id: number): Promise<void>;
  /** An endpoint's delivery log, newest first. */
  webhookDeliveries(id: number, options?: { limit?: number; cursor?: string }): Promise<{ items: WebhookDelivery[]; next_cursor: string | null }>;
  /** Requests the short link without following the redirect (GET counts a click, HEAD does not). */
  /**
   * Follows a short link once, without following the redirect. `userAgent`: the User-Agent to send,
   * e.g. the visitor's when a server resolves links for them; without one, the runtime's own is sent
   * (Node's "node"), and Curt counts that as a bot hit, not a click. `password`: a protected link's,
   * sent as HTTP Basic authentication (a link behind one answers 401 `link_password_required`
   * without it, `link_password_wrong` for a wrong one, and a HEAD of it is always 401).
   */
  resolve(code: string, options?: { method?: 'GET' | 'HEAD'; referer?: string; userAgent?: string; password?: string }): Promise<Resolution>;
}

export function createCurtClient(options: CurtClientOptions): CurtClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const platformFetch = options.fetch ?? fetch;
  /** fetch, with "no answer came" said as CurtUnreachableError (a refused request is not: it is an answer). */
  const doFetch = async (url: string, init: RequestInit): Promise<Response> => {
    try {
      return await platformFetch(url, init);
    } catch (err) {
      throw unreachable(err, base) ?? err;
    }
  };
  /**
   * The answer's body. Its time counts against the same timeout: a body that stops coming is no
   * answer in time. A body cut off by the connection is thrown as it is (its status came).
   */
  const bodyOf = async <T,>(res: Response, read: (res: Response) => Promise<T>): Promise<T> => {
    try {
      return await read(res);
    } catch (err) {
      throw isTimeout(err) ? new CurtUnreachableError(base, 'timeout', err) : err;
    }
  };
  const textOf = (res: Response): Promise<string> => bodyOf(res, (r) => r.text());
  const timeoutMs = options.timeoutMs ?? 10_000;
  const code = (c: string): string => encodeURIComponent(c);

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await doFetch(`${base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status === 204) return undefined as T;
    const text = await textOf(res);
    if (!res.ok) throw toError(res, text);
    const parsed = isJson(res) ? parseJson(text) : undefined;
    if (parsed === undefined || parsed === null || typeof parsed !== 'object') throw new NotCurtError(res.status, res.headers.get('content-type'));
    return parsed as T;
  }

  /** A streamed request: no overall timeout (a large file takes its time), problem+json on failure. */
  async function stream(method: string, path: string, body?: { data: string | Blob | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>; type: string }): Promise<AsyncGenerator<string>> {
    const headers: Record<string, string> = {};
    if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
    if (body !== undefined) headers['content-type'] = body.type;
    const init: RequestInit & { duplex?: 'half' } = { method, headers };
    if (body !== undefined) {
      init.body = body.data as RequestInit['body'];
      // A stream is sent as it is read (browsers do that over HTTP/2 only: they send a File, a Blob).
      if (typeof body.data !== 'string' && !(body.data instanceof Blob)) init.duplex = 'half';
    }
    const res = await doFetch(`${base}${path}`, init);
    if (!res.ok) throw toError(res, await textOf(res));
    if (res.body === null) throw new NotCurtError(res.status, res.headers.get('content-type'));
    // A reader, not `for await` on the body: not every browser iterates a ReadableStream.
    const reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
    return (async function* () {
      const decoder = new TextDecoder();
      let done = false;
      try {
        for (;;) {
          const next = await reader.read();
          if (next.done) break;
          yield decoder.decode(next.value, { stream: true });
        }
        done = true;
      } finally {
        // The caller stopped reading early: the rest of the answer is not wanted.
        if (!done) await reader.cancel().catch(() => undefined);
      }
      const rest = decoder.decode();
      if (rest !== '') yield rest;
    })();
  }

  async function* jsonLines<T>(chunks: AsyncIterable<string>): AsyncGenerator<T> {
    let rest = '';
    for await (const chunk of chunks) {
      rest += chunk;
      let end: number;
      while ((end = rest.indexOf('\n')) !== -1) {
        const line = rest.slice(0, end);
        rest = rest.slice(end + 1);
        if (line.trim() !== '') yield JSON.parse(line) as T;
      }
    }
    if (rest.trim() !== '') yield JSON.parse(rest) as T;
  }

  const client: CurtClient = {
    async *exportLinks() {
      yield* jsonLines<ExportedLink>(await stream('GET', '/urls/export?format=ndjson'));
    },
    async *exportText(format = 'csv') {
      yield* await stream('GET', `/urls/export?format=${format}`);
    },
    async exportFile(format = 'csv') {
      const headers: Record<string, string> = {};
      if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
      // No overall timeout: a large export takes its time.
      const res = await doFetch(`${base}/urls/export?format=${format}`, { headers });
      if (!res.ok) throw toError(res, await textOf(res));
      return bodyOf(res, (r) => r.blob());
    },
    async *importLinks(file, opts = {}) {
      const qs = opts.format === undefined ? '' : `?format=${opts.format}`;
      const type = opts.type === 'ndjson' ? 'application/x-ndjson' : 'text/csv; charset=utf-8';
      const report = jsonLines<ImportReportLine>(await stream('POST', `/urls/import${qs}`, { data: file, type }));
      // A whole report ends with its summary or with the server's reason to stop; anything short of
      // that is said here, once, rather than left to each caller to notice (docs/import-export.md).
      let lines = 0;
      let last: ImportReportLine | undefined;
      try {
        for (;;) {
          let next: IteratorResult<ImportReportLine>;
          try {
            next = await report.next();
          } catch (err) {
            throw new ImportCutOffError(lines, err);
          }
          if (next.done === true) break;
          lines += 1;
          last = next.value;
          yield next.value;
        }
      } finally {
        // A caller that stops reading early: the rest of the answer is not wanted (stream() cancels it).
        await report.return(undefined);
      }
      if (last === undefined || !('summary' in last || 'error' in last)) throw new ImportCutOffError(lines);
    },
    shorten(url, opts = {}) {
      return call<Link>('POST', '/urls', {
        url,
        ...(opts.alias === undefined ? {} : { alias: opts.alias }),
        ...(opts.expiresAt === undefined ? {} : { expires_at: new Date(opts.expiresAt).toISOString() }),
        ...(opts.expiresIn === undefined ? {} : { expires_in: opts.expiresIn }),
        ...(opts.oneTime === undefined ? {} : { one_time: opts.oneTime }),
        ...(opts.tags === undefined ? {} : { tags: opts.tags }),
        ...(opts.maxVisits === undefined ? {} : { max_visits: opts.maxVisits }),
        ...(opts.forwardQuery === undefined ? {} : { forward_query: opts.forwardQuery }),
        ...(opts.password === undefined ? {} : { password: opts.password }),
      });
    },
    get: (c) => call<Link>('GET', `/urls/${code(c)}`),
    update(c, patch) {
      return call<Link>('PATCH', `/urls/${code(c)}`, {
        ...(patch.isActive === undefined ? {} : { is_active: patch.isActive }),
        ...(patch.url === undefined ? {} : { url: patch.url }),
        ...(patch.expiresAt === undefined ? {} : { expires_at: patch.expiresAt === null ? null : new Date(patch.expiresAt).toISOString() }),
        ...(patch.tags === undefined ? {} : { tags: patch.tags }),
        ...(patch.maxVisits === undefined ? {} : { max_visits: patch.maxVisits }),
        ...(patch.forwardQuery === undefined ? {} : { forward_query: patch.forwardQuery }),
        ...(patch.password === undefined ? {} : { password: patch.password }),
      });
    },
    delete: (c) => call<void>('DELETE', `/urls/${code(c)}`),
    list(opts = {}) {
      const query = new URLSearchParams();
      if (opts.limit !== undefined) query.set('limit', String(opts.limit));
      if (opts.cursor !== undefined) query.set('cursor', opts.cursor);
      if (opts.q !== undefined && opts.q !== '') query.set('q', opts.q);
      if (opts.state !== undefined) query.set('state', opts.state);
      for (const tag of opts.tags ?? []) query.append('tag', tag);
      const dates = { created_after: opts.createdAfter, created_before: opts.createdBefore, expires_after: opts.expiresAfter, expires_before: opts.expiresBefore };
      for (const [name, value] of Object.entries(dates)) if (value !== undefined) query.set(name, new Date(value).toISOString());
      if (opts.sort !== undefined) query.set('sort', opts.sort);
      if (opts.order !== undefined) query.set('order', opts.order);
      const qs = query.toString();
      return call('GET', `/urls${qs === '' ? '' : `?${qs}`}`);
    },
    async *listAll(pageSize = 100, filter = {}) {
      let cursor: string | undefined;
      do {
        const page = await client.list({ ...filter, limit: pageSize, ...(cursor === undefined ? {} : { cursor }) });
        yield* page.items;
        cursor = page.next_cursor ?? undefined;
      } while (cursor !== undefined);
    },
    analytics(c, opts = {}) {
      const query = new URLSearchParams();
      if (opts.from !== undefined) query.set('from', opts.from);
      if (opts.to !== undefined) query.set('to', opts.to);
      if (opts.top !== undefined) query.set('top', String(opts.top));
      const qs = query.toString();
      return call<Analytics>('GET', `/urls/${code(c)}/analytics${qs === '' ? '' : `?${qs}`}`);
    },
    async qr(c, opts = {}) {
      const query = new URLSearchParams();
      if (opts.format !== undefined) query.set('format', opts.format);
      if (opts.size !== undefined) query.set('size', String(opts.size));
      const qs = query.toString();
      const headers: Record<string, string> = {};
      if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
      const res = await doFetch(`${base}/urls/${code(c)}/qr${qs === '' ? '' : `?${qs}`}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw toError(res, await textOf(res));
      // A picture, or another server answered (a web page's 200 is no QR code).
      if (!/^image\/(svg\+xml|png)\b/i.test(res.headers.get('content-type') ?? '')) throw new NotCurtError(res.status, res.headers.get('content-type'));
      return bodyOf(res, (r) => r.blob());
    },
    config: () => call<InstanceConfig>('GET', '/api/config'),
    createApiKey(opts = {}) {
      return call<ApiKey>('POST', '/api-keys', {
        ...(opts.name === undefined ? {} : { name: opts.name }),
        ...(opts.isAdmin === undefined ? {} : { is_admin: opts.isAdmin }),
      });
    },
    async listApiKeys() {
      return (await call<{ items: ApiKeyInfo[] }>('GET', '/api-keys')).items;
    },
    revokeApiKey: (id) => call<void>('DELETE', `/api-keys/${encodeURIComponent(String(id))}`),
    createWebhook: (url, events, opts = {}) =>
      call<CreatedWebhook>('POST', '/webhooks', { url, events, ...(opts.description === undefined ? {} : { description: opts.description }) }),
    async listWebhooks() {
      return (await call<{ items: Webhook[] }>('GET', '/webhooks')).items;
    },
    getWebhook: (id) => call<Webhook>('GET', `/webhooks/${encodeURIComponent(String(id))}`),
    updateWebhook: (id, patch) =>
      call<Webhook>('PATCH', `/webhooks/${encodeURIComponent(String(id))}`, {
        ...(patch.url === undefined ? {} : { url: patch.url }),
        ...(patch.events === undefined ? {} : { events: patch.events }),
        ...(patch.description === undefined ? {} : { description: patch.description }),
        ...(patch.isActive === undefined ? {} : { is_active: patch.isActive }),
      }),
    deleteWebhook: (id) => call<void>('DELETE', `/webhooks/${encodeURIComponent(String(id))}`),
    webhookDeliveries(id, opts = {}) {
      const query = new URLSearchParams();
      if (opts.limit !== undefined) query.set('limit', String(opts.limit));
      if (opts.cursor !== undefined) query.set('cursor', opts.cursor);
      const qs = query.toString();
      return call('GET', `/webhooks/${encodeURIComponent(String(id))}/deliveries${qs === '' ? '' : `?${qs}`}`);
    },
    async resolve(c, opts = {}) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (opts.referer !== undefined) headers.referer = opts.referer;
      if (opts.userAgent !== undefined) headers['user-agent'] = opts.userAgent;
      if (opts.password !== undefined) headers.authorization = basicAuthorization(opts.password);
      const res = await doFetch(`${base}/${code(c)}`, { method: opts.method ?? 'GET', headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      const text = await textOf(res);
      const problem = res.status >= 400 ? (parseJson(text) as Problem | undefined) : undefined;
      return { status: res.status, location: res.headers.get('location'), code: problem?.code ?? null };
    },
  };
  return client;
}

/** `Basic base64(":" + password)` in UTF-8 (RFC 7617), in browsers too (no Buffer there). */
export function basicAuthorization(password: string): string {
  const bytes = new TextEncoder().encode(`:${password}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

function isJson(res: Response): boolean {
  return /^application\/(problem\+)?json\b/i.test(res.headers.get('content-type') ?? '');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Curt's errors are problem documents with a `code`; anything else is some other server. */
function toError(res: Response, text: string): CurtApiError | NotCurtError {
  const problem = isJson(res) ? parseJson(text) : undefined;
  if (typeof problem !== 'object' || problem === null || typeof (problem as Problem).code !== 'string') {
    return new NotCurtError(res.status, res.headers.get('content-type'));
  }
  return new CurtApiError(res.status, problem as Problem, retryAfterSeconds(res.headers.get('retry-after'), Date.now()));
}

/**
 * Retry-After in seconds: Curt sends seconds; a proxy in front may send an HTTP-date (RFC 9110
 * §10.2.3), which became NaN. Null when absent or neither.
 */
export function retryAfterSeconds(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  // Only what starts as an HTTP-date does (a day name): Date.parse takes "1.5" or "-1" as dates in 2001.
  if (!HTTP_DATE_START.test(text)) return null;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

const HTTP_DATE_START = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /i;

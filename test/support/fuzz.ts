// Generators and the one assertion of the bad-input fuzz tests: whatever a client sends, a service
// answers (in time), never with a 5xx, and every 4xx is RFC 9457 problem+json (README, "Errors").
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { HttpApp } from '../../src/core/http-app.ts';
import { wantsHtml as prefersHtml } from '../../src/url/html.ts';

export const PROBLEM = 'application/problem+json; charset=utf-8';
/** Far above any honest answer here (the slowest is a 2048-px PNG); only a hang gets near it. */
export const ANSWER_WITHIN_MS = 5_000;
/**
 * fast-check settings shared by every property: enough runs to matter, few enough for well under a
 * minute a file. FUZZ_RUNS=5000 makes a deeper hunt; FUZZ_SEED replays a failure fast-check printed.
 */
export const RUNS: { numRuns: number; includeErrorInReport: boolean; seed?: number } = {
  numRuns: Number(process.env.FUZZ_RUNS ?? 500),
  includeErrorInReport: true,
  ...(process.env.FUZZ_SEED === undefined ? {} : { seed: Number(process.env.FUZZ_SEED) }),
};
/** Raw-socket runs cost a connection each: fewer of them. */
export const RAW_RUNS: typeof RUNS = { ...RUNS, numRuns: Math.max(100, Math.round(RUNS.numRuns / 3)) };

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
export const METHODS: readonly Method[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export interface FuzzRequest {
  method: Method;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

/** app.inject that fails instead of waiting for ever. */
export async function injectWithin(app: HttpApp, request: FuzzRequest, ms = ANSWER_WITHIN_MS): Promise<LightMyRequestResponse> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms to ${request.method} ${request.url}`)), ms);
  });
  const options: InjectOptions = { method: request.method, url: request.url, headers: request.headers };
  if (request.payload !== undefined) options.payload = request.payload;
  try {
    return await Promise.race([app.inject(options), hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** What assertWellFormed reads: an inject response or a raw-socket one. */
export interface Answer {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

/**
 * The property every answer must have: below 500 (or 501 for a method no one knows), no internal detail, and a 4xx is problem+json whose
 * `status` is the HTTP status. `htmlErrors`: the redirect route may answer a browser with its HTML
 * error page instead.
 */
export function assertWellFormed(res: Answer, request: { method: string; url: string; headers?: Record<string, string> }, options: { htmlErrors?: boolean } = {}): void {
  const what = `${request.method} ${request.url} → ${res.statusCode} ${String(res.headers['content-type'])}: ${res.body.slice(0, 300)}`;
  // 501 is no server error: a method HTTP's parser does not know (`get`, lower case) is answered so (RFC 9110 §9.1).
  const unknownMethod = res.statusCode === 501 && res.body.includes('"code":"method_not_implemented"');
  assert.ok(res.statusCode < 500 || unknownMethod, `server error: ${what}`);
  assert.ok(!/node_modules|\.ts:\d+|at async|\bat [\w.<>]+ \(/.test(res.body), `internal detail leaked: ${what}`);
  assertWellFormedPorting(res, request);
  if (res.statusCode < 400) return;
  const type = String(res.headers['content-type']);
  if (options.htmlErrors && wantsHtml(request) && type.startsWith('text/html')) {
    assert.equal(res.headers['x-content-type-options'], 'nosniff', what);
    return;
  }
  assert.equal(type, PROBLEM, `4xx is not problem+json: ${what}`);
  if (request.method === 'HEAD') return; // no body to read
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    assert.fail(`4xx body is not JSON: ${what}`);
  }
  assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), `4xx body is not an object: ${what}`);
  const problem = body as Record<string, unknown>;
  assert.equal(typeof problem.type, 'string', `no type: ${what}`);
  assert.equal(typeof problem.title, 'string', `no title: ${what}`);
  assert.equal(problem.status, res.statusCode, `status differs from HTTP status: ${what}`);
  assert.equal(typeof problem.code, 'string', `no code: ${what}`);
  assert.equal(problem.type, `urn:curt:problem:${String(problem.code)}`, `type does not name code: ${what}`);
}

/**
 * What a 200 of the porting routes must be besides: an export is a whole file in its format, an
 * import's report has a line per row, numbered from 1 in the file's order, then a summary whose counts
 * add up, or the error that stopped it, which is never an internal one (a 500 the status line hid).
 * Called by assertWellFormed for every 200 of those paths, so any property that reaches them checks it.
 */
export function assertWellFormedPorting(res: Answer, request: { method: string; url: string }): void {
  const path = request.url.split('?')[0] ?? '';
  if (res.statusCode !== 200 || request.method === 'HEAD' || (path !== '/urls/export' && path !== '/urls/import')) return;
  const what = `${request.method} ${request.url} → 200 ${String(res.headers['content-type'])}: ${res.body.slice(0, 300)}`;
  const type = String(res.headers['content-type']);
  const lines = res.body.split('\n');
  assert.equal(lines.pop(), '', `the body does not end with a line end: ${what}`);
  if (path === '/urls/export') {
    if (type.startsWith('text/csv')) {
      assert.equal(lines[0], `${EXPORT_HEADER.join(',')}\r`, `the CSV does not start with its header: ${what}`);
      assert.ok(res.body.endsWith('\r\n'), `the CSV's records end with CRLF: ${what}`);
      return;
    }
    assert.match(type, /^application\/x-ndjson/, `an export is CSV or NDJSON: ${what}`);
    for (const line of lines) assert.deepEqual(Object.keys(JSON.parse(line) as object), EXPORT_HEADER, `an NDJSON line has the export's fields: ${what}`);
    return;
  }
  assert.match(type, /^application\/x-ndjson/, `the import's report is NDJSON: ${what}`);
  const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const last = parsed.pop();
  assert.ok(last !== undefined, `an empty report: ${what}`);
  const counts = { created: 0, exists: 0, refused: 0 };
  parsed.forEach((line, i) => {
    assert.equal(line.row, i + 1, `report rows are numbered from 1 in order: ${what}`);
    const status = line.status as keyof typeof counts;
    assert.ok(status in counts, `a row's status is created, exists or refused: ${what}`);
    counts[status]++;
    if (status === 'refused') assert.ok(typeof line.reason === 'string' && line.reason !== '', `a refused row says why: ${what}`);
    else assert.equal(typeof line.short_code, 'string', `a created or existing row names its link: ${what}`);
  });
  if ('error' in last) {
    const error = last.error as { code?: unknown; detail?: unknown };
    assert.equal(typeof error.code, 'string', `the stop names a code: ${what}`);
    assert.notEqual(error.code, 'internal_error', `the import stopped on a server error: ${what}`);
    return;
  }
  assert.deepEqual(last, { summary: true, rows: parsed.length, ...counts }, `the summary does not add up: ${what}`);
}

/** GET /urls/export's columns (docs/import-export.md). */
export const EXPORT_HEADER = ['short_code', 'url', 'created_at', 'expires_at', 'is_one_time', 'max_visits', 'visits', 'forward_query', 'is_active', 'state', 'clicks', 'bot_hits', 'last_clicked_at', 'tags', 'has_password'];

function wantsHtml(request: { headers?: Record<string, string> }): boolean {
  return prefersHtml(request.headers?.accept);
}

// ---------------------------------------------------------------------------------------------
// Text

const latin1Char = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff })).map((c) => String.fromCharCode(c));
/** What an HTTP field value may hold on the wire (visible ASCII, space, obs-text). */
export const headerValue = fc.string({ unit: latin1Char, maxLength: 80 });

/** Strings a parser or a database may choke on. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom('\u0000', '\u0001', '\n', '\r\n', '\t', '\u001b[31m', '\u007f', '\u0085', '\u2028'), fc.string({ maxLength: 8 })).map((parts) => parts.join('')) },
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  { weight: 2, arbitrary: fc.constantFrom('', ' ', '\u0000', 'a\u0000b', '\uD800', '\uDFFF\uD800', '\u202E', '\uFEFF', 'null', 'true', '0', '-1', '1e309', 'NaN', '../../etc/passwd', '%00', '%ZZ', "'; DROP TABLE links; --", '<script>alert(1)</script>', '${jndi:x}', '__proto__', 'constructor') },
  fc.integer({ min: 1, max: 20_000 }).map((n) => 'a'.repeat(n)),
  fc.integer({ min: 1, max: 3_000 }).map((n) => '日本'.repeat(n)),
);

/** A value of the wrong type, or the right type with a wrong value. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  nastyString,
  fc.constantFrom(null, true, false, 0, -0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, [], {}, [null], { $ne: null }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
);

/** A date-time from a minute to 99 years ahead: always a valid expiry. */
export const futureDateTime: fc.Arbitrary<string> = fc.integer({ min: 60, max: 99 * 365 * 86_400 }).map((s) => new Date(Date.now() + s * 1000).toISOString());

/** ISO 8601 date-times that are valid, almost valid, or valid in form but not in value. */
export const dateTime: fc.Arbitrary<string> = fc.oneof(
  fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  futureDateTime,
  fc.constantFrom(
    '2099-12-31T23:59:60Z', // leap second: a valid date-time whose Date is invalid
    '2099-06-30T23:59:60.999+00:00',
    '2099-01-01t00:00:00z',
    '2099-01-01T00:00:00+14:00',
    '2099-01-01T00:00:00-23:59',
    '2099-01-01T00:00:00.123456789Z',
    '2099-02-30T00:00:00Z',
    '2099-01-01T24:00:00Z',
    '2099-01-01 00:00:00Z',
    '2099-01-01T00:00:00',
    '2099-01-01',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '+275760-09-13T00:00:00Z',
    '1970-01-01T00:00:00Z',
  ),
);

// ---------------------------------------------------------------------------------------------
// Bodies

/** Bodies from any JSON value, or anything fast-check can build and JSON can serialise. */
export const anyJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.anything({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? ''),
);

/** Text that is not JSON, or JSON that a secure parser must refuse. */
export const notJsonText: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.json().map((text) => text.slice(0, Math.max(0, text.length - 1))), // truncated
  fc.constantFrom(
    '',
    ' ',
    '{',
    '{"url":',
    "{'url':'https://example.com'}",
    '{"url":"https://example.com",}',
    'NaN',
    '\u0000',
    '{"__proto__":{"isAdmin":true}}',
    '{"constructor":{"prototype":{"isAdmin":true}}}',
    '['.repeat(5000),
    '{"a":'.repeat(3000) + '1' + '}'.repeat(3000),
    `"${'x'.repeat(17_000)}"`,
  ),
  fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes)),
  fc.constant(Buffer.from([0x7b, 0x22, 0x75, 0x72, 0x6c, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])), // {"url":"<invalid UTF-8>"}
);

/**
 * Near-valid bodies: a valid object, then at most one mutation: a field set to one of its `mutants`
 * (edge values for that field) or to a value of any type, a field dropped, or an extra field.
 */
export function nearValidBody(valid: fc.Arbitrary<Record<string, unknown>>, mutants: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<string> {
  const names = Object.keys(mutants);
  const field = fc.constantFrom(...names);
  const mutation = fc.oneof(
    { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 3, arbitrary: field.chain((f) => fc.record({ kind: fc.constant('set' as const), field: fc.constant(f), value: mutants[f] ?? wrongValue })) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('set' as const), field, value: wrongValue }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), field }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('extra' as const), field: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor', 'is_admin', 'owner', 'id')), value: wrongValue }),
    },
  );
  return fc.tuple(valid, mutation).map(([body, m]) => {
    const out: Record<string, unknown> = { ...body };
    if (m.kind === 'set') out[m.field] = m.value;
    if (m.kind === 'drop') delete out[m.field];
    // defineProperty so that "__proto__" becomes an own key and reaches the wire.
    if (m.kind === 'extra') Object.defineProperty(out, m.field, { value: m.value, enumerable: true, writable: true, configurable: true });
    return JSON.stringify(out);
  });
}

// ---------------------------------------------------------------------------------------------
// Headers

const JSON_TYPE = 'application/json';
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(JSON_TYPE, 'application/json; charset=utf-8') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      undefined,
      'APPLICATION/JSON',
      'application/json; charset=latin1',
      'application/json; charset="utf-16"',
      'application/json;;;',
      'application/json, text/plain',
      'application/problem+json',
      'application/merge-patch+json',
      'text/plain',
      'text/plain; charset=utf-8',
      'text/html',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/octet-stream',
      '*/*',
      '',
      ';',
      'json',
    ),
  },
  { weight: 1, arbitrary: headerValue },
);

/** Authorization headers: none, garbage, a bearer of garbage, or one of the given valid ones (also oddly spelled). */
export function authorization(valid: readonly string[]): fc.Arbitrary<string | undefined> {
  const good = fc.constantFrom(...valid);
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        headerValue,
        headerValue.map((v) => `Bearer ${v}`),
        good.map((v) => `${v}x`),
        fc.constantFrom('', 'Bearer', 'Bearer ', 'Bearer  ', 'Basic YWRtaW46YWRtaW4=', `Bearer ${'k'.repeat(5000)}`, 'Bearer a b', 'Bearer \u00ff'),
      ),
    },
    { weight: 5, arbitrary: good },
    { weight: 1, arbitrary: fc.oneof(good.map((v) => v.replace('Bearer ', 'bearer    ')), good.map((v) => `  ${v}  `)) },
  );
}

/** Accept headers a client may send; `html` adds browser ones. */
export function accept(html: boolean): fc.Arbitrary<string | undefined> {
  const base = ['application/json', 'application/problem+json', '*/*', 'image/png', 'text/plain;q=0.1', ''];
  return fc.oneof(fc.constant(undefined), fc.constantFrom(...(html ? [...base, 'text/html', 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8'] : base)), headerValue.filter((v) => !/html/i.test(v)));
}

/** Builds the header record, leaving out headers whose value is undefined. */
export function headers(values: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) if (value !== undefined) out[name] = value;
  return out;
}

/**
 * Side headers that the app reads: request id, and what click analytics read: referer, user-agent
 * (browsers, bots, 8 KB), forwarded-for and a country header (believed only from a trusted proxy).
 */
export const sideHeaders: fc.Arbitrary<Record<string, string | undefined>> = fc.record(
  {
    'x-request-id': fc.oneof(headerValue, fc.constantFrom('abc', 'a'.repeat(129), '../../x', 'id\u00e9')),
    'user-agent': fc.oneof(
      headerValue,
      fc.constantFrom(
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36',
        'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
        'curl/8.5.0',
        `Mozilla/5.0 ${'x'.repeat(8000)}`,
        'Mozilla/5.0 (\u00e9\u00e9) bot',
      ),
    ),
    'cf-ipcountry': fc.oneof(headerValue, fc.constantFrom('DE', 'xx', 'T1', '')),
    referer: fc.oneof(headerValue, fc.webUrl(), fc.constantFrom('http://', 'https://[::1', 'http://a'.padEnd(400, 'a'), 'android-app://x')),
    'x-forwarded-for': fc.oneof(headerValue, fc.ipV4(), fc.ipV6(), fc.constantFrom('999.1.1.1', '::ffff:8.8.8.8', '8.8.8.8, 10.0.0.1', 'unknown')),
  },
  { requiredKeys: [] },
);

/** Framing headers that lie (content-length) or ask for what is not supported (content-encoding); mostly none. */
export const framingHeaders: fc.Arbitrary<Record<string, string | undefined>> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.record({ 'content-length': fc.oneof(fc.constantFrom('0', '-1', 'abc', '1e3', '', ' 1', '99999999999999999999'), fc.nat({ max: 40_000 }).map(String)) }) },
  { weight: 1, arbitrary: fc.record({ 'content-encoding': fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x') }) },
);

// ---------------------------------------------------------------------------------------------
// Paths and query strings

/** One path segment, already in wire form (percent-encoded or deliberately not). */
export function pathSegment(known: readonly string[] = []): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 12 }).map((s) => s.replace(/[/?#\\]/g, '')) },
    {
      weight: 2,
      arbitrary: fc.constantFrom('%', '%ZZ', '%2', '%%', '%00', '%2F', '%2e%2e', '%C0%AF', '%E0%A4%A', '%FF', '..', '.', '~', ';', '%20', '+', 'health', 'URLS', 'favicon.ico', '%F0%9F%98%80', 'é', '日本'),
    },
    { weight: 1, arbitrary: fc.integer({ min: 60, max: 3000 }).map((n) => 'a'.repeat(n)) },
    ...(known.length > 0 ? [{ weight: 3, arbitrary: fc.constantFrom(...known) }] : []),
  );
}

/** A query value: numbers of every kind, garbage, or encoded garbage. */
export const queryValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: -5, max: 3000 }).map(String) },
  fc.constantFrom('', '0', '-1', '1.5', '1e3', '0x10', '00001', '1000', '1001', '64', '2048', '2049', '9'.repeat(400), 'NaN', 'Infinity', ' 1', '1 ', '%', '%ZZ', '%00', 'svg', 'png', 'SVG', 'gif', 'aWQ6MQ', 'aWQ6OTk5OTk5OTk5OTk5OTk5OTk5', '____'),
  fc.double().map(String),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.base64String({ maxLength: 40 }),
);

/** Tags: valid ones (any letter case, every allowed punctuation), and ones that break the rule. */
export const tag: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:/-]{1,32}$/) },
  fc.constantFrom('', ' ', 'a b', 'a,b', 'é', 'x'.repeat(33), 'ß', 'İ', 'tag\u0000', '../..', '%', '*', 'LAUNCH', 'q3/2026'),
  fc.string({ maxLength: 40 }),
);

/** A list of tags: mostly within the bound of 20, sometimes past it or with repeats. */
export const tagList: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 4, arbitrary: fc.array(tag, { maxLength: 5 }) },
  fc.array(fc.stringMatching(/^[a-z]{1,4}$/), { minLength: 18, maxLength: 25 }),
  fc.array(fc.constantFrom('a', 'A', 'b'), { maxLength: 30 }),
);

/** `?k=v&...` over the given names (and random ones): duplicates, arrays (`k[]=`), bare keys. */
export function queryString(names: readonly string[]): fc.Arbitrary<string> {
  const name = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }).map(encodeURIComponent) });
  const pair = fc.oneof(
    { weight: 12, arbitrary: fc.tuple(name, queryValue).map(([k, v]) => `${k}=${v}`) },
    { weight: 1, arbitrary: name.map((k) => `${k}[]=1`) },
    { weight: 1, arbitrary: name },
    { weight: 1, arbitrary: fc.constantFrom('&', '=', '==', '&&', '%=%', '__proto__=1', 'constructor[prototype]=1') },
  );
  return fc.array(pair, { maxLength: 4 }).map((pairs) => (pairs.length === 0 ? '' : `?${pairs.join('&')}`));
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP on a real port: what app.inject cannot send (unnormalised paths, broken request lines,
// bad header tokens, conflicting framing), answered by Node's parser and the app's clientError handler.

export interface RawAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** The app's port on 127.0.0.1, listening first if it is not yet. */
export async function listeningPort(app: HttpApp): Promise<number> {
  if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as AddressInfo).port;
}

/**
 * `request` as the bytes a client sends on a connection of its own (`Connection: close`). Its headers
 * go as they are, a lying Content-Length too; a payload without framing headers of its own is framed
 * by `framing`: a Content-Length (the server may refuse it before reading), or chunked (it finds out
 * how long the body is only by reading it). Throws on what cannot travel as one HTTP/1.1 request:
 * CR or LF, or a character beyond Latin-1, in the target or a header.
 */
export function rawHttp(request: FuzzRequest, framing: 'length' | 'chunked' = 'length'): Buffer {
  const payload = request.payload === undefined ? Buffer.alloc(0) : Buffer.isBuffer(request.payload) ? request.payload : Buffer.from(request.payload);
  const names = Object.keys(request.headers).map((name) => name.toLowerCase());
  for (const text of [request.url, ...Object.entries(request.headers).flat()]) {
    if (/[\r\n]/.test(text) || [...text].some((c) => c.charCodeAt(0) > 0xff)) throw new Error(`cannot be sent as raw HTTP/1.1: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const lines = [`${request.method} ${request.url} HTTP/1.1`, ...Object.entries(request.headers).map(([name, value]) => `${name}: ${value}`)];
  if (!names.includes('host')) lines.push('Host: sho.rt');
  if (!names.includes('connection')) lines.push('Connection: close');
  let body = payload;
  if (!names.includes('content-length') && !names.includes('transfer-encoding')) {
    if (framing === 'length') lines.push(`Content-Length: ${payload.length}`);
    else {
      lines.push('Transfer-Encoding: chunked');
      const chunk = payload.length === 0 ? [] : [Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n')];
      body = Buffer.concat([...chunk, Buffer.from('0\r\n\r\n')]);
    }
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** Sends `bytes` and reads the first final response; null when the server closed without one. */
export function rawExchange(port: number, bytes: Buffer, ms = ANSWER_WITHIN_MS): Promise<RawAnswer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${ms} ms to ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`));
    }, ms);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset after the answer is fine; a missing answer shows below
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseFirstFinalResponse(Buffer.concat(chunks)));
    });
    socket.write(bytes);
  });
}

function parseFirstFinalResponse(data: Buffer): RawAnswer | null {
  let rest = data;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const [statusLine = '', ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const statusCode = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    rest = rest.subarray(end + 4);
    if (statusCode >= 100 && statusCode < 200) continue; // 100 Continue comes before the answer
    const length = headers['content-length'] === undefined ? rest.length : Number(headers['content-length']);
    const body = headers['transfer-encoding'] === 'chunked' ? dechunk(rest) : rest.subarray(0, length);
    return { statusCode, headers, body: body.toString('utf8') };
  }
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);

/** A raw HTTP/1.x request, well framed unless one of the deliberate framing errors is chosen. */
export function rawRequest(targets: fc.Arbitrary<string>, validAuthorizations: readonly string[]): fc.Arbitrary<{ method: string; bytes: Buffer }> {
  const method = fc.oneof({ weight: 4, arbitrary: fc.constantFrom<string>(...METHODS) }, { weight: 1, arbitrary: fc.constantFrom('get', 'FOO', 'PROPFIND', 'CONNECT', 'TRACE', 'G\tET', '') });
  const target = fc.oneof(
    { weight: 5, arbitrary: targets },
    { weight: 1, arbitrary: fc.constantFrom('*', 'http://sho.rt/health', '//health', '/a b', '/\u00e9', '/日本', '/%', '/\u0000', 'health', '/urls/../health', '/docs/static/..%2f..%2fpackage.json', '/docs/static/../../package.json', `/${'a'.repeat(9000)}`) },
  );
  const version = fc.oneof({ weight: 6, arbitrary: fc.constant('HTTP/1.1') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x', 'HTTP/1', 'http/1.1', '') });
  const headerLine = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(token.filter((n) => !/^(content-length|transfer-encoding|connection|host)$/i.test(n)), headerValue).map(([n, v]) => `${n}: ${v}`) },
    { weight: 1, arbitrary: fc.constantFrom('no colon here', ': empty name', 'Bad Name: x', 'X-Null: a\u0000b', 'Expect: 100-continue', 'Expect: nonsense', `X-Big: ${'b'.repeat(20_000)}`, ' folded: line', 'Authorization: Bearer curt_nope') },
  );
  const framing = fc.constantFrom(
    { lines: [], body: '' },
    { lines: ['Content-Length: -1'], body: '' },
    { lines: ['Content-Length: abc'], body: '' },
    { lines: ['Content-Length: 1', 'Content-Length: 2'], body: '' },
    { lines: ['Transfer-Encoding: chunked', 'Content-Length: 5'], body: '0\r\n\r\n' },
    { lines: ['Transfer-Encoding: gzip'], body: '' },
    { lines: ['Transfer-Encoding: chunked', 'Content-Type: application/json'], body: '2\r\n{}\r\n0\r\n\r\n' },
    { lines: ['Transfer-Encoding: chunked', 'Content-Type: application/json'], body: 'zz\r\n{}\r\n0\r\n\r\n' },
  );
  const body = fc.oneof(fc.constant(undefined), fc.tuple(contentType, fc.oneof(anyJsonText, notJsonText)));
  const authLine = fc.option(fc.constantFrom(...validAuthorizations).map((value) => `Authorization: ${value}`), { nil: undefined });
  return fc.tuple(method, target, version, authLine, fc.array(headerLine, { maxLength: 3 }), fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: framing }), body).map(
    ([m, t, v, authorized, lines, framed, payload]) => {
      const head = [`${m} ${t} ${v}`.trimEnd(), 'Host: sho.rt', 'Connection: close', ...(authorized === undefined ? [] : [authorized]), ...lines];
      let bodyBytes: Buffer = Buffer.alloc(0);
      if (framed) {
        head.push(...framed.lines);
        bodyBytes = Buffer.from(framed.body);
      } else if (payload) {
        const [type, content] = payload;
        bodyBytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
        if (type !== undefined) head.push(`Content-Type: ${type}`);
        head.push(`Content-Length: ${bodyBytes.length}`);
      }
      return { method: m, bytes: Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), bodyBytes]) };
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Import files: CSV and NDJSON near what POST /urls/import reads, and what breaks a reader.

/** Media types an import may be sent with: the ones it reads, spelled oddly, and others. */
export const importContentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('text/csv', 'text/csv; charset=utf-8', 'application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/csv') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      undefined,
      'TEXT/CSV',
      'text/csv; charset=latin1',
      'text/csv;;',
      'text/csv, application/x-ndjson',
      'application/json',
      'text/plain',
      'multipart/form-data; boundary=xyz',
      'application/octet-stream',
      'application/x-www-form-urlencoded',
      '',
      'csv',
    ),
  },
  { weight: 1, arbitrary: headerValue },
);

/** A field of an import row: right for some column, or wrong for every one. */
const importField: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.webUrl({ withQueryParameters: true }) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{3,10}$/) },
  { weight: 1, arbitrary: fc.constantFrom('fuzz-user', 'stable-1', 'health', 'urls', 'ab', 'http://sho.rt/x', 'javascript:alert(1)', 'https://example.com/' + 'p'.repeat(2100)) },
  { weight: 2, arbitrary: dateTime },
  { weight: 1, arbitrary: fc.constantFrom('2024-01-31 12:00:00', '2099-01-31 12:00', '31/01/2099', 'tomorrow') },
  { weight: 2, arbitrary: fc.constantFrom('', 'true', 'false', '1', '0', 'yes', 'maybe', 'used', 'disabled', 'active', '5', '-1', '1e3', '99999999999', 'null') },
  { weight: 2, arbitrary: nastyString },
  { weight: 1, arbitrary: wrongValue.map((v) => JSON.stringify(v) ?? '') },
);

const importHeaders: readonly (readonly string[])[] = [
  ['url', 'alias', 'expires_at', 'tags', 'max_visits'],
  EXPORT_HEADER,
  ['target', 'address', 'expire_in', 'password', 'banned', 'description', 'visit_count', 'created_at'],
  ['keyword', 'url', 'title', 'timestamp', 'ip', 'clicks'],
  ['url'],
  ['URL', ' Alias ', 'EXPIRES_AT'],
  ['original_url', 'code', 'one_time', 'state'],
  ['url', 'url', 'alias', 'alias'],
  ['alias', 'expires_at'], // no url column
  [''],
];
const importHeader: fc.Arbitrary<readonly string[]> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...importHeaders) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.constantFrom('url', 'alias', 'expires_at', 'is_one_time', 'max_visits', 'state', 'target', 'address', 'keyword', 'password', 'has_password'), fc.string({ maxLength: 8 })), { minLength: 1, maxLength: 6 }) },
);

/** How a field is written: quoted as RFC 4180 says, always quoted, raw (broken when it holds , " or a line end), or with a stray quote. */
const quoting = fc.constantFrom('rfc', 'rfc', 'rfc', 'always', 'raw', 'stray');
function writeField(value: string, how: string): string {
  if (how === 'always') return `"${value.replace(/"/g, '""')}"`;
  if (how === 'raw') return value;
  if (how === 'stray') return `"${value}`;
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * A CSV import file: a header and rows of fields right or wrong, written with any quoting, line
 * ends mixed per record, maybe a BOM, a NUL byte, a record longer than the reader's bound, or cut
 * short anywhere (inside a quote, too).
 */
/** A sheet `url,alias,expires_at` whose rows are right but for at most one field: most rows make links. */
const nearValidSheet: fc.Arbitrary<{ header: readonly string[]; rows: string[][] }> = fc
  .array(
    fc.tuple(
      fc.webUrl({ withQueryParameters: true }),
      fc.oneof(fc.constant(''), fc.stringMatching(/^[A-Za-z0-9_-]{3,10}$/)),
      fc.oneof(fc.constant(''), futureDateTime),
      fc.option(fc.tuple(fc.nat({ max: 2 }), importField), { freq: 3, nil: undefined }),
    ),
    { maxLength: 12 },
  )
  .map((rows) => ({
    header: ['url', 'alias', 'expires_at'],
    rows: rows.map(([url, alias, expiry, wrong]) => {
      const row = [url, alias, expiry];
      if (wrong !== undefined) row[wrong[0]] = wrong[1];
      return row;
    }),
  }));

export const importCsv: fc.Arbitrary<string> = fc
  .record({
    sheet: fc.oneof(nearValidSheet, fc.record({ header: importHeader, rows: fc.array(fc.array(importField, { maxLength: 8 }), { maxLength: 12 }) })),
    quote: quoting,
    ends: fc.array(fc.constantFrom('\r\n', '\n', '\r'), { minLength: 1, maxLength: 4 }),
    bom: fc.boolean(),
    nul: fc.option(fc.nat(), { nil: undefined }),
    huge: fc.option(fc.tuple(fc.constantFrom(64 * 1024 + 1, 70_000, 150_000), fc.nat()), { freq: 8, nil: undefined }),
    cut: fc.option(fc.nat(), { freq: 6, nil: undefined }),
    lastEnd: fc.boolean(),
  })
  .map(({ sheet: { header, rows }, quote, ends, bom, nul, huge, cut, lastEnd }) => {
    const records = [header, ...rows].map((fields) => fields.map((f) => writeField(f, quote)).join(','));
    // Anywhere after the header: before any row (400) or after some (the report's last line).
    if (huge !== undefined) records.splice(1 + (huge[1] % records.length), 0, `https://example.com/${'h'.repeat(huge[0])}`);
    let text = records.map((r, i) => r + (i < records.length - 1 || lastEnd ? (ends[i % ends.length] ?? '\n') : '')).join('');
    if (nul !== undefined) {
      const at = nul % (text.length + 1);
      text = `${text.slice(0, at)}\u0000${text.slice(at)}`;
    }
    if (cut !== undefined) text = text.slice(0, cut % (text.length + 1));
    return (bom ? '\uFEFF' : '') + text;
  });

/** An NDJSON import file: objects near a row, lines that are no object, blank lines, mixed line ends. */
export const importNdjson: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(
      fc.oneof(
        { weight: 4, arbitrary: fc.dictionary(fc.constantFrom('url', 'alias', 'expires_at', 'is_one_time', 'max_visits', 'state', 'target', 'address', 'keyword', 'password', 'banned'), importField, { maxKeys: 5 }).map((o) => JSON.stringify(o)) },
        { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('url', 'alias', 'target', 'expire_in'), wrongValue, { maxKeys: 4 }).map((o) => JSON.stringify(o)) },
        { weight: 1, arbitrary: anyJsonText },
        { weight: 1, arbitrary: notJsonText.map((t) => (typeof t === 'string' ? t : t.toString('latin1')).replace(/[\r\n]/g, ' ')) },
        { weight: 1, arbitrary: fc.constant('') },
      ),
      { maxLength: 12 },
    ),
    fc.array(fc.constantFrom('\r\n', '\n'), { minLength: 1, maxLength: 3 }),
    fc.boolean(),
  )
  .map(([lines, ends, bom]) => (bom ? '\uFEFF' : '') + lines.map((l, i) => l + (ends[i % ends.length] ?? '\n')).join(''));

/** Any import body: CSV, NDJSON, garbage text or bytes, nothing at all, or one enormous line. */
export const importBody: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 6, arbitrary: importCsv },
  { weight: 3, arbitrary: importNdjson },
  { weight: 1, arbitrary: notJsonText },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 1, arbitrary: fc.constantFrom('', '\uFEFF', '\r\n', '\n\n\n', '"', 'url\n"https://example.com', 'url\r\n' + 'x'.repeat(80_000), '\u0000'.repeat(100), Buffer.from([0xef, 0xbb, 0xbf, 0xff, 0xfe, 0x0a])) },
);

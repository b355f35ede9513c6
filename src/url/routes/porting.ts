// Export and import of links: GET /urls/export streams the caller's links as CSV or NDJSON;
// POST /urls/import takes a CSV or NDJSON file and answers a streamed NDJSON report, a line per row.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError, InvalidRequest, Unauthorized, UnsupportedMediaType } from '../../core/errors.ts';
import type { HttpApp } from '../../core/http-app.ts';
import { notUtf8, otherCharset } from '../../core/json-body.ts';
import type { ImportLease, LinkRecord } from '../../storage/link-store.ts';
import { csvLine } from '../csv.ts';
import { ImportFileError, readCsvImport, readNdjsonImport, type ImportFormat, type ImportRow } from '../import-formats.ts';
import { importLinks, type ImportReportRow, type ImportSummary } from '../link-import.ts';
import type { LinkService } from '../link-service.ts';
import { linkState } from './schemas.ts';

export interface PortingRouteDeps {
  links: LinkService;
  /** IMPORT_MAX_BYTES. */
  importMaxBytes: number;
  now: () => number;
}

/** The export's columns, in order; a new field of a link is one more entry here. */
export const EXPORT_COLUMNS: readonly {
  name: string;
  value: (link: LinkRecord, now: number) => string | number | boolean | null;
  /** The NDJSON field, where JSON says it better than the CSV cell (a list as an array). */
  json?: (link: LinkRecord) => unknown;
}[] = [
  { name: 'short_code', value: (l) => l.code },
  { name: 'url', value: (l) => l.url },
  { name: 'created_at', value: (l) => l.createdAt.toISOString() },
  { name: 'expires_at', value: (l) => l.expiresAt?.toISOString() ?? null },
  { name: 'is_one_time', value: (l) => l.isOneTime },
  // The limit travels; the visits made do not (an import starts them at 0, as it starts clicks).
  { name: 'max_visits', value: (l) => l.maxVisits },
  { name: 'visits', value: (l) => l.visits },
  { name: 'forward_query', value: (l) => l.forwardQuery },
  { name: 'is_active', value: (l) => l.isActive },
  { name: 'state', value: (l, now) => linkState(l, now) },
  { name: 'clicks', value: (l) => l.clicks },
  { name: 'bot_hits', value: (l) => l.botHits },
  { name: 'last_clicked_at', value: (l) => l.lastClickedAt?.toISOString() ?? null },
  // Separated by spaces in CSV: a tag holds no space (src/url/tags.ts), so the cell needs no quoting.
  // An array in NDJSON, as the API's links have them; the import reads either.
  { name: 'tags', value: (l) => l.tags.join(' '), json: (l) => l.tags },
  // Whether a password protects it: the password itself cannot leave (only a hash is kept), so an
  // import refuses a row that says true rather than open the link to everyone (import-formats.ts).
  { name: 'has_password', value: (l) => l.hasPassword },
];

const CSV_TYPES = ['text/csv', 'application/csv'];
const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl'];

const errors = { 400: Type.Ref('Problem'), 401: Type.Ref('Problem'), 408: Type.Ref('Problem'), 413: Type.Ref('Problem'), 415: Type.Ref('Problem'), 429: Type.Ref('Problem'), 503: Type.Ref('Problem') };
const security = [{ bearer: [] }];

class PayloadTooLarge extends AppError {
  constructor(maxBytes: number) {
    super({ status: 413, code: 'payload_too_large', title: 'The request body is too large', detail: `An import file must be at most ${maxBytes} bytes (IMPORT_MAX_BYTES).` });
  }
}

/** What the import reads, said to a file sent as anything else. */
const unsupportedImportType = (type: string): UnsupportedMediaType =>
  new UnsupportedMediaType(`An import file is sent with Content-Type text/csv or application/x-ndjson${type === '' ? ' (none was given)' : `, not ${type.slice(0, 80)}`}.`);

/**
 * Copies the body to a temporary file as fast as it arrives, at most `maxBytes`. Not parsed straight
 * off the socket: creating links is slower than any upload, and the whole body must arrive within
 * HTTP_REQUEST_TIMEOUT_MS, which a body read at the pace of creation would outlast.
 */
async function spool(body: Readable, maxBytes: number): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'curt-import-'));
  const path = join(dir, 'body');
  const remove = () => rm(dir, { recursive: true, force: true });
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(bytes > maxBytes ? new PayloadTooLarge(maxBytes) : null, chunk);
    },
  });
  try {
    await pipeline(body, limit, createWriteStream(path));
  } catch (err) {
    await remove();
    // The client closed the connection (or the request timeout did) before the body's end: its
    // mistake or its network's, not a bug of ours, which an internal_error in the log would claim.
    const code = (err as { code?: unknown }).code;
    if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
      throw new InvalidRequest('The file was cut off before its end: the connection closed while it was being sent.');
    }
    throw err;
  }
  return { path, remove };
}

/** The first item ahead, so that a failure before any output is a problem+json answer, not a cut stream. */
async function started<T>(items: AsyncGenerator<T, void, undefined>): Promise<AsyncGenerator<T, void, undefined>> {
  const first = await items.next();
  return (async function* () {
    if (first.done) return;
    yield first.value;
    yield* items;
  })();
}

export async function registerPortingRoutes(app: HttpApp, deps: PortingRouteDeps): Promise<void> {
  const { links } = deps;

  app.get(
    '/urls/export',
    {
      schema: {
        summary: "Every link of the caller (an admin's: every link), as CSV or NDJSON with click totals, streamed newest first",
        description: `CSV columns: ${EXPORT_COLUMNS.map((c) => c.name).join(',')}. NDJSON: one object per link with the same fields, tags as an array of strings. Read from the database a page at a time as the response is sent.`,
        security,
        querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('ndjson')], { description: 'Default csv' })) }, { additionalProperties: false }),
        // The file's types on the 200 alone: `produces` would give them to the problem+json errors too.
        response: { 200: { description: 'The file', headers: { 'Content-Disposition': { type: 'string', description: 'attachment; filename="curt-links.csv" (or .ndjson)' } }, content: { 'text/csv': { schema: Type.String() }, 'application/x-ndjson': { schema: Type.String() } } }, ...errors },
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'csv';
      const now = deps.now();
      const rows = await started(links.exportLinks(request.principal));
      async function* lines(): AsyncGenerator<string> {
        if (format === 'csv') yield csvLine(EXPORT_COLUMNS.map((c) => c.name));
        for await (const link of rows) {
          if (format === 'csv') yield csvLine(EXPORT_COLUMNS.map((c) => c.value(link, now)));
          else yield `${JSON.stringify(Object.fromEntries(EXPORT_COLUMNS.map((c) => [c.name, c.json === undefined ? c.value(link, now) : c.json(link)])))}\n`;
        }
      }
      // Readable.from pulls the next line only when the socket has taken the last: backpressure.
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="curt-links.${format === 'csv' ? 'csv' : 'ndjson'}"`)
        .send(Readable.from(lines(), { objectMode: false }));
    },
  );

  // Its own scope: the raw-body parsers below must not let CSV reach POST /urls.
  await app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    scope.addContentTypeParser([...CSV_TYPES, ...NDJSON_TYPES], (_request, payload, done) => done(null, payload));
    // Any other type (JSON too) reaches the handler unread, to be refused with what import reads:
    // Fastify's own 415 would say "must be JSON".
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.post(
      '/urls/import',
      {
        schema: {
          summary: 'Create links from a CSV or NDJSON file (Curt, Kutt or YOURLS format); answers an NDJSON report, a line per row and a summary',
          description:
            'Send the file as the body with Content-Type text/csv or application/x-ndjson. Each row passes the checks of POST /urls. Idempotent: a row whose alias exists with the same target and owner, or without an alias whose target the caller already has a link to, is `exists`. One import at a time per API key: another while one runs is `409 import_in_progress`. Report lines: `{row, status: created|exists|refused, short_code?, reason?}`, then `{summary: true, rows, created, exists, refused}`. See docs/import-export.md.',
          security,
          querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('curt'), Type.Literal('kutt'), Type.Literal('yourls')], { description: 'Default: told from the header row' })) }, { additionalProperties: false }),
          consumes: [...CSV_TYPES, ...NDJSON_TYPES],
          // For the OpenAPI document's requestBody: a schema without a type, which the body (a stream) always passes.
          body: { content: Object.fromEntries([...CSV_TYPES, ...NDJSON_TYPES].map((type) => [type, { schema: { description: CSV_TYPES.includes(type) ? 'The CSV file' : 'The NDJSON file' } }])) },
          response: { 200: { description: 'The NDJSON report: a line per row, then the summary', content: { 'application/x-ndjson': { schema: Type.String() } } }, ...errors, 409: Type.Ref('Problem') },
        },
      },
      async (request, reply) => {
        if (request.principal === null) throw new Unauthorized('An API key is required to import links.');
        const declared = Number(request.headers['content-length']);
        if (Number.isFinite(declared) && declared > deps.importMaxBytes) throw new PayloadTooLarge(deps.importMaxBytes);
        const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
        // No body and no type: Fastify calls no parser at all.
        if (![...CSV_TYPES, ...NDJSON_TYPES].includes(type) || !(request.body instanceof Readable)) throw unsupportedImportType(type);
        const charset = otherCharset(request.headers['content-type']);
        if (charset !== null) throw notUtf8(charset, 'An import file');
        const body = request.body;
        const file = await spool(body, deps.importMaxBytes);
        // After the spool: a second upload of the same file, sent at once, is refused here (409) as
        // soon as it has arrived, not after waiting for the first to end.
        let lease: ImportLease;
        try {
          lease = await links.startImport(request.principal);
        } catch (err) {
          await file.remove();
          throw err;
        }
        const format: ImportFormat | null = request.query.format ?? null;
        const source = createReadStream(file.path);
        // Once, on whichever way the import ends. The lease lapses by itself (IMPORT_LEASE_MS) if it
        // cannot be given back now.
        let cleaned: Promise<void> | undefined;
        const cleanup = (): Promise<void> =>
          (cleaned ??= (async () => {
            source.destroy();
            await Promise.all([file.remove(), lease.release().catch((err: unknown) => request.log.warn({ err }, 'import lease not released'))]);
          })());
        const rows: AsyncGenerator<ImportRow, void, undefined> = NDJSON_TYPES.includes(type) ? readNdjsonImport(source, format) : readCsvImport(source, format);
        const imported = importLinks(links, rows, { principal: request.principal, context: { requestId: request.id }, lease });
        // A client gone before the report's first line was read: its stream is destroyed unread, and
        // lines() below, never started, never reaches its finally; the key stayed locked out of imports
        // until the lease lapsed, and the file was left behind. return() waits for a batch in flight.
        const abandon = (): void => void imported.return(undefined).then(cleanup, cleanup);
        reply.raw.once('close', abandon);
        if (request.raw.socket?.destroyed === true) abandon();
        let report: AsyncGenerator<ImportReportRow | ImportSummary, void, undefined>;
        try {
          report = await started(imported);
        } catch (err) {
          await cleanup();
          if (err instanceof ImportFileError) throw new InvalidRequest(err.message);
          throw err;
        }
        async function* lines(): AsyncGenerator<string> {
          try {
            for await (const line of report) yield `${JSON.stringify(line)}\n`;
          } catch (err) {
            // The status line is sent: what stopped the import is the report's last line.
            if (err instanceof ImportFileError) yield `${JSON.stringify({ error: { code: 'invalid_request', detail: err.message } })}\n`;
            else {
              request.log.error({ err }, 'import stopped');
              yield `${JSON.stringify({ error: { code: err instanceof AppError ? err.code : 'internal_error', detail: err instanceof AppError ? err.detail : 'The import stopped; rows reported so far are done, and re-running the file continues it.' } })}\n`;
            }
          } finally {
            await cleanup();
          }
        }
        return reply.type('application/x-ndjson; charset=utf-8').send(Readable.from(lines(), { objectMode: false }));
      },
    );
  });
}

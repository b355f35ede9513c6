// The client verbs of `curt`: each is one or two SDK calls (the same client library the tests use)
// and a printout, a table for people or the server's JSON for scripts.
import { open } from 'node:fs/promises';
import { CurtApiError, CurtUnreachableError, ImportCutOffError, NotCurtError, type CurtClient, type ImportReportLine, type Link, type ListFilter } from '../client/curt-client.ts';
import { UsageError, type ClientFlags, type Command, type PasswordSource } from './args.ts';
import { flagText } from './shell.ts';
import { formatApiKey, formatApiKeyTable, formatDeliveryTable, formatLink, formatLinkDetails, formatLinkTable, formatStats, formatWebhook, formatWebhookTable } from './format.ts';
import { sniffImportType } from './import-type.ts';

export type ClientCommand = Extract<Command, { client: ClientFlags }>;

const json = (value: unknown): string => JSON.stringify(value, null, 2);

/**
 * Where `curt import` reads a file from: a path, or `-` for standard input. Opened before the request
 * is sent, so that a file that cannot be read is a usage error, not a request that fails half-way.
 */
export type OpenFile = (file: string) => Promise<AsyncIterable<Uint8Array>>;

const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
};

/** `curt import`'s file, opened now; a file that cannot be read is a UsageError saying why. */
export async function openImportFile(file: string, stdin: AsyncIterable<Uint8Array>): Promise<AsyncIterable<Uint8Array>> {
  if (file === '-') return stdin;
  const refuse = (why: string) => new UsageError(`cannot read ${file}: ${why}`, 'import');
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw refuse(FILE_PROBLEMS[code] ?? (err as Error).message);
  }
  // open() succeeds on a folder; reading it would fail after the request has started.
  if ((await handle.stat()).isDirectory()) {
    await handle.close();
    throw refuse(FILE_PROBLEMS.EISDIR ?? 'it is a folder');
  }
  return handle.createReadStream();
}

/** What `curt import` says when it could not confirm every row: a second run imports only what is missing. */
const IMPORT_AGAIN = 'Run the same file again to go on: the rows it imported are then reported as there already.';

/** Reads a link's password from a prompt or from standard input, refusing one the server would (src/cli/password-input.ts). */
export type ReadPassword = (source: PasswordSource, verb: string) => Promise<string>;

/** Runs one client verb, printing what it got; resolves to its exit code (failures throw, see describeFailure). */
export async function runClientCommand(
  command: ClientCommand,
  client: CurtClient,
  print: (text: string) => void,
  now: () => number = Date.now,
  io: {
    write?: (chunk: string) => Promise<void>;
    /** Standard output for bytes (`curt qr` without --output), and whether it is a terminal. */
    writeBytes?: (bytes: Uint8Array) => Promise<void>;
    stdoutIsTerminal?: boolean;
    saveFile?: (path: string, bytes: Uint8Array) => Promise<void>;
    open?: OpenFile;
    readPassword?: ReadPassword;
  } = {},
): Promise<number> {
  const asJson = command.client.json;
  const readPassword = (source: PasswordSource): Promise<string> => {
    if (io.readPassword === undefined) throw new Error('curt cannot read a password here');
    return io.readPassword(source, command.verb);
  };
  switch (command.verb) {
    case 'shorten': {
      const link = await client.shorten(command.url, {
        ...(command.alias === undefined ? {} : { alias: command.alias }),
        ...(command.expiresInS === undefined ? {} : { expiresIn: command.expiresInS }),
        ...(command.expiresAt === undefined ? {} : { expiresAt: command.expiresAt }),
        ...(command.oneTime ? { oneTime: true } : {}),
        ...(command.tags === undefined ? {} : { tags: command.tags }),
        ...(command.maxVisits === undefined ? {} : { maxVisits: command.maxVisits }),
        ...(command.forwardQuery ? { forwardQuery: true } : {}),
        ...(command.password === undefined ? {} : { password: await readPassword(command.password) }),
      });
      print(asJson ? json(link) : formatLink(link));
      return 0;
    }
    case 'get': {
      const link = await client.get(command.code);
      print(asJson ? json(link) : formatLinkDetails(link));
      return 0;
    }
    case 'stats': {
      const range = {
        ...(command.from === undefined ? {} : { from: command.from }),
        ...(command.to === undefined ? {} : { to: command.to }),
        ...(command.top === undefined ? {} : { top: command.top }),
      };
      const [link, analytics] = await Promise.all([client.get(command.code), client.analytics(command.code, range)]);
      print(asJson ? json({ ...analytics, short_url: link.short_url, original_url: link.original_url }) : formatStats(link, analytics));
      return 0;
    }
    case 'edit': {
      const link = await client.update(command.code, {
        ...(command.url === undefined ? {} : { url: command.url }),
        ...(command.isActive === undefined ? {} : { isActive: command.isActive }),
        ...(command.expiresInS === undefined ? {} : { expiresAt: command.expiresInS === null ? null : new Date(now() + command.expiresInS * 1000) }),
        ...(command.expiresAt === undefined ? {} : { expiresAt: command.expiresAt }),
        ...(command.tags === undefined ? {} : { tags: command.tags }),
        ...(command.maxVisits === undefined ? {} : { maxVisits: command.maxVisits }),
        ...(command.forwardQuery === undefined ? {} : { forwardQuery: command.forwardQuery }),
        ...(command.password === undefined ? {} : { password: command.password === 'remove' ? null : await readPassword(command.password) }),
      });
      print(asJson ? json(link) : formatLink(link));
      return 0;
    }
    case 'delete':
      await client.delete(command.code);
      print(asJson ? json({ deleted: command.code }) : `Deleted ${command.code}.`);
      return 0;
    case 'list': {
      const filter: ListFilter = {
        ...(command.search === undefined ? {} : { q: command.search }),
        ...(command.state === undefined ? {} : { state: command.state }),
        ...(command.tags === undefined ? {} : { tags: command.tags }),
        ...(command.sort === undefined ? {} : { sort: command.sort }),
        ...(command.order === undefined ? {} : { order: command.order }),
        ...(command.createdAfter === undefined ? {} : { createdAfter: command.createdAfter }),
        ...(command.createdBefore === undefined ? {} : { createdBefore: command.createdBefore }),
        ...(command.expiresAfter === undefined ? {} : { expiresAfter: command.expiresAfter }),
        ...(command.expiresBefore === undefined ? {} : { expiresBefore: command.expiresBefore }),
      };
      if (command.all) {
        const items: Link[] = [];
        for await (const link of client.listAll(command.limit ?? 100, filter)) items.push(link);
        print(asJson ? json({ items, next_cursor: null }) : formatLinkTable(items));
        return 0;
      }
      const page = await client.list({ ...filter, ...(command.limit === undefined ? {} : { limit: command.limit }), ...(command.cursor === undefined ? {} : { cursor: command.cursor }) });
      if (asJson) print(json(page));
      else print(formatLinkTable(page.items) + (page.next_cursor === null ? '' : `\n\n${nextPage(`curt list${listFlags(command)}`, command.client, page.next_cursor)}`));
      return 0;
    }
    case 'export': {
      const write = io.write ?? (async (chunk: string) => print(chunk));
      for await (const chunk of client.exportText(command.format)) await write(chunk);
      return 0;
    }
    case 'qr': {
      if (command.output === undefined && command.format === 'png' && io.stdoutIsTerminal === true) {
        throw new UsageError('a PNG is not for a terminal: give --output FILE, or send standard output to a file (> qr.png)', 'qr');
      }
      const image = new Uint8Array(await (await client.qr(command.code, { format: command.format, ...(command.size === undefined ? {} : { size: command.size }) })).arrayBuffer());
      if (command.output === undefined) {
        if (io.writeBytes === undefined) throw new Error('curt qr needs a way to write bytes');
        await io.writeBytes(image);
        return 0;
      }
      if (io.saveFile === undefined) throw new Error('curt qr needs a way to write files');
      try {
        await io.saveFile(command.output, image);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        // Writing, a missing name is a missing folder.
        throw new UsageError(`cannot write ${command.output}: ${code === 'ENOENT' ? 'its folder does not exist' : (FILE_PROBLEMS[code] ?? (err as Error).message)}`, 'qr');
      }
      const what = command.format === 'png' ? `PNG, ${command.size === undefined ? 'the server\'s default width' : `${command.size} pixels wide`}` : 'SVG';
      print(asJson ? json({ short_code: command.code, format: command.format, file: command.output, bytes: image.byteLength }) : `Wrote the QR code of ${command.code} (${what}, ${image.byteLength} bytes) to ${command.output}.`);
      return 0;
    }
    case 'import': {
      if (io.open === undefined) throw new Error('curt import needs a way to open files');
      const opened = await io.open(command.file);
      const { type, file } = command.type === undefined ? await sniffImportType(opened) : { type: command.type, file: opened };
      const report = client.importLinks(file, { type, ...(command.format === undefined ? {} : { format: command.format }) });
      // The client ends the report with its summary or the server's reason to stop, or throws
      // ImportCutOffError. Exit 0 only when every row is there now (created, or there already), so
      // that a script sees a refused row, an import the server stopped, and a report cut off.
      let last: ImportReportLine | undefined;
      try {
        for await (const line of report) {
          last = line;
          if (asJson) print(JSON.stringify(line));
          else if ('summary' in line) print(`${line.rows} ${line.rows === 1 ? 'row' : 'rows'}: ${line.created} created, ${line.exists} already there, ${line.refused} refused.`);
          else if ('error' in line) print(`The import stopped: ${(line.error.detail ?? line.error.code).replace(/\.$/, '')}. ${IMPORT_AGAIN}`);
          else if (line.status === 'refused') print(`row ${line.row}: refused: ${line.reason ?? ''}`);
        }
      } catch (err) {
        // With --json, standard output stays the report's lines and the failure goes to stderr
        // (describeFailure). The server's refusal of the request, before any line, is any call's failure.
        if (asJson || !(err instanceof ImportCutOffError)) throw err;
        print(`${err.reason === null ? 'The report ended before its summary.' : `The report was cut off (${err.reason}).`} ${IMPORT_AGAIN}`);
        return 1;
      }
      // A stop was said in its line above.
      return last !== undefined && 'summary' in last && last.refused === 0 ? 0 : 1;
    }
    case 'keys create': {
      const key = await client.createApiKey({ isAdmin: command.admin, ...(command.name === undefined ? {} : { name: command.name }) });
      print(asJson ? json(key) : formatApiKey(key));
      return 0;
    }
    case 'keys list': {
      const keys = await client.listApiKeys();
      print(asJson ? json({ items: keys }) : formatApiKeyTable(keys));
      return 0;
    }
    case 'keys revoke':
      await client.revokeApiKey(command.id);
      print(asJson ? json({ revoked: command.id }) : `Revoked key ${command.id}: it is refused from now on.`);
      return 0;
    case 'webhooks add': {
      const hook = await client.createWebhook(command.url, command.events, command.description === undefined ? {} : { description: command.description });
      print(asJson ? json(hook) : formatWebhook(hook));
      return 0;
    }
    case 'webhooks list': {
      const hooks = await client.listWebhooks();
      print(asJson ? json({ items: hooks }) : formatWebhookTable(hooks));
      return 0;
    }
    case 'webhooks enable':
    case 'webhooks disable': {
      // Enabling is how an endpoint Curt disabled after failing deliveries (disabled_failing) comes back.
      const hook = await client.updateWebhook(command.id, { isActive: command.verb === 'webhooks enable' });
      print(asJson ? json(hook) : formatWebhook(hook));
      return 0;
    }
    case 'webhooks rm':
      await client.deleteWebhook(command.id);
      print(asJson ? json({ deleted: command.id }) : `Deleted webhook ${command.id}.`);
      return 0;
    case 'webhooks deliveries': {
      const page = await client.webhookDeliveries(command.id, { ...(command.limit === undefined ? {} : { limit: command.limit }), ...(command.cursor === undefined ? {} : { cursor: command.cursor }) });
      if (asJson) print(json(page));
      else print(formatDeliveryTable(page.items) + (page.next_cursor === null ? '' : `\n\n${nextPage(`curt webhooks deliveries ${command.id}${command.limit === undefined ? '' : ` --limit ${command.limit}`}`, command.client, page.next_cursor)}`));
      return 0;
    }
  }
}

/** Characters a POSIX shell takes as they are in a word (no quoting, globbing, tilde or expansion). */

/**
 * The line that runs the next page: `command` (the verb and its flags) with --server when the user
 * gave it on the command line (an address from CURT_SERVER is still in the variable), and the cursor.
 * Never the API key: this line is read over shoulders and pasted into chats and tickets. A key given
 * with --api-key gets a shell comment asking for it again; one from CURT_API_KEY is still there.
 */
function nextPage(command: string, client: ClientFlags, cursor: string): string {
  const server = client.server === undefined ? '' : flagText('--server', client.server);
  const key = client.apiKey === undefined ? '' : '  # Add --api-key as before: the key is not printed.';
  return `More: ${command}${server}${flagText('--cursor', cursor)}${key}`;
}

/**
 * The flags of a listing again, for the next page's command: the cursor pins the sort and order, and
 * the filters must be sent with it too.
 */
export function listFlags(command: Extract<Command, { verb: 'list' }>): string {
  const flags: [string, string | undefined][] = [
    ['--search', command.search],
    ['--state', command.state],
    ...(command.tags ?? []).map((tag): [string, string] => ['--tag', tag]),
    ['--sort', command.sort],
    ['--order', command.order],
    ['--created-after', command.createdAfter],
    ['--created-before', command.createdBefore],
    ['--expires-after', command.expiresAfter],
    ['--expires-before', command.expiresBefore],
    ['--limit', command.limit === undefined ? undefined : String(command.limit)],
  ];
  return flags.map(([flag, value]) => (value === undefined ? '' : flagText(flag, value))).join('');
}

export interface Failure {
  /** 1: the server answered with an error; 3: no Curt server answered. */
  exitCode: 1 | 3;
  /** One line for people. */
  message: string;
  /** The same for scripts (`--json`): the server's problem, or one describing the failure. */
  problem: Record<string, unknown>;
}

/**
 * A failure the CLI saw itself, as a problem document shaped like the server's (RFC 9457, `type`
 * `urn:curt:problem:<code>`), so that a script reads one shape whichever side failed. No `status`:
 * no HTTP answer said it.
 */
function clientProblem(code: string, title: string, detail: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: `urn:curt:problem:${code}`, title, code, detail, ...extra };
}

/**
 * A route the server does not have, asked of a server address with a path: most likely the path is
 * the mistake (Curt's API is at the root). The SDK keeps the path, for a proxy that maps a prefix to
 * Curt, so this only says so. `serverFrom`: where the address came from, as the user gave it.
 */
function pathHint(err: CurtApiError, server: string, serverFrom: string): string {
  if (err.status !== 404 || err.code !== 'not_found') return '';
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return '';
  }
  if (url.pathname === '/' || url.pathname === '') return '';
  return ` The ${serverFrom} URL has a path, ${url.pathname}: Curt's API is at the server's root (${url.origin}) unless a proxy in front maps ${url.pathname} to it.`;
}

/** Curt's listeners that are not the URL service, and how a message names each. */
const OTHER_LISTENERS = {
  kgs: "Curt's KGS (Key Generation Service)",
  metrics: "a Curt metrics listener (METRICS_PORT, which serves only /metrics)",
} as const;

/**
 * The server answered, as Curt does, but as one of Curt's other listeners: no route of the URL
 * service's is there. The answer was Curt's 404, so the SDK took it for the URL service's own.
 */
export class OtherListenerError extends Error {
  constructor(
    readonly listener: keyof typeof OTHER_LISTENERS,
    /** The status the listener answered the command's request with. */
    readonly status: number,
  ) {
    super(`the server answers as ${OTHER_LISTENERS[listener]}, not the URL service`);
    this.name = 'OtherListenerError';
  }
}

/** How long each question of recogniseListener may take: it only words a failure that has happened. */
const PROBE_TIMEOUT_MS = 3000;

/**
 * `err` as an OtherListenerError when it is a 404 not_found (no such route) from one of Curt's other
 * listeners, else `err` as it is. Every route the CLI asks for is the URL service's, so that 404 means
 * the address is wrong or the server is not the URL service; the KGS and the metrics listener answer
 * it in the same problem+json. Told by asking what only each serves, never by the 404's words:
 * GET /api/config (only the URL service: then the 404 stands, and pathHint may explain it),
 * the OpenAPI document's title (the KGS's), GET /metrics in the Prometheus text format (the metrics
 * listener: the URL service and the KGS do not serve it on their main port). A question that fails
 * leaves `err` as it is.
 */
export async function recogniseListener(err: unknown, server: string, fetchFn: typeof fetch = fetch): Promise<unknown> {
  if (!(err instanceof CurtApiError) || err.status !== 404 || err.code !== 'not_found') return err;
  const base = server.replace(/\/+$/, '');
  const ask = async (path: string, accept: string): Promise<Response | null> => {
    try {
      return await fetchFn(`${base}${path}`, { headers: { accept }, redirect: 'manual', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    } catch {
      return null;
    }
  };
  const jsonOf = async (res: Response | null): Promise<Record<string, unknown> | null> => {
    if (res === null) return null;
    if (res.status !== 200 || !/^application\/json\b/i.test(res.headers.get('content-type') ?? '')) {
      await res.body?.cancel();
      return null;
    }
    try {
      const body: unknown = await res.json();
      return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  };
  const config = await ask('/api/config', 'application/json');
  if (config === null || typeof (await jsonOf(config))?.public_base_url === 'string') return err;
  const openapi = await jsonOf(await ask('/docs/json', 'application/json'));
  const title = (openapi?.info as { title?: unknown } | undefined)?.title;
  if (typeof title === 'string' && /\bKey Generation Service\b/.test(title)) return new OtherListenerError('kgs', err.status);
  const metrics = await ask('/metrics', 'text/plain');
  if (metrics === null) return err;
  await metrics.body?.cancel();
  const exposition = metrics.status === 200 && /^(text\/plain|application\/openmetrics-text)\b/i.test(metrics.headers.get('content-type') ?? '');
  return exposition ? new OtherListenerError('metrics', err.status) : err;
}

/**
 * What went wrong talking to `server`, or null when `err` is not a failure of the conversation (a bug).
 * `serverFrom`: `--server` or `CURT_SERVER`, whichever gave the address; `keyFrom`: `--api-key` or
 * `CURT_API_KEY` when a key was sent (a 401 then is about that key), null when none was.
 */
export function describeFailure(err: unknown, server: string, serverFrom = '--server', keyFrom: string | null = null): Failure | null {
  if (err instanceof CurtApiError) {
    const unauthorized = keyFrom === null ? ' Pass --api-key or set CURT_API_KEY.' : ` The key given by ${keyFrom} is refused.`;
    const hint = err.status === 401 ? unauthorized : err.status === 403 ? ' This needs an admin key.' : pathHint(err, server, serverFrom);
    return { exitCode: 1, message: `${err.message.replace(/\.$/, '')} (${err.code}, HTTP ${err.status}).${hint}`, problem: err.problem };
  }
  if (err instanceof ImportCutOffError) {
    return { exitCode: 1, message: `${err.message}. ${IMPORT_AGAIN}`, problem: clientProblem('import_cut_off', 'Import report cut off', err.message, { lines: err.lines }) };
  }
  if (err instanceof OtherListenerError) {
    return {
      exitCode: 3,
      message: `the server at ${server} answers as ${OTHER_LISTENERS[err.listener]}, not the URL service: point ${serverFrom} at the URL service (the address \`curt serve\` or \`curt url-service\` listens on).`,
      // not_curt, as for any server that is not the URL service; `listener` says which of Curt's it is.
      problem: clientProblem('not_curt', 'Not the Curt URL service', `${server} answers as ${OTHER_LISTENERS[err.listener]}, not the URL service`, { status: err.status, listener: err.listener }),
    };
  }
  if (err instanceof NotCurtError) {
    return {
      exitCode: 3,
      message: `the server at ${server} is not a Curt server (${err.message}). Point --server or CURT_SERVER at Curt.`,
      // `status` is the other server's, kept as it was: a script may tell a proxy's 502 from a web page's 200.
      problem: clientProblem('not_curt', 'Not a Curt server', `${server}: ${err.message}`, { status: err.status }),
    };
  }
  // What fetch threw that was not the server's absence (a redirect loop, an upload file that failed
  // to read, an answer cut off part way): said in its words, not as a bug's.
  if (err instanceof TypeError && (err.message === 'fetch failed' || err.message === 'terminated')) {
    const cause = (err as { cause?: { message?: unknown } }).cause;
    const why = typeof cause?.message === 'string' ? cause.message : err.message === 'terminated' ? 'the answer was cut off' : 'no reason given';
    return { exitCode: 1, message: `the request to ${server} failed (${why}).`, problem: clientProblem('request_failed', 'Request failed', `${server}: ${why}`) };
  }
  if (err instanceof CurtUnreachableError) {
    const why = err.reason === 'timeout' ? 'no answer in time' : err.reason;
    return {
      exitCode: 3,
      message: `cannot reach the Curt server at ${server} (${why}). Is it running? Start one with \`npm start\`, or point --server or CURT_SERVER at it.`,
      problem: clientProblem('server_unreachable', 'Server unreachable', `cannot reach ${server}: ${why}`),
    };
  }
  return null;
}

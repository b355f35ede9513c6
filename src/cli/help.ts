// `curt --help` and `curt <command> --help`.
import { DEFAULT_CURT_SERVER } from '../core/config.ts';

/** The options every client verb takes; `json` says what --json prints for this one. */
const clientOptions = (json: string): string => `Options:
  --server URL    the Curt server (env CURT_SERVER; default ${DEFAULT_CURT_SERVER})
  --api-key KEY   API key to send (env CURT_API_KEY)
  --json          ${json}
  -h, --help      this help`;
const CLIENT_OPTIONS = clientOptions("print the server's JSON answer, for scripts");

const SERVER_NOTE = 'Configuration comes from environment variables; see the Configuration table in README.md.';

export const GENERAL_HELP = `curt: a self-hosted URL shortener

Usage: curt <command> [options]

Run a server:
  serve           everything in one process on embedded storage (what \`npm start\` runs)
  kgs             the Key Generation Service alone
  url-service     the URL service alone (PostgreSQL, Redis and a KGS)
  migrate         apply the database migrations to DATABASE_URL

Use a server:
  shorten <url>   make a short link
  get <code>      a link: its target, state, expiry, visits, tags, password (yes/no) and clicks
  stats <code>    clicks and state of a link, by day, country, browser, device...; its visits
  edit <code>     change a link's target, expiry, tags, visit limit, query forwarding or password;
                  disable or enable it
  delete <code>   delete a link
  list            your links (needs an API key)
  qr <code>       a link's QR code, SVG or PNG, to a file or standard output
  export          all your links as CSV or NDJSON, to standard output
  import <file>   create links from a CSV or NDJSON file (Curt, Kutt, YOURLS)
  keys create     create an API key (needs an admin key)
  keys list       list API keys (an admin key sees every key, another key itself)
  keys revoke <id>  revoke an API key at once
  webhooks add <url> --events E   send events (link.created, ...) to a URL
  webhooks list|enable|disable|rm|deliveries  manage webhook endpoints

Client commands talk to --server / CURT_SERVER (default ${DEFAULT_CURT_SERVER}) with
--api-key / CURT_API_KEY, and print tables, or JSON with --json.
Exit codes: 0 done, 1 the server refused, 2 wrong usage, 3 no Curt URL service answered
(none did, or another server or another of Curt's listeners did).

Run \`curt <command> --help\` for a command's options. \`curt --version\` prints the version.`;

const HELP: Record<string, string> = {
  serve: `Usage: curt serve [--port N] [--host ADDRESS] [--data-dir DIR]

Runs the URL service, the redirects and the KGS in one process. With no configuration it keeps
everything on this machine: PostgreSQL embedded (PGlite) under DATA_DIR (default ./data), and the
cache, rate limits and key pool in the process. DATABASE_URL, REDIS_URL and KGS_URL each switch one
part to a real server. It migrates its database, and on first start creates an admin API key and
prints it once. Anonymous link creation is on unless ALLOW_ANONYMOUS=false.

Options (each stands for the variable in brackets):
  --port N          listen on port N (PORT; default 8080)
  --host ADDRESS    bind this address (HOST; default 127.0.0.1)
  --data-dir DIR    keep the embedded database here (DATA_DIR; default ./data)
  -h, --help        this help

${SERVER_NOTE}`,
  kgs: `Usage: curt kgs

Runs the Key Generation Service (needs Redis and KGS_TOKEN). Same as \`npm run kgs\`.
${SERVER_NOTE}`,
  'url-service': `Usage: curt url-service

Runs the URL service alone (needs a migrated PostgreSQL, Redis, a KGS and KGS_TOKEN). Same as
\`npm run url-service\`.
${SERVER_NOTE}`,
  migrate: `Usage: curt migrate

Applies the database migrations to DATABASE_URL, then exits. Safe to run twice, or twice at once.
(\`curt serve\` migrates its own database by itself.)
${SERVER_NOTE}`,
  shorten: `Usage: curt shorten <url> [--alias NAME] [--expires-in DURATION | --expires-at DATE-TIME]
                     [--one-time | --max-visits N] [--forward-query] [--tag TAG]...
                     [--password | --password-stdin]

Makes a short link to <url> and prints it.
  --alias NAME            a custom code: 3 to 10 characters of A-Z a-z 0-9 _ -
  --expires-in DURATION   the link stops working after 90s, 30m, 12h, 7d, 2w...
  --expires-at DATE-TIME  the link stops working then: 2030-01-31T12:00Z, 2030-01-31T13:00+01:00
  --one-time              the link redirects exactly once (--max-visits 1)
  --max-visits N          the link redirects people N times (1 to 1000000000), then answers
                          "used"; link previews and other bots do not use a visit
  --forward-query         /code?utm_source=x leads to <url> with utm_source=x added (a name
                          <url> has too takes the short link's value)
  --tag TAG               a tag (repeat it, or a,b; --tags A,B is the same): 1 to 32 of
                          letters, digits and - _ . : /; kept lower case, at most 20
  --password              protect the link with a password, asked for here (typed twice, not shown),
                          8 to 128 characters
  --password-stdin        the same, the password read from the first line of standard input
                          (never from the command line: other users can read it, shells keep it)
${CLIENT_OPTIONS}`,
  get: `Usage: curt get <code>

Prints a link: its short URL, target, state, when it was made and expires, its visits made of its
limit, whether it forwards its query string and has a password, its tags, its clicks and bot hits
(all time) and its last click. With --json, the server's JSON (GET /urls/{code}). Needs the key that
made it, or an admin key; anonymous links: any caller.
${CLIENT_OPTIONS}`,
  stats: `Usage: curt stats <code> [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--top N]

Prints a link's target, state, clicks and bot hits (crawlers, link previews, curl...: never counted
as clicks), all time, and its visits made of its limit; then, over a range of UTC days, the clicks
and bot hits per day, and the clicks by country, browser, operating system, device and referring
site, and the bot hits by bot.
  --from YYYY-MM-DD   first day of the range (default: 89 days before --to)
  --to YYYY-MM-DD     last day of the range (default: today, UTC); at most 3,660 days in all
  --top N             rows per breakdown, 1 to 100 (default 10); the rest add up to "(other)"
${CLIENT_OPTIONS}`,
  edit: `Usage: curt edit <code> [--url URL] [--expires-in DURATION | --expires-at DATE-TIME | --no-expiry]
                 [--disable | --enable]
                 [--max-visits N | --no-max-visits] [--forward-query | --no-forward-query]
                 [--tags A,B | --tag TAG... | --no-tags] [--password | --password-stdin | --no-password]

Changes a link and prints it; every replica redirects by the change at once. Needs the key that made
it, or an admin key (anonymous links: an admin key).
  --url URL               where the link leads from now on (checked as at creation)
  --expires-in DURATION   the link stops working after 90s, 30m, 12h, 7d, 2w... from now
  --expires-at DATE-TIME  the link stops working then (2030-01-31T12:00Z); a time past ends it now
  --no-expiry             the link no longer expires
  --disable               the link answers 410 until enabled again
  --enable                the link redirects again
  --max-visits N          a new visit limit: at or below the visits already made, the link is
                          used up; above them, a used link redirects again
  --no-max-visits         the link has no visit limit any more
  --forward-query         add the short link's query string to the target's
  --no-forward-query      redirect to the target as it is
  --tags A,B              the link's tags from now on (replaces them all); --tag TAG, repeated,
                          is the same; an empty list is refused (--no-tags removes them)
  --no-tags               the link has no tags
  --password              set or replace the link's password (8 to 128 characters), typed here twice
  --password-stdin        the same, read from the first line of standard input
  --no-password           the link no longer needs a password
${CLIENT_OPTIONS}`,
  export: `Usage: curt export [--format csv|ndjson | --json] > FILE

Writes every link of the key (an admin key: every link) with its click totals, streamed: columns
short_code,url,created_at,expires_at,is_one_time,max_visits,visits,forward_query,is_active,state,clicks,
bot_hits,last_clicked_at,tags,has_password. NDJSON (--format ndjson, or --json) has the same
fields, one link a JSON object a line.
${CLIENT_OPTIONS}`,
  qr: `Usage: curt qr <code> [--format svg|png] [--size N] [--output FILE]

Writes the short link's QR code: SVG (scales to any size) or a black-and-white PNG. Anyone may have
an anonymous link's; another link's needs its key or an admin key, as its details do.
  --format svg|png   the picture's format (default: png for an --output ending in .png, else svg)
  --size N           the PNG's width in pixels, 64 to 2048 (default 256)
  --output FILE      write it to FILE (-o FILE; - is standard output); without it, to standard
                     output (a PNG only when that is not a terminal: curt qr launch --format png > qr.png)
${clientOptions('with --output: say what was written, as JSON (short_code, format, file, bytes)')}`,
  import: `Usage: curt import <file|-> [--format curt|kutt|yourls] [--type csv|ndjson]

Creates links from a CSV or NDJSON file (- reads standard input): Curt's export, a sheet with a url
column (and alias, expires_at, tags, max_visits, forward_query; tags separated by spaces or commas),
Kutt's links or YOURLS's; the format is told from the header row (NDJSON: the fields) unless
--format says. Prints the summary and each refused row with its reason.
Running the same file again creates nothing new: rows already imported are "exists".
Exits 0 when every row was created or was there already; 1 when a row was refused, the import
stopped part way, or the report was cut off before its summary (run the same file again to go on).
  --format F         curt, kutt or yourls: whose columns the file has
  --type csv|ndjson  the file's type; without it, a .csv file is CSV, a .ndjson or .jsonl file
                     NDJSON (a JSON object a line), and standard input or another name NDJSON when
                     its first character that is not a space is {, else CSV
${CLIENT_OPTIONS}`,
  delete: `Usage: curt delete <code>

Deletes a link: its code answers 404 at once. Needs the key that made it, or an admin key
(anonymous links: an admin key).
${CLIENT_OPTIONS}`,
  list: `Usage: curt list [--search TEXT] [--state STATE] [--tag TAG]... [--sort SORT] [--order desc|asc]
                 [--created-after T] [--created-before T] [--expires-after T] [--expires-before T]
                 [--limit N] [--cursor C | --all]

Lists the links of your API key (every link for an admin key), newest first unless --sort says,
with their clicks and their visits made of the limit (2/5; - for none).
  --search TEXT        only links whose code or target contains TEXT (any letter case; 3 characters or more)
  --state STATE        only links that are active, expired, used or disabled
  --tag TAG            only links having this tag (repeat it, or a,b: links having all of them);
                       --tags A,B is the same
  --sort SORT          created (default), clicks or last_click (never-clicked links last)
  --order desc|asc     desc (default) or asc
  --created-after T    only links created at or after T: a day (2026-01-31, 00:00 UTC) or a
                       date-time with a time zone (2026-01-31T12:00:00Z); --created-before: before T
  --expires-after T    only links expiring at or after T; --expires-before: before T
  --limit N            links per page, 1 to 100 (default 20)
  --cursor C           the next page, as printed under the previous one (with the same flags)
  --all                every page
${CLIENT_OPTIONS}`,
  'keys create': `Usage: curt keys create [--admin] [--name NAME]

Creates an API key and prints it (shown once: only its hash is stored) with its id, which
\`curt keys revoke\` takes. Needs an admin key.
  --admin       the new key is an admin key too (sees and manages every link)
  --name NAME   a label for the key
${CLIENT_OPTIONS}`,
};

HELP['keys list'] = `Usage: curt keys list

Lists API keys: id, the key's first characters (never the key), name, admin or not, and when it
was created and revoked. An admin key sees every key; another key sees only itself.
${CLIENT_OPTIONS}`;

HELP['keys revoke'] = `Usage: curt keys revoke <id>

Revokes the API key with this id (see \`curt keys list\`): it is refused from the next request on,
on every replica. A 503 means the key is revoked but not every replica confirmed it yet: run it again.
An admin key may revoke any key; another key only itself. Revoking the last admin
key leaves none: \`curt serve\` then makes a new one at its next start; elsewhere set a new
ADMIN_API_KEY.
${CLIENT_OPTIONS}`;

HELP.keys = `Usage: curt keys create|list|revoke

  keys create [--admin] [--name NAME]   create an API key (needs an admin key)
  keys list                             list API keys
  keys revoke <id>                      revoke an API key at once

Run \`curt keys <subcommand> --help\` for each one's options.`;

HELP['webhooks add'] = `Usage: curt webhooks add <url> --events EVENTS [--description TEXT]

Adds a webhook endpoint for your API key and prints its signing secret (shown once). Curt POSTs
each event to <url>, signed in the Standard Webhooks format (docs/webhooks.md).
  --events EVENTS     comma-separated, or the flag repeated: link.created, link.updated, link.deleted, link.clicked
  --description TEXT  a label for the endpoint
${CLIENT_OPTIONS}`;

HELP['webhooks list'] = `Usage: curt webhooks list

Lists your API key's webhook endpoints (an admin key: every endpoint) with their state:
active, disabled, or disabled_failing (Curt disabled it after deliveries kept failing).
${CLIENT_OPTIONS}`;

HELP['webhooks enable'] = `Usage: curt webhooks enable <id>

Turns the webhook endpoint with this id (see \`curt webhooks list\`) on again: one you disabled, or
one Curt disabled after its deliveries kept failing (disabled_failing). Events from now on are sent.
${CLIENT_OPTIONS}`;

HELP['webhooks disable'] = `Usage: curt webhooks disable <id>

Stops sending events to the webhook endpoint with this id until it is enabled again; it stays listed.
${CLIENT_OPTIONS}`;

HELP['webhooks rm'] = `Usage: curt webhooks rm <id>

Deletes the webhook endpoint with this id (see \`curt webhooks list\`) and its pending events.
${CLIENT_OPTIONS}`;

HELP['webhooks deliveries'] = `Usage: curt webhooks deliveries <id> [--limit N] [--cursor C]

The delivery log of an endpoint, newest first: each event's id, type, state, attempts and last
status or error.
  --limit N     events per page, 1 to 100 (default 20)
  --cursor C    the next page, as printed under the previous one
${CLIENT_OPTIONS}`;

HELP.webhooks = `Usage: curt webhooks add|list|enable|disable|rm|deliveries

  webhooks add <url> --events EVENTS   add an endpoint; prints its signing secret once
  webhooks list                        list endpoints and their state
  webhooks enable|disable <id>         turn an endpoint on again (also after disabled_failing), or off
  webhooks rm <id>                     delete an endpoint
  webhooks deliveries <id>             an endpoint's delivery log

Run \`curt webhooks <subcommand> --help\` for each one's options.`;

export function helpFor(topic: string | null): string | null {
  if (topic === null) return GENERAL_HELP;
  return HELP[topic] ?? null;
}

// Path segments the services own. A short code equal to one of these (in any letter case) would shadow
// a route, so the KGS never generates one and never lets it be claimed as an alias.
// Every new top-level route of either service must be added here; a test walks the routes to check.
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  'health',
  'ready',
  'metrics',
  'docs',
  'documentation',
  'openapi',
  'openapi.json',
  'urls',
  'codes',
  'api',
  'api-keys',
  'webhooks',
  'static',
  'assets',
  'admin',
  'app',
  'login',
  'logout',
  'favicon.ico',
  'robots.txt',
  'sitemap.xml',
  'manifest.json',
  '.well-known',
  // Not top-level, but /urls/export and /urls/import would shadow GET /urls/{code} of a link with
  // either code (both fit the default 6-letter codes).
  'export',
  'import',
]);

/** Reserved words are lower-case; a code is reserved in any letter case. */
export function isReservedCode(code: string): boolean {
  return RESERVED_WORDS.has(code.toLowerCase());
}

/** Anything that could be a code (generated or chosen): what the URL service stores and redirects. */
export const CODE_SHAPE = /^[A-Za-z0-9_-]{1,10}$/;

/** What an alias (a code someone chooses) may be: the URL service, the KGS and the CLI check it alike. */
export const ALIAS_PATTERN = /^[A-Za-z0-9_-]{3,10}$/;

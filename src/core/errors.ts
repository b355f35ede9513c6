// The one error model. Domain code throws these; the HTTP layer (problem.ts) turns them into RFC 9457
// problem+json. `code` is the stable machine-readable name clients switch on; it never changes meaning.

/**
 * Every `code` either service answers, with its HTTP status: the closed set clients switch on. README's
 * error table lists exactly these (test/unit/error-codes.test.ts checks both ways).
 */
export const ERROR_CODES = {
  invalid_request: 400,
  malformed_json: 400,
  malformed_request: 400,
  invalid_path: 400,
  invalid_url: 400,
  url_blocked: 400,
  invalid_alias: 400,
  invalid_expiry: 400,
  unauthorized: 401,
  link_password_required: 401,
  link_password_wrong: 401,
  forbidden: 403,
  not_found: 404,
  link_not_found: 404,
  api_key_not_found: 404,
  webhook_not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  alias_taken: 409,
  alias_reserved: 409,
  alias_cooling_down: 409,
  import_in_progress: 409,
  link_expired: 410,
  link_used: 410,
  link_disabled: 410,
  precondition_failed: 412,
  payload_too_large: 413,
  path_too_long: 414,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  expectation_failed: 417,
  rate_limited: 429,
  headers_too_large: 431,
  internal_error: 500,
  method_not_implemented: 501,
  postgres_unavailable: 503,
  redis_unavailable: 503,
  kgs_unavailable: 503,
  pool_empty: 503,
  code_space_exhausted: 503,
  server_busy: 503,
  not_ready: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes answered with one status: `CodeWithStatus<409>` is every conflict. */
export type CodeWithStatus<S extends number> = { [K in ErrorCode]: (typeof ERROR_CODES)[K] extends S ? K : never }[ErrorCode];

export function hasStatus<S extends number>(code: ErrorCode, status: S): code is CodeWithStatus<S> {
  return ERROR_CODES[code] === status;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** The dependencies whose outage is a 503 `{dependency}_unavailable`. */
export type Dependency = 'postgres' | 'redis' | 'kgs';

/** What a client is told of an outage: the same stable sentence every time, whatever the cause. */
export const UNAVAILABLE_DETAIL: Readonly<Record<Dependency, string>> = {
  postgres: 'The database is not available; try again shortly.',
  redis: 'Redis is not available; try again shortly.',
  kgs: 'No short code can be had right now; try again shortly.',
};

export interface ProblemFields {
  status: number;
  code: ErrorCode;
  title: string;
  detail?: string;
  /** Extra response headers such as Retry-After or WWW-Authenticate. */
  headers?: Record<string, string>;
  /** RFC 9457 extension members, merged into the body. */
  extensions?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly title: string;
  readonly detail: string | undefined;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(fields: ProblemFields, options?: { cause?: unknown }) {
    super(fields.detail ?? fields.title, options);
    this.name = new.target.name;
    this.status = fields.status;
    this.code = fields.code;
    this.title = fields.title;
    this.detail = fields.detail;
    this.headers = fields.headers ?? {};
    this.extensions = fields.extensions ?? {};
  }
}

export class InvalidRequest extends AppError {
  constructor(detail: string, code: CodeWithStatus<400> = 'invalid_request') {
    super({ status: 400, code, title: 'The request is not valid', detail });
  }
}

export class Unauthorized extends AppError {
  constructor(detail = 'A valid bearer token is required.') {
    super({ status: 401, code: 'unauthorized', title: 'Authentication required', detail, headers: { 'www-authenticate': 'Bearer' } });
  }
}

/** A body this route does not read: another type, charset or coding. The detail says what it reads. */
export class UnsupportedMediaType extends AppError {
  constructor(detail: string, options: { title?: string; headers?: Record<string, string> } = {}) {
    super({ status: 415, code: 'unsupported_media_type', title: options.title ?? 'Unsupported media type', detail, ...(options.headers === undefined ? {} : { headers: options.headers }) });
  }
}

/**
 * A password protects the link and the request sent none (or was a HEAD). Basic, not Bearer: a
 * client answers with `Authorization: Basic` (any user name), the way the redirect takes a password.
 * A browser gets the password form instead, without this header (its own dialog would replace the form).
 */
export class LinkPasswordRequired extends AppError {
  constructor() {
    super({
      status: 401,
      code: 'link_password_required',
      title: 'Password required',
      detail: 'This link is protected by a password: send it with HTTP Basic authentication (any user name).',
      headers: { 'www-authenticate': 'Basic realm="Curt link", charset="UTF-8"' },
    });
  }
}

export class LinkPasswordWrong extends AppError {
  constructor() {
    super({
      status: 401,
      code: 'link_password_wrong',
      title: 'Wrong password',
      detail: 'The password is not the link\'s.',
      headers: { 'www-authenticate': 'Basic realm="Curt link", charset="UTF-8"' },
    });
  }
}

export class Forbidden extends AppError {
  constructor(detail = 'This key may not do that.') {
    super({ status: 403, code: 'forbidden', title: 'Not allowed', detail });
  }
}

export class NotFound extends AppError {
  constructor(detail = 'Nothing is here.', code: CodeWithStatus<404> = 'not_found') {
    super({ status: 404, code, title: 'Not found', detail });
  }
}

export class Conflict extends AppError {
  constructor(code: CodeWithStatus<409>, detail: string, extensions?: Record<string, unknown>) {
    super({ status: 409, code, title: 'Conflict', detail, ...(extensions === undefined ? {} : { extensions }) });
  }
}

/** The alias of a deleted link, waiting out the reuse cool-down (KGS_REUSE_COOLDOWN_S) before anyone can claim it. */
export class AliasCoolingDown extends Conflict {
  constructor(alias: string, availableAt: Date) {
    super('alias_cooling_down', `"${alias}" belonged to a deleted link; it can be used again from ${availableAt.toISOString()}.`, {
      available_at: availableAt.toISOString(),
    });
  }
}

/**
 * A dependency (Redis, PostgreSQL, the KGS) cannot serve now; the caller should retry later. `detail`
 * is for the client: stable and generic. What went wrong (addresses, socket errors) goes in `cause`,
 * which the error handler logs and never sends.
 */
export class DependencyDown extends AppError {
  constructor(dependency: Dependency, detail: string, retryAfterS = 1, options?: { cause?: unknown }) {
    super(
      {
        status: 503,
        code: `${dependency}_unavailable`,
        title: 'Service temporarily unavailable',
        detail,
        headers: { 'retry-after': String(retryAfterS) },
      },
      options,
    );
  }
}

/** The KGS has no code to give: the pool is empty after waiting, or the code space is used up. */
export class CodesUnavailable extends AppError {
  constructor(detail: string, code: 'pool_empty' | 'code_space_exhausted', retryAfterS = 1) {
    super({ status: 503, code, title: 'No short codes available', detail, headers: { 'retry-after': String(retryAfterS) } });
  }
}

/** `GET /ready`'s 503: the process should get no traffic now; `checks` says what is down. */
export class NotReady extends AppError {
  constructor(detail: string, checks: Record<string, string>) {
    super({ status: 503, code: 'not_ready', title: 'Not ready', detail, headers: { 'retry-after': '1' }, extensions: { checks } });
  }
}

/**
 * `/ready` of a process that drains before it stops (docs/operations.md, "Shutdown (SIGTERM)"): it still
 * answers what it is sent, but a balancer's health check should stop sending here.
 */
export class Draining extends NotReady {
  constructor() {
    super('This process is stopping: it answers what it is sent until its drain ends, and takes no more traffic after.', { process: 'draining' });
  }
}

/**
 * Back-pressure, not an outage: every connection to a dependency that is answering is busy. Only this
 * request is refused; no circuit breaker counts it.
 */
export class ServerBusy extends AppError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super({ status: 503, code: 'server_busy', title: 'Server busy', detail, headers: { 'retry-after': '1' } }, options);
  }
}

/**
 * A link's analytics ran past their budget (ANALYTICS_STATEMENT_TIMEOUT_MS in src/core/postgres.ts):
 * the database answered, but this range was too much to add up in time. Busy, not down: no breaker
 * counts it, and a shorter range answers.
 */
export class AnalyticsTooSlow extends ServerBusy {
  constructor(budgetMs: number, options?: { cause?: unknown }) {
    super(`Adding up this range took longer than ${budgetMs / 1000} s; ask for fewer days.`, options);
  }
}

/** A bug or an unexpected answer: 500, with a generic detail; the cause is logged, never sent. */
export class InternalError extends AppError {
  constructor(options?: { cause?: unknown }) {
    super({ status: 500, code: 'internal_error', title: 'Internal error', detail: 'Something went wrong on our side; it has been logged.' }, options);
  }
}

export class LinkNotFound extends AppError {
  constructor() {
    super({ status: 404, code: 'link_not_found', title: 'Link not found', detail: 'No short link has this code.' });
  }
}

export type GoneReason = 'link_expired' | 'link_used' | 'link_disabled';
const GONE_DETAIL: Record<GoneReason, string> = {
  link_expired: 'This short link has expired.',
  link_used: 'This short link has been used up: it has had all the visits it allows (a one-time link: one).',
  link_disabled: 'This short link has been disabled by its owner.',
};

export class LinkGone extends AppError {
  constructor(readonly reason: GoneReason) {
    super({ status: 410, code: reason, title: 'Link no longer available', detail: GONE_DETAIL[reason] });
  }
}

export class RateLimited extends AppError {
  constructor(retryAfterS: number) {
    super({
      status: 429,
      code: 'rate_limited',
      title: 'Too many requests',
      detail: `Rate limit reached; retry in ${retryAfterS} s.`,
      headers: { 'retry-after': String(retryAfterS) },
    });
  }
}

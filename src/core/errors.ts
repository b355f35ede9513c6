// The one error model. Domain code throws these; the HTTP layer (problem.ts) turns them into RFC 9457
// problem+json. `code` is the stable machine-readable name clients switch on; it never changes meaning.

export interface ProblemFields {
  status: number;
  code: string;
  title: string;
  detail?: string;
  /** Extra response headers such as Retry-After or WWW-Authenticate. */
  headers?: Record<string, string>;
  /** RFC 9457 extension members, merged into the body. */
  extensions?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
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
  constructor(detail: string, code = 'invalid_request') {
    super({ status: 400, code, title: 'The request is not valid', detail });
  }
}

export class Unauthorized extends AppError {
  constructor(detail = 'A valid bearer token is required.') {
    super({ status: 401, code: 'unauthorized', title: 'Authentication required', detail, headers: { 'www-authenticate': 'Bearer' } });
  }
}

export class Forbidden extends AppError {
  constructor(detail = 'This key may not do that.') {
    super({ status: 403, code: 'forbidden', title: 'Not allowed', detail });
  }
}

export class NotFound extends AppError {
  constructor(detail = 'Nothing is here.', code = 'not_found') {
    super({ status: 404, code, title: 'Not found', detail });
  }
}

export class Conflict extends AppError {
  constructor(code: string, detail: string, extensions?: Record<string, unknown>) {
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

/** A dependency (Redis, PostgreSQL, the KGS) cannot serve now; the caller should retry later. */
export class DependencyDown extends AppError {
  constructor(dependency: string, detail: string, retryAfterS = 1, options?: { cause?: unknown }) {
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

export class LinkNotFound extends AppError {
  constructor() {
    super({ status: 404, code: 'link_not_found', title: 'Link not found', detail: 'No short link has this code.' });
  }
}

export type GoneReason = 'link_expired' | 'link_used' | 'link_disabled';
const GONE_DETAIL: Record<GoneReason, string> = {
  link_expired: 'This short link has expired.',
  link_used: 'This one-time link has already been used.',
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

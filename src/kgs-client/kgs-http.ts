// One KGS call with failover: tries the replicas in turn (each behind its own circuit breaker and a
// per-attempt timeout), for a bounded number of rounds, and turns the outcome into the error model.
import { Pool } from 'undici';
import type { Logger } from '../core/logger.ts';
import { CircuitBreaker, CircuitOpenError, type BreakerState } from '../core/circuit-breaker.ts';
import { AppError, CodesUnavailable, Conflict, DependencyDown, hasStatus, InvalidRequest, isErrorCode, UNAVAILABLE_DETAIL, type ErrorCode } from '../core/errors.ts';
import { CALLER_TIMEOUT_HEADER, type RequestContext } from './types.ts';

export interface KgsHttpOptions {
  urls: readonly string[];
  token: string;
  log: Logger;
  /** Per attempt: connect, headers and body together. */
  timeoutMs: number;
  /** Extra rounds over the replicas after the first one fails everywhere. */
  retries: number;
  breaker: { failureThreshold: number; resetTimeoutMs: number };
  onAttempt?: (kgs: string, outcome: AttemptOutcome, seconds: number) => void;
  onBreakerChange?: (kgs: string, to: BreakerState) => void;
}

export type AttemptOutcome = 'ok' | 'rejected' | 'unavailable' | 'error' | 'timeout' | 'skipped';

interface Replica {
  url: string;
  pool: Pool;
  breaker: CircuitBreaker;
}

/**
 * `replay`: whether a call may be sent again after an attempt whose fate is unknown (a timeout or a
 * reset after the request left). Taking codes may: at worst a batch is lost to the code space, never
 * handed out twice. Claiming may not: the first attempt may have claimed the alias, and the retry
 * would then report the caller's own alias as taken.
 */
export interface KgsCall<T> {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  replay: boolean;
  context?: RequestContext;
  /**
   * Checks a 2xx answer (parsed JSON) and turns it into the result; `kgs` is the replica that gave it.
   * Throws when the answer is not one the caller can use: that attempt then counts as no answer.
   */
  read(body: unknown, kgs: string): T;
}

export interface KgsHttp {
  call<T>(call: KgsCall<T>): Promise<T>;
  /**
   * True when some replica's breaker is closed: it answered its last call. Open and half-open (not
   * yet tried again) replicas do not count.
   */
  anyHealthy(): boolean;
  close(): Promise<void>;
}

// Failures that happen before a byte of the request reached the KGS: always safe to send elsewhere.
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);


class AttemptFailed extends Error {
  constructor(
    readonly outcome: AttemptOutcome,
    readonly sent: boolean,
    message: string,
    readonly problem?: KgsProblem,
  ) {
    super(message);
  }
}

export function createKgsHttp(options: KgsHttpOptions): KgsHttp {
  if (options.urls.length === 0) throw new Error('at least one KGS URL is required');
  const replicas: Replica[] = options.urls.map((url) => ({
    url,
    pool: new Pool(url, { connections: 16, connectTimeout: options.timeoutMs, keepAliveTimeout: 10_000 }),
    breaker: new CircuitBreaker({
      name: `kgs ${url}`,
      ...options.breaker,
      onStateChange: (_name, from, to) => {
        const level = to === 'open' ? 'warn' : 'info';
        options.log[level]({ dependency: 'kgs', kgs: url, from, to }, `KGS circuit breaker ${from} -> ${to}`);
        options.onBreakerChange?.(url, to);
      },
      onRejected: () => options.onAttempt?.(url, 'skipped', 0),
      // A 4xx is an answer; only a call that got none counts against the replica.
      isFailure: (err) => err instanceof AttemptFailed,
    }),
  }));
  // Calls start at the next replica each time, so the load spreads and a dead first URL is not
  // everyone's first attempt.
  let next = 0;

  // Throws AttemptFailed when no answer came (the breaker counts it), or the client error a 4xx
  // stands for: the KGS answering, final, and no sign the replica is unwell.
  async function attempt<T>(replica: Replica, call: KgsCall<T>): Promise<T> {
    const started = performance.now();
    const report = (outcome: AttemptOutcome): void => options.onAttempt?.(replica.url, outcome, (performance.now() - started) / 1000);
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, [CALLER_TIMEOUT_HEADER]: String(options.timeoutMs) };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (call.context?.requestId !== undefined) headers['x-request-id'] = call.context.requestId;
    let status: number;
    let text: string;
    try {
      const res = await replica.pool.request({
        method: call.method,
        path: call.path,
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      const timedOut = (err as Error).name === 'TimeoutError' || code === 'UND_ERR_ABORTED' || code === 'UND_ERR_HEADERS_TIMEOUT';
      report(timedOut ? 'timeout' : 'error');
      throw new AttemptFailed(timedOut ? 'timeout' : 'error', !NOT_SENT.has(code), `${replica.url}: ${timedOut ? `no answer within ${options.timeoutMs} ms` : (err as Error).message}`);
    }
    if (status >= 200 && status < 300) {
      let value: T;
      try {
        value = call.read(parseJson(text), replica.url);
      } catch (err) {
        // Not the KGS talking (a proxy's page?), or nothing usable in what it said (a bug, another
        // version): no answer, as far as this replica goes, so the call fails over like a dead one.
        report('error');
        throw new AttemptFailed('error', true, `${replica.url}: ${status} with ${(err as Error).message}`);
      }
      report('ok');
      return value;
    }
    const problem = parseProblem(status, text);
    if (status >= 500) {
      report('unavailable');
      throw new AttemptFailed('unavailable', true, `${replica.url}: ${status} ${problem.code ?? 'no problem code'}`, problem);
    }
    report('rejected');
    const rejected = toClientError(problem, replica.url);
    if (rejected instanceof DependencyDown) options.log.error({ dependency: 'kgs', err: rejected }, 'the KGS refused the call');
    throw rejected;
  }

  async function call<T>(call: KgsCall<T>): Promise<T> {
    let last: AttemptFailed | undefined;
    for (let round = 0; round <= options.retries; round++) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, 25 * round));
      const start = next++ % replicas.length;
      for (let i = 0; i < replicas.length; i++) {
        const replica = replicas[(start + i) % replicas.length];
        if (replica === undefined) continue;
        try {
          return await replica.breaker.run(() => attempt<T>(replica, call));
        } catch (err) {
          // Open breaker: skipped without a request (counted as 'skipped' by onRejected).
          if (err instanceof CircuitOpenError) continue;
          if (!(err instanceof AttemptFailed)) throw err;
          last = err;
          options.log.warn({ dependency: 'kgs', kgs: replica.url, outcome: err.outcome, err: err.message, path: call.path }, 'KGS call failed');
          if (err.sent && !call.replay) throw unavailable(err);
        }
      }
    }
    throw unavailable(last);
  }

  return {
    call,
    anyHealthy: () => replicas.some((r) => r.breaker.state === 'closed'),
    async close() {
      await Promise.all(replicas.map((r) => r.pool.close()));
    },
  };
}

// The message says what was wrong, never the body: it may be a page of anything, and it is logged.
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error('a body that is not JSON');
  }
}

/** What a client is told when no KGS could give an answer: the same stable words every time. */
export const KGS_UNAVAILABLE_DETAIL = UNAVAILABLE_DETAIL.kgs;

// The replica's address and the socket error stay in `cause`: the error handler logs it, the client
// never sees it.
function unavailable(last: AttemptFailed | undefined): AppError {
  if (last?.problem?.code === 'code_space_exhausted') {
    return new CodesUnavailable(last.problem.detail || 'Every short code is in use.', 'code_space_exhausted', 60);
  }
  const cause = last ?? new Error('every KGS replica is marked down by its circuit breaker');
  return new DependencyDown('kgs', KGS_UNAVAILABLE_DETAIL, 1, { cause });
}

/** A KGS problem answer; `availableAt`: when an alias cooling down can be claimed (ISO 8601). */
interface KgsProblem {
  status: number;
  /** The KGS's code when it is one of ours; anything else (a proxy's page) is undefined. */
  code: ErrorCode | undefined;
  detail: string;
  availableAt?: string;
}

function parseProblem(status: number, text: string): KgsProblem {
  try {
    const body = JSON.parse(text) as { code?: unknown; detail?: unknown; available_at?: unknown };
    const availableAt = typeof body.available_at === 'string' && !Number.isNaN(Date.parse(body.available_at)) ? body.available_at : undefined;
    return {
      status,
      code: isErrorCode(body.code) ? body.code : undefined,
      detail: typeof body.detail === 'string' ? body.detail : '',
      ...(availableAt === undefined ? {} : { availableAt }),
    };
  } catch {
    return { status, code: undefined, detail: '' };
  }
}

/**
 * A 4xx from the KGS. Its answers about what was asked (a 409 such as taken, reserved or cooling
 * down, a 400 such as a malformed alias) are the caller's business and pass on with the KGS's own
 * words, which name nothing internal (a cooling-down alias carries when it is free again); anything
 * else (401/403/404: a wrong token or URL, or a body that is not the KGS's) is a deployment mistake,
 * logged for the operator and a generic 503 for the client.
 */
function toClientError(problem: KgsProblem, url: string): AppError {
  const { code } = problem;
  if (code !== undefined && hasStatus(code, 409)) {
    return new Conflict(code, problem.detail, problem.availableAt === undefined ? undefined : { available_at: problem.availableAt });
  }
  if (code !== undefined && hasStatus(code, 400)) return new InvalidRequest(problem.detail, code);
  const cause = new Error(`the KGS at ${url} refused the call (${problem.status} ${code ?? 'no problem code'}); check KGS_TOKEN and KGS_URL`);
  return new DependencyDown('kgs', KGS_UNAVAILABLE_DETAIL, 5, { cause });
}

// A circuit breaker: after `failureThreshold` consecutive failures a dependency is skipped for
// `resetTimeoutMs` (open), then one trial call decides (half-open). It keeps a dead or hanging
// dependency from adding its timeout to every request.
import { callPromise } from './call-promise.ts';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  name: string;
  failureThreshold: number;
  resetTimeoutMs: number;
  now?: () => number;
  onStateChange?: (name: string, from: BreakerState, to: BreakerState) => void;
  /** A call refused without being made (open, or a half-open trial already in flight). */
  onRejected?: (name: string) => void;
  /**
   * Which errors of a call mean the dependency is unwell. Others are its answer (a constraint
   * violation, a 4xx): they pass through to the caller and count as a success. Default: every error.
   */
  isFailure?: (err: unknown) => boolean;
}

/** A call let through: `trial` when it is the one half-open trial. */
export type Admission = 'call' | 'trial';

export class CircuitOpenError extends Error {
  constructor(readonly breaker: string) {
    super(`circuit ${breaker} is open`);
    this.name = 'CircuitOpenError';
  }
}

export class CircuitBreaker {
  private stateValue: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get name(): string {
    return this.options.name;
  }

  get state(): BreakerState {
    if (this.stateValue === 'open' && this.now() - this.openedAt >= this.options.resetTimeoutMs) this.transition('half_open');
    return this.stateValue;
  }

  /** True when a call may go through now (closed, or the single half-open trial). */
  allows(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half_open' && !this.trialInFlight);
  }

  /**
   * `call` through the breaker: rejected at once (CircuitOpenError) while open. A promise chain, not
   * an async function: PostgreSQL's batches pass here (docs/performance.md).
   */
  run<T>(call: () => Promise<T>): Promise<T> {
    const admission = this.admit();
    if (admission === undefined) return Promise.reject(new CircuitOpenError(this.options.name));
    return callPromise(call).then(
      (result) => {
        this.finish(admission, false);
        return result;
      },
      (err: unknown) => {
        this.finish(admission, true, err);
        throw err;
      },
    );
  }

  /**
   * run() in two halves, for a caller that sends many calls as one command and has no promise per
   * call (the Redis cache, docs/performance.md): undefined when the call is refused (as run() refuses
   * it, counted in onRejected); else the admission to hand back to finish() with the call's outcome.
   */
  admit(): Admission | undefined {
    if (!this.allows()) {
      this.options.onRejected?.(this.options.name);
      return undefined;
    }
    if (this.stateValue !== 'half_open') return 'call';
    this.trialInFlight = true;
    return 'trial';
  }

  /** Counts an admitted call's outcome and ends its trial, whatever the callbacks (isFailure, onStateChange) do. */
  finish(admission: Admission, rejected: boolean, err?: unknown): void {
    try {
      if (rejected && (this.options.isFailure === undefined || this.options.isFailure(err))) this.recordFailure();
      else this.recordSuccess();
    } finally {
      if (admission === 'trial') this.trialInFlight = false;
    }
  }

  recordSuccess(): void {
    this.failures = 0;
    if (this.stateValue !== 'closed') this.transition('closed');
  }

  recordFailure(): void {
    this.failures += 1;
    // A failure seen while open (a background probe, or a call that began before it opened) restarts
    // the wait: while a prober keeps failing, no request is picked as the half-open trial.
    if (this.stateValue === 'open') {
      this.openedAt = this.now();
      return;
    }
    if (this.stateValue === 'half_open' || (this.stateValue === 'closed' && this.failures >= this.options.failureThreshold)) {
      this.openedAt = this.now();
      this.transition('open');
    }
  }

  private transition(to: BreakerState): void {
    const from = this.stateValue;
    if (from === to) return;
    this.stateValue = to;
    this.options.onStateChange?.(this.options.name, from, to);
  }
}

/** Numeric form for a Prometheus gauge: 0 closed, 1 half-open, 2 open. */
export function breakerStateValue(state: BreakerState): number {
  return state === 'closed' ? 0 : state === 'half_open' ? 1 : 2;
}

// A circuit breaker around one dependency (PostgreSQL, Redis): calls fail at once with 503
// `{dependency}_unavailable` + Retry-After while it is open; its state is in /metrics
// (`dependency_breaker_state{dependency}`, `dependency_breaker_transitions_total{dependency,to}`) and
// each transition is logged.
import { CircuitBreaker, CircuitOpenError, breakerStateValue, type Admission, type BreakerState } from './circuit-breaker.ts';
import { DependencyDown, UNAVAILABLE_DETAIL, type Dependency } from './errors.ts';
import type { Logger } from './logger.ts';
import { Counter, Gauge, type Registry } from './metrics.ts';

export interface DependencyBreakerOptions {
  dependency: Dependency;
  log: Logger;
  registry?: Registry;
  /** Which errors mean the dependency is unavailable; any other error is an answer and passes through. Default: every error. */
  isFailure?: (err: unknown) => boolean;
  failureThreshold?: number;
  resetTimeoutMs?: number;
  now?: () => number;
}

export interface DependencyBreaker {
  readonly dependency: Dependency;
  state(): BreakerState;
  run<T>(call: () => Promise<T>): Promise<T>;
  /** True when a call may go through now (closed, or the one half-open trial): optional work skips itself at once otherwise. */
  allows(): boolean;
  /**
   * run() in two halves, without a promise per call (CircuitBreaker.admit): undefined when refused;
   * every admission must be handed back to finish() with the call's outcome.
   */
  admit(): Admission | undefined;
  finish(admission: Admission, rejected: boolean, err?: unknown): void;
  /** The outcome of a call made outside run(), such as a background probe: it drives the breaker like any call. */
  recordSuccess(): void;
  /** `err`, when given, is named in the log line if this failure opens the breaker. */
  recordFailure(err?: unknown): void;
}

interface BreakerMetrics {
  breakers: Set<DependencyBreaker>;
  gauge: Gauge<'dependency'>;
  transitions: Counter<'dependency' | 'to'>;
}

// One set of series per registry, however many breakers report into it.
const metricsByRegistry = new WeakMap<Registry, BreakerMetrics>();

function metricsFor(registry: Registry): BreakerMetrics {
  let metrics = metricsByRegistry.get(registry);
  if (metrics) return metrics;
  const breakers = new Set<DependencyBreaker>();
  metrics = {
    breakers,
    gauge: new Gauge({
      name: 'dependency_breaker_state',
      help: 'Circuit breaker per dependency: 0 closed, 1 half-open, 2 open',
      labelNames: ['dependency'],
      registers: [registry],
      collect() {
        for (const breaker of breakers) this.set({ dependency: breaker.dependency }, breakerStateValue(breaker.state()));
      },
    }),
    transitions: new Counter({
      name: 'dependency_breaker_transitions_total',
      help: 'Circuit breaker state changes per dependency, by the state entered',
      labelNames: ['dependency', 'to'],
      registers: [registry],
    }),
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}

export function createDependencyBreaker(options: DependencyBreakerOptions): DependencyBreaker {
  const { dependency, log } = options;
  const resetTimeoutMs = options.resetTimeoutMs ?? 2000;
  const retryAfterS = Math.max(1, Math.ceil(resetTimeoutMs / 1000));
  const metrics = options.registry === undefined ? undefined : metricsFor(options.registry);
  // The failure last counted: when it opens the breaker, its line says why. Once open, calls fail
  // without reaching the dependency, so this line may be the only one with the reason (a refused
  // address, 'database "curt" does not exist'): background work can open it before any request.
  let lastFailure: unknown;
  const breaker = new CircuitBreaker({
    name: dependency,
    failureThreshold: options.failureThreshold ?? 5,
    resetTimeoutMs,
    ...(options.now ? { now: options.now } : {}),
    // Called for each failed call just before it is counted.
    isFailure: (err) => {
      const failed = options.isFailure?.(err) ?? true;
      if (failed) lastFailure = err;
      return failed;
    },
    onStateChange: (_name, from, to) => {
      if (to === 'open') {
        const reason = lastFailure instanceof Error ? { err: lastFailure.message } : {};
        log.warn({ dependency, from, to, ...reason }, `${dependency} circuit breaker ${from} -> ${to}`);
      } else {
        log.info({ dependency, from, to }, `${dependency} circuit breaker ${from} -> ${to}`);
      }
      metrics?.transitions.inc({ dependency, to });
    },
  });
  const self: DependencyBreaker = {
    dependency,
    state: () => breaker.state,
    allows: () => breaker.allows(),
    admit: () => breaker.admit(),
    finish: (admission, rejected, err) => breaker.finish(admission, rejected, err),
    recordSuccess: () => breaker.recordSuccess(),
    recordFailure: (err) => {
      lastFailure = err;
      breaker.recordFailure();
    },
    run<T>(call: () => Promise<T>): Promise<T> {
      return breaker.run(call).catch((err: unknown) => {
        if (err instanceof CircuitOpenError) {
          throw new DependencyDown(dependency, UNAVAILABLE_DETAIL[dependency], retryAfterS, { cause: err });
        }
        // An answer (a constraint violation, a domain error) says the dependency is up: passed on as it is.
        if (options.isFailure !== undefined && !options.isFailure(err)) throw err;
        throw new DependencyDown(dependency, UNAVAILABLE_DETAIL[dependency], retryAfterS, { cause: err });
      });
    },
  };
  metrics?.breakers.add(self);
  return self;
}

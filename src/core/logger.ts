// JSON logs (pino). Every line carries the service name; request lines carry `request_id`.
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

export type { Logger };

export function createLogger(options: { service: string; level: LogLevel; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Tokens and keys must never reach a log line.
      redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    },
    options.destination ?? process.stdout,
  );
}

/**
 * What `parent.child(bindings)` would be, made only when a line at an enabled level is written.
 * The HTTP apps give every request a logger bound to its request id, and making a pino child costs
 * about 2 µs — more than a warm redirect's own work — for a logger most requests never write to.
 * A class, so that a request costs one small object and no closures.
 */
class LazyChild {
  #made: Logger | null = null;
  readonly #parent: Logger;
  readonly #bindings: Record<string, unknown>;
  readonly #options: object;

  constructor(parent: Logger, bindings: Record<string, unknown>, options: object) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  #child(): Logger {
    this.#made ??= this.#parent.child(this.#bindings, this.#options);
    return this.#made;
  }

  #write(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', args: unknown[]): void {
    if (!(this.#made ?? this.#parent).isLevelEnabled(level)) return;
    const logger = this.#child();
    Reflect.apply(logger[level], logger, args);
  }

  get level(): string {
    return (this.#made ?? this.#parent).level;
  }

  set level(value: string) {
    this.#child().level = value;
  }

  isLevelEnabled(level: string): boolean {
    return (this.#made ?? this.#parent).isLevelEnabled(level);
  }

  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }

  error(...args: unknown[]): void {
    this.#write('error', args);
  }

  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }

  info(...args: unknown[]): void {
    this.#write('info', args);
  }

  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }

  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }

  silent(): void {
    // nothing, as pino's
  }

  child(bindings: Record<string, unknown>, options?: object): Logger {
    return this.#child().child(bindings, options);
  }

  bindings(): Record<string, unknown> {
    return this.#child().bindings();
  }
}

export function lazyChild(parent: Logger, bindings: Record<string, unknown>, options: object = {}): Logger {
  return new LazyChild(parent, bindings, options) as unknown as Logger;
}

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

type LevelMethod = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
const LEVEL_METHODS: readonly LevelMethod[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/**
 * What `parent.child(bindings)` would be, made only when a line at an enabled level is written.
 * The HTTP apps give every request a logger bound to its request id, and making a pino child costs
 * about 2 µs — more than a warm redirect's own work — for a logger most requests never write to.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>, options: object = {}): Logger {
  let made: Logger | null = null;
  const child = (): Logger => (made ??= parent.child(bindings, options));
  const lazy: Record<string, unknown> = {
    get level() {
      return made?.level ?? parent.level;
    },
    set level(value: string) {
      child().level = value;
    },
    isLevelEnabled: (level: string) => (made ?? parent).isLevelEnabled(level),
    silent: () => undefined,
    child: (more: Record<string, unknown>, moreOptions?: Record<string, unknown>) => child().child(more, moreOptions),
    bindings: () => child().bindings(),
  };
  for (const method of LEVEL_METHODS) {
    lazy[method] = (...args: unknown[]): void => {
      if ((made ?? parent).isLevelEnabled(method)) {
        const logger = child();
        Reflect.apply(logger[method], logger, args);
      }
    };
  }
  return lazy as unknown as Logger;
}

import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/core/logger.ts';

/** A logger that writes nothing unless TEST_LOG_LEVEL asks for it. */
export function testLogger(service = 'test'): Logger {
  const level = (process.env.TEST_LOG_LEVEL ?? 'silent') as 'silent';
  return createLogger({ service, level, destination: process.stderr });
}

/** A logger whose lines are kept, for tests that check what the operator's log says. */
export function captureLogger(service = 'test'): { log: Logger; text(): string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { log: createLogger({ service, level: 'debug', destination }), text: () => chunks.join('') };
}

import { createLogger, type Logger } from '../../src/core/logger.ts';

/** A logger that writes nothing unless TEST_LOG_LEVEL asks for it. */
export function testLogger(service = 'test'): Logger {
  const level = (process.env.TEST_LOG_LEVEL ?? 'silent') as 'silent';
  return createLogger({ service, level, destination: process.stderr });
}

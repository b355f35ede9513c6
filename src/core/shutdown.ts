// Graceful shutdown: SIGTERM/SIGINT run the cleanup once. It exits 0 when the cleanup completes, and 1
// when it fails, when `deadlineMs` passes first (a hung dependency must not keep a pod terminating
// until the orchestrator's SIGKILL, which would lose more), or at once on a second signal (an
// operator who asks twice means it).
//
// A crash takes the same road: an unhandled rejection or an uncaught exception is logged with its
// stack and origin, then the cleanup runs (clicks counted in memory are written, buffered codes go
// back) and the process exits 1. Running on after one would leave a process in an unknown state;
// dying without the cleanup would lose every click not yet written.
import type { Logger } from './logger.ts';

export function onShutdown(log: Logger, cleanup: () => Promise<void>, deadlineMs: number): void {
  let shuttingDown = false;
  let crashed = false;
  const stop = (reason: Record<string, unknown>): void => {
    shuttingDown = true;
    const started = performance.now();
    log.info({ ...reason, deadlineMs }, 'shutting down');
    // Not unref'd: if the cleanup stalls on a promise that nothing will settle, this timer is what
    // keeps the process alive long enough to say so and exit 1, instead of silently exiting 0.
    setTimeout(() => {
      log.error({ deadlineMs }, 'shutdown deadline passed: exiting now');
      process.exit(1);
    }, deadlineMs);
    cleanup()
      .then(() => {
        log.info({ ms: Math.round(performance.now() - started) }, 'shutdown complete');
        process.exit(crashed ? 1 : 0);
      })
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stop({ signal });
  };
  const onCrash = (origin: 'unhandledRejection' | 'uncaughtException') => (err: unknown): void => {
    crashed = true;
    log.fatal({ err, origin }, `${origin === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception'}: writing clicks, then exiting 1`);
    // A second crash during the cleanup is logged; the cleanup under way and its deadline still decide.
    if (!shuttingDown) stop({ origin });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', onCrash('unhandledRejection'));
  process.on('uncaughtException', onCrash('uncaughtException'));
}

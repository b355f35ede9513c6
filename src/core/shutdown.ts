// Graceful shutdown: SIGTERM/SIGINT run the cleanup once. It exits 0 when the cleanup completes, and 1
// when it fails, when `deadlineMs` passes first (a hung dependency must not keep a pod terminating
// until the orchestrator's SIGKILL, which would lose more), or at once on a second signal (an
// operator who asks twice means it).
import type { Logger } from './logger.ts';

export function onShutdown(log: Logger, cleanup: () => Promise<void>, deadlineMs: number): void {
  let shuttingDown = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    shuttingDown = true;
    const started = performance.now();
    log.info({ signal, deadlineMs }, 'shutting down');
    // Not unref'd: if the cleanup stalls on a promise that nothing will settle, this timer is what
    // keeps the process alive long enough to say so and exit 1, instead of silently exiting 0.
    setTimeout(() => {
      log.error({ deadlineMs }, 'shutdown deadline passed: exiting now');
      process.exit(1);
    }, deadlineMs);
    cleanup()
      .then(() => {
        log.info({ ms: Math.round(performance.now() - started) }, 'shutdown complete');
        process.exit(0);
      })
      .catch((err: unknown) => {
        log.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}

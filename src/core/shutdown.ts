// Graceful shutdown: SIGTERM/SIGINT run the cleanup once. It exits 0 when the cleanup completes, and 1
// when it fails, when `deadlineMs` passes first (a hung dependency must not keep a pod terminating
// until the orchestrator's SIGKILL, which would lose more), or at once on a second signal (an
// operator who asks twice means it).
//
// A crash takes the same road: an unhandled rejection or an uncaught exception is logged with its
// stack and origin, then the cleanup runs (clicks counted in memory are written, buffered codes go
// back) and the process exits 1. Running on after one would leave a process in an unknown state;
// dying without the cleanup would lose every click not yet written.
//
// The cleanup is told how its HTTP drain ends (graceful-close.ts). SIGTERM — what Kubernetes,
// `docker stop` and systemd send — drains 'full': a load balancer may not have noticed the stop yet
// and opens new connections for a while, whether or not any is open at this moment. SIGINT is Ctrl-C
// at a terminal, where no load balancer waits: 'until-idle'. So is a crash: nothing has taken the
// process out of rotation, so there is no balancer's delay for a drain to cover; it would only keep
// a process in an unknown state answering for longer and put off writing the clicks. A refused
// connection is what a balancer retries elsewhere and takes the instance out for.
import type { DrainMode } from './graceful-close.ts';
import type { Logger } from './logger.ts';

export function onShutdown(log: Logger, cleanup: (drain: DrainMode) => Promise<void>, deadlineMs: number): void {
  let shuttingDown = false;
  let crashed = false;
  const stop = (reason: Record<string, unknown>, drain: DrainMode): void => {
    shuttingDown = true;
    const started = performance.now();
    log.info({ ...reason, deadlineMs, drain }, 'shutting down');
    // Not unref'd: if the cleanup stalls on a promise that nothing will settle, this timer is what
    // keeps the process alive long enough to say so and exit 1, instead of silently exiting 0.
    setTimeout(() => {
      log.error({ deadlineMs }, 'shutdown deadline passed: exiting now');
      process.exit(1);
    }, deadlineMs);
    cleanup(drain)
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
    stop({ signal }, signal === 'SIGTERM' ? 'full' : 'until-idle');
  };
  const onCrash = (origin: 'unhandledRejection' | 'uncaughtException') => (err: unknown): void => {
    crashed = true;
    log.fatal({ err, origin }, `${origin === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception'}: writing clicks, then exiting 1`);
    // A second crash during the cleanup is logged; the cleanup under way and its deadline still decide
    // (a SIGTERM's drain goes on to its end).
    if (!shuttingDown) stop({ origin }, 'until-idle');
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', onCrash('unhandledRejection'));
  process.on('uncaughtException', onCrash('uncaughtException'));
}

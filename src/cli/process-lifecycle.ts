/**
 * How a node process lives and dies: orderly stop on SIGINT/SIGTERM (a second signal exits at once),
 * and a non-zero exit with a clear last log line when the node cannot heal itself, so that a process
 * supervisor such as systemd restarts it.
 */
import type { Logger } from '../runtime/logger.js';

const PARENT_CHECK_MS = 1_000;

/** EX_SOFTWARE: the node's own supervision gave up. */
export const EXIT_GAVE_UP = 70;
export const EXIT_CRASHED = 1;

export function exitAfterGiveUp(logger: Logger, reason: unknown): never {
  logger.error('root supervisor gave up; exiting so that the service manager restarts this node', {
    reason: reason instanceof Error ? reason.message : String(reason),
  });
  process.exit(EXIT_GAVE_UP);
}

export function handleProcessSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn('second signal; exiting now', { signal });
      process.exit(EXIT_CRASHED);
    }
    stopping = true;
    logger.info('stopping', { signal });
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('orderly stop failed', { error });
        process.exit(EXIT_CRASHED);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const parent = Number(process.env.LEOFS_PARENT_PID);
  if (Number.isInteger(parent) && parent > 1) {
    // Started by a supervising parent (leofs dev): stop once it is gone, however it went.
    const watch = setInterval(() => {
      if (process.ppid !== parent) {
        clearInterval(watch);
        onSignal('SIGHUP');
      }
    }, PARENT_CHECK_MS);
    watch.unref();
  }
  process.on('uncaughtException', (error) => {
    logger.error('uncaught exception; exiting', { error });
    process.exit(EXIT_CRASHED);
  });
  process.on('unhandledRejection', (error) => {
    logger.error('unhandled rejection; exiting', { error });
    process.exit(EXIT_CRASHED);
  });
}

/**
 * Ctrl-C and SIGTERM for every command that works for a while: the first
 * asks the work to stop (a run ends at its next step), and the process ends
 * within two seconds whatever it is waiting on — a step, a read, an mkdir, a
 * Redis round trip — because once the grace is over it exits by itself. That
 * is safe: every checkpoint write is atomic (the last checkpoint stays valid)
 * and the locks this process holds are removed as it ends (stores/fs.ts).
 */
import { releaseHeldLocks } from '../stores/fs.js';

/** How long the work has to stop by itself before the process ends: under the 2 s every command promises. */
export const STOP_GRACE_MS = 1200;

/**
 * Ends the process now, by the signal that asked it to stop. Not
 * `process.exit`: Node's exit joins libuv's thread pool, so a read or an
 * mkdir blocked there (a FIFO, a stalled file system) would keep the process
 * alive for ever; dying by the signal's default action does not wait. The
 * locks this process holds are removed first. A shell reads the status as
 * 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM).
 */
const endBy = (signal: NodeJS.Signals): void => {
  releaseHeldLocks();
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  // Only if something re-armed the signal meanwhile.
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 200);
};

/**
 * Calls `stop` on the first SIGINT or SIGTERM; at a second one, or
 * `graceMs` after the first if the process is still there, ends it at once
 * (`endBy`). Returns a function that removes the handlers.
 */
export const onStopSignal = (stop: () => void, graceMs = STOP_GRACE_MS): (() => void) => {
  let asked = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (asked) return endBy(signal);
    asked = true;
    // Unref'd: a command that ends in time exits with its own code (130: stopped, resumable).
    setTimeout(() => endBy(signal), graceMs).unref();
    stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
};

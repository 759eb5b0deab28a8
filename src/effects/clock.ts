/** The clock, behind one module like every other effect. */
import { performance } from 'node:perf_hooks';

/** Monotonic seconds (for durations and rates). */
export const seconds = (): number => performance.now() / 1000;

/** Wall-clock time as an ISO-8601 string (for reports and manifests). */
export const isoNow = (): string => new Date().toISOString();

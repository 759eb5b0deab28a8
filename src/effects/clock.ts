/** The clock, behind one interface like every other effect. */

/** Time as a run reads it: monotonic seconds for durations, wall-clock time for records. */
export interface Clock {
  /** Monotonic seconds since some fixed point (for durations and rates). */
  readonly seconds: () => number;
  /** Wall-clock time as an ISO-8601 string (for reports and manifests). */
  readonly isoNow: () => string;
}

/** The platform's clock (Node and browsers both have `performance`). */
export const systemClock: Clock = {
  seconds: () => globalThis.performance.now() / 1000,
  isoNow: () => new Date().toISOString(),
};

/** Monotonic seconds on the platform's clock. */
export const seconds = (): number => systemClock.seconds();

/** Wall-clock time as an ISO-8601 string. */
export const isoNow = (): string => systemClock.isoNow();

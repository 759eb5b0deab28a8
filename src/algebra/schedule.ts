/**
 * Schedules as pure functions of step or epoch: the cubic gradual-pruning
 * schedule of Zhu & Gupta (CPG-SPEC §3.5), the steps at which masks are
 * updated, the sparsity sweep and the step learning rates (§3.2, §3.5).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Milestone } from './config.js';
import { type CpgError, configError } from './errors.js';

/** The cubic schedule's parameters: sparsity goes from `initial` at `beginStep` to `final` at `endStep`. */
export interface CubicOptions {
  readonly initial: number;
  readonly final: number;
  readonly beginStep: number;
  readonly endStep: number;
}

/**
 * Zhu & Gupta cubic: s(t) = s_f + (s_i − s_f)(1 − p)^3,
 * p = clamp((t − begin)/(end − begin), 0, 1). Exactly s_i up to `beginStep`
 * and exactly s_f from `endStep`; a ramp of zero length (end ≤ begin) is s_f
 * from `beginStep` on. Rounding never takes it outside [s_i, s_f] nor makes it
 * turn back.
 */
export const cubicSparsity =
  (o: CubicOptions) =>
  (step: number): number => {
    const { initial, final, beginStep, endStep } = o;
    if (step < beginStep) return initial;
    if (endStep <= beginStep || step >= endStep) return final;
    const p = (step - beginStep) / (endStep - beginStep);
    if (p <= 0) return initial;
    const q = 1 - p;
    const s = final + (initial - final) * (q * q * q);
    // Each operation above is monotone in p, so clamping keeps the whole curve monotone.
    const lo = Math.min(initial, final);
    const hi = Math.max(initial, final);
    return s < lo ? lo : s > hi ? hi : s;
  };

/** When masks are updated: every `frequency` steps from `beginStep`, and at `endStep`. */
export interface PruneStepOptions {
  readonly beginStep: number;
  readonly endStep: number;
  readonly frequency: number;
}

/**
 * Steps at which masks are updated: begin, begin+f, ... while < end, then end
 * itself, so the schedule always ends exactly at s_f. With end ≤ begin it is
 * [begin] alone (a zero-length ramp reaches s_f there). A frequency that is
 * not positive updates only at the ends (see `validatePruneSteps`).
 */
export const pruneSteps = (o: PruneStepOptions): readonly number[] => {
  const { beginStep, endStep, frequency } = o;
  if (!(endStep > beginStep)) return [beginStep];
  if (!(frequency > 0)) return [beginStep, endStep];
  const out: number[] = [];
  for (let k = 0; ; k++) {
    const t = beginStep + k * frequency;
    if (!(t < endStep)) break;
    out.push(t);
  }
  out.push(endStep);
  return out;
};

/** Refuses schedule parameters that make no sense (sparsities outside [0, 1], steps not ordered integers). */
export const validateCubic = (o: CubicOptions): E.Either<CpgError, CubicOptions> => {
  if (!(o.initial >= 0 && o.initial <= 1)) return E.left(configError('initial', `sparsity must be in [0, 1], got ${o.initial}`));
  if (!(o.final >= 0 && o.final <= 1)) return E.left(configError('final', `sparsity must be in [0, 1], got ${o.final}`));
  if (!Number.isInteger(o.beginStep) || o.beginStep < 0)
    return E.left(configError('beginStep', `must be a non-negative integer, got ${o.beginStep}`));
  if (!Number.isInteger(o.endStep) || o.endStep < o.beginStep)
    return E.left(configError('endStep', `must be an integer ≥ beginStep (${o.beginStep}), got ${o.endStep}`));
  return E.right(o);
};

/** Refuses a mask-update schedule with unordered steps or a frequency that is not a positive integer. */
export const validatePruneSteps = (o: PruneStepOptions): E.Either<CpgError, PruneStepOptions> => {
  if (!Number.isInteger(o.beginStep) || o.beginStep < 0)
    return E.left(configError('beginStep', `must be a non-negative integer, got ${o.beginStep}`));
  if (!Number.isInteger(o.endStep) || o.endStep < o.beginStep)
    return E.left(configError('endStep', `must be an integer ≥ beginStep (${o.beginStep}), got ${o.endStep}`));
  if (!Number.isInteger(o.frequency) || o.frequency < 1)
    return E.left(configError('frequency', `must be a positive integer, got ${o.frequency}`));
  return E.right(o);
};

/** The reference's sweep of compaction targets (CPG-SPEC §3.5), as exact decimals. */
export const defaultSparsities: readonly number[] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

// A learning-rate milestone is a field of the run configuration: written once, as its codec.
export type { Milestone } from './config.js';

/** A step learning-rate schedule. */
export interface StepLrOptions {
  readonly base: number;
  readonly epochs: number;
  readonly milestones: readonly Milestone[];
}

/** The reference's weight learning-rate steps: ×0.1 at 50 % and at 80 % of the epochs. */
export const weightLrMilestones: readonly Milestone[] = [
  { at: 0.5, factor: 0.1 },
  { at: 0.8, factor: 0.1 },
];

/** The reference's pick-mask learning-rate steps: ×0.2 at 50 %, 0 from 70 % of the epochs. */
export const pickLrMilestones: readonly Milestone[] = [
  { at: 0.5, factor: 0.2 },
  { at: 0.7, factor: 0 },
];

/**
 * Learning rate at a 0-based epoch: base × the factors of every milestone
 * reached (milestone epoch = round(at × epochs)), multiplied in milestone
 * order so a later epoch's rate is an earlier one's times more factors.
 */
export const stepLr = (o: StepLrOptions) => {
  const steps = o.milestones
    .map((m) => ({ epoch: Math.round(m.at * o.epochs), factor: m.factor }))
    .sort((a, b) => a.epoch - b.epoch);
  return (epoch: number): number => {
    let lr = o.base;
    for (const s of steps) if (epoch >= s.epoch) lr *= s.factor;
    return lr;
  };
};

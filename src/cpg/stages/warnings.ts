/**
 * What a task says about its budget and its goal test: a model out of room
 * when it starts, a share that bound its compacting when it ends short of its
 * goal, a budget floor beyond the requested sparsities, and a validation set
 * too small to test the goal at the precision it is judged at.
 */
import { accountOf, endedShort, imposedSparsity } from '../../algebra/budget.js';
import { endedShortMessage, floorBeyondMessage, startedShortMessage } from '../../algebra/budgetWords.js';
import { type CycleState, finalValAcc, validationSmallWords, validationTooSmall } from '../../algebra/lifecycle.js';
import type { RunEvent } from '../events.js';

/** The warning of a task that starts with fewer free weights than it needs, at the widest the model may grow. */
export const startedShort = (k: number, name: string, cy: CycleState): RunEvent | undefined => {
  const a = accountOf(cy.ctx, cy.multiplier, cy.config.maxMultiplier);
  if (a === undefined) return undefined;
  return {
    type: 'capacity-low',
    at: 'start',
    task: k,
    name,
    freeFraction: a.freeAtStart,
    shareFraction: a.share,
    shareOfRoom: a.shareOfRoom,
    neededFraction: a.needed,
    constraint: a.constraint,
    multiplier: cy.multiplier,
    maxMultiplier: cy.config.maxMultiplier,
    message: startedShortMessage(name, a),
  };
};

/** The warning of a task whose share bound its compacting and that ended under its goal. */
export const shortAtEnd = (k: number, name: string, s: CycleState): RunEvent | undefined => {
  const a = accountOf(s.ctx, s.multiplier, s.config.maxMultiplier);
  const val = finalValAcc(s);
  if (a === undefined || val === null || !endedShort(s)) return undefined;
  return {
    type: 'capacity-low',
    at: 'end',
    task: k,
    name,
    freeFraction: a.freeAtStart,
    shareFraction: a.share,
    shareOfRoom: a.shareOfRoom,
    neededFraction: a.needed,
    constraint: a.constraint,
    multiplier: s.multiplier,
    maxMultiplier: s.config.maxMultiplier,
    message: endedShortMessage(name, s.ctx.goal - val, s.floor ?? 0, a),
  };
};

/** The notice of a budget that overrides the requested sparsities: once training settled, its floor lies beyond the last of them. */
export const floorBeyond = (k: number, name: string, s: CycleState): RunEvent | undefined => {
  const a = accountOf(s.ctx, s.multiplier, s.config.maxMultiplier);
  const floor = s.floor ?? 0;
  if (a === undefined || !s.config.prune || imposedSparsity(floor, s.config.sparsities) === undefined) return undefined;
  return {
    type: 'budget-floor',
    task: k,
    name,
    floor,
    requested: s.config.sparsities,
    shareFraction: a.share,
    constraint: a.constraint,
    message: floorBeyondMessage(name, floor, s.config.sparsities, a),
  };
};

/** The warning of a task whose validation set is too small to test its goal at the precision it is judged at. */
export const smallValidation = (k: number, name: string, cy: CycleState): RunEvent | undefined =>
  validationTooSmall(cy.ctx.valSize, cy.config.allowedLoss)
    ? {
        type: 'validation-small',
        task: k,
        name,
        images: cy.ctx.valSize,
        imageWorth: 1 / cy.ctx.valSize,
        tolerance: cy.config.allowedLoss,
        message: validationSmallWords(name, cy.ctx.valSize, cy.config.allowedLoss),
      }
    : undefined;

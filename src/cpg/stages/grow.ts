/**
 * Growing (CPG-SPEC §3.4): a task that cannot meet its goal, or that starts
 * short of room, trains again from its starting network widened to the next
 * multiplier; the new cells are free, initialised from the run's seed, and
 * every finished task's cells stay as they were.
 */
import { pipe } from 'fp-ts/lib/function.js';
import type { CycleState } from '../../algebra/lifecycle.js';
import { type NetState, growNet } from '../../effects/network.js';
import { type Flow, chain, emit, fromEither, pure } from '../flow.js';
import type { TaskRun } from './task.js';

/** The network a train at `multiplier` starts from: the task's starting network, widened to it first where it is wider. */
export const grownTo = (t: TaskRun, cycle: CycleState, multiplier: number): Flow<NetState> =>
  multiplier > t.net0.backbone.multiplier
    ? pipe(
        emit({
          type: 'stage-started',
          task: t.k,
          name: t.data.name,
          stage: 'grow',
          epochs: 0,
          multiplier,
          sparsity: null,
          // The first growth to the width the budget started the task at is for room; any other for the goal.
          why: cycle.growths.length === 0 && multiplier === cycle.ctx.startMultiplier ? 'capacity' : 'goal',
        }),
        chain(() => fromEither(growNet(t.net0, multiplier, t.ctx.config.seed))),
      )
    : pure(t.net0);

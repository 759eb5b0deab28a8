/**
 * Learning one task into the shared network, driven by the life-cycle
 * machine (CPG-SPEC §3): claim, pick + train, goal check, grow, compact,
 * choose, retrain the pick, freeze. PackNet runs through the same machine
 * with a fixed sparsity, every older weight reused and no growth.
 *
 * The task is the machine unfolded over its state (`unfold`, i.e. expand):
 * each phase is a stage (src/cpg/stages/: train, compact, retrain; grow
 * before a train) in a training session acquired and released around it
 * (`bracket`), and every completed stage is committed to the manifest, so a
 * killed run resumes at the stage it was in, with the same seeds.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { defer } from 'rxjs';
import { currentTask } from '../algebra/backbone.js';
import { type CpgError, lifecycleError } from '../algebra/errors.js';
import { type CycleState, type TaskContext, startCycle } from '../algebra/lifecycle.js';
import type { CurrentTask } from '../algebra/manifest.js';
import type { Task } from '../algebra/task.js';
import type { NetState } from '../effects/network.js';
import { type RunCtx, type RunState, load } from './context.js';
import { type Flow, chain, emitIf, fail, fromEither, pure, unfold, when } from './flow.js';
import { finishTask } from './finish.js';
import { compact } from './stages/compact.js';
import { type Capacity, type CycleRules, budgetFor } from './stages/method.js';
import { retrain } from './stages/retrain.js';
import { type Step, type TaskRun, commitStep, required, snapshotAt, taskSeconds } from './stages/task.js';
import { train } from './stages/train.js';
import { shortAtEnd, smallValidation, startedShort } from './stages/warnings.js';

export type { Capacity, CycleRules } from './stages/method.js';

/** A task's progress when it starts: its life cycle at its first phase, with its budget. */
const freshTask = (ctx: RunCtx, rules: CycleRules, data: Task, k: number, goal: number | null, capacity: Capacity, net0: NetState): E.Either<CpgError, CurrentTask> =>
  pipe(
    budgetFor(ctx.config, rules, k, capacity, net0),
    E.map((budget): TaskContext => ({ task: k, ...capacity, goal: goal ?? 0, valSize: Math.max(1, data.val.count), multiplier: net0.backbone.multiplier, ...budget })),
    E.chain((taskCtx) => startCycle(taskCtx, rules.cycleConfig(ctx.config, k, goal !== null, taskCtx.valSize))),
    E.map((cycle: CycleState): CurrentTask => ({ task: k, cycle, trained: null, pruned: [], lastPruned: null, retrained: null, seconds: 0 })),
  );

/** Said when the task starts (not again on a resume): a goal its validation set cannot test, a model out of room. */
const startWarnings = (t: TaskRun, goal: number | null, cy: CycleState): Flow<void> => {
  const budget = cy.ctx.budget;
  return pipe(
    when(t.rules.testsGoal && goal !== null, () => emitIf(smallValidation(t.k, t.data.name, cy))),
    chain(() => when(budget !== undefined && budget.free < budget.needed, () => emitIf(startedShort(t.k, t.data.name, cy)))),
  );
};

/** The stage the life cycle's phase calls for. */
const stageFor = (t: TaskRun, st: Step): Flow<Step> => {
  const p = st.cur.cycle.phase;
  switch (p.tag) {
    case 'train':
      return train(t, st, p.multiplier);
    case 'prune':
      return compact(t, st, p.from, p.to);
    case 'retrainPick':
      return retrain(t, st, p.chosen);
    case 'done':
      return pure(st);
  }
};

/** Freeze the network the life cycle chose (the retrained pick where it was kept). */
const finished = (t: TaskRun, goal: number | null, st: Step): Flow<RunState> => {
  const done = st.cur.cycle.phase;
  if (done.tag !== 'done') return pure(st.state);
  return pipe(
    emitIf(shortAtEnd(t.k, t.data.name, st.cur.cycle)),
    chain(() => fromEither(done.keptRetrain && st.cur.retrained !== null ? E.right(st.cur.retrained) : snapshotAt(st.cur, done.chosen))),
    chain((idx) => load(t.ctx, idx)),
    chain(({ state, currentPicks }) => finishTask(t.ctx, st.state, t.data, t.k, state, currentPicks ?? new Map(), { cur: st.cur, goal, seconds: taskSeconds(t) })),
  );
};

/** The task from where the manifest has it (a resume) or from its start, its life cycle unfolded stage by stage, then frozen. */
const cycleFrom = (ctx: RunCtx, rules: CycleRules, data: Task, k: number, goal: number | null, capacity: Capacity, s0: RunState, net0: NetState): Flow<RunState> =>
  defer(() => {
    const taskStart = ctx.env.clock.seconds();
    const m0 = s0.manifest;
    const resumed = m0.current !== null && m0.current.task === k ? m0.current : undefined;
    const start = resumed !== undefined ? E.right(resumed) : freshTask(ctx, rules, data, k, goal, capacity, net0);
    if (E.isLeft(start)) return fail<RunState>(start.left);
    const t: TaskRun = { ctx, rules, data, k, net0, secondsBefore: start.right.seconds, taskStart };
    const started: Flow<Step> =
      resumed !== undefined ? pure({ state: s0, cur: resumed }) : pipe(startWarnings(t, goal, start.right.cycle), chain(() => commitStep(t, s0, start.right)));
    return pipe(
      started,
      chain((st) => unfold(st, (x) => x.cur.cycle.phase.tag === 'done', (x) => stageFor(t, x))),
      chain((st) => finished(t, goal, st)),
    );
  });

/** Learn task `k` (1-based) into the committed network. */
export const learnTask =
  (ctx: RunCtx, rules: CycleRules, data: Task, k: number, goal: number | null, capacity: Capacity) =>
  (s0: RunState): Flow<RunState> =>
    pipe(
      required(s0.manifest.state, 'a committed network to learn into'),
      chain((committed) => load(ctx, committed)),
      chain(({ state: net0 }) =>
        currentTask(net0.backbone) !== k
          ? fail<RunState>(lifecycleError(`the checkpoint's network has ${net0.backbone.finished.length} finished task(s); cannot learn task ${k} next`))
          : cycleFrom(ctx, rules, data, k, goal, capacity, s0, net0),
      ),
    );

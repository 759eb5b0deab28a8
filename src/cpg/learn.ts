/**
 * Learning one task into the shared network, driven by the life-cycle
 * machine (CPG-SPEC §3): claim, pick + train, goal check, grow, compact,
 * choose, retrain the pick, freeze. PackNet runs through the same machine
 * with a fixed sparsity, every older weight reused and no growth.
 *
 * The task is the machine unfolded over its state (`unfold`, i.e. expand):
 * each phase is a stage in a training session acquired and released around
 * it (`bracket`), and every completed stage is committed to the manifest, so
 * a killed run resumes at the stage it was in, with the same seeds.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { defer } from 'rxjs';
import type { CpgError } from '../algebra/errors.js';
import type { CycleConfig, CycleState, TaskContext } from '../algebra/lifecycle.js';
import { type Plan, accountOf, cellsAt, endedShort, imposedSparsity, neededFor, roomOf, shareFor, startingWidth } from '../algebra/budget.js';
import { endedShortMessage, floorBeyondMessage, startedShortMessage } from '../algebra/budgetWords.js';
import { claimCounts, claimLimit } from '../algebra/claim.js';
import type { RunEvent } from './events.js';
import { advance, finalValAcc, goalTolerance, startCycle, validationSmallWords, validationTooSmall } from '../algebra/lifecycle.js';
import { stepLr } from '../algebra/schedule.js';
import { type Backbone, currentTask, growTo } from '../algebra/backbone.js';
import type { PickMask } from '../algebra/pickMask.js';
import type { CurrentTask } from '../algebra/manifest.js';
import type { SnapshotIndex } from '../algebra/snapshot.js';
import { classCount, type Task } from '../algebra/task.js';
import { type NetState, claimFree, freePerTensor, growNet, startTaskPrivates } from '../effects/network.js';
import { type PickMode, type Session, type SessionOptions, openSession } from '../effects/trainer.js';
import { type RunCtx, type RunState, commit, load, save, sessionOptionsOf } from './context.js';
import { type Flow, bracket, chain, emit, fail, fromEither, fromTE, mapValue, pure, sync, unfold } from './flow.js';
import { runStage } from './stages.js';
import { finishTask } from './finish.js';

/** Which method's rules the cycle follows. */
export type LearnMethod = 'cpg' | 'packnet';

/** How many tasks are still to come, as the compacting cap needs it: a count, or a reserve for open-ended streams. */
export type Capacity = Pick<TaskContext, 'tasksTotal' | 'reserve'>;

const cycleConfigFor = (ctx: RunCtx, method: LearnMethod, task: number, hasGoal: boolean, valSize: TaskContext['valSize']): CycleConfig => {
  const c = ctx.config;
  return method === 'cpg'
    ? {
        growStep: c.growStep,
        maxMultiplier: c.maxMultiplier,
        trainAccThreshold: c.trainAccThreshold,
        allowedLoss: goalTolerance(c.allowedLoss, c.allowedLossImages ?? 0, valSize),
        sparsities: c.sparsities,
        retrainPick: task > 1,
        prune: true,
        // Without a goal there is nothing for validation to meet: the threshold decides.
        recordRule: hasGoal ? (c.recordRule ?? 'reference') : 'reference',
        search: c.compactSearch ?? 'reference',
      }
    : // PackNet: one compacting target, always recorded and kept, never grown.
      {
        growStep: c.growStep,
        maxMultiplier: 1,
        trainAccThreshold: 0,
        allowedLoss: 1,
        sparsities: [c.packnetSparsity],
        retrainPick: false,
        prune: true,
      };
};

/** A one-line account of what the life cycle decided. */
const describePhase = (s: CycleState): string => {
  const p = s.phase;
  switch (p.tag) {
    case 'train':
      return `grow to ×${p.multiplier} and train again`;
    case 'prune':
      return `compact ${p.from} → ${p.to}`;
    case 'retrainPick':
      return `keep sparsity ${p.chosen}, then retrain the pick mask`;
    case 'done':
      return `done: ${p.reason}`;
  }
};

/** What a session has learned so far: its network and its binary pick masks (both read back from the backend). */
const snapshotOf = (session: Session): Flow<{ readonly state: NetState; readonly picks: ReadonlyMap<string, PickMask> }> =>
  pipe(
    fromTE(session.export()),
    chain((state) => mapValue((picks: ReadonlyMap<string, PickMask>) => ({ state, picks }))(fromTE(session.picks()))),
  );

/** Store what a session has learned so far. */
const saveSession = (ctx: RunCtx, session: Session): Flow<SnapshotIndex> => chain((s: { readonly state: NetState; readonly picks: ReadonlyMap<string, PickMask> }) => save(ctx, s.state, s.picks))(snapshotOf(session));

/** A training session over `state`, disposed however the stage ends. */
export const withSession = <A>(state: NetState, o: SessionOptions, use: (s: Session) => Flow<A>): Flow<A> =>
  bracket(use, (s: Session) => sync(() => s.dispose()))(defer(() => fromEither(openSession(state, o))));

const missing = (what: string): CpgError => ({ tag: 'CheckpointError', file: undefined, message: `the checkpoint lacks ${what}` });

const required = <A>(a: A | null | undefined, what: string): Flow<A> => (a === null || a === undefined ? fail(missing(what)) : pure(a));

/** The stored network a chosen sparsity stands for (0: the trained, unpruned one). */
const snapshotAt = (cur: CurrentTask, sparsity: number): E.Either<CpgError, SnapshotIndex> => {
  if (sparsity === 0) return cur.trained === null ? E.left(missing('the trained network')) : E.right(cur.trained);
  const hit = cur.pruned.find((p) => p.sparsity === sparsity);
  return hit === undefined ? E.left(missing(`the network compacted to ${sparsity}`)) : E.right(hit.snapshot);
};

interface Step {
  readonly state: RunState;
  readonly cur: CurrentTask;
}

/** Learn task `k` (1-based) into the committed network. */
export const learnTask =
  (ctx: RunCtx, method: LearnMethod, data: Task, k: number, goal: number | null, capacity: Capacity) =>
  (s0: RunState): Flow<RunState> =>
    pipe(
      required(s0.manifest.state, 'a committed network to learn into'),
      chain((committed) => load(ctx, committed)),
      chain(({ state: net0 }) =>
        currentTask(net0.backbone) !== k
          ? fail<RunState>({ tag: 'LifecycleError', message: `the checkpoint's network has ${net0.backbone.finished.length} finished task(s); cannot learn task ${k} next` })
          : cycleFrom(ctx, method, data, k, goal, capacity, s0, net0),
      ),
    );

/**
 * A CPG task's budget under the 'share' policy: its share of the room, and
 * the width it starts at (grown first when the free weights do not cover the
 * share). Other methods and the 'none' policy: none.
 */
const budgetFor = (
  c: RunCtx['config'],
  method: LearnMethod,
  k: number,
  capacity: Capacity,
  net0: NetState,
): E.Either<CpgError, Pick<TaskContext, 'budget' | 'startMultiplier'>> => {
  if (method !== 'cpg' || c.capacityBudget !== 'share') return E.right({});
  const plan: Plan = capacity.reserve !== undefined ? { reserve: capacity.reserve } : { tasksLeft: capacity.tasksTotal - k };
  return pipe(
    roomOf(net0.backbone, c.maxMultiplier),
    E.bindTo('room'),
    E.bind('base', () => cellsAt(net0.backbone, 1)),
    E.chain(({ room, base }) => {
      const share = shareFor(room, plan);
      const needed = neededFor(share, base, capacity.reserve !== undefined ? { reserve: capacity.reserve } : { tasksTotal: capacity.tasksTotal });
      return E.map((start: { multiplier: number; free: number; size: number }) => ({
        budget: { share, needed, free: start.free, size: start.size },
        ...(start.multiplier > net0.backbone.multiplier ? { startMultiplier: start.multiplier } : {}),
      }))(startingWidth(net0.backbone, room, needed, c.growStep, c.maxMultiplier));
    }),
  );
};

/**
 * What the cycle's task claims at the width `b` is at: per tensor, its free
 * cells and how many of them the task takes (all of them unless the 'share'
 * claim rule limits it; budget.ts).
 */
const claimAt = (c: RunCtx['config'], cy: CycleState, b: Backbone): { readonly limit: number | undefined; readonly free: ReadonlyMap<string, number>; readonly taken: ReadonlyMap<string, number> } => {
  const free = freePerTensor(b);
  let total = 0;
  for (const f of free.values()) total += f;
  const budget = cy.ctx.budget;
  const last = cy.config.sparsities[cy.config.sparsities.length - 1];
  const limit = budget === undefined || last === undefined || !cy.config.prune ? undefined : claimLimit(c.claim ?? 'all', budget.share, total, last);
  return { limit, free, taken: claimCounts(free, limit) };
};

/** A partial claim's per-tensor counts; undefined for a whole claim. */
const partialClaim = (a: ReturnType<typeof claimAt>): ReadonlyMap<string, number> | undefined => (a.limit === undefined ? undefined : a.taken);

/** Per tensor, the free cells a partial claim left out (compacting does not count them); nothing for a whole claim. */
const unclaimedOf = (c: RunCtx['config'], cy: CycleState, net0: NetState): E.Either<CpgError, { readonly unclaimed?: ReadonlyMap<string, number> }> =>
  pipe(
    cy.multiplier > net0.backbone.multiplier ? E.map((g: { readonly backbone: Backbone }) => g.backbone)(growTo(cy.multiplier)(net0.backbone)) : E.right(net0.backbone),
    E.map((b) => {
      const { limit, free, taken } = claimAt(c, cy, b);
      return limit === undefined ? {} : { unclaimed: new Map([...free].map(([name, f]) => [name, f - (taken.get(name) ?? f)] as const)) };
    }),
  );

/** The warning of a task that starts with fewer free weights than it needs, at the widest the model may grow. */
const startedShort = (k: number, name: string, cy: CycleState): RunEvent | undefined => {
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
const shortAtEnd = (k: number, name: string, s: CycleState): RunEvent | undefined => {
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
const floorBeyond = (k: number, name: string, s: CycleState): RunEvent | undefined => {
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
const smallValidation = (k: number, name: string, cy: CycleState): RunEvent | undefined =>
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

const emitIf = (e: RunEvent | undefined): Flow<void> => (e === undefined ? pure(undefined) : emit(e));

const cycleFrom = (ctx: RunCtx, method: LearnMethod, data: Task, k: number, goal: number | null, capacity: Capacity, s0: RunState, net0: NetState): Flow<RunState> =>
  defer(() => {
    const c = ctx.config;
    const m0 = s0.manifest;
    const taskStart = ctx.env.clock.seconds();
    const resumed = m0.current !== null && m0.current.task === k ? m0.current : undefined;
    const fresh: E.Either<CpgError, CurrentTask> =
      resumed !== undefined
        ? E.right(resumed)
        : pipe(
            budgetFor(c, method, k, capacity, net0),
            E.chain((budget) => {
              const taskCtx: TaskContext = { task: k, ...capacity, goal: goal ?? 0, valSize: Math.max(1, data.val.count), multiplier: net0.backbone.multiplier, ...budget };
              return startCycle(taskCtx, cycleConfigFor(ctx, method, k, goal !== null, taskCtx.valSize));
            }),
            E.map((cycle: CycleState): CurrentTask => ({ task: k, cycle, trained: null, pruned: [], lastPruned: null, retrained: null, seconds: 0 })),
          );
    if (E.isLeft(fresh)) return fail<RunState>(fresh.left);
    const startCy = fresh.right.cycle;
    const startBudget = startCy.ctx.budget;
    // Said when the task starts (not again on a resume): a goal its validation set cannot test, a model out of room.
    const warning: Flow<void> =
      resumed !== undefined
        ? pure(undefined)
        : pipe(
            emitIf(method === 'cpg' && goal !== null ? smallValidation(k, data.name, startCy) : undefined),
            chain(() => emitIf(startBudget !== undefined && startBudget.free < startBudget.needed ? startedShort(k, data.name, startCy) : undefined)),
          );
    const secondsBefore = fresh.right.seconds;
    const update = (s: RunState, next: CurrentTask): Flow<Step> =>
      defer(() => {
        const cur: CurrentTask = { ...next, seconds: secondsBefore + (ctx.env.clock.seconds() - taskStart) };
        return pipe(
          commit(ctx, s, { ...s.manifest, current: cur }),
          mapValue((state): Step => ({ state, cur })),
        );
      });
    const pickFor = (picks: ReadonlyMap<string, PickMask> | undefined): PickMode =>
      k === 1 ? { kind: 'none' } : method === 'packnet' ? { kind: 'all' } : picks === undefined ? { kind: 'train', init: c.maskInit } : { kind: 'fixed', picks };
    const sessionOptions = (pick: PickMode) => sessionOptionsOf(c, pick);
    const emitEnd = (stage: 'train' | 'prune' | 'retrain', trainAcc: number, valAcc: number, s: CycleState) =>
      emit({ type: 'stage-ended', task: k, name: data.name, stage, trainAcc, valAcc, next: describePhase(s) });

    // Claim + pick/train; after a growth, from the task's starting network widened.
    const train = (st: Step, multiplier: number): Flow<Step> => {
      const grown: Flow<NetState> =
        multiplier > net0.backbone.multiplier
          ? pipe(
              emit({
                type: 'stage-started',
                task: k,
                name: data.name,
                stage: 'grow',
                epochs: 0,
                multiplier,
                sparsity: null,
                why: st.cur.cycle.growths.length === 0 && multiplier === st.cur.cycle.ctx.startMultiplier ? 'capacity' : 'goal',
              }),
              chain(() => fromEither(growNet(net0, multiplier, c.seed))),
            )
          : pure(net0);
      return pipe(
        grown,
        chain((start) =>
          fromEither(
            pipe(
              claimFree(start, partialClaim(claimAt(c, st.cur.cycle, start.backbone)), c.seed),
              E.chain((claimed) => startTaskPrivates(claimed, classCount(data), c.seed)),
            ),
          ),
        ),
        chain((ready) =>
          withSession(ready, sessionOptions(pickFor(undefined)), (session) =>
            pipe(
              runStage(ctx, session, data, {
                task: k,
                name: data.name,
                kind: 'train',
                label: `task${k}/train@${multiplier}`,
                epochs: c.trainEpochs,
                lr: stepLr({ base: c.lr, epochs: c.trainEpochs, milestones: c.lrMilestones }),
                lrMask: k > 1 && method === 'cpg' ? stepLr({ base: c.lrMask, epochs: c.trainEpochs, milestones: c.maskLrMilestones }) : () => 0,
                multiplier,
              }),
              chain((r) =>
                pipe(
                  fromEither(advance({ tag: 'trained', trainAcc: r.trainAcc, valAcc: r.valAcc, ownsAny: session.ownedCount() > 0, owned: session.ownedCount() })(st.cur.cycle)),
                  chain((cycle) =>
                    pipe(
                      cycle.phase.tag === 'train' ? pure<SnapshotIndex | null>(null) : saveSession(ctx, session),
                      chain((trained) =>
                        pipe(
                          emitEnd('train', r.trainAcc, r.valAcc, cycle),
                          // Training settled the budget's floor: said at once where it overrides the requested sparsities.
                          chain(() => emitIf(st.cur.cycle.floor === undefined && cycle.floor !== undefined ? floorBeyond(k, data.name, cycle) : undefined)),
                          chain(() => update(st.state, { ...st.cur, cycle, trained, pruned: [], lastPruned: null, retrained: null })),
                        ),
                      ),
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    };

    const prune = (st: Step, from: number, to: number): Flow<Step> =>
      pipe(
        // The reference's sweep goes on from the target before; a bisecting search from the sparsest target that passed.
        required(from === 0 ? st.cur.trained : (st.cur.pruned.find((p) => p.sparsity === from)?.snapshot ?? st.cur.lastPruned), 'the network to compact'),
        chain((idx) => load(ctx, idx)),
        chain((loaded) => mapValue((u: { readonly unclaimed?: ReadonlyMap<string, number> }) => ({ ...loaded, u }))(fromEither(unclaimedOf(c, st.cur.cycle, net0)))),
        chain(({ state, currentPicks, u }) =>
          withSession(state, { ...sessionOptions(pickFor(currentPicks)), ...u }, (session) =>
            pipe(
              runStage(ctx, session, data, {
                task: k,
                name: data.name,
                kind: 'prune',
                label: `task${k}/prune${to}`,
                epochs: c.pruneEpochs,
                lr: () => c.pruneLr,
                lrMask: () => 0,
                multiplier: st.cur.cycle.multiplier,
                prune: { from, to, rampEpochs: c.pruneRampEpochs, frequency: c.pruneFrequency },
              }),
              chain((r) =>
                pipe(
                  fromEither(advance({ tag: 'pruned', trainAcc: r.trainAcc, valAcc: r.valAcc })(st.cur.cycle)),
                  chain((cycle) =>
                    pipe(
                      saveSession(ctx, session),
                      chain((snap) => {
                        const recorded = cycle.record.some((x) => x.sparsity === to);
                        return pipe(
                          emitEnd('prune', r.trainAcc, r.valAcc, cycle),
                          chain(() =>
                            update(st.state, { ...st.cur, cycle, lastPruned: snap, pruned: recorded ? [...st.cur.pruned, { sparsity: to, snapshot: snap }] : st.cur.pruned }),
                          ),
                        );
                      }),
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
      );

    // Retrain the pick mask on the chosen network, from maskInit or from the learned pick; keep the best epoch only if it beats the chosen one.
    const retrain = (st: Step, chosen: number): Flow<Step> =>
      pipe(
        fromEither(snapshotAt(st.cur, chosen)),
        chain((idx) => load(ctx, idx)),
        chain(({ state, currentPicks }) =>
          withSession(state, sessionOptions({ kind: 'train', init: c.maskInit, ...(c.retrainPickFrom === 'learned' && currentPicks !== undefined ? { from: currentPicks } : {}) }), (session) =>
            defer(() => {
              // The best epoch so far, kept while the stage runs (local to this stage).
              let best = st.cur.cycle.chosenValAcc ?? 0;
              let bestSeen = 0;
              let bestSnap: { state: NetState; picks: ReadonlyMap<string, PickMask> } | undefined;
              let stale = 0;
              return pipe(
                runStage(ctx, session, data, {
                  task: k,
                  name: data.name,
                  kind: 'retrain',
                  label: `task${k}/retrain`,
                  epochs: c.retrainEpochs,
                  lr: () => c.retrainLr,
                  lrMask: () => c.retrainMaskLr,
                  multiplier: st.cur.cycle.multiplier,
                  afterEpoch: (_epoch, valAcc) => {
                    bestSeen = Math.max(bestSeen, valAcc);
                    const verdict = (): 'continue' | 'stop' => (stale >= c.retrainPatience ? 'stop' : 'continue');
                    if (valAcc > best) {
                      best = valAcc;
                      stale = 0;
                      return mapValue((snap: { readonly state: NetState; readonly picks: ReadonlyMap<string, PickMask> }) => {
                        bestSnap = snap;
                        return verdict();
                      })(snapshotOf(session));
                    }
                    stale += 1;
                    return pure(verdict());
                  },
                }),
                chain((r) => {
                  const valAcc = bestSnap !== undefined ? best : bestSeen;
                  const kept = bestSnap;
                  return pipe(
                    fromEither(advance({ tag: 'retrained', valAcc })(st.cur.cycle)),
                    chain((cycle) =>
                      pipe(
                        kept !== undefined ? save(ctx, kept.state, kept.picks) : pure<SnapshotIndex | null>(null),
                        chain((retrained) =>
                          pipe(
                            emitEnd('retrain', r.trainAcc, valAcc, cycle),
                            chain(() => update(st.state, { ...st.cur, cycle, retrained })),
                          ),
                        ),
                      ),
                    ),
                  );
                }),
              );
            }),
          ),
        ),
      );

    const phaseStep = (st: Step): Flow<Step> => {
      const p = st.cur.cycle.phase;
      switch (p.tag) {
        case 'train':
          return train(st, p.multiplier);
        case 'prune':
          return prune(st, p.from, p.to);
        case 'retrainPick':
          return retrain(st, p.chosen);
        case 'done':
          return pure(st);
      }
    };

    const started: Flow<Step> = resumed !== undefined ? pure({ state: s0, cur: resumed }) : pipe(warning, chain(() => update(s0, fresh.right)));
    return pipe(
      started,
      chain((st) => unfold(st, (x) => x.cur.cycle.phase.tag === 'done', phaseStep)),
      chain((st) => {
        const done = st.cur.cycle.phase;
        if (done.tag !== 'done') return pure(st.state);
        const final = done.keptRetrain && st.cur.retrained !== null ? E.right(st.cur.retrained) : snapshotAt(st.cur, done.chosen);
        const short = shortAtEnd(k, data.name, st.cur.cycle);
        return pipe(
          emitIf(short),
          chain(() => fromEither(final)),
          chain((idx) => load(ctx, idx)),
          chain(({ state, currentPicks }) =>
            finishTask(ctx, st.state, data, k, state, currentPicks ?? new Map(), {
              cur: st.cur,
              goal,
              seconds: secondsBefore + (ctx.env.clock.seconds() - taskStart),
            }),
          ),
        );
      }),
    );
  });

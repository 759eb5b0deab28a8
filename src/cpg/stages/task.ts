/**
 * What the stages of one task share: the task being learned (`TaskRun`), the
 * step the life cycle is at (`Step`: the run state and the task's committed
 * progress), the training session every stage runs in, and the commit that
 * ends every stage, so that a killed run resumes at the stage it was in.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { defer } from 'rxjs';
import { type CpgError, checkpointError } from '../../algebra/errors.js';
import type { CycleState } from '../../algebra/lifecycle.js';
import type { CurrentTask } from '../../algebra/manifest.js';
import type { PickMask } from '../../algebra/pickMask.js';
import type { SnapshotIndex } from '../../algebra/snapshot.js';
import type { Task } from '../../algebra/task.js';
import type { NetState } from '../../effects/network.js';
import { type Session, type SessionOptions, openSession } from '../../effects/trainer.js';
import { type RunCtx, type RunState, commit, save } from '../context.js';
import type { StageKind } from '../events.js';
import { type Flow, bind, bindTo, bracket, chain, emit, fail, fromEither, fromTE, mapValue, pure, sync } from '../flow.js';
import type { CycleRules } from './method.js';

/** The task being learned, as every stage of it needs it. */
export interface TaskRun {
  readonly ctx: RunCtx;
  /** The method's settings of the life cycle. */
  readonly rules: CycleRules;
  readonly data: Task;
  /** The task's number (1-based). */
  readonly k: number;
  /** The committed network the task started from (a growth starts again from it, widened). */
  readonly net0: NetState;
  /** The seconds the task took before this process took it up (a resume), and the clock when it did. */
  readonly secondsBefore: number;
  readonly taskStart: number;
}

/** Where the life cycle is: the run state as last committed, and the task's progress in it. */
export interface Step {
  readonly state: RunState;
  readonly cur: CurrentTask;
}

/** What a session has learned so far: its network and its binary pick masks. */
export interface Learned {
  readonly state: NetState;
  readonly picks: ReadonlyMap<string, PickMask>;
}

/** The seconds the task has taken so far, over every process that worked on it. */
export const taskSeconds = (t: TaskRun): number => t.secondsBefore + (t.ctx.env.clock.seconds() - t.taskStart);

/** Commit the task's progress `next` (with its seconds so far): the step after it. */
export const commitStep = (t: TaskRun, s: RunState, next: CurrentTask): Flow<Step> =>
  defer(() => {
    const cur: CurrentTask = { ...next, seconds: taskSeconds(t) };
    return mapValue((state: RunState): Step => ({ state, cur }))(commit(t.ctx, s, { ...s.manifest, current: cur }));
  });

/** A training session over `state`, disposed however the stage ends. */
export const withSession = <A>(state: NetState, o: SessionOptions, use: (s: Session) => Flow<A>): Flow<A> =>
  bracket(use, (s: Session) => sync(() => s.dispose()))(defer(() => fromEither(openSession(state, o))));

/** What a session has learned so far (both read back from the backend). */
export const learnedIn = (session: Session): Flow<Learned> =>
  pipe(
    fromTE(session.export()),
    bindTo('state'),
    bind('picks', () => fromTE(session.picks())),
  );

/** Store what a session has learned so far. */
export const saveLearned = (ctx: RunCtx, session: Session): Flow<SnapshotIndex> => chain((l: Learned) => save(ctx, l.state, l.picks))(learnedIn(session));

export const missing = (what: string): CpgError => checkpointError(undefined, `the checkpoint lacks ${what}`);

/** A value the checkpoint must hold. */
export const required = <A>(a: A | null | undefined, what: string): Flow<A> => (a === null || a === undefined ? fail(missing(what)) : pure(a));

/** The stored network a chosen sparsity stands for (0: the trained, unpruned one). */
export const snapshotAt = (cur: CurrentTask, sparsity: number): E.Either<CpgError, SnapshotIndex> => {
  if (sparsity === 0) return cur.trained === null ? E.left(missing('the trained network')) : E.right(cur.trained);
  const hit = cur.pruned.find((p) => p.sparsity === sparsity);
  return hit === undefined ? E.left(missing(`the network compacted to ${sparsity}`)) : E.right(hit.snapshot);
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

/** A stage of the task has ended with these accuracies, and the life cycle chose what comes next. */
export const stageEnded = (t: TaskRun, stage: Extract<StageKind, 'train' | 'prune' | 'retrain'>, trainAcc: number, valAcc: number, s: CycleState): Flow<void> =>
  emit({ type: 'stage-ended', task: t.k, name: t.data.name, stage, trainAcc, valAcc, next: describePhase(s) });

/**
 * Learners as RxJS streams of typed events, and operators that compose runs.
 *
 * Subscribing starts the work; unsubscribing stops it at the next training
 * step (checkpoints are only ever replaced atomically at stage boundaries, so
 * the last one stays valid). A stop asked for through `signal` ends the same
 * way, and then the stream emits 'stopped' and completes — after the store's
 * lock is released. An error arrives as the stream's error: a CpgError value,
 * never an exception object; an unexpected one is an InternalError.
 *
 * Runs kept in a directory (`runEvents`, `evaluateRun`) are Node's: see
 * node/runs.ts.
 */
import {
  Observable,
  type ObservableInput,
  type OperatorFunction,
  type Subscriber,
  concat,
  finalize,
  defer,
  filter,
  from,
  last,
  map,
  scan,
} from 'rxjs';
import type { BackendChoice } from '../algebra/backends.js';
import type { RunConfig } from '../algebra/config.js';
import type { RunReport } from '../algebra/report.js';
import type { GoalChoice, RunManifest } from '../algebra/manifest.js';
import type { Task } from '../algebra/task.js';
import { recordedThreads } from '../algebra/threads.js';
import type { BackendPlatform } from '../effects/backend.js';
import { envOf } from '../effects/env.js';
import type { Store } from '../effects/store.js';
import type { RunEvent } from '../cpg/events.js';
import { type LearnRequest, learnerFlow } from '../cpg/learner.js';
import type { RunOptions } from '../cpg/context.js';
import { eventsOn, locked, onBackend } from './work.js';

export { storeReleased } from './work.js';

export type { RunEvent } from '../cpg/events.js';
export type { LearnRequest } from '../cpg/learner.js';

/** How a learner is set up: where the model is kept, and how new tasks are learned. */
export interface LearnerSetup {
  /** Where the model is kept: `memoryStore()`, or `fsStore(dir)` for a run directory. */
  readonly store: Store;
  /**
   * The configuration of a new model (decode one with `decodeConfig`); for a
   * model the store holds already, of the tasks learned now (same net and
   * method). Absent for an existing model: its own.
   */
  readonly config?: RunConfig;
  /** Where a task's goal comes from when its request does not say: default an individually trained network. */
  readonly goal?: GoalChoice;
  /** Default: the configuration's backend. */
  readonly backend?: BackendChoice;
  readonly threads?: number;
  /** What the process offers the backends [webPlatform(); `cpg/node`'s learner: Node's]. */
  readonly platform?: BackendPlatform;
  /** Asked to stop: the learner stops at the next step, emits 'stopped' and completes. */
  readonly signal?: RunOptions['signal'];
  /** The methods a configuration may name [CPG and its baselines]; add one with `withMethod`. */
  readonly methods?: RunOptions['methods'];
}

/**
 * Subscribes to `source` at once and keeps what arrives until `later` is
 * subscribed to (once): tasks that come while the learner starts up wait,
 * however hot their stream is.
 */
const subscribedNow = <T>(source: Observable<T>): { readonly later: Observable<T>; readonly stop: () => void } => {
  const pending: T[] = [];
  let ended: { readonly error?: unknown } | undefined;
  let consumer: Subscriber<T> | undefined;
  const sub = source.subscribe({
    next: (v) => (consumer !== undefined ? consumer.next(v) : void pending.push(v)),
    error: (e: unknown) => (consumer !== undefined ? consumer.error(e) : void (ended = { error: e })),
    complete: () => (consumer !== undefined ? consumer.complete() : void (ended = {})),
  });
  const later = new Observable<T>((s) => {
    consumer = s;
    for (const v of pending.splice(0)) s.next(v);
    if (ended !== undefined) {
      if ('error' in ended) s.error(ended.error);
      else s.complete();
    }
    return () => {
      consumer = undefined;
      sub.unsubscribe();
    };
  });
  return { later, stop: () => sub.unsubscribe() };
};

/** The learner's work in its locked store (whose manifest is `m`), on the backend the setup asks for, or else the model's. */
const learnIn = (setup: LearnerSetup, arriving: Observable<Task | LearnRequest>, m: RunManifest | null, store: Store) =>
  onBackend(setup.backend ?? setup.config?.backend ?? m?.config.backend ?? 'auto', setup.threads ?? setup.config?.threads ?? recordedThreads(m?.config.threads), setup.platform, (backend) =>
    learnerFlow(envOf(store, backend), m, arriving, {
      ...(setup.config !== undefined ? { config: setup.config } : {}),
      ...(setup.goal !== undefined ? { goal: setup.goal } : {}),
      ...(setup.signal !== undefined ? { signal: setup.signal } : {}),
      ...(setup.methods !== undefined ? { methods: setup.methods } : {}),
    }),
  );

/**
 * A learner: learns the tasks of a stream (an Observable, an async iterable
 * or an array of Tasks or LearnRequests) into the model in `setup.store`, one
 * after another as they arrive; a task that comes while another is learned
 * (or while the learner starts) waits its turn. Emits the run's events;
 * completes after 'run-finished', once the stream of tasks has completed.
 *
 * Unsubscribing stops it at the next step. Its last store write may still be
 * landing then; it holds the store's lock until that is done (milliseconds).
 * A learner subscribed at once on the same store waits for it by itself;
 * `storeReleased(store)` resolves when the store is free for anything else.
 */
export const learner =
  (setup: LearnerSetup) =>
  (tasks: ObservableInput<Task | LearnRequest>): Observable<RunEvent> =>
    defer(() => {
      const arriving = subscribedNow(from(tasks));
      return eventsOn(
        setup.store,
        locked(setup.store, (m, store) => learnIn(setup, arriving.later, m, store)),
      ).pipe(finalize(arriving.stop));
    });

/** The report of the run, once it finishes. */
export const finalReport = (): OperatorFunction<RunEvent, RunReport> => (source) =>
  source.pipe(
    filter((e): e is Extract<RunEvent, { type: 'run-finished' }> => e.type === 'run-finished'),
    map((e) => e.report),
    last(),
  );

/** An event tagged with the run it came from (for composed runs). */
export interface Tagged {
  readonly run: string;
  readonly event: RunEvent;
}

/** Several runs one after the other, each event tagged with its run's label. */
export const sequence = (runs: readonly { readonly label: string; readonly events: Observable<RunEvent> }[]): Observable<Tagged> =>
  concat(...runs.map((r) => r.events.pipe(map((event) => ({ run: r.label, event })))));

/** Progress of a run: the latest stage and epoch, tasks done, and an estimate of the time left. */
export interface Progress {
  readonly task: number;
  /** Tasks planned (or known so far, for a model learned over time). */
  readonly tasks: number;
  readonly name: string;
  readonly stage: string;
  readonly epoch: number;
  readonly epochs: number;
  readonly stageEtaSeconds: number;
  readonly tasksDone: number;
  readonly last: RunEvent;
}

/** Fold events into progress snapshots (one per event). */
export const progress = (): OperatorFunction<RunEvent, Progress> => (source) =>
  source.pipe(
    scan(
      (p: Progress, e: RunEvent): Progress => {
        switch (e.type) {
          case 'run-started':
            return { ...p, tasks: e.planned ?? e.tasks.length, last: e };
          case 'task-started':
            return { ...p, task: e.task, tasks: Math.max(p.tasks, e.of ?? e.task), name: e.name, stage: e.purpose === 'goal' ? 'goal' : 'start', epoch: 0, epochs: 0, last: e };
          case 'stage-started':
            return { ...p, stage: e.stage, epoch: 0, epochs: e.epochs, last: e };
          case 'epoch-ended':
            return { ...p, epoch: e.epoch, epochs: e.epochs, stageEtaSeconds: e.stageEtaSeconds, last: e };
          case 'task-finished':
            return { ...p, tasksDone: e.purpose === 'learn' ? p.tasksDone + 1 : p.tasksDone, last: e };
          default:
            return { ...p, last: e };
        }
      },
      { task: 0, tasks: 0, name: '', stage: '', epoch: 0, epochs: 0, stageEtaSeconds: 0, tasksDone: 0, last: { type: 'goals-started', tasks: 0 } as RunEvent },
    ),
  );

/** Only the events of one kind. */
export const ofType =
  <K extends RunEvent['type']>(type: K): OperatorFunction<RunEvent, Extract<RunEvent, { type: K }>> =>
  (source) =>
    source.pipe(filter((e): e is Extract<RunEvent, { type: K }> => e.type === type));

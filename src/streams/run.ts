/**
 * A run as an RxJS stream of typed events, and operators that compose runs.
 *
 * Subscribing starts the run; unsubscribing stops it at the next training
 * step, and the last checkpoint stays valid (checkpoints are only ever
 * replaced atomically at stage boundaries). An error of the run arrives as
 * the stream's error: a CpgError value, never an exception object.
 */
import * as E from 'fp-ts/lib/Either.js';
import { Observable, type OperatorFunction, concat, defer, filter, from, last, map, mergeMap, scan, tap } from 'rxjs';
import type { CpgError } from '../algebra/errors.js';
import type { RunConfig, RunReport } from '../algebra/codecs.js';
import type { RunEvent } from '../cpg/events.js';
import { type RunRequest, runToEnd } from '../cpg/run.js';

export type { RunEvent } from '../cpg/events.js';

/** The events of one run (new or resumed); completes after 'run-finished'. */
export const runEvents = (req: RunRequest): Observable<RunEvent> =>
  new Observable<RunEvent>((subscriber) => {
    let cancelled = false;
    runToEnd(req, {
      emit: (e) => {
        if (!cancelled) subscriber.next(e);
      },
      cancelled: () => cancelled,
    }).then(
      (r) => {
        if (cancelled) return;
        if (E.isLeft(r)) subscriber.error(r.left);
        else subscriber.complete();
      },
      (e: unknown) => subscriber.error({ tag: 'CheckpointError', file: req.dir, message: `unexpected failure: ${String(e)}` } satisfies CpgError),
    );
    return () => {
      cancelled = true;
    };
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

/** The same configuration over several seeds, each in its own directory. */
export const overSeeds = (config: RunConfig, seeds: readonly number[], dirOf: (seed: number) => string): Observable<Tagged> =>
  sequence(seeds.map((seed) => ({ label: `seed ${seed}`, events: defer(() => runEvents({ kind: 'new', dir: dirOf(seed), config: { ...config, seed } })) })));

/**
 * Goals first, then CPG: an `individual` run in `goalsDir` whose validation
 * accuracies become the goal file of a CPG run in `cpgDir`.
 */
export const goalsThenCpg = (
  config: RunConfig,
  goalsDir: string,
  cpgDir: string,
  writeGoals: (report: RunReport) => Promise<string>,
): Observable<Tagged> => {
  let report: RunReport | undefined;
  return concat(
    runEvents({ kind: 'new', dir: goalsDir, config: { ...config, method: 'individual' } }).pipe(
      tap((e) => {
        if (e.type === 'run-finished') report = e.report;
      }),
      map((event) => ({ run: 'goals', event })),
    ),
    defer(() => from(writeGoals(report!))).pipe(
      mergeMap((path) => runEvents({ kind: 'new', dir: cpgDir, config: { ...config, method: 'cpg', goals: { kind: 'file', path } } })),
      map((event) => ({ run: 'cpg', event })),
    ),
  );
};

/** Progress of a run: the latest stage and epoch, tasks done, and an estimate of the time left. */
export interface Progress {
  readonly task: number;
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
            return { ...p, tasks: e.tasks.length, last: e };
          case 'task-started':
            return { ...p, task: e.task, name: e.name, stage: e.purpose === 'goal' ? 'goal' : 'start', epoch: 0, epochs: 0, last: e };
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


/**
 * The core's entry points that claim a backend, on Node's platform unless the
 * caller names another: `cpg/node` exports them under the core's names, so a
 * Node program keeps tfjs-node-gpu, threaded wasm and CPG_BACKEND.
 */
import { type ObservableInput, type Observable, defer } from 'rxjs';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import type { CpgError } from '../algebra/errors.js';
import type { Task } from '../algebra/task.js';
import type { Store } from '../effects/store.js';
import type { LearnRequest } from '../cpg/learner.js';
import * as predict from '../cpg/predict.js';
import * as run from '../streams/run.js';
import { nodePlatform } from './platform.js';

/** The core's `learner`, on Node's backend platform unless `setup.platform` says otherwise. */
export const learner =
  (setup: run.LearnerSetup) =>
  (tasks: ObservableInput<Task | LearnRequest>): Observable<run.RunEvent> =>
    // Node's platform as it is when the learner starts (CPG_BACKEND is read then, as before).
    defer(() => run.learner({ ...setup, platform: setup.platform ?? nodePlatform() })(tasks));

/** The core's `openModel`, on Node's backend platform unless `o.platform` says otherwise. */
export const openModel =
  (store: Store, o: predict.OpenOptions = {}): TE.TaskEither<CpgError, predict.Model> =>
  () =>
    predict.openModel(store, { ...o, platform: o.platform ?? nodePlatform() })();

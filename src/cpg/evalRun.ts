/**
 * `cpg eval`: evaluate finished tasks from a checkpoint alone, and check
 * that each one's outputs are still the ones recorded when it finished. The
 * probe check needs no data (the probe inputs are in the store); accuracies
 * are re-measured for the tasks whose data is at hand. Nothing is written.
 */
import { type MethodRegistry, methodOf } from './methods/registry.js';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { defer } from 'rxjs';
import { type CpgError, configError } from '../algebra/errors.js';
import type { RunManifest } from '../algebra/manifest.js';
import type { Task } from '../algebra/task.js';
import { type BackendInfo, deviceOf } from '../effects/backend.js';
import type { Env } from '../effects/env.js';
import type { NetState } from '../effects/network.js';
import { checkProbes } from '../effects/checkpoint.js';
import { bytesFloat32 } from '../effects/store.js';
import { type RunCtx, type RunState, load } from './context.js';
import { type Flow, chain, fail, fold, fromTE, mapValue, pure } from './flow.js';
import { logitDrift, measureTask, probeOf } from './finish.js';
import { sameTask } from './model.js';
import { runCtxOf } from './context.js';

/** One finished task, evaluated now. */
export interface EvalRow {
  readonly task: number;
  readonly name: string;
  /** Accuracy now on the task's test split (validation for a task without one); null without its data. */
  readonly testAccuracy: number | null;
  readonly valAccuracy: number | null;
  /** Test accuracy recorded in the run (at the end of the last task). */
  readonly recordedAccuracy: number;
  /** Largest logit difference from the probe recorded when the task finished. */
  readonly logitDrift: number;
  /**
   * How the drift was judged: 'bit-identical' on the backend that recorded the
   * probe (same backend, threads and SIMD), else 'tolerance' (another backend
   * rounds floats differently).
   */
  readonly check: 'bit-identical' | 'tolerance';
  /** The drift passed its check. */
  readonly within: boolean;
}

/** The largest logit drift `cpg eval` accepts on a backend other than the recording one. */
export const DEFAULT_TOLERANCE = 1e-4;

/** Was task k's probe recorded on this backend (name, threads, SIMD and, for webgpu, the adapter; old runs: by name)? */
export const recordedHere = (m: RunManifest, k: number, on: BackendInfo): boolean => {
  const rec = m.finished[k - 1]?.recordedOn;
  return rec !== undefined
    ? rec.backend === on.name && rec.threads === on.threads && rec.simd === on.simd && rec.device === deviceOf(on)
    : m.backend === on.name;
};

/** How a backend is named in messages: 'wasm (2 threads, SIMD)'. */
export const describeBackend = (b: { readonly backend: string; readonly threads: number; readonly simd: boolean }): string =>
  b.backend === 'wasm' ? `wasm (${b.threads} thread${b.threads === 1 ? '' : 's'}${b.simd ? ', SIMD' : ''})` : b.backend;

/** Which finished tasks to evaluate: all, or the one named. */
export const tasksToEvaluate = (m: RunManifest, dir: string, task: string | undefined, methods?: MethodRegistry): E.Either<CpgError, number[]> => {
  const method = methodOf(methods)(m.config.method);
  if (E.isLeft(method)) return method;
  if (m.state === null || method.right.model === 'per-task')
    return E.left(configError('dir', `${dir} is an individual-networks run: it keeps no shared network to evaluate`));
  if (m.finished.length === 0) return E.left(configError('dir', `${dir} has no finished task yet`));
  if (task === undefined) return E.right(m.finished.map((_, i) => i + 1));
  const k = m.finished.findIndex((f) => f.name === task) + 1;
  return k === 0
    ? E.left(configError('--task', `no finished task named '${task}' (finished: ${m.finished.map((f) => f.name).join(', ')})`))
    : E.right([k]);
};

/** Task k's largest logit difference now from the probe recorded when it finished (0 where none was recorded). */
const driftOf = (env: Env, rec: RunManifest['finished'][number], logits: Float32Array): Flow<number> =>
  rec.probe === null ? pure(0) : pipe(fromTE(env.store.getBlob(rec.probe)), mapValue((b) => logitDrift(bytesFloat32(b), logits)));

/** Finished task k measured now with the data at hand, and its drift judged on this backend. */
const evalRow = (c: RunCtx, s: RunState, state: NetState, k: number, data: Task | undefined, tolerance: number): Flow<EvalRow> => {
  const m = s.manifest;
  const rec = m.finished[k - 1]!;
  const last = m.finished[m.finished.length - 1]!.accuracyRow;
  return pipe(
    probeOf(c, s, k),
    chain((probe) => fromTE(measureTask(c, state, k, c.method.everyWeight, probe, data))),
    chain((r) =>
      pipe(
        driftOf(c.env, rec, r.logits),
        mapValue((d): EvalRow => {
          const exact = recordedHere(m, k, c.env.backend);
          return {
            task: k,
            name: rec.name,
            testAccuracy: r.testAcc ?? null,
            valAccuracy: r.valAcc ?? null,
            recordedAccuracy: last[k - 1] ?? rec.testAccuracy,
            logitDrift: d,
            check: exact ? 'bit-identical' : 'tolerance',
            within: exact ? d === 0 : d <= tolerance,
          };
        }),
      ),
    ),
  );
};

/** Tasks `which` evaluated in order, one row each. */
const evalRows = (c: RunCtx, s: RunState, state: NetState, which: readonly number[], data: readonly (Task | undefined)[], tolerance: number) =>
  fold(which, [] as EvalRow[], (rows, k) => pipe(evalRow(c, s, state, k, data[k - 1], tolerance), mapValue((row) => [...rows, row])));

/** Check that the data at hand for tasks `which` is each the task it is given as. */
const sameData = (env: Env, m: RunManifest, which: readonly number[], data: readonly (Task | undefined)[]) =>
  fold(which, [] as (Task | undefined)[], (acc, k) => {
    const d = data[k - 1];
    return d === undefined ? pure([...acc, undefined]) : pipe(sameTask(env.store, m.tasks[k - 1]!, k, d), mapValue(() => [...acc, d]));
  });

/** Evaluate finished tasks `which` of the run whose manifest is `m`, with the data at hand (task k at k − 1). */
export const evaluateModel = (
  env: Env,
  m: RunManifest,
  which: readonly number[],
  data: readonly (Task | undefined)[],
  tolerance: number = DEFAULT_TOLERANCE,
): Flow<readonly EvalRow[]> =>
  defer(() => {
    const ctx = runCtxOf(env, m.config, m, m.config.benchmark, (k) => data[k - 1], {}, true);
    if (E.isLeft(ctx)) return fail<readonly EvalRow[]>(ctx.left);
    const c = ctx.right;
    const s: RunState = { manifest: m, maxLogitDrift: 0 };
    return pipe(
      fromTE(checkProbes(env.store, m)),
      chain(() => sameData(env, m, which, data)),
      chain(() => load(c, m.state!)),
      chain(({ state }) => evalRows(c, s, state, which, data, tolerance)),
    );
  });

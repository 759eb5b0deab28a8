/**
 * `cpg eval`: evaluate finished tasks from a checkpoint alone, and check
 * that each one's outputs are still the ones recorded when it finished.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { CpgError } from '../algebra/errors.js';
import type { RunConfig } from '../algebra/codecs.js';
import { selectBackend } from '../effects/backend.js';
import { seconds } from '../effects/clock.js';
import { loadBenchmark } from '../effects/data/index.js';
import { manifestPath, readManifest } from '../effects/runDir.js';
import { bytesFloat32, getBlob } from '../effects/store.js';
import { type RunCtx, architectureFor, dataOptionsOf, load, run } from './context.js';
import { logitDrift, measureTask } from './finish.js';
import { CpgFailure, must } from './stages.js';

/** One finished task, evaluated now. */
export interface EvalRow {
  readonly task: number;
  readonly name: string;
  readonly testAccuracy: number;
  readonly valAccuracy: number;
  /** Test accuracy recorded in the run (at the end of the last task). */
  readonly recordedAccuracy: number;
  /** Largest logit difference from the probe recorded when the task finished. */
  readonly logitDrift: number;
}

export interface EvalOptions {
  readonly task?: string;
  readonly backend?: RunConfig['backend'];
  readonly threads?: number;
}

/** Evaluate the finished tasks of the run in `dir` (or just one). */
export const evaluateRun = async (dir: string, o: EvalOptions): Promise<E.Either<CpgError, { backend: string; rows: EvalRow[] }>> => {
  try {
    const m = await run(readManifest(dir));
    if (m.state === null || m.config.method === 'individual')
      must(E.left<CpgError>({ tag: 'ConfigError', field: 'dir', message: `${dir} is an individual-networks run: it keeps no shared network to evaluate` }));
    if (m.finished.length === 0) must(E.left<CpgError>({ tag: 'ConfigError', field: 'dir', message: `${dir} has no finished task yet` }));
    const which = o.task === undefined ? m.finished.map((_, i) => i + 1) : [m.finished.findIndex((f) => f.name === o.task) + 1];
    if (which[0] === 0)
      must(E.left<CpgError>({ tag: 'ConfigError', field: '--task', message: `no finished task named '${o.task}' (finished: ${m.finished.map((f) => f.name).join(', ')})` }));
    const config = m.config;
    const backend = await run(selectBackend({ prefer: o.backend ?? config.backend, ...(o.threads !== undefined ? { threads: o.threads } : config.threads !== undefined ? { threads: config.threads } : {}) }));
    const bench = await run(loadBenchmark(dataOptionsOf(config, m.tasks.length)));
    // The same check as a resume: the finished tasks must be evaluated on their own data.
    const names = bench.tasks.map((t) => `${t.name} (${t.classes})`).join(', ');
    const stored = m.tasks.map((t) => `${t.name} (${t.classes})`).join(', ');
    if (names !== stored)
      must(E.left<CpgError>({ tag: 'CheckpointError', file: manifestPath(dir), message: `the run's tasks [${stored}] are not the data's tasks [${names}]: the data or the run's configuration changed` }));
    const base = must(E.mapLeft((why: string): CpgError => ({ tag: 'CheckpointError', file: manifestPath(dir), message: `the run's config.net ${why}` }))(architectureFor(config.net, bench)));
    const ctx: RunCtx = {
      dir,
      config,
      bench,
      base,
      backend: backend.name,
      env: { seed: config.seed, batchSize: config.batchSize, evalBatchSize: config.evalBatchSize, augmentation: 'none', inputShape: bench.inputShape, emit: () => {}, cancelled: () => false, now: seconds },
      manifest: m,
      maxLogitDrift: 0,
      startedAt: seconds(),
      elapsedBefore: m.elapsedSeconds,
    };
    const { state } = await load(ctx, m.state!);
    const last = m.finished[m.finished.length - 1]!.accuracyRow;
    const rows: EvalRow[] = [];
    for (const k of which) {
      const r = measureTask(ctx, state, k, config.method === 'finetune');
      const probe = m.finished[k - 1]!.probe;
      const drift = probe === null ? 0 : logitDrift(bytesFloat32(await run(getBlob(dir, probe))), r.logits);
      rows.push({ task: k, name: m.finished[k - 1]!.name, testAccuracy: r.testAcc, valAccuracy: r.valAcc, recordedAccuracy: last[k - 1] ?? r.testAcc, logitDrift: drift });
    }
    return E.right({ backend: backend.name, rows });
  } catch (e) {
    if (e instanceof CpgFailure) return E.left(e.error);
    throw e;
  }
};

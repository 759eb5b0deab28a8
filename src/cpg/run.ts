/**
 * A whole run: prepare (or reopen) the run directory, pick the backend, load
 * the data, get the goals, learn every task with the chosen method, and write
 * the report. Used by the stream layer (src/streams), which the command line
 * and apps subscribe to.
 */
import * as E from 'fp-ts/lib/Either.js';
import { type GoalFile, type RunConfig, type RunReport, GoalFile as GoalFileCodec, decodeWith, parseJson } from '../algebra/codecs.js';
import type { CpgError } from '../algebra/errors.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, type RunManifest } from '../algebra/manifest.js';
import { selectBackend } from '../effects/backend.js';
import { isoNow, seconds } from '../effects/clock.js';
import { type Benchmark, loadBenchmark } from '../effects/data/index.js';
import { initNet } from '../effects/network.js';
import { holdsRun, manifestPath, readManifest, writeReportFile } from '../effects/runDir.js';
import { readFile } from '../effects/store.js';
import { renderReportHtml } from '../report/html.js';
import { type RunCtx, architectureFor, commit, dataOptionsOf, load, run, save } from './context.js';
import type { RunEvent } from './events.js';
import { learnTask } from './learn.js';
import { fineTuneTask, trainIndividual } from './baselines.js';
import { recheckFinished } from './finish.js';
import { buildReport } from './report.js';
import { CpgFailure, must } from './stages.js';

/** Start a new run in `dir`, or resume the one there. */
export type RunRequest =
  | { readonly kind: 'new'; readonly dir: string; readonly config: RunConfig }
  | { readonly kind: 'resume'; readonly dir: string; readonly backend?: RunConfig['backend']; readonly threads?: number };

/** How the run talks to its subscriber. */
export interface RunIo {
  readonly emit: (e: RunEvent) => void;
  readonly cancelled: () => boolean;
}

const configError = (field: string, message: string): CpgError => ({ tag: 'ConfigError', field, message });

const readGoals = async (path: string, names: readonly string[]): Promise<GoalFile> => {
  // A goal file that cannot be read is bad input (exit 2), like a config file, not a broken checkpoint.
  const bytes = must(E.mapLeft((e: CpgError): CpgError => ({ tag: 'ConfigError', field: '--goals', message: `cannot read ${path}: ${e.message}` }))(await readFile(path)()));
  const goals = must(E.chain(decodeWith(GoalFileCodec, path))(parseJson(path)(new TextDecoder().decode(bytes))));
  const lacking = names.filter((n) => goals[n] === undefined);
  if (lacking.length > 0)
    must(E.left<CpgError>({ tag: 'DecodeError', file: path, field: lacking[0]!, message: `no goal for task '${lacking[0]}' (the benchmark's tasks are: ${names.join(', ')})` }));
  return goals;
};

/** The first manifest of a new run. */
const freshManifest = async (config: RunConfig, bench: Benchmark, backend: string): Promise<RunManifest> => {
  const goals = config.goals.kind === 'file' ? await readGoals(config.goals.path, bench.tasks.map((t) => t.name)) : null;
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    config,
    backend,
    tasks: bench.tasks.map((t) => ({ name: t.name, classes: t.classes })),
    goals,
    individual: [],
    state: null,
    finished: [],
    current: null,
    elapsedSeconds: 0,
    status: 'running',
    createdAt: isoNow(),
  };
};

/** Run (or resume) to the end; the report, or the error that stopped it. */
export const runToEnd = async (req: RunRequest, io: RunIo): Promise<E.Either<CpgError, RunReport>> => {
  try {
    return E.right(await runInner(req, io));
  } catch (e) {
    if (e instanceof CpgFailure) return E.left(e.error);
    throw e;
  }
};

const runInner = async (req: RunRequest, io: RunIo): Promise<RunReport> => {
  const dir = req.dir;
  const startedAt = seconds();
  let prior: RunManifest | undefined;
  if (req.kind === 'new') {
    if (await run(holdsRun(dir)))
      must(E.left(configError('out', `${dir} already holds a run: continue it with \`cpg resume ${dir}\`, or choose another --out`)));
  } else prior = await run(readManifest(dir));
  const config: RunConfig =
    req.kind === 'new'
      ? req.config
      : {
          ...prior!.config,
          ...(req.backend !== undefined ? { backend: req.backend } : {}),
          ...(req.threads !== undefined ? { threads: req.threads } : {}),
        };
  const backend = await run(selectBackend({ prefer: config.backend, ...(config.threads !== undefined ? { threads: config.threads } : {}) }));
  const t0 = seconds();
  const bench = await run(loadBenchmark(dataOptionsOf(config)));
  io.emit({ type: 'data-loaded', seconds: seconds() - t0, trainImages: bench.tasks.reduce((a, t) => a + t.train.count, 0), tasks: bench.tasks.length });
  // On resume the net comes from the checkpoint, not the command line.
  const base = must(
    E.mapLeft((why: string): CpgError => (prior === undefined ? configError('net', why) : { tag: 'CheckpointError', file: manifestPath(dir), message: `the run's config.net ${why}` }))(
      architectureFor(config.net, bench),
    ),
  );
  if (prior !== undefined) {
    const names = bench.tasks.map((t) => t.name).join(',');
    const stored = prior.tasks.map((t) => t.name).join(',');
    if (names !== stored)
      must(E.left<CpgError>({ tag: 'CheckpointError', file: manifestPath(dir), message: `the run's tasks (${stored}) are not the data's tasks (${names}): the data changed since the run started` }));
  }
  const ctx: RunCtx = {
    dir,
    config,
    bench,
    base,
    backend: backend.name,
    env: {
      seed: config.seed,
      batchSize: config.batchSize,
      evalBatchSize: config.evalBatchSize,
      augmentation: bench.augmentation,
      inputShape: bench.inputShape,
      emit: io.emit,
      cancelled: io.cancelled,
      now: seconds,
    },
    manifest: prior ?? ({} as RunManifest),
    maxLogitDrift: 0,
    startedAt,
    elapsedBefore: prior?.elapsedSeconds ?? 0,
  };
  if (prior === undefined) {
    const m = await freshManifest(config, bench, backend.name);
    const needsNetwork = config.method !== 'individual';
    const state = needsNetwork ? await save(ctx, must(initNet(base, config.seed)), undefined) : null;
    await commit(ctx, { ...m, state });
  }
  io.emit({
    type: 'run-started',
    method: config.method,
    benchmark: config.benchmark,
    net: config.net,
    backend: backend.name,
    threads: backend.threads,
    tasks: bench.tasks.map((t) => t.name),
    dir,
    resumed: prior !== undefined,
  });

  const ignoreOwners = config.method === 'finetune';
  // A resumed run first proves that what it finished before is still exactly there.
  if (prior !== undefined && ctx.manifest.state !== null && ctx.manifest.finished.length > 0) {
    const { state } = await load(ctx, ctx.manifest.state);
    await recheckFinished(ctx, state, ctx.manifest.finished.length, ignoreOwners);
  }

  // Goals: from individually trained networks (CPG's default), a file, or the checkpoint.
  const wantsIndividual = config.method === 'individual' || (config.method === 'cpg' && config.goals.kind === 'individual');
  if (wantsIndividual) {
    if (ctx.manifest.individual.length < bench.tasks.length) io.emit({ type: 'goals-started', tasks: bench.tasks.length });
    for (let k = ctx.manifest.individual.length + 1; k <= bench.tasks.length; k++) await trainIndividual(ctx, bench.tasks[k - 1]!, k);
    if (ctx.manifest.goals === null) {
      const goals = Object.fromEntries(ctx.manifest.individual.map((r) => [r.name, r.valAccuracy]));
      await commit(ctx, { ...ctx.manifest, goals });
      io.emit({ type: 'goals-ready', goals, source: 'individual' });
    } else io.emit({ type: 'goals-ready', goals: ctx.manifest.goals, source: 'checkpoint' });
  } else if (ctx.manifest.goals !== null) io.emit({ type: 'goals-ready', goals: ctx.manifest.goals, source: config.goals.kind === 'file' ? 'file' : 'checkpoint' });

  if (config.method !== 'individual') {
    for (let k = ctx.manifest.finished.length + 1; k <= bench.tasks.length; k++) {
      const data = bench.tasks[k - 1]!;
      io.emit({ type: 'task-started', task: k, name: data.name, of: bench.tasks.length, purpose: 'learn' });
      if (config.method === 'finetune') await fineTuneTask(ctx, data, k);
      else await learnTask(ctx, config.method, data, k, config.method === 'cpg' ? (ctx.manifest.goals?.[data.name] ?? null) : null);
    }
  }

  const final = ctx.manifest.state === null ? undefined : (await load(ctx, ctx.manifest.state)).state;
  await commit(ctx, { ...ctx.manifest, status: 'finished' });
  const report = buildReport(ctx.manifest, final, {
    base,
    backend: backend.name,
    threads: backend.threads,
    simd: backend.simd,
    maxLogitDrift: ctx.maxLogitDrift,
    createdAt: isoNow(),
  });
  await run(writeReportFile(dir, 'report.json', `${JSON.stringify(report, null, 1)}\n`));
  await run(writeReportFile(dir, 'report.html', renderReportHtml(report)));
  io.emit({ type: 'run-finished', report, dir });
  return report;
};

/**
 * What every part of a run shares: configuration, data, the architecture,
 * the stage environment, and the manifest with its commit step.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import type { CpgError } from '../algebra/errors.js';
import type { RunConfig } from '../algebra/codecs.js';
import { type Graph, paramSpecs } from '../algebra/graph.js';
import { buildArchitecture } from '../algebra/architectures.js';
import type { RunManifest } from '../algebra/manifest.js';
import type { SnapshotIndex } from '../algebra/snapshot.js';
import type { PickMask } from '../algebra/pickMask.js';
import type { Benchmark, DataOptions } from '../effects/data/index.js';
import type { PickMode, SessionOptions } from '../effects/trainer.js';
import { type NetState } from '../effects/network.js';
import { loadNet, saveNet } from '../effects/snapshot.js';
import { manifestPath, writeManifest } from '../effects/runDir.js';
import { CpgFailure, type StageEnv } from './stages.js';

export interface RunCtx {
  readonly dir: string;
  readonly config: RunConfig;
  readonly bench: Benchmark;
  /** The architecture at multiplier 1, sized for the benchmark's images. */
  readonly base: Graph;
  readonly backend: string;
  readonly env: StageEnv;
  /** The manifest as last committed. */
  manifest: RunManifest;
  /** Largest logit difference seen when re-checking finished tasks (must stay 0). */
  maxLogitDrift: number;
  /** Clock reading when this process started on the run (for elapsed time). */
  readonly startedAt: number;
  /** elapsedSeconds of the manifest when this process took the run over. */
  readonly elapsedBefore: number;
}

/** Run an effect to completion or stop the run with its error. */
export const run = async <A>(te: TE.TaskEither<CpgError, A>): Promise<A> => {
  const r = await te();
  if (E.isLeft(r)) throw new CpgFailure(r.left);
  return r.right;
};

/** Commit a new manifest (atomically) and make it the context's. */
export const commit = async (ctx: RunCtx, next: RunManifest): Promise<void> => {
  const t0 = ctx.env.now();
  const elapsed = ctx.elapsedBefore + (ctx.env.now() - ctx.startedAt);
  const m: RunManifest = { ...next, elapsedSeconds: elapsed };
  const bytes = await run(writeManifest(ctx.dir, m));
  ctx.manifest = m;
  ctx.env.emit({ type: 'checkpoint', seconds: ctx.env.now() - t0, bytes });
};

/** Store a network (with the current task's picks between stages). */
export const save = (ctx: RunCtx, s: NetState, picks: ReadonlyMap<string, PickMask> | undefined): Promise<SnapshotIndex> =>
  run(saveNet(ctx.dir, s, picks));

/** Load a stored network, checked against the architecture; a fault in its index is a fault of run.json. */
export const load = (ctx: RunCtx, idx: SnapshotIndex) =>
  run(TE.mapLeft((e: CpgError): CpgError => (e.tag === 'CheckpointError' && e.file === undefined ? { ...e, file: manifestPath(ctx.dir) } : e))(loadNet(ctx.dir, ctx.base, idx)));

/** The configured net built for the data's images, or why it does not fit them. */
export const architectureFor = (net: RunConfig['net'], bench: Pick<Benchmark, 'name' | 'inputShape'>): E.Either<string, Graph> => {
  const base = buildArchitecture(net, bench.inputShape);
  const specs = paramSpecs(base, 1);
  return E.isLeft(specs) ? E.left(`'${net}' does not fit ${bench.name}'s ${bench.inputShape.join('×')} images: ${specs.left.message}`) : E.right(base);
};

/** What the data loader needs from a configuration (`tasks` overrides the configured count). */
export const dataOptionsOf = (c: RunConfig, tasks?: number): DataOptions => {
  const n = tasks ?? c.tasks;
  return {
    benchmark: c.benchmark,
    seed: c.seed,
    valFraction: c.valFraction,
    testFraction: c.testFraction,
    ...(n !== undefined ? { tasks: n } : {}),
    ...(c.dataPath !== undefined ? { dataPath: c.dataPath } : {}),
    ...(c.limitPerTask !== undefined ? { limitPerTask: c.limitPerTask } : {}),
  };
};

/** A training session's settings from the configuration. */
export const sessionOptionsOf = (c: RunConfig, pick: PickMode, scope: SessionOptions['scope'] = 'owners'): SessionOptions => ({
  pick,
  maskThreshold: c.maskThreshold,
  weightDecay: c.weightDecay,
  momentum: c.momentum,
  scope,
});

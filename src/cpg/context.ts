/**
 * What every part of a run shares — the environment, the configuration, the
 * architecture, the data this process has — and the run's state (the
 * manifest as last committed, the largest logit drift seen), threaded from
 * one piece to the next as a value, with its commit step.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { defer } from 'rxjs';
import { type CpgError, checkpointError, configError } from '../algebra/errors.js';
import type { RunConfig } from '../algebra/config.js';
import { type Graph, paramSpecs } from '../algebra/graph.js';
import { buildArchitecture } from '../algebra/architectures.js';
import { type RunManifest, modelShape } from '../algebra/manifest.js';
import type { SnapshotIndex } from '../algebra/snapshot.js';
import type { PickMask } from '../algebra/pickMask.js';
import type { InputShape, Task } from '../algebra/task.js';
import type { PickMode, SessionOptions } from '../effects/trainer.js';
import type { NetState } from '../effects/network.js';
import { loadNet, saveNet } from '../effects/snapshot.js';
import { manifestName, writeManifest } from '../effects/checkpoint.js';
import { type Flow, chain, emit, fromTE, mapValue } from './flow.js';
import type { StageCtx } from './stages/epochs.js';
import type { Env } from '../effects/env.js';
import type { LearningMethod } from './methods/method.js';
import { type MethodRegistry, checkedMethod } from './methods/registry.js';

/** A run's fixed surroundings (one per process working on it). */
export interface RunCtx extends StageCtx {
  /** The configuration this part of the run follows (a task learned over time may have its own). */
  readonly config: RunConfig;
  /** The method the configuration names. */
  readonly method: LearningMethod;
  /** The architecture at multiplier 1, sized for the model's input. */
  readonly base: Graph;
  /** Clock reading when this process took the run over, and the run's elapsed seconds then. */
  readonly startedAt: number;
  readonly elapsedBefore: number;
  /** The data of task k (1-based), when this process has it. */
  readonly dataOf: (k: number) => Task | undefined;
}

/** What changes as the run goes: the manifest as last committed, and the largest logit drift seen (must stay 0). */
export interface RunState {
  readonly manifest: RunManifest;
  readonly maxLogitDrift: number;
}

/** The context a task learns in: its own configuration (seed, batch sizes and all). */
export const withConfig = (ctx: RunCtx, config: RunConfig): RunCtx => ({
  ...ctx,
  config,
  seed: config.seed,
  batchSize: config.batchSize,
  evalBatchSize: config.evalBatchSize,
});

/** Commit a new manifest (atomically); the state after it. */
export const commit = (ctx: RunCtx, s: RunState, next: RunManifest): Flow<RunState> =>
  defer(() => {
    const t0 = ctx.env.clock.seconds();
    const m: RunManifest = { ...next, elapsedSeconds: ctx.elapsedBefore + (t0 - ctx.startedAt) };
    return pipe(
      fromTE(writeManifest(ctx.env.store, m)),
      chain((bytes) => emit({ type: 'checkpoint', seconds: ctx.env.clock.seconds() - t0, bytes })),
      mapValue((): RunState => ({ ...s, manifest: m })),
    );
  });

/** Store a network (with the current task's picks between stages). */
export const save = (ctx: RunCtx, s: NetState, picks: ReadonlyMap<string, PickMask> | undefined): Flow<SnapshotIndex> =>
  fromTE(saveNet(ctx.env.store, s, picks));

/** A stored network checked against the architecture, as a TaskEither; a fault in its index is a fault of the manifest. */
export const loadTE = (ctx: Pick<RunCtx, 'env' | 'base'>, idx: SnapshotIndex) =>
  pipe(
    loadNet(ctx.env.store, ctx.base, idx),
    TE.mapLeft((e: CpgError): CpgError => (e.tag === 'CheckpointError' && e.file === undefined ? { ...e, file: manifestName(ctx.env.store) } : e)),
  );

/** Load a stored network, checked against the architecture. */
export const load = (ctx: RunCtx, idx: SnapshotIndex) => fromTE(loadTE(ctx, idx));

/** The configured net built for inputs of `shape`, or why it does not fit them (`what` names the data in the message). */
export const architectureFor = (net: RunConfig['net'], shape: InputShape, what: string): E.Either<string, Graph> => {
  const base = buildArchitecture(net, shape);
  const specs = paramSpecs(base, 1);
  return E.isLeft(specs) ? E.left(`'${net}' does not fit ${what}'s ${shape.join('×')} inputs: ${specs.left.message}`) : E.right(base);
};

/** A training session's settings from the configuration. */
export const sessionOptionsOf = (c: RunConfig, pick: PickMode, scope: SessionOptions['scope'] = 'owners'): SessionOptions => ({
  pick,
  maskThreshold: c.maskThreshold,
  weightDecay: c.weightDecay,
  momentum: c.momentum,
  scope,
});

/** How a caller stops a run: it ends at its next step with its last checkpoint valid (AbortSignal fits); and the methods it knows. */
export interface RunOptions {
  readonly signal?: { readonly aborted: boolean };
  /** The methods a configuration may name; default: CPG and its baselines. */
  readonly methods?: MethodRegistry;
}

/** A run's context in this process. */
export const runCtxOf = (env: Env, config: RunConfig, m: Pick<RunManifest, 'inputShape' | 'elapsedSeconds'>, what: string, dataOf: (k: number) => Task | undefined, o: RunOptions, resumed: boolean) =>
  pipe(
    architectureFor(config.net, modelShape(m), what),
    E.mapLeft((why): CpgError => (resumed ? checkpointError(manifestName(env.store), `the run's config.net ${why}`) : configError('net', why))),
    E.bindTo('base'),
    E.bind('method', () => checkedMethod(o.methods)(config)),
    E.map(
      ({ base, method }): RunCtx => ({
        env,
        config,
        method,
        base,
        seed: config.seed,
        batchSize: config.batchSize,
        evalBatchSize: config.evalBatchSize,
        stopRequested: () => o.signal?.aborted === true,
        startedAt: env.clock.seconds(),
        elapsedBefore: m.elapsedSeconds,
        dataOf,
      }),
    ),
  );

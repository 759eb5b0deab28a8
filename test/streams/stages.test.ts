/**
 * A stage's epochs as a stream, on real tensors under the test environment:
 * each step waits for its tick (so the test drives the stage step by step),
 * the fake clock makes the epoch's rates exact, unsubscribing stops the stage
 * at the next step, and the running state a stage carries from epoch to
 * epoch (the retrain's best epoch) is the fold the mutable version computed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu'; // the backend these tests run on (the library registers it where it chooses one)
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { lastValueFrom, toArray } from 'rxjs';
import { claimAll } from '../../src/algebra/backbone.js';
import type { Task } from '../../src/algebra/task.js';
import type { BackendInfo } from '../../src/effects/backend.js';
import { type NetState, initNet, startTaskPrivates } from '../../src/effects/network.js';
import { memoryStore } from '../../src/effects/stores/memory.js';
import { type Session, openSession } from '../../src/effects/trainer.js';
import { architectureFor, sessionOptionsOf } from '../../src/cpg/context.js';
import type { RunEvent } from '../../src/cpg/events.js';
import type { Emit, Flow } from '../../src/cpg/flow.js';
import { type StageCtx, type StagePlan, runStage, runStageWith } from '../../src/cpg/stages/epochs.js';
import { bestEpoch } from '../../src/cpg/stages/retrain.js';
import { tinyConfig, tinyTask } from '../helpers/tinyTasks.js';
import { type FakeClock, type ManualTick, envFor, fakeClock, manualTick, settle } from '../helpers/testEnv.js';

const backend: BackendInfo = { name: 'cpu', threads: 1, simd: false, detail: 'tfjs cpu' };
const config = tinyConfig();

const right = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw new Error(JSON.stringify(e.left));
  return e.right;
};

/** A first task's session on a tiny MLP: every cell claimed, its head started. */
const sessionFor = (data: Task): Session => {
  const base = right(architectureFor('mlp', data.inputShape, 'the tiny task'));
  const net: NetState = right(
    pipe(
      initNet(base, config.seed, 'stage-test'),
      E.chain((fresh) => E.map((backbone: NetState['backbone']) => ({ ...fresh, backbone }))(claimAll(1)(fresh.backbone))),
      E.chain((claimed) => startTaskPrivates(claimed, 2, config.seed)),
    ),
  );
  return right(openSession(net, sessionOptionsOf(config, { kind: 'none' })));
};

const stageCtx = (clock: FakeClock, tick: ManualTick): StageCtx => ({
  env: envFor(memoryStore(), backend, clock, tick.tick),
  seed: config.seed,
  batchSize: 16,
  evalBatchSize: 64,
  stopRequested: () => false,
});

const plan = (epochs: number): StagePlan => ({ task: 1, name: 'a', kind: 'train', label: 'stage-test', epochs, lr: () => 0.1, lrMask: () => 0, multiplier: 1 });

/** Every emission of a flow, collected as it completes. */
const collect = <A>(f: Flow<A>): Promise<Array<Emit<A>>> => lastValueFrom(f.pipe(toArray()));

const epochsIn = (xs: ReadonlyArray<Emit<unknown>>): Array<Extract<RunEvent, { type: 'epoch-ended' }>> =>
  xs.flatMap((x) => (x._tag === 'event' && x.event.type === 'epoch-ended' ? [x.event] : []));

test('a stage under the test environment: one tick per step, in turn; the fake clock gives the epoch its exact rate and the stage its exact ETA', { timeout: 60_000 }, async () => {
  const data = tinyTask('a', 1); // 64 training images: 4 steps of 16 per epoch
  const session = sessionFor(data);
  const clock = fakeClock(100);
  const tick = manualTick();
  const all = collect(runStage(stageCtx(clock, tick), session, data, plan(2)));
  await settle();
  for (let step = 1; step <= 8; step++) {
    assert.equal(tick.waiting(), 1, `step ${step} waits for its tick`);
    assert.equal(tick.asked(), step, 'no step asks before the one before it ended');
    clock.advance(0.5); // every step takes half a second on the fake clock
    await tick.release();
  }
  const out = await all;
  session.dispose();
  const epochs = epochsIn(out);
  assert.deepEqual(
    epochs.map((e) => [e.epoch, e.samplesPerSec, e.stageEtaSeconds]),
    [
      [1, 64 / (4 * 0.5), 4 * 0.5],
      [2, 64 / (4 * 0.5), 0],
    ],
  );
  const last = out[out.length - 1];
  assert.ok(last?._tag === 'done' && last.value.epochsRun === 2 && last.value.valAcc === epochs[1]!.valAcc, JSON.stringify(last));
});

test('a stage unsubscribed between two steps asks for no further tick and runs no further step', { timeout: 60_000 }, async () => {
  const data = tinyTask('a', 1);
  const session = sessionFor(data);
  const tick = manualTick();
  const seen: Array<Emit<unknown>> = [];
  const sub = runStage(stageCtx(fakeClock(), tick), session, data, plan(3)).subscribe({ next: (x) => seen.push(x) });
  await settle();
  await tick.release(3);
  assert.equal(tick.asked(), 4, 'three steps ran, the fourth waits');
  sub.unsubscribe();
  await tick.release(5);
  assert.equal(tick.asked(), 4);
  assert.deepEqual(epochsIn(seen), [], 'the first epoch never ended');
  session.dispose();
});

test("the retrain's best epoch, carried as a fold from epoch to epoch, is what the mutable version kept: best, best seen, patience", { timeout: 120_000 }, async () => {
  const data = tinyTask('b', 2);
  for (const [chosen, patience] of [
    [0, 1],
    [0.9, 2],
    [2, 1],
  ] as const) {
    const session = sessionFor(data);
    const tick = manualTick();
    const ctx = stageCtx(fakeClock(), tick);
    const out = await tick.releaseUntil(collect(runStageWith(ctx, session, data, plan(6), bestEpoch(session, chosen, patience))));
    session.dispose();
    // The version this replaces: four lets updated after each epoch.
    let best: number = chosen;
    let bestSeen = 0;
    let kept: number | undefined;
    let stale = 0;
    let ran = 0;
    for (const e of epochsIn(out)) {
      ran += 1;
      bestSeen = Math.max(bestSeen, e.valAcc);
      if (e.valAcc > best) {
        best = e.valAcc;
        stale = 0;
        kept = e.epoch;
      } else stale += 1;
      if (stale >= patience) break;
    }
    const last = out[out.length - 1];
    assert.ok(last?._tag === 'done', 'the stage completed');
    const { result, state } = last.value;
    assert.equal(ran, epochsIn(out).length, 'the stage stopped where patience ran out');
    assert.equal(result.epochsRun, ran);
    assert.deepEqual([state.best, state.seen, state.kept !== undefined, state.stale], [best, bestSeen, kept !== undefined, stale], `chosen ${chosen}, patience ${patience}`);
  }
});

/**
 * The 'cpg' training step the benchmarks time: the library's own masked
 * session for a later task (task 3 of a network where tasks 1 and 2 own
 * weights), with the pick mask training under Adam — the costliest case,
 * not task 1.
 */
import * as E from 'fp-ts/lib/Either.js';
import { type ArchitectureName, buildArchitecture } from '../src/algebra/architectures.js';
import { claimAll, finishTask } from '../src/algebra/backbone.js';
import { type NetState, initNet, startTaskPrivates } from '../src/effects/network.js';
import { type Session, openSession } from '../src/effects/trainer.js';
import { rngFor } from '../src/effects/random.js';
import type { BenchNet, MakeStep } from './harness.js';

const right = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw new Error(JSON.stringify(e.left));
  return e.right;
};

/** The nets the step benchmarks compare, with the image shape each takes. */
export const stepNets: Readonly<Record<BenchNet, { readonly arch: ArchitectureName; readonly input: readonly [number, number, number] }>> = {
  mlp: { arch: 'mlp', input: [28, 28, 1] },
  lenet: { arch: 'lenet', input: [28, 28, 1] },
  'vgg-small': { arch: 'vgg-small', input: [32, 32, 3] },
};

const options = (pick: Parameters<typeof openSession>[1]['pick']) =>
  ({ pick, maskThreshold: 0.005, weightDecay: 4e-5, momentum: 0.9, scope: 'owners' }) as const;

/** Learn (without data: just claim and compact) tasks 1..n-1, so task n sees owner maps of several tasks. */
const withOlderTasks = async (s0: NetState, older: number, classes: number): Promise<NetState> => {
  let s = s0;
  for (let k = 1; k <= older; k++) {
    s = { ...s, backbone: right(claimAll(k)(s.backbone)) };
    s = right(startTaskPrivates(s, classes, 1));
    const session = right(openSession(s, options(k === 1 ? { kind: 'none' } : { kind: 'all' })));
    right(await session.prune(0.5)());
    const picks = right(await session.picks()());
    s = right(await session.export()());
    session.dispose();
    s = { ...s, backbone: right(finishTask({ name: `task${k}`, classes, picks })(s.backbone)) };
  }
  s = { ...s, backbone: right(claimAll(older + 1)(s.backbone)) };
  return right(startTaskPrivates(s, classes, 1));
};

/** The 'cpg' step for `net` at `batch`: task 3 picking with Adam (the session lives as long as the process). */
export const makeCpgStep: MakeStep = async (net, batch) => {
  const spec = stepNets[net];
  const graph = buildArchitecture(spec.arch, spec.input);
  const classes = 10;
  const state = await withOlderTasks(right(initNet(graph, 1)), 2, classes);
  const session: Session = right(openSession(state, options({ kind: 'train', init: 0.01 })));
  const rng = rngFor(1, `bench/${net}`);
  const pixels = spec.input[0] * spec.input[1] * spec.input[2];
  const x = new Float32Array(batch * pixels).map(() => rng.normal());
  const y = new Int32Array(batch).map(() => rng.int(classes));
  return async () => {
    right(await session.step(x, y, batch, 0.01, 5e-4)());
  };
};

/**
 * `npm run bench:step`: milliseconds per training step at batch 64 for the
 * MLP, LeNet and VGG-small, printed as one JSON line per (net, mode, variant,
 * backend, threads).
 *
 * Variants: 'cpg-kernels' (wasm with our training kernels, at each thread
 * count) and 'naive' (tfjs's stock wasm kernels, single-threaded as tfjs runs
 * them in Node; conv nets are 'unsupported' there: no Conv2DBackpropFilter).
 * The wasm thread count is fixed when its module loads, so each (variant,
 * threads) runs in a child process of its own.
 *
 * Flags: --quick (fewer steps), --nets=mlp,lenet,vgg-small, --threads=1,2,
 * --variants=cpg-kernels,naive, --batch=64, --backend=wasm|cpu|tensorflow|auto.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { describeError } from '../src/algebra/errors.js';
import { coreCount, selectBackend, type BackendName } from '../src/node/backend.js';
import { uninstallWasmKernels } from '../src/effects/kernels/index.js';
import { benchNets, flag, list, timeStep, type BenchNet, type MakeStep, type StepFigure, type TimingPlan } from './harness.js';
import { makePlainStep } from './plain.js';
import { makeCpgStep } from './cpgStep.js';

/**
 * The modes: 'plain' is an ordinary unmasked step in raw tfjs ops; 'cpg' is
 * the library's session for task 3 (owner maps of several tasks, the pick
 * mask training with Adam), the costliest case.
 */
const modes: Record<string, MakeStep> = { plain: makePlainStep, cpg: makeCpgStep };

const quick = flag('quick') !== undefined;
const batch = Number(flag('batch') ?? 64);

/** Steps per net: the slow nets get fewer. */
const plans: Record<BenchNet, TimingPlan> = quick
  ? { mlp: { warmup: 3, timed: 5 }, lenet: { warmup: 2, timed: 3 }, 'vgg-small': { warmup: 1, timed: 2 } }
  : { mlp: { warmup: 10, timed: 30 }, lenet: { warmup: 3, timed: 10 }, 'vgg-small': { warmup: 2, timed: 5 } };

/** One configuration in this process: load the backend, time every net, print a line each. */
const runChild = async (): Promise<void> => {
  const variant = flag('variant') ?? 'cpg-kernels';
  const threads = Number(flag('threads') ?? 1);
  const prefer = (flag('backend') ?? 'wasm') as 'auto' | BackendName;
  const loaded = await selectBackend({ prefer, threads })();
  if (E.isLeft(loaded)) {
    console.log(JSON.stringify({ variant, threads, status: 'unsupported', error: describeError(loaded.left) }));
    return;
  }
  if (variant === 'naive') uninstallWasmKernels();
  const info = loaded.right;
  for (const net of list('nets', benchNets) as BenchNet[]) {
    const figs = new Map<string, StepFigure>();
    for (const mode of list('modes', Object.keys(modes))) {
      const make = modes[mode];
      if (make === undefined) throw new Error(`unknown mode '${mode}'`);
      const fig = await timeStep(make, net, batch, plans[net], { mode, variant, backend: info.name, threads: info.threads });
      figs.set(mode, fig);
      console.log(JSON.stringify(fig));
    }
    // The price of masking and picking, measured in this process against the plain step.
    const plain = figs.get('plain');
    const cpg = figs.get('cpg');
    if (plain?.msPerStep !== undefined && cpg?.msPerStep !== undefined)
      console.log(
        JSON.stringify({
          net,
          ratio: 'cpg/plain',
          variant,
          backend: info.name,
          threads: info.threads,
          batch,
          wall: Number((cpg.msPerStep / plain.msPerStep).toFixed(3)),
          ...(plain.cpuMsPerStep !== undefined && cpg.cpuMsPerStep !== undefined ? { cpu: Number((cpg.cpuMsPerStep / plain.cpuMsPerStep).toFixed(3)) } : {}),
        }),
      );
  }
};

/** Spawns one child per (variant, threads) and passes its lines through. */
const runParent = async (): Promise<void> => {
  const self = fileURLToPath(import.meta.url);
  const passOn = process.argv.slice(2).filter((a) => !/^--(variants|threads)(=|$)/.test(a));
  const threadCounts = list('threads', coreCount() > 1 ? ['1', '2'] : ['1']);
  const runs: [string, string][] = [];
  for (const variant of list('variants', ['cpg-kernels', 'naive'])) {
    for (const t of variant === 'naive' ? ['1'] : threadCounts) runs.push([variant, t]);
  }
  for (const [variant, threads] of runs) {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [self, '--child', `--variant=${variant}`, `--threads=${threads}`, ...passOn], { stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench child (${variant}, ${threads} threads) exited with ${code}`))));
    });
  }
};

await (flag('child') !== undefined ? runChild() : runParent());

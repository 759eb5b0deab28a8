/**
 * Where a training step's time goes, kernel by kernel: runs the step
 * benchmark's plain (or cpg) step on one net with tfjs's profiler and prints
 * each kernel's share of the wall time. A diagnostic for the leaner-step work,
 * not a benchmark: profiling adds a read-back per kernel.
 *
 *   npm run build && node dist/tools/profileStep.js [--net lenet] [--mode plain|cpg] [--threads 1] [--steps 5]
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/lib/Either.js';
import { describeError } from '../src/algebra/errors.js';
import { selectBackend } from '../src/node/backend.js';
import { makePlainStep } from '../bench/plain.js';
import { makeCpgStep } from '../bench/cpgStep.js';
import type { BenchNet } from '../bench/harness.js';

const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
};

const main = async (): Promise<void> => {
  const net = (flag('net') ?? 'lenet') as BenchNet;
  const mode = flag('mode') ?? 'plain';
  const threads = Number(flag('threads') ?? 1);
  const steps = Number(flag('steps') ?? 5);
  const loaded = await selectBackend({ prefer: 'wasm', threads })();
  if (E.isLeft(loaded)) throw new Error(describeError(loaded.left));
  const step = await (mode === 'cpg' ? makeCpgStep : makePlainStep)(net, 64);
  await step();
  await step(); // warm-up: kernels compiled, buffers allocated
  const byKernel = new Map<string, { ms: number; calls: number }>();
  let wall = 0;
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    const info = await tf.profile(() => step());
    wall += performance.now() - t0;
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const key = `${k.name} ${k.inputShapes.map((sh) => `[${(sh ?? []).join('×')}]`).join(' ')}`;
      const e = byKernel.get(key) ?? { ms: 0, calls: 0 };
      byKernel.set(key, { ms: e.ms + ms, calls: e.calls + 1 });
    }
  }
  const total = [...byKernel.values()].reduce((a, b) => a + b.ms, 0);
  console.log(`${net} ${mode}, ${threads} thread(s), batch 64: ${(wall / steps).toFixed(1)} ms a step with the profiler, kernels ${(total / steps).toFixed(1)} ms`);
  for (const [k, v] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15))
    console.log(`${((100 * v.ms) / total).toFixed(1).padStart(5)} %  ${(v.ms / steps).toFixed(2).padStart(8)} ms  ${k}`);
};

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});

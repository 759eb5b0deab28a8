/**
 * `npm run check:gpu`: one short check for a machine with a GPU (CI does not
 * run it).
 *
 * 1. Lists the Vulkan devices (`vulkaninfo --summary`, from Debian's
 *    vulkan-tools) and the Vulkan drivers installed.
 * 2. Loads tfjs's webgpu backend on Dawn and prints the adapter.
 * 3. Times a LeNet and a VGG-small training step (cpg's masked session,
 *    batch 64, as `npm run bench:step` builds it) on webgpu and on wasm.
 * 4. Checks the gradients of a small CNN, one masked CPG step and one
 *    finished task's logits on webgpu against the cpu backend.
 *
 * Exit codes: 0 when a webgpu step ran on a hardware adapter and matched the
 * cpu backend; 3 when there is no adapter, or only a software one (the
 * figures are still printed, and say so); 1 when webgpu ran but disagreed
 * with the cpu backend.
 *
 * Flags: --nets=lenet,vgg-small (which nets to time; on a software adapter
 * only LeNet unless named: a VGG-small step on llvmpipe takes many minutes),
 * --steps=N (timed steps per net after one warm-up; default 3, 1 on a
 * software adapter).
 */
import { spawnSync } from 'node:child_process';
import * as E from 'fp-ts/lib/Either.js';
import { describeError } from '../src/algebra/errors.js';
import { releaseWebgpu, selectBackend } from '../src/node/backend.js';
import { vulkanDrivers } from '../src/node/webgpu.js';
import { flag, list, timeStep, type BenchNet, type StepFigure } from '../bench/harness.js';
import { makeCpgStep } from '../bench/cpgStep.js';
import { batchOf, cellsOf, cnnGradients, difference, maskedStep, stateForStep, taskLogits, useBackend } from './gpuChecks.js';

/** Relative tolerance against the cpu backend (see test/effects/webgpu.test.ts for what was measured). */
const TOL = 1e-4;

const say = (line: string): void => console.log(line);

const vulkanDevices = (): void => {
  const drivers = vulkanDrivers();
  say(`Vulkan drivers (ICD manifests): ${drivers.length === 0 ? 'none installed' : drivers.join(', ')}`);
  const r = spawnSync('vulkaninfo', ['--summary'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error !== undefined) {
    say(`vulkaninfo is not installed (Debian: apt-get install vulkan-tools), so the Vulkan devices are not listed`);
    return;
  }
  const devices = (r.stdout ?? '').split('\n').filter((l) => /deviceName|deviceType|driverName|apiVersion/.test(l));
  say(`vulkaninfo --summary (exit ${r.status}):${devices.length === 0 ? ` no device listed${r.stderr ? `; ${r.stderr.split('\n')[0]}` : ''}` : ''}`);
  for (const l of devices) say(`  ${l.trim()}`);
};

const ms = (f: StepFigure): string => (f.status === 'ok' ? `${f.msPerStep} ms/step (${f.samplesPerSec} samples/s; steps ${f.stepsMs?.join(', ')} ms)` : `unsupported: ${f.error}`);

const main = async (): Promise<number> => {
  vulkanDevices();
  const loaded = await selectBackend({ prefer: 'webgpu' })();
  if (E.isLeft(loaded)) {
    say(`no webgpu adapter: ${describeError(loaded.left)}`);
    return 3;
  }
  const info = loaded.right;
  const software = info.adapter?.software !== false;
  say(`adapter: ${info.adapter?.name ?? '?'} — ${info.adapter?.description ?? ''} via ${info.adapter?.api ?? '?'}${software ? ' — a SOFTWARE adapter (the CPU): the webgpu figures below are not a GPU\'s' : ' — hardware'}`);

  // Step times, webgpu then wasm (each backend's tensors are its own).
  const nets = list('nets', software ? ['lenet'] : ['lenet', 'vgg-small']) as BenchNet[];
  if (software && flag('nets') === undefined) say('vgg-small is not timed on a software adapter (many minutes a step); --nets=lenet,vgg-small times it anyway');
  const timed = Number(flag('steps') ?? (software ? 1 : 3));
  const figures = new Map<string, StepFigure>();
  for (const backend of ['webgpu', 'wasm'] as const) {
    const b = await selectBackend({ prefer: backend })();
    if (E.isLeft(b)) {
      say(`${backend}: ${describeError(b.left)}`);
      continue;
    }
    for (const net of nets) {
      const fig = await timeStep(makeCpgStep, net, 64, { warmup: 1, timed }, { mode: 'cpg', variant: 'cpg-kernels', backend, threads: b.right.threads });
      figures.set(`${backend}/${net}`, fig);
      say(`${net} cpg step, batch 64, on ${backend}${backend === 'wasm' ? ` (${b.right.threads} threads)` : ''}: ${ms(fig)}`);
    }
  }
  for (const net of nets) {
    const g = figures.get(`webgpu/${net}`);
    const w = figures.get(`wasm/${net}`);
    if (g?.msPerStep !== undefined && w?.msPerStep !== undefined) say(`${net}: webgpu takes ${(g.msPerStep / w.msPerStep).toFixed(2)}× wasm's time per step`);
  }
  const ran = nets.some((n) => figures.get(`webgpu/${n}`)?.status === 'ok');

  // Against the cpu backend.
  const problems: string[] = [];
  await useBackend('webgpu');
  const gGpu = await cnnGradients();
  await useBackend('cpu');
  const gCpu = await cnnGradients();
  for (const [name, v] of gCpu) {
    const d = difference(gGpu.get(name)!, v);
    say(`gradient ${name}: relative difference ${d.relative.toExponential(2)}`);
    if (!(d.relative <= TOL)) problems.push(`gradient ${name} differs by ${d.relative.toExponential(2)}`);
  }
  const s = await stateForStep();
  const cpu = await maskedStep(s);
  await useBackend('webgpu');
  const gpu = await maskedStep(s);
  for (const [name, before] of s.sharable) {
    const after = gpu.state.sharable.get(name)!;
    if (!cellsOf(s, name, 1).every((i) => Object.is(after[i], before[i]))) problems.push(`a frozen cell of ${name} changed`);
    const own = cellsOf(s, name, 2);
    const d = difference(Float32Array.from(own, (i) => after[i]!), Float32Array.from(own, (i) => cpu.state.sharable.get(name)![i]!));
    if (!(d.relative <= TOL)) problems.push(`task 2's ${name} after a step differs by ${d.relative.toExponential(2)}`);
  }
  const probe = batchOf(9, 'probe', 20);
  const lGpu = await taskLogits(gpu.state, 1, probe.x, probe.count);
  await useBackend('cpu');
  const lCpu = await taskLogits(cpu.state, 1, probe.x, probe.count);
  const dl = difference(lGpu, lCpu);
  say(`task 1's logits after a masked step of task 2: relative difference ${dl.relative.toExponential(2)} (max |Δ| ${dl.maxAbs.toExponential(2)}); frozen cells ${problems.some((p) => p.startsWith('a frozen')) ? 'CHANGED' : 'bit-equal'}`);
  if (!(dl.relative <= TOL)) problems.push(`task 1's logits differ by ${dl.relative.toExponential(2)}`);
  releaseWebgpu();

  if (problems.length > 0) {
    say(`FAILED: webgpu disagrees with the cpu backend: ${problems.join('; ')}`);
    return 1;
  }
  if (!ran) {
    say('FAILED: no webgpu training step ran');
    return 1;
  }
  if (software) {
    say(`exit 3: only a software adapter (${info.adapter?.name ?? '?'}) is here, no GPU; webgpu ran and matched the cpu backend on it`);
    return 3;
  }
  say(`ok: webgpu ran on ${info.adapter?.name ?? '?'} (hardware) and matched the cpu backend`);
  return 0;
};

process.exitCode = await main();

/**
 * tfjs's webgpu backend on Dawn against the cpu backend: a small CNN's
 * gradients, one masked CPG training step (frozen cells bit for bit), and a
 * finished task's logits. Here (no GPU) it runs on Dawn's OpenGL ES backend
 * over Mesa's llvmpipe, a software adapter; where Dawn finds no adapter at
 * all, or the optional packages are not installed, it skips and says why.
 * Tensors on the device become tasks through taskFromArraysAsync (the
 * synchronous taskFromArrays refuses them in one line).
 * Also: 'auto' never loads Dawn on a machine without a hardware GPU driver,
 * and `cpg run --backend webgpu` learns two tasks end to end with drift 0,
 * whose model `cpg predict --backend webgpu` uses as wasm does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import * as tf from '@tensorflow/tfjs-core';
import { describeError } from '../../src/algebra/errors.js';
import { taskFromArrays, taskFromArraysAsync } from '../../src/effects/sources/memory.js';
import { gpuDevices, hardwareVulkanDriver, isSoftwareAdapter, releaseWebgpu, selectBackend } from '../../src/node/backend.js';
import { vulkanDrivers } from '../../src/node/webgpu.js';
import { systemPackage } from '../helpers/systemPackage.js';
import { writeDigitFolders } from '../helpers/digitFolders.js';
import { batchOf, cellsOf, cnnGradients, difference, maskedStep, stateForStep, taskLogits, useBackend } from '../../tools/gpuChecks.js';

/**
 * Tolerances, relative to the largest magnitude compared. Measured here
 * (llvmpipe, OpenGL ES): gradients ≤ 8.5e-7, weights after the step ≤ 1.1e-6,
 * logits ≤ 2.4e-7; float32 reductions in another order, so 1e-4 leaves a
 * margin of about 100 for other adapters.
 */
const TOL = 1e-4;

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/node/cli/main.js');

/** Without a GPU, Dawn's OpenGL ES backend needs Mesa's EGL and its llvmpipe driver: installed when missing, so the comparison never skips for want of them. */
const mesaEgl = (): void => {
  const lib = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  systemPackage(['libegl1', 'libegl-mesa0'], [`${lib}/libEGL_mesa.so.0`], "webgpu's software adapter needs Mesa's EGL");
  systemPackage(['libgl1-mesa-dri'], [`${lib}/dri/swrast_dri.so`], "webgpu's software adapter needs Mesa's llvmpipe driver");
};

test('software adapters are told apart from GPUs by the fallback flag or the driver name', () => {
  assert.equal(isSoftwareAdapter({ name: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6', fallback: false }), true);
  assert.equal(isSoftwareAdapter({ name: 'llvmpipe (LLVM 15.0.6, 256 bits)', description: 'Mesa 22.3.6 (lavapipe)', fallback: false }), true);
  assert.equal(isSoftwareAdapter({ name: 'SwiftShader Device (Subzero)', description: '', fallback: false }), true);
  assert.equal(isSoftwareAdapter({ name: 'some GPU', description: '', fallback: true }), true);
  assert.equal(isSoftwareAdapter({ name: 'NVIDIA GeForce RTX 4090', description: 'NVIDIA: 550.54.14', fallback: false }), false);
  // Drivers named by the loader's variables; lavapipe's manifest is not hardware.
  assert.equal(hardwareVulkanDriver({ VK_ICD_FILENAMES: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json' }), undefined);
  assert.equal(hardwareVulkanDriver({ VK_DRIVER_FILES: '/etc/vulkan/icd.d/nvidia_icd.json' }), '/etc/vulkan/icd.d/nvidia_icd.json');
  // A manifest is not a GPU (Mesa installs Intel's and AMD's anywhere): a device node must exist too.
  const dev: Record<string, readonly string[]> = { '/dev/dri': ['card0', 'renderD128'], '/dev': ['null', 'nvidiactl', 'nvidia0', 'nvidia-uvm', 'dri'] };
  assert.deepEqual(gpuDevices((d) => dev[d] ?? []), ['/dev/dri/renderD128', '/dev/nvidia0']);
  assert.deepEqual(gpuDevices((d) => (d === '/dev' ? ['dxg', 'tty'] : [])), ['/dev/dxg']);
  assert.deepEqual(gpuDevices(() => ['card0', 'null', 'nvidiactl']), []);
});

test("auto does not load Dawn without a hardware GPU driver, and never settles on a software adapter", async (t) => {
  if (hardwareVulkanDriver() !== undefined && gpuDevices().length > 0) {
    t.skip(`a hardware Vulkan driver (${hardwareVulkanDriver()}) and a GPU (${gpuDevices().join(', ')}) are here: auto may rightly choose webgpu`);
    return;
  }
  const t0 = performance.now();
  const r = await selectBackend({ prefer: 'auto' })();
  const ms = performance.now() - t0;
  assert.ok(E.isRight(r), E.isLeft(r) ? describeError(r.left) : '');
  assert.notEqual(r.right.name, 'webgpu');
  assert.equal((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu, undefined, 'auto set up no navigator.gpu (Dawn was not loaded)');
  t.diagnostic(`auto chose ${r.right.name} in ${ms.toFixed(0)} ms; Vulkan drivers here: ${vulkanDrivers().join(', ') || 'none'}`);
});

test('webgpu matches the cpu backend: CNN gradients, one masked CPG step (frozen cells bit-equal), a task\'s logits; device tensors become tasks through taskFromArraysAsync', async (t) => {
  mesaEgl();
  const loaded = await selectBackend({ prefer: 'webgpu' })();
  if (E.isLeft(loaded)) {
    const why = describeError(loaded.left);
    // Only a missing adapter or package is a reason to skip; any other failure to load is a failure.
    assert.match(why, /found no adapter|is not installed/, why);
    t.skip(`webgpu is not available here: ${why}`);
    return;
  }
  t.diagnostic(`webgpu: ${loaded.right.detail}`);
  try {
    // Gradients.
    const onGpu = await cnnGradients();
    await useBackend('cpu');
    const onCpu = await cnnGradients();
    for (const [name, g] of onCpu) {
      const d = difference(onGpu.get(name)!, g);
      t.diagnostic(`gradient ${name}: max |Δ| ${d.maxAbs.toExponential(2)}, relative ${d.relative.toExponential(2)}`);
      assert.ok(d.relative <= TOL, `gradient of ${name}: relative difference ${d.relative} > ${TOL}`);
    }

    // One masked CPG step from the same state (made on cpu, uploaded to each backend).
    const s = await stateForStep();
    const cpu = await maskedStep(s);
    await useBackend('webgpu');
    const gpu = await maskedStep(s);
    assert.ok(Math.abs(gpu.loss - cpu.loss) <= TOL * Math.abs(cpu.loss), `loss ${gpu.loss} vs ${cpu.loss}`);
    for (const [name, before] of s.sharable) {
      const after = gpu.state.sharable.get(name)!;
      const frozen = cellsOf(s, name, 1);
      assert.ok(frozen.length > 0, `task 1 owns cells of ${name}`);
      for (const i of frozen) assert.ok(Object.is(after[i], before[i]), `${name}[${i}], task 1's, changed on webgpu: ${after[i]} vs ${before[i]}`);
      const own = cellsOf(s, name, 2);
      const d = difference(Float32Array.from(own, (i) => after[i]!), Float32Array.from(own, (i) => cpu.state.sharable.get(name)![i]!));
      t.diagnostic(`task 2's ${name} after the step: max |Δ| ${d.maxAbs.toExponential(2)}, relative ${d.relative.toExponential(2)}`);
      assert.ok(d.relative <= TOL, `task 2's ${name}: relative difference ${d.relative} > ${TOL}`);
      // The step moved task 2's weights at all (else the comparison proves nothing).
      assert.ok(own.some((i) => after[i] !== before[i]), `task 2's ${name} moved`);
      assert.deepEqual(gpu.picks.get(name), cpu.picks.get(name), `the binary pick of ${name}`);
    }
    for (const [name, v] of cpu.state.privates.get(2)!.values) {
      const d = difference(gpu.state.privates.get(2)!.values.get(name)!, v);
      assert.ok(d.relative <= TOL, `task 2's private ${name}: relative difference ${d.relative} > ${TOL}`);
    }
    for (const [name, v] of s.privates.get(1)!.values) assert.deepEqual(gpu.state.privates.get(1)!.values.get(name), v, `task 1's private ${name} untouched`);

    // Task 1's logits, from the network after task 2's step.
    const probe = batchOf(9, 'probe', 20);
    const lg = await taskLogits(gpu.state, 1, probe.x, probe.count);
    await useBackend('cpu');
    const lc = await taskLogits(cpu.state, 1, probe.x, probe.count);
    const d = difference(lg, lc);
    t.diagnostic(`task 1's logits: max |Δ| ${d.maxAbs.toExponential(2)}, relative ${d.relative.toExponential(2)}`);
    assert.ok(d.relative <= TOL, `task 1's logits: relative difference ${d.relative} > ${TOL}`);

    // Tensors held on the device (webgpu loads once a process, hence here): taskFromArrays refuses them in one line naming its async twin, which reads them.
    await useBackend('webgpu');
    const n = 20;
    const values = Float32Array.from({ length: n * 28 * 28 }, (_, i) => (i % 97) / 97);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
    // Computed on the device (large enough that tfjs does not hand it to the CPU): Node cannot read it synchronously.
    const onDevice = (): tf.Tensor => tf.mul(tf.tensor4d(values, [n, 28, 28, 1]), tf.scalar(1));
    const input = (x: tf.Tensor) => ({ name: 'gpu', classNames: ['a', 'b'], inputShape: [28, 28, 1] as const, train: { x, y: tf.tensor1d(labels, 'int32') }, val: { x: values, y: labels } });
    const refused = taskFromArrays(input(onDevice()));
    assert.ok(E.isLeft(refused), 'a device tensor was read synchronously');
    assert.match(describeError(refused.left), /train\.x.*'webgpu' backend cannot read synchronously.*use taskFromArraysAsync/);
    assert.doesNotMatch(describeError(refused.left), /\n/);
    const read = await taskFromArraysAsync(input(onDevice()))();
    assert.ok(E.isRight(read), E.isLeft(read) ? describeError(read.left) : '');
    assert.deepEqual(read.right.train.x, values);
    assert.deepEqual(read.right.train.y, labels);
  } finally {
    await useBackend('cpu');
    releaseWebgpu();
  }
});

test('cpg run --backend webgpu: two split-MNIST tasks learned end to end, drift 0, the adapter in run.json and the report; cpg predict on webgpu', { timeout: 240_000 }, async (t) => {
  mesaEgl();
  const work = mkdtempSync(path.join(tmpdir(), 'cpg-webgpu-'));
  const out = path.join(work, 'run');
  const goals = path.join(work, 'goals.json');
  writeFileSync(goals, JSON.stringify({ 'digits-0-1': 0.9, 'digits-2-3': 0.9 }));
  const r = spawnSync(
    process.execPath,
    [cli, 'run', '--benchmark', 'split-mnist', '--tasks', '2', '--limit-per-task', '100', '--goals', goals, '--train-epochs', '1', '--prune-epochs', '1', '--retrain-epochs', '1', '--backend', 'webgpu', '--out', out],
    { encoding: 'utf8', env: { ...process.env, CPG_BACKEND: '' } },
  );
  const err = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('Warning: max')).join('\n');
  if (r.status !== 0 && /found no adapter|is not installed/.test(err)) {
    t.skip(`webgpu is not available here: ${err}`);
    return;
  }
  assert.equal(r.status, 0, `${r.stdout}\n${err}`);
  const manifest = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as { backend: string; device?: string };
  const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as { backend: string; device?: string; maxLogitDrift: number; tasks: unknown[] };
  assert.equal(manifest.backend, 'webgpu');
  assert.equal(report.backend, 'webgpu');
  assert.ok(report.device !== undefined && report.device === manifest.device, `the adapter is recorded: ${report.device}`);
  assert.equal(report.tasks.length, 2);
  assert.equal(report.maxLogitDrift, 0);
  assert.match(r.stdout, /max logit drift 0/);
  t.diagnostic(`ran on ${report.device}`);
  // cpg predict on webgpu (read back asynchronously) labels new digits as on wasm, with the same confidences.
  const pngs = await writeDigitFolders(path.join(work, 'digits'), { zero: 0, one: 1 }, 4, 900);
  const predict = (backend: string) => {
    const p = spawnSync(process.execPath, [cli, 'predict', out, '--task', 'digits-0-1', pngs, '--json', '--backend', backend], { encoding: 'utf8', env: { ...process.env, CPG_BACKEND: '' } });
    assert.equal(p.status, 0, `cpg predict --backend ${backend}: ${p.stderr}`);
    return p.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; label: string; confidence: number });
  };
  const [onGpu, onWasm] = [predict('webgpu'), predict('wasm')];
  assert.equal(onGpu.length, 8);
  assert.deepEqual(onGpu.map((l) => [l.file, l.label]), onWasm.map((l) => [l.file, l.label]));
  for (const [i, l] of onGpu.entries()) assert.ok(Math.abs(l.confidence - onWasm[i]!.confidence) <= TOL, `${l.file}: ${l.confidence} on webgpu, ${onWasm[i]!.confidence} on wasm`);
});

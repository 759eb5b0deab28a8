/**
 * Using what was learned: a model learned with `cpg learn` from real digits
 * in PNG folders with explicit train/, val/ and test/ splits. `cpg predict`
 * on the test PNGs gets exactly as many right as `cpg eval` reports; the
 * library's model reproduces the recorded probe logits bit for bit and sees
 * the images exactly as training did; `cpg export` writes models that give
 * the same labels in tfjs; bad input is refused (exit 2, one line, nothing
 * printed, nothing written).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import type { RunManifest } from '../../src/algebra/manifest.js';
import { rank } from '../../src/cpg/predict.js';
import { openModel } from '../../src/node/defaults.js';
import { selectBackend } from '../../src/node/backend.js';
import { decodeImage } from '../../src/effects/images/decode.js';
import { toInput } from '../../src/effects/images/resize.js';
import { readManifest } from '../../src/effects/checkpoint.js';
import { readImageFolder } from '../../src/node/sources/folder.js';
import { fsStore } from '../../src/node/stores/fs.js';
import { bytesFloat32 } from '../../src/effects/store.js';
import { writeDigitFolders } from '../helpers/digitFolders.js';

process.env['CPG_BACKEND'] ??= 'wasm';
const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/node/cli/main.js');
const env = { ...process.env, CPG_BACKEND: process.env['CPG_BACKEND'] ?? 'wasm' };
const work = mkdtempSync(path.join(tmpdir(), 'cpg-predict-'));
const run = path.join(work, 'run');
const data = (task: string) => path.join(work, task);
// One training epoch on few images: some test digits are wrong, so agreement with eval is not trivial.
const quick = ['--train-epochs', '1', '--prune-epochs', '1', '--prune-ramp-epochs', '1', '--sparsities', '0.5', '--retrain-epochs', '1', '--goal', 'none', '--seed', '3', '--threads', '1'];

const cpg = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 170_000 });

const writeSplits = async (task: string, classes: Readonly<Record<string, number>>) => {
  await writeDigitFolders(path.join(data(task), 'train'), classes, 12, 0);
  await writeDigitFolders(path.join(data(task), 'val'), classes, 10, 12);
  await writeDigitFolders(path.join(data(task), 'test'), classes, 30, 22);
};

before(async () => {
  await writeSplits('three-five', { three: 3, five: 5 });
  await writeSplits('four-nine', { four: 4, nine: 9 });
  for (const task of ['three-five', 'four-nine']) {
    const r = cpg('learn', run, '--task', task, '--data', data(task), ...quick);
    assert.equal(r.status, 0, `cpg learn ${task}:\n${r.stdout}\n${r.stderr}`);
  }
});

interface Line {
  readonly task?: string;
  readonly file: string;
  readonly label: string;
  readonly index: number;
  readonly confidence: number;
  readonly top: { label: string; confidence: number }[];
}
const lines = (stdout: string): Line[] => stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);

test('cpg predict on a task\'s test PNGs gets as many right as cpg eval reports for its test split', { timeout: 120_000 }, () => {
  for (const task of ['three-five', 'four-nine']) {
    const ev = cpg('eval', run, '--task', task);
    assert.equal(ev.status, 0, ev.stderr);
    const row = ev.stdout.split('\n').find((l) => l.startsWith(task))!;
    const testAcc = Number(/([\d.]+)%/.exec(row)![1]) / 100;
    const p = cpg('predict', run, '--task', task, path.join(data(task), 'test'), '--json');
    assert.equal(p.status, 0, p.stderr);
    assert.equal(p.stderr, '');
    const out = lines(p.stdout);
    assert.equal(out.length, 60, 'every test image, once');
    const files = out.map((l) => l.file);
    assert.deepEqual(files, [...files].sort(), 'in sorted order');
    const right = out.filter((l) => l.label === path.basename(path.dirname(l.file))).length;
    assert.equal(right, Math.round(testAcc * 60), `${task}: predict got ${right}/60, eval reports ${testAcc}`);
    assert.ok(right < 60 || task === 'three-five', 'the check is not trivial on at least one task');
    for (const l of out) {
      assert.ok(l.top.length === 2 && l.top[0]!.label === l.label && l.top[0]!.confidence === l.confidence);
      assert.ok(l.confidence >= 0.5 && l.confidence <= 1);
      assert.ok(Math.abs(l.top[0]!.confidence + l.top[1]!.confidence - 1) < 1e-6);
    }
  }
});

test('--task all predicts with every finished task; the table form names label, confidence and the top 3', { timeout: 60_000 }, () => {
  const one = path.join(data('three-five'), 'test', 'three', 'img-0000.png');
  const all = cpg('predict', run, '--task', 'all', one, '--json');
  assert.equal(all.status, 0, all.stderr);
  assert.deepEqual(lines(all.stdout).map((l) => [l.task, l.file]), [['three-five', one], ['four-nine', one]]);
  const t = cpg('predict', run, '--task', 'three-five', one);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /file\s+label\s+confidence\s+top 3/);
  assert.match(t.stdout, new RegExp(`${one.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+(three|five)\\s+\\d+\\.\\d%`));
});

test('the library model: recorded probe logits bit for bit, and images seen exactly as training saw them', { timeout: 60_000 }, async () => {
  const store = fsStore(run);
  const m = await readManifest(store)();
  assert.ok(E.isRight(m) && m.right !== null);
  const opened = await openModel(store)();
  assert.ok(E.isRight(opened), JSON.stringify(E.isLeft(opened) ? opened.left : null));
  const model = opened.right;
  try {
    assert.deepEqual(model.tasks.map((t) => [t.name, t.classNames]), [['three-five', ['five', 'three']], ['four-nine', ['four', 'nine']]]);
    for (const [i, t] of model.tasks.entries()) {
      const manifest: RunManifest = m.right;
      const probe: E.Either<unknown, Uint8Array> = await store.getBlob(manifest.tasks[i]!.probeInputs!)();
      const recorded: E.Either<unknown, Uint8Array> = await store.getBlob(manifest.finished[i]!.probe!)();
      assert.ok(E.isRight(probe) && E.isRight(recorded));
      const logits = model.logits(t.name, bytesFloat32(probe.right), { inputs: 'normalised' });
      assert.ok(E.isRight(logits));
      assert.deepEqual(logits.right, bytesFloat32(recorded.right), `${t.name}: the probe logits recorded when it finished`);
    }
    // The test PNGs: as pixels normalised by the model, the same logits as the folder source's normalised test split.
    const t = model.tasks[1]!;
    const read = (normalisation: { mean: number[]; std: number[] }) =>
      readImageFolder(data(t.name), { name: t.name, inputShape: model.inputShape, seed: 1, valFraction: 0, testFraction: 0, normalisation })();
    const normalised = await read({ mean: [...model.normalisation!.mean], std: [...model.normalisation!.std] });
    const raw = await read({ mean: [0], std: [1] });
    assert.ok(E.isRight(normalised) && E.isRight(raw));
    const test = normalised.right.task.test!;
    const viaSource = model.logits(t.name, test.x, { inputs: 'normalised' });
    const viaPixels = model.logits(t.name, raw.right.task.test!.x);
    assert.ok(E.isRight(viaSource) && E.isRight(viaPixels));
    assert.deepEqual(viaPixels.right, viaSource.right);
    const predicted = model.predict(t.name, raw.right.task.test!.x);
    assert.ok(E.isRight(predicted));
    assert.equal(predicted.right.length, test.count);
    assert.deepEqual(predicted.right.map((p) => p.index), Array.from({ length: test.count }, (_, i) => rank(viaSource.right, i, t.classNames, 3).index));
    // The asynchronous twins read back the same logits and predictions, bit for bit (batches of 7 here).
    const asyncLogits = await model.logitsAsync(t.name, raw.right.task.test!.x, { batchSize: 7 })();
    assert.ok(E.isRight(asyncLogits));
    assert.deepEqual(asyncLogits.right, viaPixels.right);
    const asyncPredicted = await model.predictAsync(t.name, raw.right.task.test!.x, { top: 2 })();
    assert.ok(E.isRight(asyncPredicted));
    assert.deepEqual(asyncPredicted.right, Array.from({ length: test.count }, (_, i) => rank(viaPixels.right, i, t.classNames, 2)));
    // Bad input is a Left naming the problem, never a throw, from either form.
    for (const [name, x, why] of [
      ['nope', test.x, /no task named 'nope'/],
      [t.name, test.x.subarray(0, 100), /not a whole number of 28×28×1 inputs/],
      [t.name, Float32Array.of(...new Array(784).fill(NaN)), /not a finite number/],
    ] as const) {
      assert.match(JSON.stringify(model.predict(name, x)), why);
      assert.match(JSON.stringify(await model.predictAsync(name, x)()), why);
    }
  } finally {
    model.dispose();
  }
});

test('bad input: exit 2, one line naming the problem, nothing on stdout', { timeout: 60_000 }, () => {
  const notImage = path.join(work, 'notes.png');
  writeFileSync(notImage, 'not an image');
  const good = path.join(data('three-five'), 'test', 'three', 'img-0000.png');
  const cases: [string[], RegExp][] = [
    [['predict', run, '--task', 'three-five', good, notImage], /notes\.png: not a PNG or JPEG image/],
    [['predict', run, '--task', 'seven-eight', good], /no task named 'seven-eight'/],
    [['predict', path.join(work, 'nowhere'), '--task', 'three-five', good], /no model here/],
    [['predict', run, '--task', 'three-five', path.join(work, 'missing.png')], /missing\.png: not found/],
    [['predict', run, good], /needs --task/],
    [['predict', run, '--task', 'three-five', '--json=yes', good], /--json is a switch/],
  ];
  for (const [args, why] of cases) {
    const r = cpg(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, why);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});

test('cpg export writes a LayersModel (and ONNX files under --task all) that labels the test PNGs as cpg predict does', { timeout: 120_000 }, async () => {
  const out = path.join(work, 'export-tfjs');
  const r = cpg('export', run, '--task', 'four-nine', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /exported 'four-nine' \(tfjs\)/);
  assert.deepEqual(readdirSync(out).sort(), ['model.json', 'task.json', 'weights.bin']);
  const about = JSON.parse(readFileSync(path.join(out, 'task.json'), 'utf8')) as { classNames: string[]; inputShape: number[]; format: string };
  assert.deepEqual([about.format, about.classNames, about.inputShape], ['tfjs', ['four', 'nine'], [28, 28, 1]]);
  const json = JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  const bin = readFileSync(path.join(out, json.weightsManifest[0]!.paths[0]!));
  // This process imported cpg, which registers wasm: initialise it as the run does before tfjs is used directly.
  assert.ok(E.isRight(await selectBackend({ prefer: 'wasm', threads: 1 })()));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer }));
  // The test PNGs, in cpg predict's order, as pixels / 255 through the exported model alone.
  const p = cpg('predict', run, '--task', 'four-nine', path.join(data('four-nine'), 'test'), '--json');
  assert.equal(p.status, 0, p.stderr);
  const predicted = lines(p.stdout);
  const x = new Float32Array(predicted.length * 784);
  for (const [i, l] of predicted.entries()) {
    const img = decodeImage(readFileSync(l.file), l.file);
    assert.ok(E.isRight(img));
    x.set(toInput(img.right, [28, 28, 1]), i * 784);
  }
  const labels = tf.tidy(() => Array.from(tf.argMax(loaded.predict(tf.tensor(x, [predicted.length, 28, 28, 1])) as tf.Tensor, 1).dataSync()));
  loaded.dispose();
  assert.deepEqual(labels.map((i) => about.classNames[i]), predicted.map((l) => l.label));

  const all = path.join(work, 'export-onnx');
  mkdirSync(all); // an empty folder is taken
  const a = cpg('export', run, '--task', 'all', '--out', all, '--format', 'onnx');
  assert.equal(a.status, 0, a.stderr);
  assert.deepEqual(readdirSync(all).sort(), ['four-nine', 'three-five']);
  for (const t of ['four-nine', 'three-five']) assert.deepEqual(readdirSync(path.join(all, t)).sort(), ['model.onnx', 'task.json']);
});

test('cpg export refuses, with exit 2, one line and nothing written: an unknown task, an unfinished one, a damaged checkpoint, an --out that holds files', { timeout: 180_000 }, async () => {
  // An unfinished task: a third learn killed once its training stage ended.
  const unfinished = path.join(work, 'unfinished');
  cpSync(run, unfinished, { recursive: true });
  await writeSplits('six-seven', { six: 6, seven: 7 });
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'learn', unfinished, '--task', 'six-seven', '--data', data('six-seven'), ...quick], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    child.stdout.on('data', (b: Buffer) => {
      seen += b.toString();
      if (/six-seven[\s\S]*train:/.test(seen)) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`the learn was not killed (exit ${code}):\n${seen}`))));
  });
  // A damaged checkpoint: every blob cut short.
  const damaged = path.join(work, 'damaged');
  cpSync(run, damaged, { recursive: true });
  for (const f of readdirSync(path.join(damaged, 'blobs'))) writeFileSync(path.join(damaged, 'blobs', f), 'cut');
  const full = path.join(work, 'full');
  mkdirSync(full);
  writeFileSync(path.join(full, 'keep.txt'), 'mine');
  const cases: [string[], string, RegExp][] = [
    [['export', run, '--task', 'seven-eight', '--out', path.join(work, 'x1')], path.join(work, 'x1'), /no task named 'seven-eight'/],
    [['export', unfinished, '--task', 'six-seven', '--out', path.join(work, 'x2')], path.join(work, 'x2'), /'six-seven' has not finished/],
    [['export', damaged, '--task', 'three-five', '--out', path.join(work, 'x3')], path.join(work, 'x3'), /blobs/],
    [['export', run, '--task', 'three-five', '--out', full], full, /already holds files \(keep\.txt\)/],
    [['export', run, '--task', 'three-five', '--out', path.join(work, 'x4'), '--format', 'keras'], path.join(work, 'x4'), /expected tfjs or onnx/],
    [['export', run, '--out', path.join(work, 'x5')], path.join(work, 'x5'), /needs --task/],
    // Read-only commands agree: a damaged checkpoint is bad input.
    [['eval', damaged], path.join(work, 'x6'), /blobs/],
    [['predict', damaged, '--task', 'three-five', path.join(data('three-five'), 'test')], path.join(work, 'x7'), /blobs/],
  ];
  for (const [args, out, why] of cases) {
    const r = cpg(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, why);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    if (out === full) assert.deepEqual(readdirSync(full), ['keep.txt']);
    else assert.ok(!existsSync(out), `${out} was written`);
  }
  assert.deepEqual(readdirSync(work).filter((f) => f.includes('.export-')), [], 'no temporary folder left behind');
});

test('cpg eval: bit-identity on the backend that recorded the tasks, a stated tolerance on another (thread count included); beyond it exit 1 with one line', { timeout: 120_000 }, () => {
  const rowsOf = (stdout: string) => stdout.split('\n').filter((l) => /^(three-five|four-nine)\s/.test(l));
  const here = cpg('eval', run);
  assert.equal(here.status, 0, here.stderr);
  assert.match(here.stdout, /evaluated on wasm \(1 thread, SIMD\)/);
  for (const row of rowsOf(here.stdout)) assert.match(row, /\s0\s+bit-identical$/);
  for (const other of [['--backend', 'cpu'], ['--threads', '2']]) {
    const r = cpg('eval', run, ...other);
    assert.equal(r.status, 0, `${other.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /not the backend that recorded the task/);
    const rows = rowsOf(r.stdout);
    assert.equal(rows.length, 2);
    for (const row of rows) assert.match(row, /\s(0|\d\.\de-\d+)\s+≤ 1\.0e-4$/, row);
  }
  // Another backend rounds differently: the MLP's logits move by about 1e-6 on cpu, so a tolerance of 0 fails, naming the task.
  const strict = cpg('eval', run, '--backend', 'cpu', '--tolerance', '0');
  assert.equal(strict.status, 1, strict.stdout);
  assert.match(strict.stderr, /^cpg: \d task(s)? failed the check: '(three-five|four-nine)' drifted \d\.\de-\d+, beyond the tolerance 0 on cpu\n$/);
  const bad = cpg('eval', run, '--tolerance', 'lots');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--tolerance/);
});

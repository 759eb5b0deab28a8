/**
 * The pure half of bench:accuracy: mean ± std, forgetting and backward
 * transfer from accuracy matrices, aggregation over seeds, CPG's goal check,
 * the verdict, and formatting (text and Markdown). No training.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Method } from '../../src/algebra/config.js';
import type { RunReport } from '../../src/algebra/report.js';
import {
  type BenchResult,
  type RunSummary,
  aggregate,
  backwardTransferOf,
  fmtDrift,
  fmtForgetting,
  fmtPct,
  fmtSignedPts,
  fmtSize,
  forgettingOf,
  goalCheck,
  mainTable,
  markdownTable,
  meanStd,
  renderMarkdown,
  renderText,
  resultJson,
  summarize,
  verdict,
} from '../../src/node/cli/accuracyTable.js';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} ≈ ${b}`);

test('meanStd: mean, sample std (n − 1), min and max; no std for one value', () => {
  const s = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
  close(s.mean, 5);
  close(s.std!, Math.sqrt(32 / 7));
  assert.equal(s.n, 8);
  assert.equal(s.min, 2);
  assert.equal(s.max, 9);
  const one = meanStd([0.9]);
  assert.equal(one.mean, 0.9);
  assert.equal(one.std, null);
  assert.ok(Number.isNaN(meanStd([]).mean));
  assert.equal(meanStd([0.5, 0.5, 0.5]).std, 0);
});

test('forgetting: average drop from the best accuracy each earlier task ever had', () => {
  const rows = [
    [0.9, null, null],
    [0.95, 0.8, null],
    [0.7, 0.85, 0.6],
  ];
  // task 1: best 0.95, final 0.7 → 0.25; task 2: best 0.85, final 0.85 → 0; the last task does not count.
  close(forgettingOf(rows), 0.125);
  // BWT: final − right after learning: task 1 0.7 − 0.9, task 2 0.85 − 0.8.
  close(backwardTransferOf(rows), (-0.2 + 0.05) / 2);
  assert.equal(forgettingOf([[0.9]]), 0);
  assert.equal(backwardTransferOf([[0.9]]), 0);
  assert.equal(forgettingOf([]), 0);
});

test('forgetting is exactly 0 (not merely small) when no accuracy ever changes', () => {
  const a = 0.1 + 0.2; // an inexact float, repeated bit for bit
  const rows = [
    [a, null, null],
    [a, 0.7, null],
    [a, 0.7, 0.3],
  ];
  assert.equal(forgettingOf(rows), 0);
  assert.equal(backwardTransferOf(rows), 0);
});

test('forgetting never counts an improvement as negative forgetting', () => {
  const rows = [
    [0.5, null],
    [0.9, 0.8],
  ];
  assert.equal(forgettingOf(rows), 0);
  close(backwardTransferOf(rows), 0.4);
});

type TaskReport = RunReport['tasks'][number];

const task = (name: string, accuracy: number, valAccuracy: number, goal: number | null, note: string | null = null): TaskReport => ({
  name,
  accuracy,
  valAccuracy,
  goal,
  widthMultiplier: 1,
  sparsity: 0.5,
  ownedFraction: 0.2,
  pickedFraction: 0.1,
  growths: [],
  pruneCurve: [],
  retrainKept: false,
  note,
});

const report = (method: Method, seed: number, matrix: (number | null)[][], over: Partial<RunReport> = {}): RunReport => {
  const last = matrix[matrix.length - 1]!;
  return {
    method,
    benchmark: 'split-mnist',
    net: 'mlp',
    backend: 'wasm',
    seed,
    tasks: last.map((a, j) => task(`t${j}`, a!, a!, null)),
    accuracyMatrix: matrix,
    averageAccuracy: 0,
    forgetting: 0,
    backwardTransfer: 0,
    maxLogitDrift: 0,
    modelSize: { parameters: 1000, relativeToOneNetwork: 1, checkpointBytes: 4096 },
    capacity: [],
    timing: { totalSeconds: 60, perTask: [] },
    createdAt: '2025-01-01T00:00:00Z',
    ...over,
  };
};

const summary = (r: RunReport, threads: number | null = 2): RunSummary => summarize(r, { dir: `d/${r.method}/${r.seed}`, threads, source: 'ran' });

test('summarize recomputes average, forgetting and BWT from the report', () => {
  const s = summary(
    report('finetune', 1, [
      [1, null],
      [0.5, 0.9],
    ]),
  );
  close(s.averageAccuracy, 0.7);
  close(s.forgetting, 0.5);
  close(s.backwardTransfer, -0.5);
  assert.equal(s.relativeSize, 1);
  assert.equal(s.threads, 2);
  assert.equal(s.wallSeconds, 60);
});

test('aggregate: one row per method in bench order, mean ± std per task over seeds', () => {
  const runs = [
    summary(report('cpg', 2, [[0.9, null], [0.9, 0.8]])),
    summary(report('finetune', 1, [[1, null], [0.6, 0.9]])),
    summary(report('cpg', 1, [[0.8, null], [0.8, 1]])),
    summary(report('individual', 1, [[0.9, null], [0.9, 0.9]], { modelSize: { parameters: 2000, relativeToOneNetwork: 2, checkpointBytes: 0 } })),
  ];
  const rows = aggregate(runs);
  assert.deepEqual(rows.map((r) => r.method), ['individual', 'finetune', 'cpg']);
  const cpg = rows[2]!;
  assert.deepEqual(cpg.seeds, [1, 2]);
  close(cpg.perTask[0]!.mean, 0.85);
  close(cpg.perTask[0]!.std!, Math.sqrt(0.005));
  close(cpg.perTask[1]!.mean, 0.9);
  close(cpg.averageAccuracy.mean, 0.875); // seed 1: (0.8 + 1) / 2, seed 2: (0.9 + 0.8) / 2
  close(cpg.averageAccuracy.std!, Math.sqrt(2 * 0.025 ** 2));
  assert.equal(cpg.forgettingExactlyZero, true);
  const ft = rows[1]!;
  assert.equal(ft.forgettingExactlyZero, false);
  close(ft.forgetting.mean, 0.4);
  assert.equal(ft.forgetting.std, null);
});

test('the max logit drift of a row is the largest over its seeds', () => {
  const rows = aggregate([
    summary(report('packnet', 1, [[0.9]], { maxLogitDrift: 0 })),
    summary(report('packnet', 2, [[0.9]], { maxLogitDrift: 1e-3 })),
  ]);
  assert.equal(rows[0]!.maxLogitDrift, 1e-3);
});

const cpgRun = (seed: number, tasks: TaskReport[]): RunSummary =>
  summary(report('cpg', seed, [tasks.map((t) => t.accuracy)], { tasks }));

test('goalCheck: validation accuracy against the goal, half a point of tolerance, notes kept', () => {
  const runs = [
    cpgRun(1, [task('a', 0.97, 0.99, 1.0), task('b', 0.9, 0.93, 0.95, 'goal missed at the maximum width'), task('c', 0.8, 0.8, null)]),
    summary(report('individual', 1, [[0.98, 0.96]], { tasks: [task('a', 0.98, 1, null), task('b', 0.96, 0.95, null)] })),
  ];
  const g = goalCheck(runs);
  assert.deepEqual(g.map((x) => x.task), ['a', 'b'], 'a task without a goal is left out');
  assert.equal(g[0]!.within, false, 'a full point below');
  close(g[0]!.gap.mean, -0.01);
  close(g[0]!.individualTest!.mean, 0.98);
  assert.equal(g[1]!.within, false);
  assert.deepEqual(g[1]!.notes, ['goal missed at the maximum width']);
  // Exactly half a point below is within; above the goal always is.
  const edge = goalCheck([cpgRun(1, [task('a', 0.9, 0.995, 1.0), task('b', 0.9, 0.99, 0.95)])]);
  assert.deepEqual(edge.map((x) => x.within), [true, true]);
  // One image of 184 short (0.54 pts) is within a run that allowed one image, not within one that allowed half a point.
  const oneImage = { ...task('a', 0.99, 183 / 184, 1.0), allowedLoss: 1 / 184 };
  assert.deepEqual(goalCheck([cpgRun(1, [oneImage])]).map((x) => x.within), [true]);
  assert.deepEqual(goalCheck([cpgRun(1, [{ ...oneImage, allowedLoss: 0.005 }])]).map((x) => x.within), [false]);
});

test('goalCheck says by how many validation images a growth missed the goal', () => {
  const t: TaskReport = { ...task('a', 0.99, 0.99, 1), widthMultiplier: 1.5, growths: [{ from: 1, to: 1.5, trainAcc: 0.99, valAcc: 0.99, goal: 1, shortfallSamples: 2, trainAccFailed: false }] };
  const g = goalCheck([cpgRun(1, [t])]);
  assert.deepEqual(g[0]!.growths, ['×1→×1.5: 2 val images short']);
  assert.equal(g[0]!.widthMultiplier.mean, 1.5);
  const u: TaskReport = { ...t, growths: [{ ...t.growths[0]!, shortfallSamples: null, trainAccFailed: true }] };
  assert.deepEqual(goalCheck([cpgRun(1, [u]), cpgRun(2, [task('a', 0.99, 1, 1)])])[0]!.growths, ['seed 1 ×1→×1.5: train acc below threshold']);
});

test('goalCheck over seeds names the seeds that fell short', () => {
  const g = goalCheck([cpgRun(1, [task('a', 0.9, 0.99, 0.99)]), cpgRun(2, [task('a', 0.9, 0.97, 0.99, 'why')]), cpgRun(3, [task('a', 0.9, 0.99, 0.99)])]);
  assert.equal(g[0]!.within, false);
  assert.deepEqual(g[0]!.shortSeeds, [2]);
  assert.deepEqual(g[0]!.notes, ['seed 2: why']);
  assert.deepEqual(g[0]!.shortNotes, ['seed 2: why']);
  const h = goalCheck([cpgRun(1, [task('a', 0.9, 0.99, 0.99, 'fine')]), cpgRun(2, [task('a', 0.9, 0.97, 0.99, 'why')])]);
  assert.deepEqual(h[0]!.notes, ['seed 1: fine', 'seed 2: why']);
  assert.deepEqual(h[0]!.shortNotes, ['seed 2: why'], 'the verdict quotes only the seeds that fell short');
  assert.equal(g[0]!.goal.n, 3);
});

test('formatting: percentages, signed points, exact-zero forgetting, sizes, drift', () => {
  assert.equal(fmtPct(meanStd([0.98765])), '98.77');
  assert.equal(fmtPct(meanStd([0.98, 0.99])), '98.50 ± 0.71');
  assert.equal(fmtPct(meanStd([])), '—');
  assert.equal(fmtSignedPts(meanStd([0.0123])), '+1.23');
  assert.equal(fmtSignedPts(meanStd([-0.0123])), '−1.23');
  assert.equal(fmtSignedPts(meanStd([-0.00001])), '0.00', 'no sign on a value that rounds to 0');
  assert.equal(fmtForgetting(meanStd([0, 0]), true), '0');
  assert.equal(fmtForgetting(meanStd([1e-9]), false), '0.00', 'not exactly 0: shown as a number');
  assert.equal(fmtSize(meanStd([1.5])), '1.50×');
  assert.equal(fmtSize(meanStd([1, 1.5])), '1.25× ± 0.35');
  assert.equal(fmtSize(meanStd([1.5, 1.5])), '1.50×', 'no ± 0 when every seed agrees');
  assert.equal(fmtSignedPts(meanStd([0.01, 0.03])), '+2.00 ± 1.41');
  assert.equal(fmtDrift(0), '0');
  assert.equal(fmtDrift(0.000123), '1.23e-4');
});

test('markdownTable: header, alignment row, escaped pipes', () => {
  const md = markdownTable(['method', 'acc'], [['a|b', '1.00']]);
  assert.equal(md, ['| method | acc |', '|:---|---:|', '| a\\|b | 1.00 |'].join('\n'));
});

test('mainTable: a column per task, individual has no drift', () => {
  const rows = aggregate([
    summary(report('individual', 1, [[0.9, null], [0.9, 0.8]])),
    summary(report('cpg', 1, [[0.9, null], [0.9, 0.8]])),
  ]);
  const t = mainTable(rows);
  assert.deepEqual(t.head.slice(0, 4), ['method', 't1', 't2', 'avg acc']);
  assert.equal(t.cells[0]![t.head.indexOf('max logit drift')], '—');
  assert.equal(t.cells[1]![t.head.indexOf('max logit drift')], '0');
  assert.equal(t.cells[1]![t.head.indexOf('forgetting')], '0');
});

test('verdict: each claim checked with ✓ or ✗', () => {
  const runs = [
    summary(report('finetune', 1, [[0.99, null], [0.5, 0.99]])),
    summary(report('packnet', 1, [[0.95, null], [0.95, 0.9]], { timing: { totalSeconds: 30, perTask: [] } })),
    summary(report('cpg', 1, [[0.99, null], [0.99, 0.98]], { modelSize: { parameters: 1, relativeToOneNetwork: 1.5, checkpointBytes: 1 }, tasks: [task('t0', 0.99, 0.99, 0.99), task('t1', 0.98, 0.97, 0.99, 'capped')], timing: { totalSeconds: 108, perTask: [] } })),
  ];
  const v = verdict(aggregate(runs), goalCheck(runs));
  assert.match(v[0]!, /^✓ CPG average accuracy 98\.50% ≥ packnet 92\.50%/);
  assert.match(v[1]!, /^✓ .* ≥ finetune/);
  assert.match(v[2]!, /^✓ CPG forgetting exactly 0/);
  assert.match(v[3]!, /^✓ CPG size 1\.50×/);
  assert.match(v[4]!, /^✗ 1 of 2 CPG tasks .*t1 −2\.00 pts \(capped\)/);
  assert.equal(v[5], "CPG's wall time 1.8 min is 3.60× PackNet's 30 s (this invocation)");
  // With the individual networks (CPG's goals), the ratio counts them too.
  const withGoals = [...runs, summary(report('individual', 1, [[0.99, null], [0.99, 0.99]], { timing: { totalSeconds: 12, perTask: [] } }))];
  assert.match(verdict(aggregate(withGoals), goalCheck(withGoals)).at(-1)!, /^CPG's wall time 1\.8 min is 3\.60× PackNet's 30 s; with its goal networks \(the individual row\) 2\.0 min, 4\.00× \(this invocation\)$/);
  assert.deepEqual(verdict(aggregate([runs[0]!]), []), ['no CPG run: nothing to judge']);
});

test('renderText, renderMarkdown and resultJson carry the command, machine and table', () => {
  const runs = [
    summary(report('individual', 1, [[0.9, null], [0.9, 0.8]], { tasks: [task('a', 0.9, 0.9, null), task('b', 0.8, 0.8, null)] })),
    summary(report('cpg', 1, [[0.9, null], [0.9, 0.8]], { tasks: [task('a', 0.9, 0.9, 0.9), task('b', 0.8, 0.8, 0.8, 'kept the unpruned model')] })),
  ];
  const r: BenchResult = {
    benchmark: 'split-mnist',
    net: 'mlp',
    seeds: [1],
    runs,
    command: 'npm run bench:accuracy -- --benchmark split-mnist',
    passThrough: [],
    budget: '8 epochs',
    machine: 'backend wasm (2 threads)',
    quick: false,
  };
  const text = renderText(r);
  assert.match(text, /backend wasm \(2 threads\)/);
  assert.match(text, /t1 = a, t2 = b/);
  assert.match(text, /b: kept the unpruned model/);
  const md = renderMarkdown(r);
  assert.match(md, /^## split-mnist — mlp/);
  assert.match(md, /npm run bench:accuracy -- --benchmark split-mnist/);
  assert.match(md, /\| method \| t1 \| t2 \| avg acc \|/);
  assert.match(md, /\| kept the unpruned model \|/);
  const json = resultJson(r);
  assert.equal(json.rows.length, 2);
  assert.equal(json.goals.length, 2);
  assert.deepEqual(JSON.parse(JSON.stringify(json)).seeds, [1]);
});

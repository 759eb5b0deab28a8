/**
 * `cpg learn`'s messages on the case reported in issue 27: MNIST 3 vs 5,
 * 200 images a class, short stages, --sparsities 0.5,0.8, the first task of
 * an open stream. The network is nearly empty, so what binds is the open
 * stream's reserve, not the width: the run says so when it happens (the
 * sparsity the budget imposes beyond the requested ones), never suggests
 * --max-multiplier, and its 40 validation images are too few to test the
 * goal to a point — said when the task starts and in the report.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BudgetOutcome, RunReport, TaskReport } from '../../src/algebra/report.js';
import { budgetLines } from '../../src/node/cli/render.js';
import { writeDigitFolders } from '../helpers/digitFolders.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/node/cli/main.js');
const env = { ...process.env, CPG_BACKEND: process.env['CPG_BACKEND'] ?? 'wasm' };
const work = mkdtempSync(path.join(tmpdir(), 'cpg-learn-messages-'));
const data = path.join(work, 'three-five');

before(async () => {
  await writeDigitFolders(data, { three: 3, five: 5 }, 200);
});

test("the open stream's reserve binds on a nearly empty network: the run names it, announces the sparsity it imposes beyond --sparsities, and never suggests --max-multiplier", { timeout: 120_000 }, () => {
  const run = path.join(work, 'run');
  const r = spawnSync(
    process.execPath,
    [cli, 'learn', run, '--task', 'three-five', '--data', data, '--train-epochs', '3', '--prune-epochs', '1', '--retrain-epochs', '1', '--sparsities', '0.5,0.8'],
    { env, encoding: 'utf8', timeout: 110_000 },
  );
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const out = r.stdout;
  assert.doesNotMatch(out, /max-multiplier|short of room/, 'the width did not bind');
  // Said when training settled, before the sweep compacts.
  const floor = /\n {2}budget: task 'three-five' may keep [\d.]+ % of the network at ×1 \(bound by the open stream's reserve, which keeps 90 % of the room for the tasks to come\): its own weights must reach sparsity ≥ ([\d.]+), beyond the requested --sparsities 0\.5,0\.8\n/.exec(out);
  assert.ok(floor !== null, out);
  assert.ok(out.indexOf(floor[0]) < out.indexOf('  prune:'), 'announced before the first compacting stage ends');
  // It ended under its goal: the warning names the reserve with its figures and the flags that loosen it.
  assert.match(out, /warning: task 'three-five' ended [\d.]+ points under its goal \(validation\): its compacting was bound to sparsity ≥ [\d.]+ of its own weights by the open stream's reserve.*100\.0 % was free when it started.*--reserve \(now 0\.9\) or --expected-tasks N/);
  assert.match(out, new RegExp(`sparsity imposed by the budget \\(beyond the requested targets\\): three-five ≥ ${floor[1]!.replace('.', '\\.')}, requested --sparsities 0\\.5,0\\.8`));
  // 40 validation images: one is 2.5 points.
  assert.match(out, /warning: task 'three-five' tests its goal on 40 validation images: one image is 2\.5 points/);
  assert.match(out, /validation too small to test the goal .*three-five \(40 images: one is 2\.5 points\)/);

  const report = JSON.parse(readFileSync(path.join(run, 'report.json'), 'utf8')) as RunReport;
  const t = report.tasks[0]!;
  assert.equal(t.budget?.constraint, 'reserve');
  assert.equal(t.budget?.reserve, 0.9);
  assert.deepEqual(t.budget?.requestedSparsities, [0.5, 0.8]);
  assert.equal(t.budget?.imposedSparsity, Number(floor[1]));
  assert.equal(t.budget?.freeAtStart, 1);
  assert.equal(t.validationImages, 40);
  assert.equal(t.validationTooSmall, true);
  assert.equal(t.allowedLoss, 0.01, 'one image of 40 would be 2.5 points: images add at most one');
  const html = readFileSync(path.join(run, 'report.html'), 'utf8');
  assert.match(html, /bound by the open stream&#39;s reserve/);
  assert.match(html, /sparsities requested 50%, 80%; the budget imposed ≥ /);
  assert.match(html, /small validation<\/span> 40 images: one is 2\.5 points/);
  assert.doesNotMatch(html, /max-multiplier/);
});

test("the summary's budget lines name what bound each task with its figures; only the width's suggests --max-multiplier; an old report gets no advice", () => {
  const task = (name: string, budget: BudgetOutcome): TaskReport => ({
    name,
    accuracy: 0.9,
    valAccuracy: 0.9,
    goal: 0.95,
    widthMultiplier: 1,
    sparsity: budget.floor,
    ownedFraction: 0.1,
    pickedFraction: 0,
    growths: [],
    pruneCurve: [],
    retrainKept: false,
    note: null,
    budget,
  });
  const old: BudgetOutcome = { share: 0.1314, freeAtStart: 1, floor: 0.8686, bound: true, ranOut: true };
  const figures = { shareOfRoom: 0.1, needed: 0.1, startWidth: 1, width: 1, maxWidth: 1.5 };
  const reserve: BudgetOutcome = { ...old, ...figures, constraint: 'reserve', reserve: 0.9, requestedSparsities: [0.5, 0.8], imposedSparsity: 0.8686 };
  const planned: BudgetOutcome = { ...old, ...figures, constraint: 'planned', plannedTasks: 4, shareOfRoom: 0.25, requestedSparsities: [0.5, 0.9] };
  const width: BudgetOutcome = { ...old, ...figures, freeAtStart: 0, floor: 0, bound: false, constraint: 'width', plannedTasks: 3, shareOfRoom: 1 / 3, needed: 0.01 };
  const lines = budgetLines({ tasks: [task('a', reserve), task('b', planned), task('c', width), task('d', old)] } as unknown as RunReport);
  const of = (name: string): string => lines.find((l) => l.includes(`: ${name}: `) || l.endsWith(`: ${name}`)) ?? '';
  assert.match(of('a'), /^under its goal, its compacting bound by its budget \(not out of room\): a: bound by the open stream's reserve, which keeps 90 % of the room .*--reserve \(now 0\.9\)/);
  assert.match(of('b'), /^under its goal, .*: b: bound by the equal share among the 4 tasks still planned .*25 % of the room.*--expected-tasks/);
  assert.match(of('c'), /^out of room \(fewer free weights than it needed at the maximum width\): c: bound by the maximum width ×1\.5.*--max-multiplier$/);
  assert.match(of('d'), /^out of room or bound under its goal by its share: d$/);
  for (const name of ['a', 'b', 'd']) assert.doesNotMatch(of(name), /max-multiplier/, name);
  assert.ok(lines.includes('sparsity imposed by the budget (beyond the requested targets): a ≥ 0.8686, requested --sparsities 0.5,0.8'), lines.join('\n'));
});

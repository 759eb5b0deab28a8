/**
 * `cpg learn` end to end on real digits written as PNG files in class
 * folders, one process per task: three tasks, one of them killed mid-task
 * and resumed (ending bit-identical to an uninterrupted learn), then a fourth
 * in a new process; every report forgets nothing and `cpg eval` passes. A
 * second process on a locked run is refused with the holder's pid, and bad
 * task input is refused with exit 2, one line naming the file or field, and
 * nothing in the run changed.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashTree, treeChanges } from '../../tools/faultlib.js';
import { writeDigitFolders } from '../helpers/digitFolders.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/node/cli/main.js');
const env = { ...process.env, CPG_BACKEND: process.env['CPG_BACKEND'] ?? 'wasm' };
const work = mkdtempSync(path.join(tmpdir(), 'cpg-learn-'));
const data = (name: string) => path.join(work, 'data', name);
const quick = ['--train-epochs', '2', '--individual-epochs', '2', '--prune-epochs', '1', '--prune-ramp-epochs', '1', '--sparsities', '0.5,0.9', '--retrain-epochs', '2', '--seed', '7'];

const cpg = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 170_000 });

interface Report {
  readonly tasks: { name: string }[];
  readonly maxLogitDrift: number;
  readonly forgetting: number;
  readonly accuracyMatrix: (number | null)[][];
  readonly capacityPolicy?: string;
}
const report = (run: string): Report => JSON.parse(readFileSync(path.join(run, 'report.json'), 'utf8')) as Report;
const stateOf = (run: string): unknown => (JSON.parse(readFileSync(path.join(run, 'run.json'), 'utf8')) as { state: unknown }).state;

before(async () => {
  await writeDigitFolders(data('zero-one'), { zero: 0, one: 1 }, 80);
  await writeDigitFolders(data('two-three'), { two: 2, three: 3 }, 80);
  await writeDigitFolders(data('four-five'), { four: 4, five: 5 }, 80);
  await writeDigitFolders(data('six-seven'), { six: 6, seven: 7 }, 80);
});

const learned = (run: string, task: string, ...extra: string[]) => {
  const r = cpg('learn', run, '--task', task, '--data', data(task), ...quick, ...extra);
  assert.equal(r.status, 0, `cpg learn ${task} failed:\n${r.stdout}\n${r.stderr}`);
  const rep = report(run);
  assert.equal(rep.maxLogitDrift, 0, 'every earlier task kept its exact outputs');
  assert.equal(rep.forgetting, 0);
  return r;
};

test('cpg learn: three tasks in three processes, a killed learn resumed bit-identically, a fourth later, eval passes', { timeout: 300_000 }, async () => {
  const run = path.join(work, 'run');
  const first = learned(run, 'zero-one');
  assert.match(first.stdout, /data: 160 images of 2 classes/);
  assert.match(first.stdout, /28×28×1/, 'the input shape comes from the first task');
  learned(run, 'two-three');
  assert.deepEqual(report(run).tasks.map((t) => t.name), ['zero-one', 'two-three']);
  assert.match(report(run).capacityPolicy ?? '', /tasks learned as they come/);

  // The same third task, uninterrupted, in a copy: the reference for the killed one.
  const whole = path.join(work, 'whole');
  cpSync(run, whole, { recursive: true });
  learned(whole, 'four-five');

  // Kill the third learn after its first compacting stage, then resume it.
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'learn', run, '--task', 'four-five', '--data', data('four-five'), ...quick], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    child.stdout.on('data', (d: Buffer) => {
      seen += d.toString();
      if (/task 3 four-five[\s\S]*prune:/.test(seen)) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`the learn was not killed (exit ${code}):\n${seen}`))));
  });
  assert.ok(existsSync(path.join(run, 'lock')), 'the killed process left its lock behind');
  const next = cpg('learn', run, '--task', 'six-seven', '--data', data('six-seven'), ...quick);
  assert.equal(next.status, 2, 'a new task waits until the unfinished one is resumed');
  assert.match(next.stderr, /unfinished task 'four-five'.*cpg resume/);
  const resumed = cpg('resume', run);
  assert.equal(resumed.status, 0, `cpg resume failed:\n${resumed.stdout}\n${resumed.stderr}`);
  assert.ok(!existsSync(path.join(run, 'lock')), 'the stale lock was taken over and released');
  assert.deepEqual(stateOf(run), stateOf(whole), 'the resumed learn ends bit-identical to the uninterrupted one');
  assert.deepEqual(report(run).accuracyMatrix, report(whole).accuracyMatrix);
  assert.equal(report(run).maxLogitDrift, 0);

  learned(run, 'six-seven');
  const rep = report(run);
  assert.deepEqual(rep.tasks.map((t) => t.name), ['zero-one', 'two-three', 'four-five', 'six-seven']);
  for (let j = 0; j < 4; j++) for (let i = j; i < 4; i++) assert.equal(rep.accuracyMatrix[i]![j], rep.accuracyMatrix[j]![j], 'no task ever moved');
  const ev = cpg('eval', run);
  assert.equal(ev.status, 0, ev.stderr);
  assert.match(ev.stdout, /six-seven/);
});

test('a second learn or resume on a run another process works on is refused with its pid; Ctrl-C stops at a step and frees the run', { timeout: 180_000 }, async () => {
  const run = path.join(work, 'locked');
  const long = [...quick.slice(4), '--train-epochs', '40', '--individual-epochs', '40'];
  const child = spawn(process.execPath, [cli, 'learn', run, '--task', 'zero-one', '--data', data('zero-one'), ...long], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/epoch 1\/40/.test(out)) resolve();
    });
    void exited.then((code) => reject(new Error(`the first learn ended early (exit ${code}):\n${out}`)));
  });
  const second = cpg('learn', run, '--task', 'two-three', '--data', data('two-three'), ...quick);
  assert.equal(second.status, 2);
  assert.match(second.stderr, new RegExp(`locked by process ${child.pid}`));
  assert.equal(second.stderr.trim().split('\n').length, 1, 'one line');
  const resumed = cpg('resume', run);
  assert.equal(resumed.status, 2, 'resume is refused too');
  assert.match(resumed.stderr, new RegExp(`locked by process ${child.pid}`));
  // Ctrl-C: the learn stops at its next step, says how to continue, and releases the run (exit 130).
  child.kill('SIGINT');
  assert.equal(await exited, 130, out);
  assert.match(out, /stopped\. The last checkpoint .* is valid; continue with: cpg resume/);
  assert.ok(!existsSync(path.join(run, 'lock')), 'the run is free again');
  const finished = cpg('resume', run);
  assert.equal(finished.status, 0, finished.stderr);
  assert.equal(report(run).tasks.length, 1);
});

test('bad task input is refused with exit 2, one line naming the file or field, and nothing in the run changes', { timeout: 240_000 }, async () => {
  const run = path.join(work, 'guarded');
  learned(run, 'zero-one');
  const bad = (name: string) => path.join(work, 'bad', name);
  // A folder whose class folders hold no image.
  mkdirSync(path.join(bad('no-images'), 'a'), { recursive: true });
  mkdirSync(path.join(bad('no-images'), 'b'), { recursive: true });
  writeFileSync(path.join(bad('no-images'), 'a', 'notes.txt'), 'not an image');
  // A file with an image extension that is not an image.
  await writeDigitFolders(bad('corrupt'), { two: 2, three: 3 }, 40);
  writeFileSync(path.join(bad('corrupt'), 'two', 'broken.png'), 'this is not a PNG');
  // A class with too few images to split.
  await writeDigitFolders(bad('tiny-class'), { two: 2, three: 3 }, 40);
  await writeDigitFolders(path.join(work, 'tmp-tiny'), { three: 3 }, 2);
  cpSync(path.join(work, 'tmp-tiny', 'three'), path.join(bad('tiny-class'), 'four'), { recursive: true });
  // One class only; an empty class folder; too few validation images.
  await writeDigitFolders(bad('one-class'), { two: 2 }, 40);
  await writeDigitFolders(bad('empty-class'), { two: 2, three: 3 }, 40);
  mkdirSync(path.join(bad('empty-class'), 'four'));
  await writeDigitFolders(bad('few-val'), { two: 2, three: 3 }, 20);

  const cases: { readonly args: string[]; readonly says: RegExp }[] = [
    { args: ['--task', 'x', '--data', bad('no-images')], says: /no-images.*(no image|images)/ },
    { args: ['--task', 'x', '--data', bad('corrupt')], says: /broken\.png/ },
    { args: ['--task', 'x', '--data', bad('tiny-class')], says: /four.*2 images?/ },
    { args: ['--task', 'x', '--data', bad('one-class')], says: /one-class.*at least 2/ },
    { args: ['--task', 'x', '--data', bad('empty-class')], says: /empty-class.*four/ },
    { args: ['--task', 'x', '--data', bad('few-val')], says: /task 'x': val: holds \d+ input/ },
    { args: ['--task', 'zero-one', '--data', data('two-three')], says: /task 'zero-one': name: the model holds a task named 'zero-one' learned from other data/ },
    { args: ['--task', 'x', '--data', path.join(work, 'nowhere')], says: /nowhere/ },
    { args: ['--task', 'x', '--data', data('two-three'), '--goal', '1.5'], says: /--goal/ },
    { args: ['--data', data('two-three')], says: /--task/ },
    { args: ['--task', 'x'], says: /--data/ },
    { args: ['--task', 'x', '--data', data('two-three'), '--reserve', '1.5'], says: /--reserve/ },
    { args: ['--task', 'x', '--data', data('two-three'), '--expected-tasks', '0'], says: /--expected-tasks/ },
    { args: ['--task', 'x', '--data', data('two-three'), '--record-rule', 'maybe'], says: /--record-rule/ },
    { args: ['--task', 'x', '--data', data('two-three'), '--capacity-budget', 'lots'], says: /--capacity-budget/ },
    { args: ['--task', 'x', '--data', data('two-three'), '--claim', 'some'], says: /--claim/ },
    { args: ['--task', 'x', '--data', data('two-three'), '--net', 'lenet'], says: /--net.*'mlp'/ },
    { args: ['--task', 'x', '--data', data('two-three'), '--method', 'finetune'], says: /--method/ },
  ];
  for (const c of cases) {
    const before = hashTree(run);
    const r = cpg('learn', run, ...c.args);
    const what = `cpg learn ${c.args.join(' ')}`;
    assert.equal(r.status, 2, `${what}: exit ${r.status}\n${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line\n${r.stderr}`);
    assert.match(r.stderr, c.says, what);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack`);
    assert.deepEqual(treeChanges(before, hashTree(run)), [], `${what}: nothing in the run changed`);
  }
  // A refused first task leaves no run behind.
  const fresh = path.join(work, 'never');
  const r = cpg('learn', fresh, '--task', 'x', '--data', bad('corrupt'));
  assert.equal(r.status, 2);
  assert.ok(!existsSync(fresh), 'no run directory was created');
});

test('a task given again with the same data is skipped (exit 0, saying so), as the library does; a script re-run is idempotent', { timeout: 180_000 }, async () => {
  const run = path.join(work, 'again');
  learned(run, 'zero-one');
  const manifest = () => readFileSync(path.join(run, 'run.json'));
  const before = manifest();
  // The same folder, even with another --val-fraction (the held task is split as it was learned).
  for (const extra of [[], ['--val-fraction', '0.3']]) {
    const r = cpg('learn', run, '--task', 'zero-one', '--data', data('zero-one'), ...quick, ...extra);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /task 1 zero-one: the model already holds this task, learned from the same data/);
    assert.doesNotMatch(r.stdout, /epoch/, 'nothing is trained');
    assert.ok(manifest().equals(before), 'the checkpoint is as it was');
  }
  assert.deepEqual(report(run).tasks.map((t) => t.name), ['zero-one']);
});

test('a finished benchmark run learns one more task from a folder (the sixth-task case), and evaluates with both sources', { timeout: 180_000 }, async () => {
  const run = path.join(work, 'benchmark');
  const goals = path.join(work, 'bench-goals.json');
  writeFileSync(goals, JSON.stringify({ 'digits-0-1': 0.9 }));
  const r = cpg('run', '--out', run, '--tasks', '1', '--goals', goals, '--limit-per-task', '96', ...quick.slice(4));
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  learned(run, 'two-three');
  const rep = report(run) as Report & { benchmark: string };
  assert.deepEqual(rep.tasks.map((t) => t.name), ['digits-0-1', 'two-three']);
  assert.equal(rep.benchmark, 'split-mnist');
  assert.match(rep.capacityPolicy ?? '', /1 task planned.*the tasks after it, learned as they came/);
  const ev = cpg('eval', run);
  assert.equal(ev.status, 0, ev.stderr);
  assert.match(ev.stdout, /digits-0-1[\s\S]*two-three/);
});

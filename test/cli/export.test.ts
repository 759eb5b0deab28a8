/**
 * Task names and export folders, end to end: `cpg learn` refuses a task name
 * that cannot be a folder name (exit 2, one line naming the character,
 * nothing changed); a model learned before that rule, holding '../evil',
 * still evaluates, predicts and exports; and `cpg export --task all` writes
 * every task into a folder of its own, even when names sanitise alike
 * ('../evil', '___evil') or differ only in case ('___EVIL'): nothing is
 * overwritten.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { readManifest } from '../../src/effects/checkpoint.js';
import { dataHashOf } from '../../src/cpg/model.js';
import { loadRunTasks } from '../../src/node/sources/runTasks.js';
import { fsStore } from '../../src/node/stores/fs.js';
import { hashTree, treeChanges } from '../../tools/faultlib.js';
import { writeDigitFolders } from '../helpers/digitFolders.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/node/cli/main.js');
const env = { ...process.env, CPG_BACKEND: process.env['CPG_BACKEND'] ?? 'wasm' };
const work = mkdtempSync(path.join(tmpdir(), 'cpg-export-'));
const run = path.join(work, 'run');
const data = path.join(work, 'data');
const quick = ['--train-epochs', '1', '--prune-epochs', '1', '--prune-ramp-epochs', '1', '--sparsities', '0.5', '--retrain-epochs', '1', '--goal', 'none', '--seed', '3', '--threads', '1'];
const cpg = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 120_000 });
const tasks = ['../evil', '___evil', '___EVIL'];

before(async () => {
  await writeDigitFolders(path.join(data, 'train'), { three: 3, five: 5 }, 12, 0);
  await writeDigitFolders(path.join(data, 'val'), { three: 3, five: 5 }, 10, 12);
  // Every test image the same one: the probe (a task's first test inputs) is then the same in any order.
  await writeDigitFolders(path.join(data, 'test'), { three: 3 }, 1, 22);
  const image = path.join(data, 'test', 'three', 'img-0000.png');
  mkdirSync(path.join(data, 'test', 'five'));
  for (const c of ['three', 'five']) for (let i = c === 'three' ? 1 : 0; i < 5; i++) copyFileSync(image, path.join(data, 'test', c, `img-000${i}.png`));
  for (const task of ['legacy-evil', '___evil', '___EVIL']) {
    const r = cpg('learn', run, '--task', task, '--data', data, ...quick);
    assert.equal(r.status, 0, `cpg learn ${task}:\n${r.stdout}\n${r.stderr}`);
  }
  // A model from before the rule: its first task is named '../evil', as an earlier release let it be.
  // The folder's split order follows the task's name: its data hash is the one that name gives (its probe,
  // one image repeated, does not change).
  const file = path.join(run, 'run.json');
  writeFileSync(file, readFileSync(file, 'utf8').replaceAll('"legacy-evil"', '"../evil"'));
  const m = await readManifest(fsStore(run))();
  assert.ok(E.isRight(m) && m.right !== null);
  const read = await loadRunTasks(m.right, new Set([1]))();
  assert.ok(E.isRight(read) && read.right[0] !== undefined, JSON.stringify(read));
  const hash = await dataHashOf({}, read.right[0])();
  assert.ok(E.isRight(hash));
  const json = JSON.parse(readFileSync(file, 'utf8')) as { tasks: { name: string; dataHash: string }[] };
  json.tasks[0]!.dataHash = hash.right;
  writeFileSync(file, JSON.stringify(json));
});

test('a task name that cannot be a folder name is refused when learned: exit 2, one line naming the character, nothing changed', { timeout: 60_000 }, () => {
  const before = hashTree(run);
  const cases: [string, RegExp][] = [
    ['../other', /task '\.\.\/other': name: holds '\/' at position 2/],
    ['a\\b', /task 'a\\b': name: holds '\\' at position 1/],
    ['..', /task '\.\.': name: cannot be '\.\.'/],
    ['.', /task '\.': name: cannot be '\.'/],
    // A command line cannot carry NUL (test/properties/task.test.ts checks it); another control character stands for it.
    ['a\u0001b', /task 'a<U\+0001>b': name: holds the control character U\+0001 at position 1/],
  ];
  for (const [name, why] of cases) {
    const r = cpg('learn', run, '--task', name, '--data', data, ...quick);
    assert.equal(r.status, 2, `${JSON.stringify(name)}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, why);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.deepEqual(treeChanges(before, hashTree(run)), [], 'the run is unchanged');
});

test('a model that holds a name from before the rule still evaluates, predicts and exports that task', { timeout: 60_000 }, () => {
  const ev = cpg('eval', run);
  assert.equal(ev.status, 0, ev.stderr);
  assert.match(ev.stdout, /^\.\.\/evil\s+\d+\.\d+%/m, 'its data read again from its folder under its name');
  const one = path.join(data, 'test', 'three', 'img-0000.png');
  const p = cpg('predict', run, '--task', '../evil', one, '--json');
  assert.equal(p.status, 0, p.stderr);
  assert.equal((JSON.parse(p.stdout) as { file: string }).file, one);
  const out = path.join(work, 'one');
  const x = cpg('export', run, '--task', '../evil', '--out', out);
  assert.equal(x.status, 0, x.stderr);
  assert.equal((JSON.parse(readFileSync(path.join(out, 'task.json'), 'utf8')) as { task: string }).task, '../evil');
});

test('export --task all writes each task into a folder of its own: names that sanitise alike or differ in case overwrite nothing', { timeout: 60_000 }, () => {
  const out = path.join(work, 'all');
  const r = cpg('export', run, '--task', 'all', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const folders = readdirSync(out);
  assert.equal(folders.length, tasks.length, `one folder a task: ${folders.join(', ')}`);
  assert.equal(new Set(folders.map((f) => f.toLowerCase())).size, folders.length, 'distinct where case is ignored too');
  const owner = new Map(folders.map((f) => [f, (JSON.parse(readFileSync(path.join(out, f, 'task.json'), 'utf8')) as { task: string }).task]));
  assert.deepEqual([...owner.values()].sort(), [...tasks].sort(), 'every task exported once');
  assert.equal(owner.get('___evil'), '___evil', 'a name that is a safe folder name is its folder');
  // Each line names the task and the folder that holds it; a folder that is not the name says why.
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, tasks.length);
  for (const line of lines) {
    const m = /^exported '(.+)' \(tfjs\) to (.+?)(?: \((.+)\))?: model\.json, weights\.bin, task\.json$/.exec(line);
    assert.ok(m !== null, line);
    const [, task, dir, why] = m;
    assert.equal(path.dirname(dir!), out);
    assert.equal(owner.get(path.basename(dir!)), task, line);
    assert.equal(why === undefined, path.basename(dir!) === task, line);
  }
});

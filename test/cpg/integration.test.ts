/**
 * End to end through the command line: a small 3-task CPG run on real
 * digits that grows once and compacts, a run killed with SIGKILL mid-task
 * and resumed, and the checkpoint of both compared bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/node/cli/main.js');
const work = mkdtempSync(path.join(tmpdir(), 'cpg-int-'));
const goals = path.join(work, 'goals.json');
// Task 2's goal is unreachable on purpose: it must grow, then compact under the cap.
writeFileSync(goals, JSON.stringify({ 'digits-0-1': 0.9, 'digits-2-3': 1, 'digits-4-5': 0.9 }));

const flags = (out: string) => [
  'run', '--out', out, '--tasks', '3', '--goals', goals, '--limit-per-task', '96', '--batch-size', '32',
  '--train-epochs', '2', '--prune-epochs', '1', '--prune-ramp-epochs', '1', '--sparsities', '0.3,0.6',
  '--retrain-epochs', '2', '--retrain-patience', '1', '--train-acc-threshold', '0.5', '--seed', '5',
];

const env = { ...process.env, CPG_BACKEND: process.env['CPG_BACKEND'] ?? 'wasm' };

interface Manifest {
  readonly state: { readonly sharable: { blob: { sha256: string } }[]; readonly owners: { blob: { sha256: string } }[]; readonly finished: unknown[]; readonly privates: unknown[] };
}
const manifest = (dir: string): Manifest => JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8')) as Manifest;

test('a 3-task CPG run grows, compacts, forgets nothing, and a killed run resumes to the same checkpoint', { timeout: 170_000 }, async () => {
  const whole = path.join(work, 'whole');
  const r = spawnSync(process.execPath, [cli, ...flags(whole)], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `cpg run failed:\n${r.stdout}\n${r.stderr}`);
  const report = JSON.parse(readFileSync(path.join(whole, 'report.json'), 'utf8')) as {
    tasks: { name: string; growths: unknown[]; pruneCurve: unknown[]; widthMultiplier: number }[];
    maxLogitDrift: number;
    forgetting: number;
    accuracyMatrix: (number | null)[][];
    backend: string;
    threads?: number;
    simd?: boolean;
  };
  assert.equal(report.tasks.length, 3);
  assert.equal(report.backend, 'wasm');
  assert.ok(Number.isInteger(report.threads) && report.threads! >= 1, 'the report says how many threads the run used');
  assert.equal(typeof report.simd, 'boolean');
  assert.ok(report.tasks[1]!.growths.length >= 1, 'task 2 missed its goal and grew the network');
  assert.equal(report.tasks[1]!.widthMultiplier, 1.5);
  assert.ok(report.tasks.some((t) => t.pruneCurve.length >= 1), 'a compacting sweep was recorded');
  assert.equal(report.maxLogitDrift, 0, 'finished tasks kept their exact logits');
  assert.equal(report.forgetting, 0);
  // Every earlier task's accuracy is the same in every later row.
  for (let j = 0; j < 3; j++) for (let i = j; i < 3; i++) assert.equal(report.accuracyMatrix[i]![j], report.accuracyMatrix[j]![j]);
  assert.match(readFileSync(path.join(whole, 'report.html'), 'utf8'), /<html/i);

  // Kill a second run mid-way (after task 2's first compacting stage), then resume it.
  const killed = path.join(work, 'killed');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...flags(killed)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    let task2 = false;
    child.stdout.on('data', (d: Buffer) => {
      seen += d.toString();
      task2 ||= seen.includes('task 2/3');
      if (task2 && /task 2\/3[\s\S]*prune:/.test(seen)) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`run was not killed (exit ${code}):\n${seen}`))));
  });
  const partial = manifest(killed);
  assert.ok(partial.state.finished.length < 3, 'the run was stopped before its end');
  const resumed = spawnSync(process.execPath, [cli, 'resume', killed], { env, encoding: 'utf8' });
  assert.equal(resumed.status, 0, `cpg resume failed:\n${resumed.stdout}\n${resumed.stderr}`);
  const a = manifest(whole).state;
  const b = manifest(killed).state;
  assert.deepEqual(b.sharable.map((e) => e.blob.sha256), a.sharable.map((e) => e.blob.sha256), 'identical weights');
  assert.deepEqual(b.owners.map((e) => e.blob.sha256), a.owners.map((e) => e.blob.sha256), 'identical owner maps');
  assert.deepEqual(b.finished, a.finished, 'identical pick masks and task records');
  assert.deepEqual(b.privates, a.privates, 'identical private parameters');

  // cpg eval proves the same from the checkpoint alone.
  const ev = spawnSync(process.execPath, [cli, 'eval', killed], { env, encoding: 'utf8' });
  assert.equal(ev.status, 0, ev.stderr);
  assert.match(ev.stdout, /digits-4-5/);
});

/**
 * The runnable example learns three tasks from in-memory arrays into a memory
 * store, then a fourth later into the same model: every report forgets
 * nothing, and no file is written anywhere (it runs in an empty working
 * directory with an empty temporary directory, and both stay empty).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const example = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/learn-arrays.mjs');

test('examples/learn-arrays.mjs: three tasks from arrays, then a fourth, in memory only', { timeout: 240_000 }, () => {
  const cwd = mkdtempSync(path.join(tmpdir(), 'cpg-example-cwd-'));
  const tmp = mkdtempSync(path.join(tmpdir(), 'cpg-example-tmp-'));
  const r = spawnSync(process.execPath, [example], { cwd, env: { ...process.env, TMPDIR: tmp, CPG_BACKEND: 'wasm' }, encoding: 'utf8', timeout: 230_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const out = JSON.parse(lines[lines.length - 1]!) as { tasks: string[]; forgetting: number; maxLogitDrift: number; averageAccuracy: number; blobs: number };
  assert.deepEqual(out.tasks, ['digits-0-1', 'digits-2-3', 'digits-4-5', 'digits-6-7']);
  assert.equal(out.maxLogitDrift, 0);
  assert.equal(out.forgetting, 0);
  assert.ok(out.averageAccuracy > 0.8, `average ${out.averageAccuracy}`);
  assert.ok(out.blobs > 0, 'the model is in the memory store');
  assert.equal(lines.filter((l) => / logit drift 0$/.test(l)).length, 4, 'each task finished with drift 0');
  assert.deepEqual(readdirSync(cwd), [], 'nothing written in the working directory');
  assert.deepEqual(readdirSync(tmp), [], 'nothing written in the temporary directory');
});

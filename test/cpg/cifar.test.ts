/**
 * CIFAR-100 end to end on a small file in the official binary format that
 * the test writes: superclass tasks, crop-and-flip augmentation, CPG with
 * compacting, and the no-forgetting check. (The VGG16 recipe itself is
 * `npm run check:cifar-recipe`: too slow for the suite on wasm.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCifar } from '../../tools/faultlib.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/node/cli/main.js');
const env = { ...process.env, CPG_BACKEND: process.env['CPG_BACKEND'] ?? 'wasm' };

test('CIFAR-100 from its binary format: two superclass tasks learned with CPG, nothing forgotten', { timeout: 120_000 }, () => {
  const root = mkdtempSync(path.join(tmpdir(), 'cpg-cifar-'));
  const data = writeCifar(root, 6, 2);
  const out = path.join(root, 'run');
  const r = spawnSync(
    process.execPath,
    [cli, 'run', '--benchmark', 'cifar100', '--data', data, '--net', 'mlp', '--tasks', '2', '--out', out, '--train-epochs', '2', '--individual-epochs', '2',
      '--prune-epochs', '1', '--prune-ramp-epochs', '1', '--sparsities', '0.5', '--retrain-epochs', '1', '--batch-size', '8', '--train-acc-threshold', '0'],
    { env, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as {
    benchmark: string;
    tasks: { name: string; pruneCurve: unknown[] }[];
    maxLogitDrift: number;
  };
  assert.equal(report.benchmark, 'cifar100');
  assert.deepEqual(report.tasks.map((t) => t.name), ['super0', 'super1'], 'tasks named by the superclass names file');
  assert.ok(report.tasks.every((t) => t.pruneCurve.length >= 1), 'each task was compacted');
  assert.equal(report.maxLogitDrift, 0);
});

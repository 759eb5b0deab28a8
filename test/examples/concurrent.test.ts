/**
 * examples/concurrent.mjs: two learners at once in one process, each into its
 * own run directory. Both end with drift 0, release their directories, and
 * their checkpoints alone rebuild every task with its recorded logits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { evaluateRun } from '../../src/node/runs.js';

const example = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/concurrent.mjs');

test('examples/concurrent.mjs OUTDIR: two learners at once, one JSON line each, drift 0, checkpoints that re-evaluate exactly', { timeout: 300_000 }, async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'cpg-concurrent-'));
  try {
    const r = spawnSync(process.execPath, [example, out], { encoding: 'utf8', timeout: 280_000, env: { ...process.env, CPG_BACKEND: 'wasm' } });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { dir: string; maxLogitDrift: number; averageAccuracy: number; tasks: string[] });
    assert.deepEqual(lines.map((l) => l.dir), [path.join(out, 'a'), path.join(out, 'b')]);
    assert.deepEqual(lines.map((l) => l.tasks), [['digits-0-1', 'digits-2-3'], ['digits-4-5', 'digits-6-7']]);
    for (const l of lines) {
      assert.equal(l.maxLogitDrift, 0);
      assert.ok(l.averageAccuracy > 0.8, `${l.dir}: ${l.averageAccuracy}`);
      assert.ok(!existsSync(path.join(l.dir, 'lock')), 'the directory is released');
      const again = await evaluateRun(l.dir, { backend: 'wasm' })();
      assert.ok(E.isRight(again), JSON.stringify(E.isLeft(again) ? again.left : ''));
      assert.deepEqual(again.right.rows.map((row) => row.logitDrift), [0, 0], `${l.dir} rebuilt from its checkpoint`);
    }
    const usage = spawnSync(process.execPath, [example], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /usage: node examples\/concurrent\.mjs OUTDIR/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

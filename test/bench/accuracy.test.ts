/**
 * bench:accuracy end to end, as the sweep it is: tiny real Split MNIST runs
 * of every method, one job at a time, the individual run assembled from its
 * goal networks; a second invocation reuses every finished run; a directory
 * holding other configurations is refused in one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/accuracy.js');
const env = { ...process.env, CPG_BACKEND: process.env['CPG_BACKEND'] ?? 'wasm' };
const bench = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { env, encoding: 'utf8', timeout: 300_000 });

test('bench:accuracy is a sweep at concurrency 1: every method, one table, finished runs reused, other configurations refused', { timeout: 600_000 }, () => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'cpg-bench-')), 'split');
  const flags = ['--quick', '--limit-per-task', '64', '--threads', '1', '--out', out];
  const r = bench(...flags);
  assert.equal(r.status, 0, r.stderr);
  // One job at a time, goal networks first (one per task), then the individual run assembled from them.
  assert.match(r.stderr, /cpg sweep: 6 jobs in .*, 1 at a time/);
  assert.match(r.stderr, /\[1\/6\] [0-9a-f]{16} \(method=individual seed=1 onlyTask=1\): done/);
  assert.match(r.stderr, /\[3\/6\] [0-9a-f]{16} \(method=individual seed=1\): done/);
  const table = JSON.parse(readFileSync(path.join(out, 'accuracy.json'), 'utf8')) as {
    groups: { quick: boolean; command: string; rows: { method: string }[] }[];
  };
  assert.equal(table.groups.length, 1);
  assert.equal(table.groups[0]!.quick, true);
  assert.match(table.groups[0]!.command, /^npm run bench:accuracy -- --quick/);
  assert.deepEqual(table.groups[0]!.rows.map((x) => x.method), ['individual', 'finetune', 'packnet', 'cpg']);
  assert.match(r.stdout, /CPG forgetting exactly 0 and max logit drift 0/);
  // Given again: nothing runs; the same table.
  const again = bench(...flags);
  assert.equal(again.status, 0, again.stderr);
  assert.equal((again.stderr.match(/finished before, skipped/g) ?? []).length, 6, again.stderr);
  const strip = (s: string) => s.replace(/\d+ s\b/g, '');
  assert.equal(strip(again.stdout), strip(r.stdout));
  // Other settings into the same directory: one line, exit 2, nothing mixed in.
  const grid = readFileSync(path.join(out, 'grid.json'), 'utf8');
  const other = bench('--quick', '--limit-per-task', '80', '--threads', '1', '--out', out);
  assert.equal(other.status, 2, other.stderr);
  assert.match(other.stderr.trim().split('\n').pop()!, /^bench:accuracy: .*holds another sweep \(its jobs differ from this grid's\): choose another --out$/);
  assert.equal(readFileSync(path.join(out, 'grid.json'), 'utf8'), grid, 'the grid of the sweep there is kept');
});

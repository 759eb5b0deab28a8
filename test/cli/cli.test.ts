/**
 * The command line on bad input: clear one-line errors naming the flag or
 * file, exit code 2 for usage and input errors, no stack traces, and a
 * corrupt checkpoint refused without touching anything in the run directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/node/cli/main.js');
const env = { ...process.env, CPG_BACKEND: process.env['CPG_BACKEND'] ?? 'wasm' };
const cpg = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
const work = mkdtempSync(path.join(tmpdir(), 'cpg-cli-'));

const refused = (args: string[], pattern: RegExp, code = 2): void => {
  const r = cpg(...args);
  assert.equal(r.status, code, `cpg ${args.join(' ')} → exit ${r.status}\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, pattern, `cpg ${args.join(' ')}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
};

test('bad flags and values are refused with exit code 2 and name the flag', () => {
  refused(['run', '--epochz', '3'], /unknown flag --epochz/);
  refused(['run', '--train-epoch', '3'], /did you mean --train-epochs\?/);
  refused(['run', '--train-epochs', '-3'], /--train-epochs/);
  refused(['run', '--train-epochs', 'many'], /--train-epochs/);
  refused(['run', '--batch-size', '0'], /--batch-size/);
  refused(['run', '--sparsities', '0.5,1.2'], /--sparsities\[1\]/);
  refused(['run', '--sparsities', '0.6,0.3'], /--sparsities/);
  refused(['run', '--max-multiplier', '0.5'], /--max-multiplier/);
  refused(['run', '--record-rule', 'maybe'], /--record-rule/);
  refused(['run', '--capacity-budget', 'lots'], /--capacity-budget/);
  refused(['run', '--allowed-loss-images', '-1'], /--allowed-loss-images: expected an integer ≥ 0, got -1/);
  refused(['run', '--allowed-loss-images', '1.5'], /--allowed-loss-images/);
  refused(['run', '--claim', 'some'], /--claim/);
  refused(['run', '--compact-search', 'fast'], /--compact-search/);
  refused(['run', '--retrain-pick-from', 'fresh'], /--retrain-pick-from/);
  refused(['run', '--only-task', '2'], /--only-task: is for the individual baseline .*not method 'cpg'/);
  refused(['run', '--method', 'individual', '--tasks', '2', '--only-task', '3'], /--only-task: must be ≤ tasks \(2\), got 3/);
  refused(['run', '--benchmark', 'imagenet'], /--benchmark/);
  refused(['run', '--net'], /--net needs a value/);
  refused(['run', 'extra'], /unexpected argument 'extra'/);
  refused(['frobnicate'], /unknown command 'frobnicate'/);
  refused(['resume'], /needs the run directory/);
  refused(['run', '--config', path.join(work, 'nope.json')], /cannot read/);
});

test('a config file with a typo or a wrong type names the file and the field', () => {
  const file = path.join(work, 'config.json');
  writeFileSync(file, JSON.stringify({ trainEpochz: 3 }));
  refused(['run', '--config', file], new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*trainEpochz.*unknown field`));
  writeFileSync(file, '{"trainEpochs": 3,');
  refused(['run', '--config', file], /not valid JSON/);
});

test('CIFAR-100 without its data is refused, naming what is missing', () => {
  refused(['run', '--benchmark', 'cifar100'], /--data/);
  refused(['run', '--benchmark', 'cifar100', '--data', path.join(work, 'no-such-dir'), '--out', path.join(work, 'c')], /no-such-dir/);
});

test('help explains the commands and every configuration flag', () => {
  const r = cpg('--help');
  assert.equal(r.status, 0);
  for (const s of ['cpg run', 'cpg resume', 'cpg eval', 'cpg help', 'Examples']) assert.ok(r.stdout.includes(s), s);
  const run = cpg('help', 'run');
  assert.equal(run.status, 0);
  for (const s of ['--train-epochs', '--max-multiplier', '--sparsities']) assert.ok(run.stdout.includes(s), s);
  // The defaults of the preset a run gets (test/cli/help.test.ts checks every flag of every command).
  assert.match(run.stdout, /--train-epochs N +8 /);
  assert.match(run.stdout, /--allowed-loss X +0\.005 /);
  assert.match(cpg('help', 'run', '--benchmark', 'split-fmnist').stdout, /--allowed-loss-images N +0 /);
  assert.match(cpg('help', 'run', '--benchmark', 'cifar100').stdout, /--train-epochs N +100 /);
});

const hashDir = (dir: string): string => {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(p).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
};

test('an output directory that holds a run, and a corrupt or foreign checkpoint, are refused without damage', { timeout: 120_000 }, () => {
  const dir = path.join(work, 'run');
  const r = cpg('run', '--out', dir, '--tasks', '1', '--limit-per-task', '64', '--train-epochs', '1', '--individual-epochs', '1', '--prune-epochs', '1', '--sparsities', '0.5');
  assert.equal(r.status, 0, r.stderr);
  refused(['run', '--out', dir], /already holds a run/);

  // A flipped byte in a tensor blob.
  const m = JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8')) as { state: { sharable: { blob: { sha256: string } }[] } };
  const blob = path.join(dir, 'blobs', `${m.state.sharable[0]!.blob.sha256}.bin`);
  const bytes = readFileSync(blob);
  bytes[100] = bytes[100]! ^ 0xff;
  writeFileSync(blob, bytes);
  const before = hashDir(dir);
  const ev = cpg('eval', dir);
  assert.notEqual(ev.status, 0);
  assert.match(ev.stderr, new RegExp(`${m.state.sharable[0]!.blob.sha256}\\.bin.*corrupted`));
  assert.doesNotMatch(ev.stderr, /\n\s+at /);
  assert.equal(hashDir(dir), before, 'nothing in the run directory changed');
  // A damaged checkpoint is bad input to resume as well: exit 2, nothing changed.
  refused(['resume', dir], new RegExp(`${m.state.sharable[0]!.blob.sha256}\\.bin: blob content does not match its sha256`));
  assert.equal(hashDir(dir), before, 'nothing in the run directory changed');
  bytes[100] = bytes[100]! ^ 0xff;
  writeFileSync(blob, bytes);

  // A manifest of something else, and a truncated one.
  const manifest = path.join(dir, 'run.json');
  const text = readFileSync(manifest, 'utf8');
  writeFileSync(manifest, JSON.stringify({ format: 'keras-model', version: 1 }));
  refused(['resume', dir], /run\.json: not a cpg run manifest/);
  writeFileSync(manifest, text.slice(0, text.length / 2));
  const beforeTruncated = hashDir(dir);
  refused(['resume', dir], /run\.json.*not valid JSON/);
  assert.equal(hashDir(dir), beforeTruncated, 'nothing in the run directory changed');
  writeFileSync(manifest, text);
});

test('cpg resume of a directory with no run exits 2, naming the directory', () => {
  const empty = path.join(work, 'empty-dir');
  mkdirSync(empty, { recursive: true });
  refused(['resume', empty], new RegExp(`${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/run\\.json: no run here`));
  refused(['resume', path.join(work, 'no-such-dir')], /no-such-dir\/run\.json: no run here/);
  assert.deepEqual(readdirSync(empty), [], 'nothing written');
  assert.ok(!existsSync(path.join(work, 'no-such-dir')), 'nothing created');
});

test('cpg resume that fails while it works (a report it cannot write) exits 1, naming the file', { timeout: 60_000 }, () => {
  const dir = path.join(work, 'run-report');
  const r = cpg('run', '--out', dir, '--tasks', '1', '--limit-per-task', '64', '--train-epochs', '1', '--individual-epochs', '1', '--prune-epochs', '1', '--sparsities', '0.5');
  assert.equal(r.status, 0, r.stderr);
  // report.json is a directory with something in it: the checkpoint is sound, the last write fails.
  rmSync(path.join(dir, 'report.json'));
  mkdirSync(path.join(dir, 'report.json', 'x'), { recursive: true });
  refused(['resume', dir], /report\.json: could not write/, 1);
});

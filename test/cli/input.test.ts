/**
 * Hostile input on every command: a key given twice in any JSON cpg reads
 * from a user (--config, --goals, --grid, a flag's JSON, sweep.json), a
 * value beyond what cpg can take (--threads 999, counts and timers of sweep
 * and worker), a backend Node cannot run, a flag a command would ignore and
 * help on nothing: each is refused with exit 2 and one line naming the flag,
 * file or key, before anything is written.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_WASM_THREADS } from '../../src/algebra/threads.js';
import { hashTree } from '../../tools/faultlib.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/node/cli/main.js');
const env = { ...process.env, CPG_BACKEND: process.env['CPG_BACKEND'] ?? 'wasm' };
const cpg = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 120_000 });
const work = mkdtempSync(path.join(tmpdir(), 'cpg-input-'));
const at = (...p: string[]) => path.join(work, ...p);
const run = at('run');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Refused: exit 2, one line on stderr matching `pattern`, no stack, nothing on stdout. */
const refused = (args: readonly string[], pattern: RegExp): void => {
  const r = cpg(...args);
  assert.equal(r.status, 2, `cpg ${args.join(' ')} → exit ${r.status}\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, pattern, `cpg ${args.join(' ')}`);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(r.stdout, '', `cpg ${args.join(' ')} printed nothing`);
};

const tiny = ['--tasks', '1', '--limit-per-task', '64', '--train-epochs', '1', '--individual-epochs', '1', '--prune-epochs', '1', '--prune-ramp-epochs', '1', '--sparsities', '0.5', '--retrain-epochs', '1', '--threads', '1'];

before(() => {
  const r = cpg('run', '--out', run, ...tiny);
  assert.equal(r.status, 0, r.stderr);
  mkdirSync(at('images', 'a'), { recursive: true });
});

test('a key given twice in a --config, --goals or --grid file, or in a flag\'s JSON, is refused naming the key and where it is', () => {
  const config = at('config.json');
  writeFileSync(config, '{\n  "trainEpochs": 3,\n  "seed": 2,\n  "trainEpochs": 4\n}\n');
  const twice = (key: string, where: string) => new RegExp(`the key "${escape(key)}" is given twice in one object \\(${escape(where)}\\)`);
  refused(['run', '--config', config, '--out', at('r1')], new RegExp(`^cpg: ${escape(config)}: invalid value at 'trainEpochs': ${twice('trainEpochs', 'lines 2 and 4').source}`));
  assert.equal(existsSync(at('r1')), false, 'no run directory was made');
  refused(['learn', at('l1'), '--task', 't', '--data', at('images'), '--config', config], twice('trainEpochs', 'lines 2 and 4'));
  assert.equal(existsSync(at('l1')), false, 'no run directory was made');

  const goals = at('goals.json');
  writeFileSync(goals, '{"digits-0-1": 0.9, "digits-0-1": 0.95}');
  refused(['run', '--goals', goals, '--out', at('r2'), ...tiny], new RegExp(`^cpg: ${escape(goals)}: invalid value at '\\["digits-0-1"\\]': ${twice('digits-0-1', 'line 1, columns 2 and 21').source}`));
  assert.equal(existsSync(at('r2')), false, 'no run directory was made');

  const grid = at('grid.json');
  const gridText = '{"config": {"tasks": 1}, "axes": {"seed": [1, 2], "lr": [0.1], "seed": [3]}}';
  writeFileSync(grid, gridText);
  const columns = `line 1, columns ${gridText.indexOf('"seed"') + 1} and ${gridText.lastIndexOf('"seed"') + 1}`;
  refused(['sweep', '--grid', grid, '--out', at('s1')], new RegExp(`^cpg: ${escape(grid)}: invalid value at 'axes\\.seed': ${twice('seed', columns).source}`));
  assert.equal(existsSync(at('s1')), false, 'no sweep directory was made');

  refused(['run', '--lr-milestones', '[{"at": 0.5, "factor": 0.1, "at": 0.8}]', '--out', at('r3')], /^cpg: invalid value for --lr-milestones\[0\]\.at: the key "at" is given twice/);
  assert.equal(existsSync(at('r3')), false, 'no run directory was made');

  // A sweep directory's own file, damaged by hand, is read by the same parser.
  mkdirSync(at('s2'));
  writeFileSync(at('s2', 'sweep.json'), '{"format": "cpg-sweep", "version": 1, "jobs": [], "jobs": []}');
  refused(['sweep', at('s2'), '--status'], /sweep\.json: invalid value at 'jobs': the key "jobs" is given twice/);
});

test(`--threads beyond ${MAX_WASM_THREADS} (the most the wasm backend runs on) is refused on every command, naming the range, before anything is written`, () => {
  const range = new RegExp(`^cpg: invalid value for --threads: expected an integer in \\[1, ${MAX_WASM_THREADS}\\] \\(the most the wasm backend runs on\\), got 999$`, 'm');
  const before = hashTree(run);
  refused(['run', '--threads', '999', '--out', at('r4')], range);
  assert.equal(existsSync(at('r4')), false, 'no run directory was made');
  refused(['learn', at('l2'), '--task', 't', '--data', at('images'), '--threads', '999'], range);
  assert.equal(existsSync(at('l2')), false, 'no run directory was made');
  refused(['eval', run, '--threads', '999'], range);
  refused(['predict', run, '--task', 'all', at('images'), '--threads', '999'], range);
  refused(['export', run, '--task', 'all', '--out', at('x1'), '--threads', '999'], range);
  assert.equal(existsSync(at('x1')), false, 'nothing exported');
  refused(['resume', run, '--threads', String(MAX_WASM_THREADS + 1)], new RegExp(`--threads: expected an integer in \\[1, ${MAX_WASM_THREADS}\\]`));
  const config = at('threads.json');
  writeFileSync(config, '{"threads": 64}');
  refused(['run', '--config', config, '--out', at('r5')], new RegExp(`${escape(config)}: invalid value at 'threads': expected an integer in \\[1, ${MAX_WASM_THREADS}\\]`));
  const grid = at('grid-threads.json');
  writeFileSync(grid, JSON.stringify({ config: { tasks: 1 }, axes: { threads: [1, 16] } }));
  refused(['sweep', '--grid', grid, '--out', at('s3')], /invalid value at 'axes\.threads\[1\]': expected an integer in \[1, 8\]/);
  assert.equal(existsSync(at('s3')), false, 'no sweep directory was made');
  assert.deepEqual(hashTree(run), before, 'the run was not touched');
});

test('a run recorded with more threads than the wasm backend runs on (from before the limit) still evaluates, on the most', () => {
  const copy = at('old-threads');
  const r = cpg('run', '--out', copy, ...tiny.filter((x, i, xs) => x !== '--threads' && xs[i - 1] !== '--threads'), '--threads', '2');
  assert.equal(r.status, 0, r.stderr);
  const manifest = path.join(copy, 'run.json');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/"threads": 2\b/, '"threads": 12'));
  assert.match(readFileSync(manifest, 'utf8'), /"threads": 12/);
  const ev = cpg('eval', copy, '--backend', 'wasm');
  assert.equal(ev.status, 0, `${ev.stdout}${ev.stderr}`);
  assert.match(ev.stdout, new RegExp(`evaluated on wasm \\(${MAX_WASM_THREADS} threads`));
});

test('a width beyond what a checkpoint stores is refused, not written and then unreadable', () => {
  refused(['learn', at('l4'), '--task', 't', '--data', at('images'), '--max-multiplier', '100'], /^cpg: invalid value for --max-multiplier: expected a number in \[1, 64\] \(the widest a checkpoint stores\), got 100/);
  refused(['run', '--max-multiplier', '65', '--out', at('r7')], /--max-multiplier: expected a number in \[1, 64\]/);
  assert.equal(existsSync(at('l4')) || existsSync(at('r7')), false);
});

test('counts and timers of sweep and worker are refused beyond what they can take; a backend Node cannot run is refused as input', () => {
  refused(['sweep', '--grid', at('none.json'), '--out', at('s4'), '--concurrency', '1e30'], /^cpg: configuration '--concurrency': expected an integer ≥ 1 \(and ≤ 2\^53 − 1\), got '1e30'\n/);
  refused(['sweep', '--grid', at('none.json'), '--out', at('s4'), '--redis', 'redis://127.0.0.1:1', '--attempts', '2.5'], /'--attempts': expected an integer ≥ 1/);
  // A Node timer longer than 2^31 − 1 ms fires at once: a stall check every millisecond, not every 25 days.
  refused(['worker', '--redis', 'redis://127.0.0.1:1', '--stall-interval', '99999999999'], /^cpg: configuration '--stall-interval': expected an integer in \[1000, 2147483647\], got '99999999999'\n/);
  refused(['worker', '--redis', 'redis://127.0.0.1:1', '--lock-duration', '3000000000'], /'--lock-duration': expected an integer in \[1000, 2147483647\]/);
  assert.equal(existsSync(at('s4')), false);

  const webgl = /webgl runs only in a browser page; on Node choose auto, tensorflow, webgpu, wasm, cpu/;
  refused(['run', '--backend', 'webgl', '--out', at('r6')], new RegExp(`^cpg: invalid value for --backend: ${webgl.source}`));
  refused(['eval', run, '--backend', 'webgl'], webgl);
  refused(['predict', run, '--task', 'all', at('images'), '--backend', 'webgl'], webgl);
  const config = at('webgl.json');
  writeFileSync(config, '{"backend": "webgl"}');
  refused(['run', '--config', config, '--out', at('r6')], new RegExp(`${escape(config)}: invalid value at 'backend': ${webgl.source}`));
  const grid = at('grid-webgl.json');
  writeFileSync(grid, JSON.stringify({ config: { tasks: 1, backend: 'webgl' }, axes: { seed: [1] } }));
  refused(['sweep', '--grid', grid, '--out', at('s5')], webgl);
  assert.equal(existsSync(at('r6')) || existsSync(at('s5')), false);

  // A run's directory is no sweep's --out: its jobs would land inside the run.
  const ok = at('grid-ok.json');
  writeFileSync(ok, JSON.stringify({ config: { tasks: 1 }, axes: { seed: [1] } }));
  const before = hashTree(run);
  refused(['sweep', '--grid', ok, '--out', run], new RegExp(`^cpg: configuration '--out': ${escape(run)} holds a run \\(run\\.json\\), not a sweep: choose another --out`));
  assert.deepEqual(hashTree(run), before, 'the run was not touched');
});

test('a flag or field a command would ignore is refused, and so is help on nothing', () => {
  refused(['learn', at('l3'), '--task', 't', '--data', at('images'), '--goals', 'goals.json'], /unknown flag --goals for `cpg learn` \(did you mean --goal\?\)/);
  refused(['learn', at('l3'), '--task', 't', '--data', at('images'), '--only-task', '1'], /unknown flag --only-task for `cpg learn`/);
  const config = at('learn-goals.json');
  writeFileSync(config, '{"goals": {"kind": "individual"}}');
  refused(['learn', at('l3'), '--task', 't', '--data', at('images'), '--config', config], new RegExp(`${escape(config)}: invalid value at 'goals': is a run's goal source; \`cpg learn\` takes each task's goal with --goal`));
  assert.equal(existsSync(at('l3')), false);
  refused(['help', 'frob'], /^cpg: configuration 'help': no help on 'frob': the commands are run, learn, resume, eval, predict, export, sweep, worker\n/);
  refused(['help', 'lern'], /no help on 'lern'.*\(did you mean learn\?\)/);
  refused(['run', '--frob', '--help'], /unknown flag --frob for `cpg run`/);
  refused(['help', 'run', '--benchmark', 'imagenet'], /--benchmark/);
});

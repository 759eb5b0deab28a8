/**
 * Every command ends within 2 seconds of SIGTERM or Ctrl-C, wherever it is:
 * in a training step (it stops at the next one, exit 130, resumable), blocked
 * on a read that never returns (a FIFO as the goal file), or at a second
 * signal; the run's last checkpoint stays valid and its lock is gone. An
 * output directory that cannot be created is refused at once (exit 2), where
 * Node's recursive mkdir would spin for ever (/proc).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDigitFolders } from '../helpers/digitFolders.js';
import { creatableDir, makeDirs } from '../../src/node/dirs.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/node/cli/main.js');
const env = { ...process.env, CPG_BACKEND: process.env['CPG_BACKEND'] ?? 'wasm' };
const work = mkdtempSync(path.join(tmpdir(), 'cpg-stop-'));
const data = path.join(work, 'zero-one');
const cpg = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 60_000 });
const long = ['--train-epochs', '400', '--individual-epochs', '400', '--prune-epochs', '1', '--prune-ramp-epochs', '1', '--sparsities', '0.5', '--retrain-epochs', '1', '--seed', '3'];

before(async () => {
  await writeDigitFolders(data, { zero: 0, one: 1 }, 60);
});

const children: ChildProcess[] = [];
// A failed assertion must not leave a child behind (it would keep this test file running).
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A cpg process, its output so far, and how it ended. */
const started = (args: readonly string[]): { readonly child: ChildProcess; readonly out: () => string; readonly ended: Promise<Ended> } => {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const ended = new Promise<Ended>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, out: () => out, ended };
};

const until = async (what: string, ok: () => boolean, out: () => string): Promise<void> => {
  const t0 = performance.now();
  while (!ok()) {
    assert.ok(performance.now() - t0 < 90_000, `waited too long for ${what}:\n${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** Milliseconds from `kill` to the process's end. */
const endsAfter = async (p: ReturnType<typeof started>, signal: NodeJS.Signals): Promise<{ readonly ms: number; readonly how: Ended }> => {
  const t0 = performance.now();
  p.child.kill(signal);
  const how = await p.ended;
  return { ms: performance.now() - t0, how };
};

test('an --out or RUN that cannot be created is refused at once with exit 2, naming it, and nothing is left behind', () => {
  const file = path.join(work, 'a-file');
  writeFileSync(file, 'x');
  for (const [args, names] of [
    [['run', '--out', '/proc/cpg-nope', '--tasks', '1'], /--out.*cannot create \/proc\/cpg-nope/],
    [['run', '--out', path.join(file, 'run')], /--out.*a-file.*not a directory/],
    [['learn', '/proc/cpg-nope/run', '--task', 'zero-one', '--data', data], /RUN.*cannot create \/proc\/cpg-nope\/run/],
    [['export', path.join(work, 'no-run'), '--task', 'all', '--out', '/proc/cpg-nope/x'], /--out.*cannot create/],
  ] as const) {
    const t0 = performance.now();
    const r = cpg(...args);
    assert.equal(r.status, 2, `cpg ${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, names);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.ok(performance.now() - t0 < 30_000, 'at once, not after a spin');
  }
});

test('makeDirs creates what is missing and answers where Node would spin; creatableDir leaves nothing', async () => {
  const deep = path.join(work, 'a', 'b', 'c');
  assert.deepEqual(await makeDirs(deep), [path.join(work, 'a'), path.join(work, 'a', 'b'), deep]);
  assert.deepEqual(await makeDirs(deep), [], 'there already');
  await assert.rejects(makeDirs('/proc/cpg-nope/deeper'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  const fresh = path.join(work, 'x', 'y');
  assert.equal(await creatableDir(fresh, '--out'), undefined);
  assert.ok(!existsSync(path.join(work, 'x')), 'the check removed what it made');
  assert.equal((await creatableDir('/proc/cpg-nope', '--out'))?.tag, 'ConfigError');
});

test('SIGTERM in a training step: the run stops at the next step within 2 s (exit 130), frees the run, and resumes', { timeout: 240_000 }, async () => {
  const run = path.join(work, 'term');
  const p = started(['learn', run, '--task', 'zero-one', '--data', data, ...long]);
  await until('training', () => /epoch [2-9]\d*\/400/.test(p.out()), p.out);
  const { ms, how } = await endsAfter(p, 'SIGTERM');
  assert.equal(how.code, 130, p.out());
  assert.ok(ms < 2000, `ended ${ms.toFixed(0)} ms after SIGTERM`);
  assert.match(p.out(), /stopped\. The last checkpoint .* is valid/);
  assert.ok(!existsSync(path.join(run, 'lock')), 'the run is free');
  // The checkpoint is valid: a resume takes it up (and is stopped the same way).
  const again = started(['resume', run]);
  await until('the resumed training', () => /epoch \d+\/400/.test(again.out()), again.out);
  assert.equal((await endsAfter(again, 'SIGTERM')).how.code, 130, again.out());
});

test('a second signal ends the process at once, removing its lock; the checkpoint stays valid', { timeout: 240_000 }, async () => {
  const run = path.join(work, 'twice');
  const p = started(['learn', run, '--task', 'zero-one', '--data', data, ...long]);
  await until('training', () => /epoch [2-9]\d*\/400/.test(p.out()), p.out);
  p.child.kill('SIGINT');
  const { ms, how } = await endsAfter(p, 'SIGINT');
  assert.ok(how.code === 130 || how.signal === 'SIGINT', JSON.stringify(how));
  assert.ok(ms < 2000, `ended ${ms.toFixed(0)} ms after the second signal`);
  assert.ok(!existsSync(path.join(run, 'lock')), 'the lock went with the process');
  const manifest = JSON.parse(readFileSync(path.join(run, 'run.json'), 'utf8')) as { tasks: unknown[] };
  assert.equal(manifest.tasks.length, 1, 'the task is in the checkpoint');
});

test('SIGTERM while blocked on a read that never returns (a FIFO as the goal file) ends the process within 2 s', { timeout: 60_000 }, async () => {
  const fifo = path.join(work, 'goals.fifo');
  execFileSync('mkfifo', [fifo]);
  const run = path.join(work, 'fifo');
  const p = started(['run', '--goals', fifo, '--out', run, '--tasks', '1']);
  // The goal file is read after the benchmark's data (nothing is printed before): give the process time to get there.
  await new Promise((r) => setTimeout(r, 5000));
  assert.equal(p.child.exitCode, null, `still waiting on the FIFO:\n${p.out()}`);
  const { ms, how } = await endsAfter(p, 'SIGTERM');
  assert.ok(how.signal === 'SIGTERM' || how.code === 130, JSON.stringify(how));
  assert.ok(ms < 2000, `ended ${ms.toFixed(0)} ms after SIGTERM`);
  assert.ok(!existsSync(path.join(run, 'lock')));
});

/**
 * Fault injection, the reduced set in `npm test` (the full harness, with
 * ≥ 20 kill points and ≥ 200 mutations through the command line, is
 * `npm run test:faults`). One uninterrupted 3-task run is the reference for all:
 *
 * - the same seed gives the same bytes;
 * - SIGKILL at three seeded moments (mid-training, mid run.json write, mid
 *   blob write), then `cpg resume`: exactly the uninterrupted run;
 * - failed checkpoint writes (full disk, I/O error, read-only directory) stop
 *   the run naming the file and leave a valid checkpoint that resumes to the
 *   same end;
 * - a NaN loss stops the stage, naming it; nothing non-finite is written;
 * - 30 seeded mutations of checkpoints, goal files, config files and CIFAR
 *   data are refused naming the file without changing a file, or (still
 *   valid) behave exactly like the original;
 * - bad command lines exit 2; no code is evaluated from a file; names from
 *   files cannot write outside the run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describeError } from '../../src/algebra/errors.js';
import { shutdownBackend } from '../../src/node/backend.js';
import { readRun } from '../../src/node/runs.js';
import { manifestBlobs } from '../../src/effects/checkpoint.js';
import {
  type Baselines,
  type Fixtures,
  type MutationResult,
  baselines,
  buildFixtures,
  chmodStopsWrites,
  cli,
  cliCases,
  codeEvaluationSites,
  compareReproducible,
  configFromFlags,
  copyDir,
  cpg,
  cpgInProcess,
  checkpointWhere,
  compareWithReference,
  editConfig,
  fullDiskPlans,
  hashTree,
  judgeCli,
  judgeMutation,
  judgeNumeric,
  killChain,
  makeMutation,
  mutationPlan,
  referenceRun,
  rng,
  runInProcess,
  runnerFor,
  smallRunFlags,
  stagedWriteFaults,
  stateHashes,
  tempDir,
  treeChanges,
  writeFaultChain,
  writeGoalFile,
} from '../../tools/faultlib.js';

const work = tempDir('npm-test');
const flags = smallRunFlags(writeGoalFile(work));
const ref = path.join(work, 'reference');
const afterTask1 = path.join(work, 'after-task-1');
const midTask2 = path.join(work, 'mid-task-2');

const again = path.join(work, 'again');
let againRun: E.Either<string, unknown> = E.left('not run');

before(async () => {
  // The reference through the command line and, at the same time, a second uninterrupted run in this process.
  const second = runInProcess({ kind: 'new', dir: again, config: configFromFlags(flags) }).then((r) => {
    againRun = E.mapLeft(describeError)(r);
  });
  await Promise.all([referenceRun(ref, flags), second]);
});

after(async () => {
  await shutdownBackend()();
  fs.rmSync(work, { recursive: true, force: true });
});

test('the same seed on the same backend gives the same report and checkpoint bytes', () => {
  assert.ok(E.isRight(againRun), E.isLeft(againRun) ? againRun.left : '');
  assert.deepEqual(compareReproducible(ref, again), []);
});

test('a run killed at three seeded moments (training, run.json write, blob write) resumes to the uninterrupted run', { timeout: 180_000 }, async (t) => {
  const r = rng(20_191_208);
  const chain = await killChain(ref, path.join(work, 'killed'), flags, [
    { kind: 'line', what: 'epoch', nth: r.int(2, 4) },
    { kind: 'write', file: 'manifest', nth: r.int(1, 3) },
    { kind: 'write', file: 'blob', nth: r.int(2, 8) },
  ]);
  for (const k of chain.kills) t.diagnostic(`killed ${k.trigger}: ${k.during}${k.tempsLeft > 0 ? ' (a write cut short)' : ''}`);
  assert.deepEqual(chain.problems, []);
  assert.equal(chain.kills.length, 3, 'every kill landed');
});

test('a failed checkpoint write stops the run naming the file; the previous checkpoint stays valid and resumes to the same end', { timeout: 120_000 }, async (t) => {
  const chmodWorks = chmodStopsWrites();
  if (!chmodWorks) t.diagnostic('chmod does not stop this user (root): the read-only directory is simulated with EACCES from the store');
  const r = await writeFaultChain(ref, path.join(work, 'write-faults'), configFromFlags(flags), stagedWriteFaults(chmodWorks, afterTask1, midTask2));
  for (const c of r.cases) {
    t.diagnostic(`${c.name}: ${c.message}`);
    assert.deepEqual(c.problems, [], c.name);
  }
  assert.equal(r.cases.length, 4);
  assert.deepEqual(r.problems, []);
});

test("the harness's real full disks are sized from the run's own disk use: between what must fit and what must not", () => {
  const plans = fullDiskPlans({ firstCheckpoint: 2632, task1Peak: 7384, peak: 11396, manifest: 26 });
  assert.ok(Array.isArray(plans), String(plans));
  const [early, late] = plans;
  assert.ok(early!.kb > 2632 + 52 && early!.kb < 7384 && early!.finished.max === 0, JSON.stringify(early));
  assert.ok(late!.kb > 7384 + 52 && late!.kb < 11396 && late!.finished.min === 1, JSON.stringify(late));
  assert.ok(plans.every((p) => p.kb % 4 === 0), 'whole pages');
  // A run whose peak is in task 1 leaves no disk that holds task 1 and still fills: said, not skipped.
  assert.match(String(fullDiskPlans({ firstCheckpoint: 2632, task1Peak: 7384, peak: 7400, manifest: 26 })), /peak \(7400 KiB\) is not past task 1's/);
});

test('a mid-task checkpoint with a flipped byte in a blob it names is refused before anything is written (exit 2); one left by a failed commit is replaced', { timeout: 120_000 }, async () => {
  // The harness's mid-task fixture: resumed from after task 1 until the commit after task 2's first
  // compacting stage, whose run.json write fails, so the blobs written for it are left unnamed.
  assert.ok(fs.existsSync(afterTask1), 'the write-fault test kept the checkpoint after task 1');
  const mid = path.join(work, 'flip-mid');
  copyDir(afterTask1, mid);
  await checkpointWhere(mid, configFromFlags(flags), (m) => m.current !== null && m.finished.length >= 1 && (m.current.pruned.length >= 1 || m.current.lastPruned !== null));
  const read = await readRun(mid)();
  assert.ok(E.isRight(read) && read.right !== null);
  const m = read.right;
  const named = manifestBlobs(m);
  const committed = manifestBlobs({ ...m, current: null });
  const inProgress = [...named].filter((h) => !committed.has(h)).sort();
  const left = fs.readdirSync(path.join(mid, 'blobs')).filter((n) => n.endsWith('.bin')).map((n) => n.slice(0, -4)).filter((h) => !named.has(h)).sort();
  assert.ok(inProgress.length > 0, 'the task in progress has blobs of its own');
  assert.ok(left.length > 0, 'the failed commit left blobs');
  const flip = (dir: string, h: string) => {
    const file = path.join(dir, 'blobs', `${h}.bin`);
    const b = fs.readFileSync(file);
    b[5] = b[5]! ^ 0xff;
    fs.writeFileSync(file, b);
  };

  // A blob the checkpoint names: refused, naming it, before the first write.
  const damaged = path.join(work, 'flip-named');
  copyDir(mid, damaged);
  flip(damaged, inProgress[0]!);
  const before = hashTree(damaged);
  const r = await cpg(['resume', damaged]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${inProgress[0]}\\.bin: blob content does not match its sha256`));
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.deepEqual(treeChanges(before, hashTree(damaged)), [], 'the run directory is byte-identical');

  // Blobs no manifest names (a commit that never happened), each damaged: the resume writes them
  // again rather than trusting them by their size, and ends exactly as the uninterrupted run.
  const stray = path.join(work, 'flip-left');
  copyDir(mid, stray);
  for (const h of left) flip(stray, h);
  const s = await cpg(['resume', stray]);
  assert.equal(s.status, 0, s.stderr);
  assert.deepEqual(compareWithReference(ref, stray), []);
});

test('a NaN loss stops the stage naming stage and task; nothing non-finite is written; finished tasks stay frozen', { timeout: 60_000 }, async () => {
  const first = path.join(work, 'nan-task-1');
  const a = judgeNumeric('--lr 1e30', await cpgInProcess(['run', '--out', first, ...flags, '--lr', '1e30']), first, 'digits-0-1');
  assert.deepEqual(a.problems, [], a.message);
  assert.match(a.message, /stage 'train'/);
  // The checkpoint after task 1 (kept by the write-fault test), with a learning rate that blows up task 2.
  assert.ok(fs.existsSync(afterTask1), 'the write-fault test kept the checkpoint after task 1');
  const second = path.join(work, 'nan-task-2');
  copyDir(afterTask1, second);
  const frozen = stateHashes(second);
  editConfig(second, { lr: 1e30 });
  const b = judgeNumeric('lr 1e30 after task 1', await cpgInProcess(['resume', second]), second, 'digits-2-3', frozen);
  assert.deepEqual(b.problems, [], b.message);
});

let fx: Fixtures | undefined;
let base: Baselines | undefined;
const runner = runnerFor(true);
const fixtures = async (): Promise<{ fx: Fixtures; base: Baselines }> => {
  if (fx === undefined || base === undefined) {
    assert.ok(fs.existsSync(midTask2), 'the write-fault test kept a checkpoint in the middle of task 2');
    const done = path.join(work, 'fixture-done');
    copyDir(ref, done);
    fx = await buildFixtures(work, flags, { done, mid: midTask2 });
    base = await baselines(fx, runner);
  }
  return { fx, base };
};
const show = (x: MutationResult) => `#${x.c.id} ${x.c.detail}: ${x.verdict}${x.why !== '' ? ` — ${x.why}` : ''}${x.message !== '' ? `\n  ${x.message}` : ''}`;

test('30 seeded mutations of checkpoints, goal files, config files and data: refused naming the file without damage, or still valid', { timeout: 240_000 }, async (t) => {
  const { fx, base } = await fixtures();
  const results: MutationResult[] = [];
  for (const [id, target] of mutationPlan(30).entries()) {
    const c = makeMutation(11, id, target, fx);
    results.push(await judgeMutation(c, fx, base, runner(target)));
    fs.rmSync(c.scratch, { recursive: true, force: true });
  }
  const refused = results.filter((x) => x.verdict === 'refused').length;
  const valid = results.filter((x) => x.verdict === 'still-valid').length;
  t.diagnostic(`refused ${refused}/${results.length}, still valid ${valid}`);
  assert.deepEqual(results.filter((x) => x.verdict === 'FAIL').map(show), []);
  assert.equal(results.reduce((s, x) => s + x.changed, 0), 0, 'no file overwritten');
  assert.ok(refused >= 20, `most mutations are refused (${refused})`);
});

test('the command line refuses a corrupt checkpoint exactly as the in-process runner does', { timeout: 120_000 }, async () => {
  const { fx, base } = await fixtures();
  for (const [id, target] of [[1000, 'manifest'], [1001, 'blob']] as const) {
    const c = makeMutation(11, id, target, fx);
    const viaCli = await judgeMutation(c, fx, base, cli);
    fs.rmSync(c.scratch, { recursive: true, force: true });
    const again = makeMutation(11, id, target, fx);
    const inProcess = await judgeMutation(again, fx, base, runner(target));
    fs.rmSync(again.scratch, { recursive: true, force: true });
    assert.equal(viaCli.verdict, 'refused', show(viaCli));
    assert.equal(inProcess.verdict, 'refused', show(inProcess));
    assert.equal(inProcess.message.replace(again.scratch, 'DIR'), viaCli.message.replace(c.scratch, 'DIR'));
  }
});

test('bad command lines exit 2 with one line naming the flag or file', { timeout: 120_000 }, async () => {
  const blocker = path.join(work, 'blocker-cli');
  fs.writeFileSync(blocker, 'x');
  const wanted = [/--sparsities 0\.3,1 /, /--lr Infinity/, /no-such-goals/, /resume .* --lr/];
  const cases = cliCases(work, ref, blocker).filter((c) => wanted.some((re) => re.test(c.args.join(' '))));
  assert.equal(cases.length, wanted.length);
  for (const c of cases) {
    const r = judgeCli(c, await cpg(c.args));
    assert.ok(r.ok, `cpg ${r.args.join(' ')}: ${r.why}\n${r.stderr}`);
  }
  assert.ok(!fs.existsSync(path.join(work, 'never-created')), 'a refused command line created its --out directory');
  // A cross-field fault inside a config file names the file, not a flag.
  const config = path.join(work, 'bad-config.json');
  fs.writeFileSync(config, JSON.stringify({ lrMilestones: [{ at: 0.8, factor: 0.1 }, { at: 0.5, factor: 0.1 }] }));
  const r = judgeCli({ args: ['run', '--config', config], names: /bad-config\.json.*lrMilestones\[1\]\.at/ }, await cpg(['run', '--config', config]));
  assert.ok(r.ok, `${r.why}\n${r.stderr}`);
});

test('no code is evaluated from a file: no eval, Function, vm, child_process or dynamic import of a path read from a file', () => {
  assert.deepEqual(codeEvaluationSites().offending, []);
});

test('names and hashes from files cannot reach outside the run directory', { timeout: 60_000 }, async () => {
  // A blob hash that is a path is refused by the codec, naming run.json and the field.
  const dir = path.join(work, 'traversal');
  copyDir(ref, dir);
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { state: { owners: { blob: { sha256: string } }[] } };
  m.state.owners[0]!.blob.sha256 = '../x';
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(m));
  const d = await readRun(dir)();
  assert.ok(E.isLeft(d));
  assert.match(describeError(d.left), /run\.json: invalid value at 'state\.owners\[0\]\.blob\.sha256'/);

  // A goal file naming tasks '../../evil' and an absolute path: whatever the run does with it, it writes only inside its directory.
  const sandbox = path.join(work, 'sandbox');
  const inner = path.join(sandbox, 'a', 'b');
  fs.mkdirSync(inner, { recursive: true });
  const evil = path.join(sandbox, `evil-${process.pid}`);
  const goalFile = writeGoalFile(inner, { 'digits-0-1': 0.5, '../../evil': 0.5, [evil]: 0.5 });
  const before = hashTree(sandbox);
  const r = await runInProcess({ kind: 'new', dir: path.join(inner, 'run'), config: configFromFlags(smallRunFlags(goalFile, 5, 1)) });
  if (E.isLeft(r)) assert.match(describeError(r.left), /goals\.json/);
  assert.deepEqual(treeChanges(before, hashTree(sandbox)).filter((x) => !x.includes(path.join('a', 'b', 'run'))), []);
  assert.ok(!fs.existsSync(evil));
});

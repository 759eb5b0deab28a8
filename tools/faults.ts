/**
 * `npm run test:faults`: the full fault-injection harness.
 *
 *   node dist/tools/faults.js [--seed N] [--jobs N] [--kills N] [--mutations N]
 *                             [--only kill,write,numeric,mutations,cli,safety,repro] [--in-process] [--verbose] [--keep]
 *
 * Kills real runs at seeded moments and resumes them, fails checkpoint writes,
 * drives losses to NaN, feeds ≥ 200 mutated checkpoints / goal files / config
 * files / CIFAR files and bad command lines to `cpg`, checks that no code is
 * evaluated from files and nothing is written outside the run directory, and
 * that the same seed gives the same bytes. Prints the counts; exits 1 on any
 * failure. See tools/faultlib.ts for what each check means.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describeError } from '../src/algebra/errors.js';
import { readRun } from '../src/node/runs.js';
import { shutdownBackend } from '../src/node/backend.js';
import {
  type ChainResult,
  type MutationResult,
  type NumericResult,
  type Proc,
  type WriteFaultResult,
  baselines,
  buildFixtures,
  canMountTmpfs,
  checkpointWhere,
  chmodStopsWrites,
  cliCases,
  codeEvaluationSites,
  compareReproducible,
  configFromFlags,
  copyDir,
  cpg,
  diskProfile,
  editConfig,
  fullDiskPlans,
  hashTree,
  judgeCli,
  judgeMutation,
  judgeNumeric,
  killChain,
  makeMutation,
  mutationPlan,
  pool,
  randomTriggers,
  realDiskFull,
  referenceRun,
  rng,
  runnerFor,
  smallRunFlags,
  stagedWriteFaults,
  stateHashes,
  tempDir,
  treeChanges,
  writeFaultChain,
  writeFaults,
  writeGoalFile,
} from './faultlib.js';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const seed = opt('seed', 1);
const jobs = opt('jobs', 2);
const wantKills = opt('kills', 24);
const wantMutations = opt('mutations', 240);
const verbose = argv.includes('--verbose');
const keep = argv.includes('--keep');
const inProcess = argv.includes('--in-process');
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? new Set(argv[onlyAt + 1]!.split(',')) : undefined;
const wants = (s: string) => only === undefined || only.has(s);

const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
const log = (s: string) => process.stdout.write(`${s}\n`);
const failures: string[] = [];
const fail = (section: string, what: string) => {
  failures.push(`[${section}] ${what}`);
  log(`  FAIL ${what}`);
};

const work = tempDir('full');
log(`cpg fault harness: seed ${seed}, ${jobs} job(s), backend ${process.env['CPG_BACKEND'] ?? 'wasm'}, work ${work}`);

const goals = writeGoalFile(work);
const flags = smallRunFlags(goals);
const refA = path.join(work, 'reference');
const refB = path.join(work, 'reference-again');

const summary: string[] = [];

const main = async (): Promise<void> => {
  // ---- the uninterrupted reference (twice: reproducibility) ----
  const needB = wants('repro');
  const [a] = await Promise.all([referenceRun(refA, flags), needB ? referenceRun(refB, flags) : Promise.resolve(undefined)]);
  const runMs = Math.round(a.seconds * 1000);
  log(`reference run: ${a.seconds.toFixed(1)} s (${elapsed()})`);

  if (wants('repro')) {
    const p = compareReproducible(refA, refB);
    p.forEach((x) => fail('repro', x));
    summary.push(`reproducibility: same seed, same backend → report.json (apart from timing) and checkpoint bytes ${p.length === 0 ? 'identical' : 'DIFFER'}`);
  }

  // ---- kill at any moment ----
  if (wants('kill')) {
    const r = rng(seed * 31 + 1);
    const chains: { id: number; triggers: ReturnType<typeof randomTriggers> }[] = [];
    let planned = 0;
    while (planned < wantKills) {
      const n = r.pick([1, 1, 2, 2, 3, 4]);
      chains.push({ id: chains.length, triggers: randomTriggers(r, n, runMs) });
      planned += n;
    }
    const results: ChainResult[] = [];
    const runChains = async (list: typeof chains) =>
      results.push(...(await pool(list, jobs, (c) => killChain(refA, path.join(work, `kill-${c.id}`), flags, c.triggers))));
    await runChains(chains);
    // Triggers that never fired (the run ended first) are replaced until enough kills landed.
    let extra = 0;
    while (results.reduce((s, x) => s + x.kills.length, 0) < wantKills && extra < 20) {
      const more = Array.from({ length: jobs }, (_, i) => ({ id: chains.length + extra + i, triggers: randomTriggers(r, 1, runMs) }));
      extra += more.length;
      await runChains(more);
    }
    let kills = 0;
    let survived = 0;
    let midWrite = 0;
    let early = 0;
    for (const c of results) {
      kills += c.kills.length;
      if (c.problems.length === 0) survived += c.kills.length;
      else c.problems.forEach((p) => fail('kill', `${path.basename(c.dir)} (${c.kills.map((k) => k.trigger).join(' → ')}): ${p}`));
      midWrite += c.kills.filter((k) => k.tempsLeft > 0).length;
      early += c.kills.filter((k) => k.beforeFirstCheckpoint).length;
      if (verbose) for (const k of c.kills) log(`  ${path.basename(c.dir)}: killed ${k.trigger}, ${k.during}${k.tempsLeft > 0 ? ` (${k.tempsLeft} temp file(s) cut short)` : ''}`);
    }
    summary.push(
      `kill points survived: ${survived}/${kills} (SIGKILL at seeded moments in ${results.length} runs, each resumed to the end and compared with the uninterrupted run; ${midWrite} cut a checkpoint write short, ${early} came before the first checkpoint)`,
    );
    log(`kill: ${survived}/${kills} (${elapsed()})`);
  }

  // ---- write failures ----
  if (wants('write')) {
    const config = configFromFlags(flags);
    const chmodWorks = chmodStopsWrites();
    const cases: WriteFaultResult[] = [];
    // Two chains with faults at seeded write counts, one at fixed points of the run (after task 1, mid task 2).
    const chains = [
      writeFaults(rng(seed * 97), chmodWorks),
      writeFaults(rng(seed * 97 + 1), chmodWorks),
      stagedWriteFaults(chmodWorks, path.join(work, 'kept-after-task-1'), path.join(work, 'kept-mid-task-2')),
    ];
    for (const [i, faults] of chains.entries()) {
      const r = await writeFaultChain(refA, path.join(work, `write-${i}`), config, faults);
      cases.push(...r.cases);
      r.problems.forEach((p) => fail('write', `chain ${i}: after the faults: ${p}`));
    }
    // A real full disk where the machine allows a private tmpfs (root): partial writes, real ENOSPC.
    // Its sizes come from the run's own disk use, so the disk fills whatever a checkpoint weighs.
    const tmpfs = await canMountTmpfs();
    let sizes = '';
    if (tmpfs) {
      const profile = await diskProfile(path.join(work, 'disk-profile'), config);
      const plans = fullDiskPlans(profile);
      if (typeof plans === 'string') fail('write', `real full disk: ${plans}`);
      else {
        for (const plan of plans) cases.push(await realDiskFull(refA, work, flags, plan));
        sizes = ` of ${plans.map((p) => p.kb).join(' and ')} KiB (the run's peak: ${profile.peak} KiB)`;
      }
      if (verbose) log(`  disk profile: ${JSON.stringify(profile)}`);
    }
    for (const c of cases) {
      if (!c.ok) fail('write', `${c.name}: ${c.problems.join('; ')}`);
      if (verbose) log(`  ${c.name}: ${c.message}`);
    }
    const ok = cases.filter((c) => c.ok).length;
    summary.push(
      `write-fault cases: ${ok}/${cases.length} stopped with an error naming the file, left the previous checkpoint valid, and resumed to the uninterrupted result (injected I/O error, read-only directory${chmodWorks ? '' : ' simulated with EACCES: chmod does not stop this user'}, ENOSPC on run.json and report.json${tmpfs ? `, a real full disk on a private tmpfs${sizes}` : '; no real full disk: cannot mount a tmpfs here'})`,
    );
    log(`write: ${ok}/${cases.length} (${elapsed()})`);
  }

  // ---- numerical faults ----
  if (wants('numeric')) {
    const results: NumericResult[] = [];
    for (const [name, extra, stage] of [
      ['--lr 1e30 (train stage of task 1)', ['--lr', '1e30'], 'train'],
      ['--prune-lr 1e30 (compacting stage of task 1)', ['--prune-lr', '1e30'], 'prune'],
    ] as const) {
      const dir = path.join(work, `numeric-${stage}`);
      const r = await cpg(['run', '--out', dir, ...flags, ...extra]);
      const j = judgeNumeric(name, r, dir, 'digits-0-1');
      if (!j.message.includes(`stage '${stage}'`)) j.problems.push(`the message does not name stage '${stage}'`);
      results.push({ ...j, ok: j.problems.length === 0 });
    }
    // A NaN while learning task 2 must leave task 1's frozen weights exactly as they were.
    const dir = path.join(work, 'numeric-task2');
    await checkpointWhere(dir, configFromFlags(flags), (m) => m.finished.length >= 1);
    const frozen = stateHashes(dir);
    for (const [field, stage] of [['lr', 'train'], ['pruneLr', 'prune'], ['retrainLr', 'retrain']] as const) {
      const copy = `${dir}-${field}`;
      copyDir(dir, copy);
      editConfig(copy, { [field]: 1e30 });
      const r = await cpg(['resume', copy]);
      const j = judgeNumeric(`${field} 1e30 set in the checkpoint after task 1 (${stage} stage of task 2)`, r, copy, 'digits-2-3', frozen);
      if (!j.message.includes(`stage '${stage}'`)) j.problems.push(`the message does not name stage '${stage}'`);
      results.push({ ...j, ok: j.problems.length === 0 });
    }
    for (const x of results) {
      if (!x.ok) fail('numeric', `${x.name}: ${x.problems.join('; ')} — ${x.message}`);
      if (verbose) log(`  ${x.name}: ${x.message}`);
    }
    const ok = results.filter((x) => x.ok).length;
    summary.push(`numeric cases: ${ok}/${results.length} (NaN/Inf loss stops the stage naming stage and task, says lower the learning rate; every float blob finite; frozen tasks untouched)`);
    log(`numeric: ${ok}/${results.length} (${elapsed()})`);
  }

  // ---- hostile input ----
  if (wants('mutations')) {
    const done = path.join(work, 'fixture-done');
    copyDir(refA, done);
    const fx = await buildFixtures(work, flags, { done });
    const runner = runnerFor(inProcess);
    const base = await baselines(fx, runner);
    const plan = mutationPlan(wantMutations);
    const results: MutationResult[] = await pool(plan, inProcess ? 1 : jobs, async (target, id) => {
      const c = makeMutation(seed, id, target, fx);
      const res = await judgeMutation(c, fx, base, runner(target));
      if (!keep) fs.rmSync(c.scratch, { recursive: true, force: true });
      return res;
    });
    const refused = results.filter((x) => x.verdict === 'refused');
    const valid = results.filter((x) => x.verdict === 'still-valid');
    const bad = results.filter((x) => x.verdict === 'FAIL');
    const overwritten = results.reduce((s, x) => s + x.changed, 0);
    for (const x of bad) fail('mutations', `#${x.c.id} ${x.c.detail}: ${x.why}${x.message !== '' ? `\n      message: ${x.message}` : ''}`);
    if (verbose) {
      for (const x of refused) log(`  refused #${x.c.id} ${x.c.detail}\n      ${x.message}`);
      for (const x of valid) log(`  still valid #${x.c.id} ${x.c.detail}`);
    }
    const byTarget = (t: string) => `${t} ${refused.filter((x) => x.c.target === t).length}/${results.filter((x) => x.c.target === t).length}`;
    summary.push(
      `mutations refused: ${refused.length}/${results.length} (+${valid.length} still valid, behaving exactly like the original; ${bad.length} failed) — ${['manifest', 'blob', 'goals', 'config', 'dataset'].map(byTarget).join(', ')}`,
    );
    summary.push(`overwritten files: ${overwritten} (run directories and inputs hashed before and after every refused mutation)`);
    log(`mutations: ${refused.length} refused, ${valid.length} still valid, ${bad.length} failed (${elapsed()})`);
  }

  // ---- command line ----
  if (wants('cli')) {
    const cases = cliCases(work, refA, path.join(work, 'blocker-cli'));
    fs.writeFileSync(path.join(work, 'blocker-cli'), 'x');
    const before = hashTree(refA);
    const results = await pool(cases, jobs, async (c) => judgeCli(c, await cpg(c.args)));
    for (const x of results) {
      if (!x.ok) fail('cli', `cpg ${x.args.join(' ')}: ${x.why}\n      ${x.stderr}`);
      if (verbose) log(`  cpg ${x.args.join(' ')}\n      ${x.stderr}`);
    }
    const changed = treeChanges(before, hashTree(refA));
    if (changed.length > 0) fail('cli', `the existing run changed: ${changed.join(', ')}`);
    if (fs.existsSync(path.join(work, 'never-created'))) fail('cli', 'a refused command line created its --out directory');
    const ok = results.filter((x) => x.ok).length;
    summary.push(`command-line cases: ${ok}/${results.length} refused with exit 2 and one line naming the flag or file`);
    log(`cli: ${ok}/${results.length} (${elapsed()})`);
  }

  // ---- safety ----
  if (wants('safety')) {
    let checks = 0;
    const sites = codeEvaluationSites();
    checks += 1;
    sites.offending.forEach((s) => fail('safety', `code evaluation site in src: ${s}`));
    if (verbose) sites.allowed.forEach((s) => log(`  allowed dynamic load: ${s}`));
    // A goal file naming tasks with path traversal: the run may accept or refuse it, but writes only inside its directory.
    const sandbox = path.join(work, 'sandbox');
    const inner = path.join(sandbox, 'a', 'b');
    fs.mkdirSync(inner, { recursive: true });
    const evilGoals = writeGoalFile(inner, { 'digits-0-1': 0.5, '../../evil': 0.5, '../../../evil2': 0.5, '/tmp/evil3': 0.5 });
    const before = hashTree(sandbox);
    const r = await cpg(['run', '--out', 'run', ...smallRunFlags(evilGoals, 5, 1)], { cwd: inner });
    checks += 1;
    const outside = treeChanges(before, hashTree(sandbox)).filter((x) => !x.includes(path.join('a', 'b', 'run')));
    if (outside.length > 0) fail('safety', `a goal file with ../ task names wrote outside the run directory: ${outside.join(', ')}`);
    if (r.status !== 0 && !/goals\.json/.test(r.stderr)) fail('safety', `goal file with ../ names: neither run nor refused naming the file: ${r.stderr}`);
    if (fs.existsSync('/tmp/evil3') || fs.existsSync(path.join(work, 'evil'))) fail('safety', 'a file named after a task appeared outside the run');
    // A manifest whose blob hash is a path: refused by the codec, naming the file and the field.
    const trav = path.join(work, 'traversal');
    copyDir(refA, trav);
    const m = JSON.parse(fs.readFileSync(path.join(trav, 'run.json'), 'utf8')) as { state: { sharable: { blob: { sha256: string } }[] } };
    m.state.sharable[0]!.blob.sha256 = '../x';
    fs.writeFileSync(path.join(trav, 'run.json'), JSON.stringify(m));
    const d = await readRun(trav)();
    checks += 1;
    if (E.isRight(d) || !/run\.json.*sha256/.test(describeError(d.left))) fail('safety', `a blob hash '../x' was not refused by the codec: ${E.isLeft(d) ? describeError(d.left) : 'decoded'}`);
    else if (verbose) log(`  blob hash '../x': ${describeError(d.left)}`);
    summary.push(
      `safety: ${sites.offending.length === 0 ? 'no eval/Function/vm/child_process/dynamic import of a path from a file in src' : 'CODE EVALUATION SITES FOUND'} (${sites.allowed.length} known dynamic loads: installed packages by name, our own modules by constant path); ../ task names and blob hashes write nothing outside the run (${checks} checks)`,
    );
    log(`safety: done (${elapsed()})`);
  }
};

const finish = async (code: number): Promise<never> => {
  await shutdownBackend()();
  if (!keep && code === 0) fs.rmSync(work, { recursive: true, force: true });
  process.exit(code);
};

main().then(
  async () => {
    log('');
    log('== cpg fault harness ==');
    summary.forEach((s) => log(s));
    log(`time: ${elapsed()}`);
    if (failures.length > 0) {
      log(`\n${failures.length} FAILURE(S):`);
      failures.forEach((f) => log(`  ${f}`));
      log(`(work directory kept: ${work})`);
    }
    await finish(failures.length > 0 ? 1 : 0);
  },
  async (e: unknown) => {
    log(`harness error: ${e instanceof Error ? e.stack : String(e)}\n(work directory kept: ${work})`);
    await finish(1);
  },
);

export type { Proc };

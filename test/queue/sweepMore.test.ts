/**
 * More sweeps on BullMQ over a real Redis (test/helpers/redis.ts starts one
 * on a free port and stops it at exit), with tiny real Split MNIST runs:
 * a job whose first attempt fails for a passing reason (its run locked by
 * another live process) is retried and finishes; `cpg sweep DIR --cancel`
 * stops a running job's child and removes the queued jobs, and the same
 * sweep given again finishes, the cancelled job resuming from its
 * checkpoint; two sweeps sharing one queue, one pool of workers and one
 * configuration each get only their own jobs, results, tables and runs; a
 * flow that failed for good, given again, runs again only what failed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { alive, background, comparable, cpg, gridFileIn, manifestOf, sleep, startRedis, stopAll, tiny } from '../helpers/redis.js';

const work = mkdtempSync(path.join(tmpdir(), 'cpg-sweep-more-'));
const gridFile = (name: string, grid: unknown): string => gridFileIn(work, name, grid);

after(stopAll);

let url = '';
before(async () => {
  url = `redis://127.0.0.1:${await startRedis()}`;
});

interface SweepJson {
  jobs: { id: string; point: Record<string, unknown>; config: { method: string; seed: number } }[];
  queue: { tag: string } | null;
  results?: { id: string; status: string; error: string | null; attempts: number }[];
}

const sweepJson = (dir: string): SweepJson | null => {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'sweep.json'), 'utf8')) as SweepJson;
  } catch {
    return null;
  }
};

/** Poll `f` every 100 ms until it gives a value; fail after `ms`, showing `detail()`. */
const until = async <T>(what: string, f: () => T | undefined, ms: number, detail: () => string = () => ''): Promise<T> => {
  const t0 = performance.now();
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    assert.ok(performance.now() - t0 < ms, `waited ${ms / 1000} s for ${what}\n${detail()}`);
    await sleep(100);
  }
};

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A job's attempts in its job.log (each starts with a `--- <time> <who>: cpg …` header). */
const attemptsIn = (runDir: string): string[] => readFileSync(path.join(runDir, 'job.log'), 'utf8').split(/^--- /m).slice(1);

// ---------------------------------------------------------------------------

test('a transient failure is retried: the first attempt finds its run locked by another live process, a later one (the lock freed) finishes', { timeout: 120_000 }, async () => {
  const queue = ['--redis', url, '--queue', 'retry-test'];
  const grid = gridFile('retry.json', { config: { ...tiny, tasks: 1, method: 'packnet' }, axes: { seed: [31] } });
  const dir = path.join(work, 'retry');
  const sweep = background(['sweep', '--grid', grid, '--out', dir, ...queue, '--attempts', '4']);
  // sweep.json is written before the job is queued, and no worker listens yet: lock its run before any attempt.
  const id = await until('sweep.json', () => sweepJson(dir)?.jobs[0]?.id, 30_000, sweep.out);
  const runDir = path.join(dir, 'runs', id);
  // The holder: a live process that is not a cpg run, named in the lock as the store names its holders.
  const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    mkdirSync(runDir, { recursive: true });
    writeFileSync(path.join(runDir, 'lock'), `${JSON.stringify({ pid: holder.pid, host: hostname() })}\n`);
    const worker = background(['worker', ...queue, '--lock-duration', '5000', '--stall-interval', '5000']);
    const failed = new RegExp(`${esc(id)} \\(seed=31\\): attempt 1 failed: .*locked by process ${holder.pid}\\b.*\\(exit 2\\)`);
    await until('the first attempt to fail on the lock', () => (failed.test(worker.out()) ? true : undefined), 60_000, () => `${worker.out()}\n${sweep.out()}`);
    // The other process ends: its lock is stale, and the next attempt clears it.
    holder.kill('SIGKILL');
    await new Promise((r) => (holder.exitCode !== null || holder.signalCode !== null ? r(null) : holder.once('exit', r)));
    const code = await sweep.exited;
    worker.proc.kill('SIGTERM');
    await worker.exited;
    assert.equal(code, 0, `${sweep.out()}\n--- worker:\n${worker.out()}`);

    const result = sweepJson(dir)!.results!;
    assert.equal(result.length, 1);
    assert.equal(result[0]!.status, 'done', JSON.stringify(result));
    assert.ok(result[0]!.attempts >= 2, `attempts ${result[0]!.attempts}: the locked attempt counts`);
    // The worker said the attempt failed, and then that a later attempt ran and was done.
    const out = worker.out();
    const failedAt = out.search(failed);
    const retried = new RegExp(`${esc(id)} \\(seed=31\\): attempt ([2-9]): cpg run `).exec(out.slice(failedAt));
    assert.ok(retried !== null, `no later attempt after the failure:\n${out}`);
    assert.match(out.slice(failedAt), new RegExp(`${esc(id)} \\(seed=31\\): done \\(run, `));
    assert.doesNotMatch(out, /failed for good/);
    // The job's log holds both: the refusal, then the run.
    const attempts = attemptsIn(runDir);
    assert.equal(attempts.length, result[0]!.attempts, attempts.join('---'));
    assert.match(attempts[0]!, /attempt 1: cpg run /);
    assert.match(attempts[0]!, new RegExp(`^cpg: .*lock: the run is locked by process ${holder.pid}\\b`, 'm'));
    assert.match(attempts.at(-1)!, /^cpg run: packnet on split-mnist/m);
    assert.ok(existsSync(path.join(runDir, 'report.json')));
    assert.equal(existsSync(path.join(runDir, 'lock')), false, 'the stale lock was cleared and the run released its own');
    console.log(`# attempts: ${result[0]!.attempts}; worker:\n${out.split('\n').filter((l) => l.includes(id)).map((l) => `#   ${l}`).join('\n')}`);
  } finally {
    holder.kill('SIGKILL');
  }
});

test('--cancel while a job runs: its child stops, queued jobs are removed, the waiting sweep exits 1 naming them; the same command again finishes, the cancelled job resuming from its checkpoint', { timeout: 240_000 }, async () => {
  const queue = ['--redis', url, '--queue', 'cancel-test'];
  const worker = background(['worker', ...queue, '--lock-duration', '5000', '--stall-interval', '5000']);
  // Long enough (5 tasks of about 2 s) that the cancel lands mid-run, after the first checkpoint.
  const grid = gridFile('cancel.json', { config: { ...tiny, limitPerTask: 256, trainEpochs: 3, tasks: 5, method: 'packnet' }, axes: { seed: [41, 42, 43] } });
  const dir = path.join(work, 'cancel');
  const args = ['sweep', '--grid', grid, '--out', dir, ...queue];
  const first = background(args);

  const running = await until(
    'a job past its first checkpoint',
    () => {
      const runs = existsSync(path.join(dir, 'runs')) ? readdirSync(path.join(dir, 'runs')) : [];
      for (const id of runs) {
        const m = manifestOf(path.join(dir, 'runs', id));
        const pid = new RegExp(`${esc(id)} \\(seed=\\d+\\): attempt 1: cpg run \\(pid (\\d+)\\)`).exec(worker.out())?.[1];
        if (m !== null && m.status !== 'finished' && m.finished.length >= 1 && pid !== undefined) return { id, pid: Number(pid) };
      }
      return undefined;
    },
    120_000,
    () => `${worker.out()}\n${first.out()}`,
  );
  const c = cpg('sweep', dir, '--cancel');
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /cancelled: 2 queued jobs removed/);
  await until(`the running job's child ${running.pid} to stop`, () => (alive(running.pid) ? undefined : true), 15_000, worker.out);
  const code = await first.exited;
  assert.equal(code, 1, first.out());

  const jobs = sweepJson(dir)!.jobs;
  // stdout (the table) and stderr (this line) come through two pipes: their order in out() is not kept.
  const last = first.out().split('\n').find((l) => l.startsWith('cpg: 3 of 3 jobs')) ?? first.out();
  assert.match(last, /^cpg: 3 of 3 jobs did not succeed: /);
  // How the cancelled sweep ended, checked at the end (the same command again rewrites sweep.json).
  const cancelledResults = sweepJson(dir)!.results!;
  // The running job stopped mid-run; the queued ones never started.
  assert.notEqual(manifestOf(path.join(dir, 'runs', running.id))?.status, 'finished', 'the cancel landed after the job finished: make it longer');
  for (const j of jobs) if (j.id !== running.id) assert.equal(existsSync(path.join(dir, 'runs', j.id)), false, `queued job ${j.id} ran`);
  // The worker lives on; it gave the job up without retrying it.
  await until('the worker to give the cancelled job up', () => (/failed for good after 1 attempt: cancelled/.test(worker.out()) ? true : undefined), 15_000, worker.out);
  assert.equal(worker.proc.exitCode, null, 'the worker is still running');

  // The same command again: the sweep continues.
  const second = background(args);
  const again = await second.exited;
  worker.proc.kill('SIGTERM');
  await worker.exited;
  assert.equal(again, 0, `${second.out()}\n--- worker:\n${worker.out()}`);
  assert.deepEqual(sweepJson(dir)!.results!.map((r) => r.status), ['done', 'done', 'done']);
  const resumed = attemptsIn(path.join(dir, 'runs', running.id));
  assert.equal(resumed.length, 2, resumed.join('---'));
  assert.match(resumed[0]!, /attempt 1: cpg run /);
  assert.match(resumed[1]!, /: cpg resume /);
  assert.match(resumed[1]!, /^cpg resume: packnet on split-mnist/m);
  assert.doesNotMatch(resumed[1]!, /^task 1\/5/m, 'the resumed run did not learn task 1 again');
  for (const j of jobs) if (j.id !== running.id) assert.match(attemptsIn(path.join(dir, 'runs', j.id))[0]!, /attempt \d+: cpg run /);

  // Every job of the cancelled sweep was reported cancelled, in its last line and in sweep.json: the removed
  // ones too, however soon the running one's failure reached Redis (rather than "failed: not in the queue").
  for (const j of jobs) assert.match(last, new RegExp(`${j.id} \\(seed=${j.config.seed}\\) cancelled`));
  assert.deepEqual(cancelledResults.map((r) => r.status), ['cancelled', 'cancelled', 'cancelled'], JSON.stringify(cancelledResults));
});

test('--cancel before any job has started (no worker yet): the waiting sweep exits 1 with every job cancelled, none of them failed', { timeout: 60_000 }, async () => {
  const queue = ['--redis', url, '--queue', 'cancel-queued-test'];
  const grid = gridFile('cancel-queued.json', { config: { ...tiny, tasks: 1, method: 'packnet' }, axes: { seed: [51, 52] } });
  const dir = path.join(work, 'cancel-queued');
  const sweep = background(['sweep', '--grid', grid, '--out', dir, ...queue]);
  await until('the jobs to be queued', () => (/2 jobs queued/.test(sweep.out()) ? true : undefined), 30_000, sweep.out);
  const c = cpg('sweep', dir, '--cancel');
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /cancelled: 2 queued jobs removed/);
  assert.equal(await sweep.exited, 1, sweep.out());
  const results = sweepJson(dir)!.results!;
  assert.deepEqual(results.map((r) => r.status), ['cancelled', 'cancelled'], `sweep.json results: ${JSON.stringify(results)}`);
  assert.match(sweep.out().split('\n').find((l) => l.startsWith('cpg: 2 of 2 jobs')) ?? sweep.out(), /^cpg: 2 of 2 jobs did not succeed: [0-9a-f]+ \(seed=51\) cancelled.*; [0-9a-f]+ \(seed=52\) cancelled/);
});

test('two sweeps on one queue and one pool of 2 workers, sharing a configuration: each finishes with only its own jobs, results, tables and runs', { timeout: 180_000 }, async () => {
  const queue = ['--redis', url, '--queue', 'shared-test'];
  const workers = [0, 1].map(() => background(['worker', ...queue, '--lock-duration', '10000', '--stall-interval', '10000']));
  const config = { ...tiny, tasks: 2 };
  const dirs = [path.join(work, 'shared-a'), path.join(work, 'shared-b')];
  const grids = [
    gridFile('shared-a.json', { config, axes: { method: ['packnet'], seed: [1, 2] } }),
    gridFile('shared-b.json', { config, axes: { method: ['packnet', 'finetune'], seed: [1] } }),
  ];
  const sweeps = [0, 1].map((k) => background(['sweep', '--grid', grids[k]!, '--out', dirs[k]!, ...queue]));
  const codes = await Promise.all(sweeps.map((s) => s.exited));
  for (const w of workers) w.proc.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
  const logs = () => `${sweeps.map((s) => s.out()).join('\n')}\n--- workers:\n${workers.map((w) => w.out()).join('\n')}`;
  assert.deepEqual(codes, [0, 0], logs());

  const files = dirs.map((d) => sweepJson(d)!);
  const ids = files.map((f) => f.jobs.map((j) => j.id).sort());
  const shared = ids[0]!.filter((id) => ids[1]!.includes(id));
  assert.equal(shared.length, 1, 'packnet seed 1 is a job of both sweeps');
  assert.notEqual(files[0]!.queue!.tag, files[1]!.queue!.tag);
  const workerOut = workers.map((w) => w.out()).join('\n');
  for (const k of [0, 1]) {
    const dir = dirs[k]!;
    const other = dirs[1 - k]!;
    const f = files[k]!;
    assert.deepEqual(f.results!.map((r) => r.id).sort(), ids[k], 'results of its own jobs only');
    assert.ok(f.results!.every((r) => r.status === 'done'), JSON.stringify(f.results));
    assert.deepEqual(readdirSync(path.join(dir, 'runs')).sort(), ids[k], 'run directories of its own jobs only');
    // Every attempt at this sweep's jobs ran in this sweep's directory, and none of the other sweep's did.
    for (const id of ids[k]!) {
      const runDir = path.join(dir, 'runs', id);
      for (const a of attemptsIn(runDir)) {
        assert.match(a.split('\n')[0]!, new RegExp(`cpg (run --config ${esc(runDir)}/job\\.json --out ${esc(runDir)}|resume ${esc(runDir)})( |$)`));
        assert.ok(!a.includes(other), `${runDir}/job.log names ${other}`);
      }
    }
    for (const m of workerOut.matchAll(new RegExp(`job ${f.queue!.tag}-([0-9a-f]+) \\([^)]*\\): attempt \\d+: cpg \\w+ \\(pid \\d+\\) in (\\S+)`, 'g')))
      assert.equal(m[2], path.join(dir, 'runs', m[1]!), m[0]);
    // Its table: one group, a row per method over its own seeds, each mean that of its own runs' reports.
    const acc = JSON.parse(readFileSync(path.join(dir, 'accuracy.json'), 'utf8')) as {
      groups: { rows: { method: string; seeds: number[]; averageAccuracy: { mean: number } }[]; runs: { dir: string }[] }[];
    };
    assert.equal(acc.groups.length, 1);
    const rows = acc.groups[0]!.rows;
    assert.deepEqual(
      rows.map((r) => [r.method, r.seeds]).sort(),
      (k === 0 ? [['packnet', [1, 2]]] : [['finetune', [1]], ['packnet', [1]]]) as unknown,
    );
    for (const r of acc.groups[0]!.runs) assert.equal(path.dirname(r.dir), path.join(dir, 'runs'));
    for (const row of rows) {
      const means = row.seeds.map((seed) => {
        const job = f.jobs.find((j) => j.config.method === row.method && j.config.seed === seed)!;
        const report = JSON.parse(readFileSync(path.join(dir, 'runs', job.id, 'report.json'), 'utf8')) as { tasks: { accuracy: number }[] };
        return report.tasks.reduce((a, t) => a + t.accuracy, 0) / report.tasks.length;
      });
      const expected = means.reduce((a, b) => a + b, 0) / means.length;
      assert.ok(Math.abs(row.averageAccuracy.mean - expected) < 1e-12, `${dir}: ${row.method} mean ${row.averageAccuracy.mean}, its reports say ${expected}`);
    }
  }
  // The shared configuration ran once in each sweep, to the same result.
  assert.deepEqual(comparable(path.join(dirs[0]!, 'runs', shared[0]!, 'report.json')), comparable(path.join(dirs[1]!, 'runs', shared[0]!, 'report.json')));
});

test('a flow that failed for good, given again, runs again only what failed: the finished goal network stays, the failed one, its individual run and the CPG job run', { timeout: 180_000 }, async () => {
  const queue = ['--redis', url, '--queue', 'again-test'];
  const grid = gridFile('again.json', { config: { ...tiny, tasks: 2, method: 'cpg' }, axes: { seed: [51] } });
  const dir = path.join(work, 'again');
  const args = ['sweep', '--grid', grid, '--out', dir, ...queue, '--attempts', '1'];
  const first = background(args);
  type Job = { id: string; config: { method: string; onlyTask?: number } };
  const jobs = await until('sweep.json', () => sweepJson(dir)?.jobs as Job[] | undefined, 30_000, first.out);
  const net = (k: number) => jobs.find((j) => j.config.onlyTask === k)!.id;
  // Goal network 2's run is locked by another live process: with one attempt, it fails for good.
  const runDir2 = path.join(dir, 'runs', net(2));
  const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    mkdirSync(runDir2, { recursive: true });
    writeFileSync(path.join(runDir2, 'lock'), `${JSON.stringify({ pid: holder.pid, host: hostname() })}\n`);
    const worker = background(['worker', ...queue, '--lock-duration', '5000', '--stall-interval', '5000']);
    assert.equal(await first.exited, 1, first.out());
    const failed = sweepJson(dir)!.results!;
    const statusOf = (id: string) => failed.find((r) => r.id === id)!.status;
    assert.equal(statusOf(net(1)), 'done');
    assert.equal(statusOf(net(2)), 'failed');
    assert.deepEqual(jobs.filter((j) => j.config.onlyTask === undefined).map((j) => statusOf(j.id)), ['failed', 'failed'], 'the individual run and the CPG job did not run');
    holder.kill('SIGKILL');
    await new Promise((r) => (holder.exitCode !== null || holder.signalCode !== null ? r(null) : holder.once('exit', r)));
    // The same sweep again: what failed starts afresh in its flow, in order.
    const again = background(args);
    const code = await again.exited;
    worker.proc.kill('SIGTERM');
    await worker.exited;
    assert.equal(code, 0, `${again.out()}\n--- worker:\n${worker.out()}`);
    assert.ok(sweepJson(dir)!.results!.every((r) => r.status === 'done'), JSON.stringify(sweepJson(dir)!.results));
    assert.equal(attemptsIn(path.join(dir, 'runs', net(1))).length, 1, 'the finished goal network was not run again');
    assert.equal(attemptsIn(runDir2).length, 2, 'the failed goal network ran again');
    const cpgJob = jobs.find((j) => j.config.method === 'cpg')!;
    const report = JSON.parse(readFileSync(path.join(dir, 'runs', cpgJob.id, 'report.json'), 'utf8')) as { tasks: { goal: number | null }[] };
    assert.ok(report.tasks.every((t) => t.goal !== null), 'the CPG job had its goals');
  } finally {
    holder.kill('SIGKILL');
  }
});

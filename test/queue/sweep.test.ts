/**
 * Sweeps end to end: a local pool, and BullMQ workers over a real Redis
 * (Debian's `redis-server`, started here on a free port without persistence
 * and stopped at exit; installed with apt when missing and we are root, else
 * the test fails saying what to install). The main test runs a 4-job sweep
 * of tiny real runs on 2 workers, SIGKILLs one mid-job, and checks that every
 * job finishes, that the killed job's child stopped, that the job resumed
 * from its checkpoint on the other worker rather than restarting, and that
 * its report equals an uninterrupted run's. Bad grids and an unreachable or
 * password-refusing Redis get one line and exit 2.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { alive, background, cli, comparable, cpg, env, freePort, gridFileIn, manifestOf, sleep, startRedis, stopAll, tiny } from '../helpers/redis.js';

const work = mkdtempSync(path.join(tmpdir(), 'cpg-sweep-'));
const gridFile = (name: string, grid: unknown): string => gridFileIn(work, name, grid);

const refused = (args: string[], pattern: RegExp, code = 2): void => {
  const r = cpg(...args);
  assert.equal(r.status, code, `cpg ${args.join(' ')} → exit ${r.status}\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, pattern, `cpg ${args.join(' ')}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
};

// Redis (test/helpers/redis.ts): started on a free port, stopped at exit with every background `cpg`.
after(stopAll);

let port = 0;
before(async () => {
  port = await startRedis();
});

// ---------------------------------------------------------------------------

test('bad grids are refused with one line and exit 2, before anything is queued', () => {
  const out = path.join(work, 'bad');
  refused(['sweep', '--grid', gridFile('unknown.json', { config: tiny, axes: { sede: [1, 2] } }), '--out', out], /unknown\.json: .*'axes\.sede'.*unknown field/);
  refused(['sweep', '--grid', gridFile('empty.json', { config: tiny, axes: { seed: [] } }), '--out', out], /'axes\.seed'.*empty axis/);
  const many = { config: tiny, axes: { seed: Array.from({ length: 101 }, (_, i) => i), trainEpochs: Array.from({ length: 100 }, (_, i) => i + 1) } };
  refused(['sweep', '--grid', gridFile('many.json', many), '--out', out, '--redis', `redis://127.0.0.1:${port}`], /10,100 jobs: a grid may make at most 10,000/);
  refused(['sweep', '--grid', path.join(work, 'none.json'), '--out', out], /--grid.*cannot read/);
  refused(['sweep', '--grid', gridFile('ok.json', { config: tiny, axes: { seed: [1] } })], /needs --out/);
  refused(['sweep', '--grid', gridFile('ok.json', { config: tiny, axes: { seed: [1] } }), '--out', out, '--detach'], /--detach is for a sweep on Redis/);
  refused(['worker', '--redis', `redis://127.0.0.1:${port}`, '--lock-duration', 'soon'], /--lock-duration.*integer/);
  assert.equal(existsSync(out), false, 'nothing written');
});

test('an unreachable Redis is one line and exit 2, within seconds', async () => {
  const closed = await freePort();
  const t0 = performance.now();
  refused(['sweep', '--grid', gridFile('one.json', { config: tiny, axes: { seed: [1] } }), '--out', path.join(work, 'unreachable'), '--redis', `redis://127.0.0.1:${closed}`], /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  refused(['worker', '--redis', `redis://127.0.0.1:${closed}`], /cannot reach Redis/);
  refused(['worker', '--redis', 'http://127.0.0.1:6379'], /--redis.*expected a URL redis:\/\//);
  assert.ok(performance.now() - t0 < 30_000, 'bounded');
});

test('a Redis with a password: the URL carries it, a wrong one is refused; --detach, --status and --cancel', async () => {
  const secured = await startRedis(['--requirepass', 's3cret']);
  const grid = gridFile('pw.json', { config: { ...tiny, tasks: 1, method: 'packnet' }, axes: { seed: [11, 12] } });
  refused(['worker', '--redis', `redis://:wrong@127.0.0.1:${secured}`], /cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: .*(WRONGPASS|invalid password)/);
  refused(['sweep', DIR_OF_NOTHING(), '--status'], /holds no sweep/);
  const dir = path.join(work, 'pw');
  const r = cpg('sweep', '--grid', grid, '--out', dir, '--redis', `redis://:s3cret@127.0.0.1:${secured}`, '--queue', 'pw-test', '--detach');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), dir, '--detach prints the sweep directory');
  assert.doesNotMatch(readFileSync(path.join(dir, 'sweep.json'), 'utf8'), /s3cret/, 'the password is not in sweep.json');
  // No worker listens to this queue: both jobs stay queued.
  const st = cpg('sweep', dir, '--status');
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, /2 jobs: 2 queued/);
  const c = cpg('sweep', dir, '--cancel');
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /2 queued jobs removed/);
  assert.match(cpg('sweep', dir, '--status').stdout, /2 unknown \(cancelled\)/);
});

const DIR_OF_NOTHING = () => mkdtempSync(path.join(work, 'nothing-'));

test('a local sweep: jobs as child processes, one failure reported without stopping the rest, finished jobs skipped on a re-run', { timeout: 180_000 }, () => {
  const grid = gridFile('local.json', { config: { ...tiny, tasks: 1, method: 'finetune' }, axes: { goals: [{ kind: 'individual' }, { kind: 'file', path: path.join(work, 'no-goals.json') }] } });
  const dir = path.join(work, 'local');
  const r = cpg('sweep', '--grid', grid, '--out', dir, '--concurrency', '2');
  assert.equal(r.status, 1, `${r.stdout}${r.stderr}`);
  assert.match(r.stderr.trim().split('\n').pop()!, /^cpg: 1 of 2 jobs did not succeed: [0-9a-f]{16} \(goals=.*no-goals\.json.*\) failed: .*no-goals\.json/);
  assert.match(r.stdout, /finetune +\d+\.\d\d/, 'the table of the finished job');
  const sweep = JSON.parse(readFileSync(path.join(dir, 'sweep.json'), 'utf8')) as { results: { id: string; status: string }[] };
  assert.deepEqual(sweep.results.map((x) => x.status).sort(), ['done', 'failed']);
  for (const f of ['accuracy.md', 'accuracy.json']) assert.ok(existsSync(path.join(dir, f)), f);
  const done = sweep.results.find((x) => x.status === 'done')!.id;
  assert.ok(existsSync(path.join(dir, 'runs', done, 'job.log')) && existsSync(path.join(dir, 'runs', done, 'report.json')));
  const again = cpg('sweep', '--grid', grid, '--out', dir);
  assert.equal(again.status, 1);
  assert.match(again.stderr, new RegExp(`${done} \\(goals=.*\\): finished before, skipped`));
  refused(['sweep', '--grid', gridFile('other.json', { config: tiny, axes: { seed: [5] } }), '--out', dir], /holds another sweep/);
});

test('2 workers, one SIGKILLed mid-job: every job finishes, the killed job resumes from its checkpoint elsewhere, with the result of an uninterrupted run', { timeout: 240_000 }, async () => {
  const url = `redis://127.0.0.1:${port}`;
  const opts = ['--redis', url, '--queue', 'kill-test', '--lock-duration', '2000', '--stall-interval', '2000'];
  const workers = [background(['worker', ...opts]), background(['worker', ...opts])];
  const grid = gridFile('kill.json', { config: { ...tiny, tasks: 3, method: 'packnet' }, axes: { seed: [1, 2, 3, 4] } });
  const dir = path.join(work, 'kill');
  const sweep = background(['sweep', '--grid', grid, '--out', dir, '--redis', url, '--queue', 'kill-test']);

  // Wait for a job with a checkpoint (a finished task) that is still running, and kill its worker.
  let victim: { id: string; worker: number; childPid: number } | undefined;
  const t0 = performance.now();
  while (victim === undefined) {
    assert.ok(performance.now() - t0 < 120_000, `no job reached its first checkpoint:\n${workers.map((w) => w.out()).join('\n')}\n${sweep.out()}`);
    await sleep(100);
    const runs = existsSync(path.join(dir, 'runs')) ? readdirSync(path.join(dir, 'runs')) : [];
    for (const id of runs) {
      const m = manifestOf(path.join(dir, 'runs', id));
      if (m === null || m.status === 'finished' || m.finished.length < 1) continue;
      const w = workers.findIndex((x) => new RegExp(`${id} .*attempt 1: cpg run \\(pid \\d+\\)`).test(x.out()));
      if (w === -1) continue;
      const childPid = Number(new RegExp(`${id} .*attempt 1: cpg run \\(pid (\\d+)\\)`).exec(workers[w]!.out())![1]);
      workers[w]!.proc.kill('SIGKILL');
      console.log(`# ${new Date().toISOString()} SIGKILL worker ${workers[w]!.proc.pid} running job ${id} (its child cpg run: pid ${childPid}; ${m.finished.length} task(s) finished)`);
      victim = { id, worker: w, childPid };
      break;
    }
  }
  const killedAt = performance.now();
  await workers[victim.worker]!.exited;
  // Its child sees the channel close and stops at its next step: no orphan writes beside the next attempt.
  while (alive(victim.childPid)) {
    assert.ok(performance.now() - killedAt < 15_000, `the killed worker's child ${victim.childPid} is still running`);
    await sleep(100);
  }
  const code = await sweep.exited;
  const survivor = workers[1 - victim.worker]!;
  assert.equal(code, 0, `${sweep.out()}\n--- surviving worker:\n${survivor.out()}`);
  survivor.proc.kill('SIGTERM');
  await survivor.exited;

  // Every job finished.
  const result = JSON.parse(readFileSync(path.join(dir, 'sweep.json'), 'utf8')) as { results: { id: string; status: string; attempts: number }[] };
  assert.equal(result.results.length, 4);
  assert.ok(result.results.every((r) => r.status === 'done'), JSON.stringify(result.results));
  assert.equal(result.results.find((r) => r.id === victim!.id)!.attempts, 2, 'the killed job took a second attempt');

  // The other worker saw it stall and resumed it from its checkpoint: its second attempt is a `cpg resume` that starts past task 1.
  assert.match(survivor.out(), new RegExp(`${victim.id}: stalled`));
  assert.match(survivor.out(), new RegExp(`${victim.id} .*attempt 2: cpg resume`));
  const log = readFileSync(path.join(dir, 'runs', victim.id, 'job.log'), 'utf8');
  const attempts = log.split(/^--- /m).slice(1);
  assert.equal(attempts.length, 2, log);
  assert.match(attempts[0]!, /attempt 1: cpg run /);
  assert.match(attempts[0]!, /the process that started this run is gone: stopping at the next step/);
  assert.match(attempts[1]!, /attempt 2: cpg resume /);
  assert.match(attempts[1]!, /^cpg resume: packnet on split-mnist/m);
  assert.doesNotMatch(attempts[1]!, /^task 1\/3/m, 'the resumed run did not learn task 1 again');

  // Its result equals an uninterrupted run of the same configuration.
  const fresh = path.join(work, 'uninterrupted');
  const r = cpg('run', '--config', path.join(dir, 'runs', victim.id, 'job.json'), '--out', fresh);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(comparable(path.join(dir, 'runs', victim.id, 'report.json')), comparable(path.join(fresh, 'report.json')));
  const said = (lines: string[]) => lines.map((l) => `#   ${l}`).join('\n');
  console.log(`# the killed worker's log:\n${said(workers[victim.worker]!.out().trim().split('\n'))}`);
  console.log(`# the surviving worker's log, on that job:\n${said(survivor.out().split('\n').filter((l) => l.includes(victim!.id)))}`);
  console.log(`# its job.log (attempt headers, run lines, tasks, stops):\n${said(log.split('\n').filter((l) => /^(---|cpg|task \d)/.test(l)))}`);
});

test("a CPG job's goal networks are jobs of their own in a BullMQ flow (CPG ← individual run ← one job per task): they train in parallel, parents run after their children, and no worker blocks", { timeout: 180_000 }, async () => {
  const url = `redis://127.0.0.1:${port}`;
  // Two workers with one slot each: if a parent waited for its children inside its own job, the tree would never finish.
  const workers = [0, 1].map(() => background(['worker', '--redis', url, '--queue', 'flow-test', '--lock-duration', '5000', '--stall-interval', '5000']));
  const grid = gridFile('flow.json', { config: { ...tiny, tasks: 2 }, axes: { method: ['cpg'], seed: [7] } });
  const dir = path.join(work, 'flow');
  const sweep = background(['sweep', '--grid', grid, '--out', dir, '--redis', url, '--queue', 'flow-test']);
  const code = await sweep.exited;
  for (const w of workers) w.proc.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
  const logs = workers.map((w) => w.out());
  assert.equal(code, 0, `${sweep.out()}\n--- workers:\n${logs.join('\n---\n')}`);
  type Job = { id: string; config: { method: string; onlyTask?: number }; goalsFrom?: string; parts?: string[] };
  const s = JSON.parse(readFileSync(path.join(dir, 'sweep.json'), 'utf8')) as { jobs: Job[]; results: { status: string }[] };
  assert.equal(s.jobs.length, 4, 'the CPG job, its individual run and its 2 goal networks');
  const cpgJob = s.jobs.find((j) => j.config.method === 'cpg')!;
  const goalJob = s.jobs.find((j) => j.config.method === 'individual' && j.config.onlyTask === undefined)!;
  const nets = [1, 2].map((k) => s.jobs.find((j) => j.config.onlyTask === k)!);
  assert.equal(cpgJob.goalsFrom, goalJob.id);
  assert.deepEqual(goalJob.parts, nets.map((n) => n.id));
  assert.ok(s.results.every((r) => r.status === 'done'));
  // The parents waited for their children in Redis, and each ran after all of its children were done.
  assert.match(sweep.out(), new RegExp(`${cpgJob.id} \\(method=cpg seed=7\\): waiting-children`));
  const at = (pattern: string): number => {
    // Lines start with an ISO time: order events across both workers by it.
    const line = logs.flatMap((l) => l.split('\n')).find((l) => l.includes(pattern));
    assert.ok(line !== undefined, `no line with '${pattern}' in\n${logs.join('\n---\n')}`);
    return Date.parse(line.slice(0, 24));
  };
  const netsDone = nets.map((n) => at(`${n.id} (method=individual seed=7 onlyTask=${n.config.onlyTask}): done`));
  const assembled = at(`${goalJob.id} (method=individual seed=7): done (assembled from its 2 goal networks`);
  const cpgStarted = at(`${cpgJob.id} (method=cpg seed=7): attempt 1: cpg run`);
  assert.ok(Math.max(...netsDone) <= assembled && assembled <= cpgStarted, logs.join('\n---\n'));
  // The goal networks trained at once, one on each worker.
  assert.ok(workers.every((_, w) => nets.some((n) => logs[w]!.includes(`${n.id} (method=individual seed=7 onlyTask=${n.config.onlyTask}): attempt 1: cpg run`))), logs.join('\n---\n'));
  // The assembled individual run reports what one `cpg run --method individual` reports (timing aside).
  const whole = path.join(work, 'flow-individual');
  const r = cpg('run', '--config', path.join(dir, 'runs', goalJob.id, 'job.json'), '--out', whole);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(comparable(path.join(dir, 'runs', goalJob.id, 'report.json')), comparable(path.join(whole, 'report.json')));
  // The CPG job's goals are the goal networks' validation accuracies.
  const individual = JSON.parse(readFileSync(path.join(dir, 'runs', goalJob.id, 'report.json'), 'utf8')) as { tasks: { name: string; valAccuracy: number }[] };
  const cpgReport = JSON.parse(readFileSync(path.join(dir, 'runs', cpgJob.id, 'report.json'), 'utf8')) as { tasks: { name: string; goal: number }[] };
  assert.deepEqual(
    cpgReport.tasks.map((t) => [t.name, t.goal]),
    individual.tasks.map((t) => [t.name, t.valAccuracy]),
  );
  assert.match(sweep.out(), /CPG against its goals/);
  // --status counts an assembled individual run's progress in goal networks.
  const st = cpg('sweep', dir, '--status');
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, /4 jobs: 4 done/);
  assert.match(st.stdout, new RegExp(`${goalJob.id} +method=individual seed=7 +done +2/2 tasks`));
});

test('a goal network that fails for good fails the individual run and the CPG job that need it, each named, and the sweep ends', { timeout: 120_000 }, async () => {
  const url = `redis://127.0.0.1:${port}`;
  const worker = background(['worker', '--redis', url, '--queue', 'fail-test', '--lock-duration', '5000', '--stall-interval', '5000']);
  // CIFAR-100 from a directory that is not there: bad input, so each goal network fails at its first attempt.
  const grid = gridFile('fail.json', { config: { ...tiny, benchmark: 'cifar100', dataPath: path.join(work, 'no-cifar'), tasks: 2, pruneRampEpochs: 1 }, axes: { method: ['cpg'] } });
  const dir = path.join(work, 'fail');
  const sweep = background(['sweep', '--grid', grid, '--out', dir, '--redis', url, '--queue', 'fail-test']);
  const code = await sweep.exited;
  worker.proc.kill('SIGTERM');
  await worker.exited;
  assert.equal(code, 1, sweep.out());
  type Job = { id: string; config: { method: string; onlyTask?: number } };
  const s = JSON.parse(readFileSync(path.join(dir, 'sweep.json'), 'utf8')) as { jobs: Job[]; results: { id: string; status: string; error: string }[] };
  const of = (f: (j: Job) => boolean) => s.results.find((r) => r.id === s.jobs.find(f)!.id)!;
  const net = of((j) => j.config.onlyTask === 1);
  const individual = of((j) => j.config.method === 'individual' && j.config.onlyTask === undefined);
  const cpgJob = of((j) => j.config.method === 'cpg');
  assert.equal(net.status, 'failed');
  assert.match(net.error, /CIFAR-100 directory not found/);
  assert.equal(individual.status, 'failed');
  assert.match(individual.error, /^not run: the job it needs, [0-9a-f]{16}, did not succeed$/);
  assert.equal(cpgJob.status, 'failed');
  assert.equal(cpgJob.error, `not run: the job it needs, ${individual.id}, did not succeed`);
  assert.match(sweep.out(), /cpg: 4 of 4 jobs did not succeed: /);
});

test('rediss:// (TLS): a server whose certificate is trusted (NODE_EXTRA_CA_CERTS) takes the sweep; an untrusted one is one line and exit 2', async () => {
  const certs = mkdtempSync(path.join(work, 'tls-'));
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(certs, 'key.pem'), '-out', path.join(certs, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(made.status, 0, `openssl: ${made.stderr}`);
  const tlsPort = await freePort();
  const cert = path.join(certs, 'cert.pem');
  await startRedis(['--tls-port', String(tlsPort), '--tls-cert-file', cert, '--tls-key-file', path.join(certs, 'key.pem'), '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no']);
  const grid = gridFile('tls.json', { config: { ...tiny, tasks: 1, method: 'packnet' }, axes: { seed: [21] } });
  const dir = path.join(work, 'tls');
  const url = `rediss://127.0.0.1:${tlsPort}`;
  refused(['sweep', '--grid', grid, '--out', dir, '--redis', url, '--queue', 'tls-test', '--detach'], /cannot reach Redis at rediss:\/\/127\.0\.0\.1:\d+: .*certificate/);
  const trusted = spawnSync(process.execPath, [cli, 'sweep', '--grid', grid, '--out', dir, '--redis', url, '--queue', 'tls-test', '--detach'], { env: { ...env, NODE_EXTRA_CA_CERTS: cert }, encoding: 'utf8' });
  assert.equal(trusted.status, 0, trusted.stderr);
  const st = spawnSync(process.execPath, [cli, 'sweep', dir, '--status'], { env: { ...env, NODE_EXTRA_CA_CERTS: cert }, encoding: 'utf8' });
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, /1 jobs: 1 queued — queue 'tls-test' on rediss:/);
});

/**
 * `cpg sweep` and `cpg worker`: a grid of configurations run as jobs, on a
 * local pool of child processes or on BullMQ workers over Redis, then the
 * tables `bench:accuracy` writes (mean ± std over seeds), and sweep.json.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Method, RunConfig } from '../../algebra/config.js';
import { RunReport } from '../../algebra/report.js';
import { decodeWith, parseJson } from '../../algebra/json.js';
import { type CpgError, configError, decodeError } from '../../algebra/errors.js';
import { MAX_GRID_JOBS, canonicalJson, pointLabel, type GridJob } from '../../algebra/grid.js';
import { sha256OfText } from '../../algebra/sha256.js';
import { sweepJobs } from '../../cpg/sweep.js';
import { type JobSpec, isJobFinished, jobProgress, runDirOf } from '../sweep/job.js';
import { runLocalPool } from '../sweep/local.js';
import { DEFAULT_QUEUE, connectRedis, jobStatuses, openQueue, removeQueued, startWorker, submitJobs, type JobStatus, type QueueLink, type SweepJobData } from '../sweep/queue.js';
import {
  type JobResult,
  type SweepFile,
  isCancelled,
  markCancelled,
  readSweep,
  redactUrl,
  saveRedisUrl,
  savedRedisUrl,
  writeSweep,
  writeSweepText,
} from '../sweep/sweepFile.js';
import { type BenchResult, type RunSummary, budgetOf, duration, renderMarkdown, renderText, resultJson, summarize } from './accuracyTable.js';
import { intFlag, kebab, nodeBackendProblem, scanCommand } from './args.js';
import { table } from './render.js';
import { onStopSignal } from './stop.js';
import { creatableDir } from '../dirs.js';

type Fail = (e: CpgError) => number;

const usage = (message: string, field = 'command line'): CpgError => configError(field, message);


// ---------------------------------------------------------------------------
// Jobs and tables

/** The grid file's jobs, each checked the way `cpg run` checks its configuration. */
const readGrid = async (file: string, given?: string): Promise<E.Either<CpgError, readonly GridJob[]>> => {
  const text =
    given !== undefined
      ? E.right<CpgError, string>(given)
      : await fs.readFile(file, 'utf8').then(
          (t) => E.right<CpgError, string>(t),
          (e: NodeJS.ErrnoException) => E.left<CpgError, string>(usage(`cannot read ${file}: ${e.code ?? e.message}`, '--grid')),
        );
  const jobs = E.chain(sweepJobs(file))(E.chain(parseJson(file))(text));
  if (E.isLeft(jobs)) return jobs;
  for (const j of jobs.right) {
    const at = `(grid point ${pointLabel(j.point)})`;
    if (j.config.benchmark === 'custom') return E.left(decodeError(file, 'benchmark', `'custom' is a model learned from your own tasks with \`cpg learn\`, not a benchmark a sweep can run ${at}`));
    const backend = nodeBackendProblem(j.config.backend);
    if (backend !== undefined) return E.left(decodeError(file, 'backend', `${backend.message} ${at}`));
    if (j.config.benchmark === 'cifar100' && j.config.dataPath === undefined)
      return E.left(decodeError(file, 'dataPath', `CIFAR-100 needs its binary directory: set "dataPath" ${at}`));
  }
  return jobs;
};

/** A job's links to the jobs it needs (its goal job, its goal networks), when it has any. */
const links = (j: Pick<GridJob, 'goalsFrom' | 'parts'>): { goalsFrom?: string; parts?: readonly string[] } => ({
  ...(j.goalsFrom !== undefined ? { goalsFrom: j.goalsFrom } : {}),
  ...(j.parts !== undefined ? { parts: j.parts } : {}),
});

/** The fields that set a table apart (not seed or method, nor where it runs). */
const groupKey = (c: RunConfig): string => {
  const { seed: _s, method: _m, goals: _g, backend: _b, threads: _t, ...rest } = c;
  return canonicalJson(rest);
};

const machineOf = (runs: readonly RunSummary[]): string => {
  const backends = [...new Set(runs.map((r) => `${r.backend}${r.threads !== null ? ` (${r.threads} thread${r.threads === 1 ? '' : 's'})` : ''}`))];
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `backend ${backends.join(', ') || '—'}; Node ${process.version} on ${os.cpus().length} × ${cpu}, ${os.platform()} ${os.arch()}`;
};

/** One table per group of jobs that differ only in seed and method, from the finished runs' reports. */
/** How the tables name what made them: the command, and for bench:accuracy its flags and whether it was a quick check. */
export interface TableFacts {
  readonly command: string;
  readonly quick?: boolean;
  readonly passThrough?: readonly string[];
}

const tables = async (dir: string, sweep: SweepFile, results: readonly JobResult[], facts: TableFacts): Promise<BenchResult[]> => {
  const done = new Set(results.filter((r) => r.status === 'done').map((r) => r.id));
  // A goal network is a part of its individual run's row, not a row of its own.
  const parts = new Set(sweep.jobs.flatMap((j) => j.parts ?? []));
  const groups = new Map<string, { config: RunConfig; point: Readonly<Record<string, unknown>>; runs: RunSummary[] }>();
  for (const job of sweep.jobs) {
    if (!done.has(job.id) || parts.has(job.id)) continue;
    const file = path.join(runDirOf(dir, job.id), 'report.json');
    const text = await fs.readFile(file, 'utf8').catch(() => null);
    if (text === null) continue;
    const report = E.chain(decodeWith(RunReport, file))(parseJson(file)(text));
    if (E.isLeft(report)) continue;
    const key = groupKey(job.config);
    const g = groups.get(key) ?? { config: job.config, point: job.point, runs: [] };
    g.runs.push(summarize(report.right, { dir: runDirOf(dir, job.id), threads: report.right.threads ?? null, source: 'ran' }));
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => {
    const methods = [...new Set(g.runs.map((r) => r.method))] as Method[];
    const distinct = Object.entries(g.point).filter(([k]) => k !== 'seed' && k !== 'method');
    return {
      benchmark: g.config.benchmark,
      net: g.config.net,
      seeds: [...new Set(g.runs.map((r) => r.seed))].sort((a, b) => a - b),
      runs: g.runs,
      command: facts.command,
      passThrough: [...(facts.passThrough ?? []), ...distinct.map(([k, v]) => `--${kebab(k)} ${typeof v === 'string' ? v : JSON.stringify(v)}`)],
      budget: budgetOf(g.config, methods),
      machine: machineOf(g.runs),
      quick: facts.quick ?? false,
    };
  });
};

/** Write the tables and the results into sweep.json; print the tables; the exit code (1 naming the jobs that did not succeed). */
const finish = async (dir: string, sweep: SweepFile, results: readonly JobResult[], facts: TableFacts, fail: Fail): Promise<number> => {
  const groups = await tables(dir, sweep, results, facts);
  const md = groups.map((g) => `${renderMarkdown(g)}${g.passThrough.length > 0 ? `\n(this table: ${g.passThrough.join(' ')})\n` : ''}`).join('\n');
  for (const [name, text] of [
    ['accuracy.md', md],
    ['accuracy.json', `${JSON.stringify({ groups: groups.map(resultJson) }, null, 1)}\n`],
  ] as const) {
    const w = await writeSweepText(dir, name, text);
    if (E.isLeft(w)) return fail(w.left);
  }
  const w = await writeSweep(dir, { ...sweep, ended: new Date().toISOString(), results });
  if (E.isLeft(w)) return fail(w.left);
  const text = groups.map((g) => `${g.passThrough.length > 0 ? `${g.passThrough.join(' ')}\n` : ''}${renderText(g)}`).join('\n\n');
  process.stdout.write(`${text === '' ? 'no finished run to tabulate' : text}\n\n(${path.join(dir, 'accuracy.md')}, ${path.join(dir, 'accuracy.json')}, ${path.join(dir, 'sweep.json')})\n`);
  const bad = results.filter((r) => r.status !== 'done');
  if (bad.length === 0) return 0;
  const label = (id: string) => pointLabel(sweep.jobs.find((j) => j.id === id)?.point ?? {});
  process.stderr.write(`cpg: ${bad.length} of ${results.length} jobs did not succeed: ${bad.map((r) => `${r.id} (${label(r.id)}) ${r.status}${r.error !== null ? `: ${r.error}` : ''}`).join('; ')}\n`);
  return 1;
};

// ---------------------------------------------------------------------------
// cpg sweep

export const sweepHelp = `Usage:
  cpg sweep --grid GRID.json --out DIR [--concurrency N]             run every job here, N child processes at a time
  cpg sweep --grid GRID.json --out DIR --redis URL [--detach]        enqueue the jobs for \`cpg worker\`s, wait for them (or not)
  cpg sweep DIR --status                                             queued, active, done and failed jobs, with progress
  cpg sweep DIR --cancel                                             remove queued jobs, stop running ones
  cpg worker --redis URL [--concurrency N] [--lock-duration MS] [--stall-interval MS]

GRID.json is {"config": {…fixed fields…}, "axes": {"field": [values…]}}: fields as in --config,
one job per point of the Cartesian product (at most ${MAX_GRID_JOBS.toLocaleString('en-US')}). A job's id is the SHA-256 of its
resolved configuration (without backend and threads); it runs in DIR/runs/<id>/ with its log
job.log beside the run. A finished job is not run again; a stopped one resumes from its checkpoint.`;

export const sweepCommand = async (argv: readonly string[], fail: Fail): Promise<number> => {
  const parsed = scanCommand('sweep', argv);
  if (E.isLeft(parsed)) return fail(parsed.left);
  const p = parsed.right;
  if (p.switches.has('status') || p.switches.has('cancel')) {
    if (p.switches.has('status') && p.switches.has('cancel')) return fail(usage('--status and --cancel: choose one'));
    const dir = p.positional[0] ?? p.values['out'];
    if (dir === undefined || p.positional.length > 1) return fail(usage('`cpg sweep DIR --status` (or --cancel) takes one sweep directory'));
    for (const f of ['grid', 'concurrency', 'attempts']) if (f in p.values) return fail(usage(`--${f} is for starting a sweep, not with --status or --cancel`, `--${f}`));
    return p.switches.has('status') ? statusOf(dir, p.values['redis'], fail) : cancel(dir, p.values['redis'], fail);
  }
  if (p.positional.length > 0) return fail(usage(`unexpected argument '${p.positional[0]}' (a new sweep: cpg sweep --grid GRID.json --out DIR; a running one: cpg sweep DIR --status)`));
  const grid = p.values['grid'];
  const out = p.values['out'];
  if (grid === undefined) return fail(usage('`cpg sweep` needs --grid GRID.json', '--grid'));
  if (out === undefined) return fail(usage('`cpg sweep` needs --out DIR (where the runs and tables go)', '--out'));
  const concurrency = intFlag('sweep', p.values, 'concurrency');
  if (E.isLeft(concurrency)) return fail(concurrency.left);
  const attempts = intFlag('sweep', p.values, 'attempts');
  if (E.isLeft(attempts)) return fail(attempts.left);
  const redisUrl = p.values['redis'];
  if (redisUrl === undefined) {
    for (const f of ['queue', 'attempts']) if (f in p.values) return fail(usage(`--${f} is for a sweep on Redis (--redis URL)`, `--${f}`));
    if (p.switches.has('detach')) return fail(usage('--detach is for a sweep on Redis (--redis URL): a local sweep runs its jobs itself', '--detach'));
  } else if ('concurrency' in p.values) return fail(usage('--concurrency is for a local sweep: on Redis, each `cpg worker` has its own', '--concurrency'));

  const command = `cpg sweep ${argv.filter((a, i) => a !== redisUrl || argv[i - 1] !== '--redis').join(' ')}`;
  const prepared = await prepareSweep(grid, out);
  if (E.isLeft(prepared)) return fail(prepared.left);
  const { dir, sweep } = prepared.right;
  if (redisUrl === undefined) return localSweep(dir, sweep, concurrency.right, { command }, fail);
  return redisSweep(dir, sweep, redisUrl, p.values['queue'] ?? DEFAULT_QUEUE, attempts.right, p.switches.has('detach'), { command }, fail);
};

/** The sweep of a grid file into `out`: its jobs, checked against a sweep already there (the same jobs, or refused). */
const prepareSweep = async (grid: string, out: string, text?: string): Promise<E.Either<CpgError, { readonly dir: string; readonly sweep: SweepFile }>> => {
  const jobs = await readGrid(grid, text);
  if (E.isLeft(jobs)) return jobs;
  const dir = path.resolve(out);
  const where = await creatableDir(dir, '--out');
  if (where !== undefined) return E.left(where);
  const held = await readSweep(dir);
  if (E.isLeft(held)) return held;
  const ids = jobs.right.map((j) => j.id);
  if (held.right !== null && canonicalJson([...held.right.jobs.map((j) => j.id)].sort()) !== canonicalJson([...ids].sort()))
    return E.left(usage(`${dir} holds another sweep (its jobs differ from this grid's): choose another --out`, '--out'));
  // A run's directory is no sweep's: the jobs would be written into it.
  if (held.right === null && (await fs.stat(path.join(dir, 'run.json')).then(() => true, () => false)))
    return E.left(usage(`${dir} holds a run (run.json), not a sweep: choose another --out`, '--out'));
  await fs.rm(path.join(dir, 'cancelled'), { force: true });
  // A grid given as text is written where the sweep says it is, once the sweep is known to be this one.
  if (text !== undefined) {
    const w = await writeSweepText(dir, path.relative(dir, path.resolve(grid)), text);
    if (E.isLeft(w)) return w;
  }
  return E.right({
    dir,
    sweep: {
      format: 'cpg-sweep',
      version: 1,
      grid: path.resolve(grid),
      created: held.right?.created ?? new Date().toISOString(),
      queue: null,
      jobs: jobs.right.map((j) => ({ id: j.id, point: j.point, config: j.config, ...links(j) })),
    },
  });
};

/**
 * A grid swept on this machine, `concurrency` jobs at a time, into `out`,
 * then its tables: what `cpg sweep --grid G --out DIR` does, for callers
 * (bench:accuracy) that make the grid (`text`, written to `grid` inside
 * `out` once `out` holds no other sweep) and say how the tables name their
 * command.
 */
export const sweepLocally = async (grid: { readonly file: string; readonly text: string }, out: string, concurrency: number, facts: TableFacts, fail: Fail): Promise<number> => {
  const prepared = await prepareSweep(grid.file, out, grid.text);
  if (E.isLeft(prepared)) return fail(prepared.left);
  return localSweep(prepared.right.dir, prepared.right.sweep, concurrency, facts, fail);
};

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const localSweep = async (dir: string, sweep: SweepFile, concurrency: number, facts: TableFacts, fail: Fail): Promise<number> => {
  const w = await writeSweep(dir, sweep);
  if (E.isLeft(w)) return fail(w.left);
  const specs: JobSpec[] = sweep.jobs.map((j) => ({ id: j.id, config: j.config, runDir: runDirOf(dir, j.id), ...links(j) }));
  const label = (id: string) => pointLabel(sweep.jobs.find((j) => j.id === id)?.point ?? {});
  say(`cpg sweep: ${specs.length} job${specs.length === 1 ? '' : 's'} in ${dir}, ${concurrency} at a time`);
  const stop = new AbortController();
  onStopSignal(() => {
    say('cpg sweep: stopping: running jobs end at their next step; give the same command again to continue');
    stop.abort();
  });
  let ended = 0;
  const results = await runLocalPool(specs, {
    concurrency,
    signal: stop.signal,
    onEvent: (e) => {
      if (e.type === 'started') say(`  ${e.job.id} (${label(e.job.id)}): cpg ${e.mode} (pid ${e.pid})`);
      else {
        ended += 1;
        const a = e.attempt;
        say(
          `  [${ended}/${specs.length}] ${e.job.id} (${label(e.job.id)}): ${a.kind === 'done' ? (a.mode === 'finished before' ? 'finished before, skipped' : `done in ${duration(a.seconds)}`) : `failed: ${a.message} (log: ${path.join(e.job.runDir, 'job.log')})`}`,
        );
      }
    },
  });
  if (stop.signal.aborted) return 130;
  return finish(dir, sweep, results, facts, fail);
};

/** The Redis URL of a sweep's directory, or the one given. */
const urlFor = async (dir: string, given: string | undefined): Promise<E.Either<CpgError, string>> => {
  if (given !== undefined) return E.right(given);
  const saved = await savedRedisUrl(dir);
  return saved === null ? E.left(usage(`${dir} has no saved Redis URL: give it with --redis URL`, '--redis')) : E.right(saved);
};

const terminal = (s: JobStatus['state']): boolean => s === 'completed' || s === 'failed' || s === 'unknown';

const resultOf = (s: JobStatus, cancelled: boolean): JobResult =>
  s.state === 'completed'
    ? { id: s.id, status: 'done', error: null, attempts: s.attemptsStarted }
    : { id: s.id, status: cancelled || (s.error ?? '').startsWith('cancelled') ? 'cancelled' : 'failed', error: s.state === 'unknown' ? 'not in the queue (removed)' : s.error, attempts: s.attemptsStarted };

const redisSweep = async (dir: string, sweep: SweepFile, url: string, queueName: string, attempts: number, detach: boolean, facts: TableFacts, fail: Fail): Promise<number> => {
  if (queueName.includes(':') || queueName === '') return fail(usage(`a queue name may not be empty or contain ':', got '${queueName}'`, '--queue'));
  const link = await connectRedis(url);
  if (E.isLeft(link)) return fail(link.left);
  const tag = sha256OfText(dir).slice(0, 8);
  const withQueue: SweepFile = { ...sweep, queue: { redis: redactUrl(url), queue: queueName, tag } };
  const w = await writeSweep(dir, withQueue);
  if (E.isLeft(w)) return fail(w.left);
  await saveRedisUrl(dir, url);
  const queue = openQueue(link.right, queueName);
  const close = async () => {
    await queue.close();
    link.right.redis.disconnect();
  };
  const data: SweepJobData[] = sweep.jobs.map((j) => ({ sweepDir: dir, id: j.id, label: pointLabel(j.point), config: j.config, ...links(j) }));
  await submitJobs(link.right, queue, tag, data, { attempts, backoffMs: 1000 });
  say(`cpg sweep: ${data.length} job${data.length === 1 ? '' : 's'} queued in '${queueName}' on ${redactUrl(url)} (sweep ${tag}); runs in ${dir}/runs`);
  if (detach) {
    await close();
    process.stdout.write(`${dir}\n`);
    return 0;
  }
  const ids = sweep.jobs.map((j) => j.id);
  const label = (id: string) => pointLabel(sweep.jobs.find((j) => j.id === id)?.point ?? {});
  const last = new Map<string, string>();
  let statuses: JobStatus[] = [];
  let cancelled = false;
  for (;;) {
    statuses = await jobStatuses(queue, tag, ids);
    for (const s of statuses) {
      const key = `${s.state} ${s.attemptsStarted}`;
      if (last.get(s.id) !== key) {
        last.set(s.id, key);
        const done = statuses.filter((x) => terminal(x.state)).length;
        say(`  [${done}/${ids.length}] ${s.id} (${label(s.id)}): ${s.state}${s.attemptsStarted > 1 ? ` (attempt ${s.attemptsStarted})` : ''}${s.state === 'failed' && s.error !== null ? `: ${s.error}` : ''}`);
      }
    }
    if (statuses.every((s) => terminal(s.state))) break;
    if (await isCancelled(dir)) {
      cancelled = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  await close();
  // The cancel may land in the same poll that finds every job ended (removed ones read as gone): it still names them cancelled.
  cancelled ||= await isCancelled(dir);
  const results = statuses.map((s): JobResult => {
    if (!terminal(s.state)) return { id: s.id, status: 'cancelled', error: `cancelled while ${s.state}`, attempts: s.attemptsStarted };
    const r = resultOf(s, cancelled);
    return r;
  });
  return finish(dir, withQueue, results, facts, fail);
};

/** `cpg sweep DIR --status`: each job's state and progress (from Redis for a queued sweep, from the run directories for a local one). */
const statusOf = async (dir: string, given: string | undefined, fail: Fail): Promise<number> => {
  const held = await readSweep(dir);
  if (E.isLeft(held)) return fail(held.left);
  const sweep = held.right;
  if (sweep === null) return fail(usage(`${dir} holds no sweep (no sweep.json)`, 'DIR'));
  const progressText = (p: { finishedTasks: number; plannedTasks: number } | null) => (p === null ? '—' : `${p.finishedTasks}/${p.plannedTasks} tasks`);
  const rows: string[][] = [];
  const counts = new Map<string, number>();
  const count = (s: string) => counts.set(s, (counts.get(s) ?? 0) + 1);
  if (sweep.queue === null) {
    for (const j of sweep.jobs) {
      const p = await jobProgress({ runDir: runDirOf(dir, j.id), ...links(j) });
      const r = sweep.results?.find((x) => x.id === j.id);
      const state = (await isJobFinished({ runDir: runDirOf(dir, j.id), ...links(j) })) ? 'done' : r?.status === 'failed' ? 'failed' : p !== null ? 'started' : 'not started';
      count(state);
      rows.push([j.id, pointLabel(j.point), state, progressText(p), r?.error ?? '']);
    }
  } else {
    const url = await urlFor(dir, given);
    if (E.isLeft(url)) return fail(url.left);
    const link = await connectRedis(url.right);
    if (E.isLeft(link)) return fail(link.left);
    const queue = openQueue(link.right, sweep.queue.queue);
    const statuses = await jobStatuses(queue, sweep.queue.tag, sweep.jobs.map((j) => j.id));
    await queue.close();
    link.right.redis.disconnect();
    for (const s of statuses) {
      const j = sweep.jobs.find((x) => x.id === s.id)!;
      const state = s.state === 'completed' ? 'done' : s.state === 'waiting' || s.state === 'delayed' || s.state === 'prioritized' ? 'queued' : s.state === 'waiting-children' ? 'waiting for goals' : s.state;
      count(state);
      const p = s.progress ?? (await jobProgress({ runDir: runDirOf(dir, s.id), ...links(j) }));
      rows.push([s.id, pointLabel(j.point), `${state}${s.attemptsStarted > 1 ? ` (attempt ${s.attemptsStarted})` : ''}`, progressText(p), s.error ?? '']);
    }
  }
  const order = ['waiting for goals', 'queued', 'not started', 'active', 'started', 'done', 'failed', 'unknown'];
  const summary = [...counts].sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)).map(([s, n]) => `${n} ${s}`).join(', ');
  process.stdout.write(
    `sweep ${dir}: ${sweep.jobs.length} jobs: ${summary}${(await isCancelled(dir)) ? ' (cancelled)' : ''}${sweep.queue !== null ? ` — queue '${sweep.queue.queue}' on ${sweep.queue.redis}` : ''}\n${table(['job', 'point', 'state', 'progress', 'error'], rows)}\n`,
  );
  return 0;
};

/** The queue of the sweep in `dir`: its Redis URL (given, or the sweep's) connected. */
const queueLink = async (dir: string, given: string | undefined): Promise<E.Either<CpgError, QueueLink>> => {
  const url = await urlFor(dir, given);
  return E.isLeft(url) ? url : connectRedis(url.right);
};

/** `cpg sweep DIR --cancel`: mark the sweep cancelled, remove its queued jobs; workers stop its running ones. */
const cancel = async (dir: string, given: string | undefined, fail: Fail): Promise<number> => {
  const held = await readSweep(dir);
  if (E.isLeft(held)) return fail(held.left);
  const sweep = held.right;
  if (sweep === null) return fail(usage(`${dir} holds no sweep (no sweep.json)`, 'DIR'));
  // The queue is reached (its packages loaded, Redis connected) before the mark: a worker fails a job it
  // takes after the mark, so queued jobs are removed the moment the mark is there, before workers reach them.
  const link = sweep.queue === null ? undefined : await queueLink(dir, given);
  await markCancelled(dir);
  if (sweep.queue === null || link === undefined) {
    process.stdout.write(`sweep ${dir} cancelled (a local sweep: stop its \`cpg sweep\` with Ctrl-C; it resumes when given again)\n`);
    return 0;
  }
  if (E.isLeft(link)) return fail(link.left);
  const queue = openQueue(link.right, sweep.queue.queue);
  const removed = await removeQueued(queue, sweep.queue.tag, sweep.jobs.map((j) => j.id));
  await queue.close();
  link.right.redis.disconnect();
  process.stdout.write(`sweep ${dir} cancelled: ${removed} queued job${removed === 1 ? '' : 's'} removed; running ones stop within a second (their runs resume if the sweep is given again)\n`);
  return 0;
};

// ---------------------------------------------------------------------------
// cpg worker

export const workerCommand = async (argv: readonly string[], fail: Fail): Promise<number> => {
  const parsed = scanCommand('worker', argv);
  if (E.isLeft(parsed)) return fail(parsed.left);
  const p = parsed.right;
  if (p.positional.length > 0) return fail(usage(`unexpected argument '${p.positional[0]}'`));
  const url = p.values['redis'];
  if (url === undefined) return fail(usage('`cpg worker` needs --redis URL', '--redis'));
  const concurrency = intFlag('worker', p.values, 'concurrency');
  if (E.isLeft(concurrency)) return fail(concurrency.left);
  const lock = intFlag('worker', p.values, 'lock-duration');
  if (E.isLeft(lock)) return fail(lock.left);
  const stall = intFlag('worker', p.values, 'stall-interval');
  if (E.isLeft(stall)) return fail(stall.left);
  const queueName = p.values['queue'] ?? DEFAULT_QUEUE;
  if (queueName.includes(':') || queueName === '') return fail(usage(`a queue name may not be empty or contain ':', got '${queueName}'`, '--queue'));
  const link = await connectRedis(url);
  if (E.isLeft(link)) return fail(link.left);
  const stamp = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const worker = startWorker(link.right, {
    queue: queueName,
    concurrency: concurrency.right,
    lockDurationMs: lock.right,
    stalledIntervalMs: stall.right,
    say: stamp,
  });
  stamp(`worker ${process.pid} on ${os.hostname()}: queue '${queueName}' on ${redactUrl(url)}, ${concurrency.right} at a time`);
  return new Promise<number>((resolve) => {
    onStopSignal(() => {
      stamp(`worker ${process.pid}: stopping (running jobs stop at their next step and are retried)`);
      void worker.stop().then(() => {
        link.right.redis.disconnect();
        resolve(130);
      });
    });
  });
};


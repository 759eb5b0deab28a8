/**
 * One sweep job, the same on one machine and many: its run directory
 * (`<sweep>/runs/<job id>/`, holding `job.json`, the resolved configuration,
 * and `job.log`, the output of every attempt), and an attempt at it as a
 * child process — `cpg run` into the directory, or `cpg resume` when it
 * already holds a checkpoint (the run's own crash-safe resume); an
 * individual run made of goal-network jobs is assembled from theirs
 * (assemble.ts). A finished run is not run again. The child has an IPC channel to its parent and stops
 * when it closes (src/node/cli/main.ts), so it never outlives a killed worker; the
 * run directory's lock keeps two processes off one run.
 */
import { builtInMethod } from '../../cpg/methods/registry.js';
import { spawn } from 'node:child_process';
import { promises as fs, openSync, closeSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import type { RunConfig } from '../../algebra/config.js';
import { describeError } from '../../algebra/errors.js';
import { recordedThreads } from '../../algebra/threads.js';
import { fsStore } from '../stores/fs.js';
import { makeDirs } from '../dirs.js';
import { assembleIndividual, isAssembled } from './assemble.js';

/** The `cpg` command's script (dist/src/node/cli/main.js). */
export const cliScript = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cli/main.js');

/** Where a job's run lives in its sweep. */
export const runDirOf = (sweepDir: string, id: string): string => path.join(sweepDir, 'runs', id);

/** What a job is: its id, what it runs, and where. */
export interface JobSpec {
  readonly id: string;
  readonly config: RunConfig;
  readonly runDir: string;
  /** The job whose individual networks set this CPG job's goals (its run is beside this one). */
  readonly goalsFrom?: string;
  /** An individual run assembled from these goal-network jobs (task k's at k − 1; their runs are beside this one). */
  readonly parts?: readonly string[];
}

/**
 * The goal file of a CPG job whose goals come from its goal job: each task's
 * validation accuracy in that job's report (as bench:accuracy takes them),
 * written beside the run; the configuration then reads it.
 */
const goalsConfig = async (job: JobSpec): Promise<{ readonly config: RunConfig } | { readonly error: string }> => {
  if (job.goalsFrom === undefined) return { config: job.config };
  const report = path.join(path.dirname(job.runDir), job.goalsFrom, 'report.json');
  const text = await fs.readFile(report, 'utf8').catch(() => null);
  if (text === null) return { error: `its goal job ${job.goalsFrom} has no report (${report}): it has not finished` };
  try {
    const r = JSON.parse(text) as { tasks?: { name?: unknown; valAccuracy?: unknown }[] };
    const goals = Object.fromEntries((r.tasks ?? []).map((t) => [String(t.name), Number(t.valAccuracy)]));
    if (Object.keys(goals).length === 0) return { error: `${report} has no tasks` };
    const written = await fsStore(job.runDir).writeReport('goals.json', `${JSON.stringify(goals, null, 1)}\n`)();
    if (written._tag === 'Left') return { error: `cannot write ${path.join(job.runDir, 'goals.json')}` };
    return { config: { ...job.config, goals: { kind: 'file', path: written.right } } };
  } catch {
    return { error: `${report} is not valid JSON` };
  }
};

/** How far a run has got, from its manifest (null: not started). */
export interface RunProgress {
  readonly finishedTasks: number;
  readonly plannedTasks: number;
  readonly status: 'running' | 'finished';
}

/** The run's progress, read cheaply from its run.json (null when there is none or it cannot be read). */
export const readProgress = async (runDir: string): Promise<RunProgress | null> => {
  const text = await fs.readFile(path.join(runDir, 'run.json'), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const m = JSON.parse(text) as { finished?: unknown[]; individual?: unknown[]; plannedTasks?: number; tasks?: unknown[]; status?: string; config?: { method?: string; onlyTask?: number } };
    // The individual baseline's tasks are its networks; a goal network alone (onlyTask) is one task.
    const individual = builtInMethod(m.config?.method ?? '')?.model === 'per-task';
    const done = individual ? m.individual : m.finished;
    const finishedTasks = Array.isArray(done) ? done.length : 0;
    return {
      finishedTasks,
      plannedTasks: individual && m.config?.onlyTask !== undefined ? 1 : typeof m.plannedTasks === 'number' ? m.plannedTasks : Array.isArray(m.tasks) ? m.tasks.length : finishedTasks,
      status: m.status === 'finished' ? 'finished' : 'running',
    };
  } catch {
    return null;
  }
};

const exists = (p: string): Promise<boolean> => fs.stat(p).then(
  () => true,
  () => false,
);

/** Whether the job's run has finished (its manifest says so and its report is written). */
export const isFinished = async (runDir: string): Promise<boolean> =>
  (await readProgress(runDir))?.status === 'finished' && (await exists(path.join(runDir, 'report.json')));

/** A job's progress: its run's, or for an individual run assembled from goal networks, how many of them have finished. */
export const jobProgress = async (job: Pick<JobSpec, 'runDir' | 'parts'>): Promise<RunProgress | null> => {
  if (job.parts === undefined) return readProgress(job.runDir);
  const parts = job.parts.map((id) => path.join(path.dirname(job.runDir), id));
  const finished = (await Promise.all(parts.map((d) => isFinished(d)))).filter((x) => x).length;
  return { finishedTasks: finished, plannedTasks: parts.length, status: (await isAssembled(job.runDir)) ? 'finished' : 'running' };
};

/** Why a job did not run: a job it needs (its goal job, a goal network) did not succeed. Said alike on one machine and on Redis. */
export const notRunBecause = (needed: string): string => `not run: the job it needs, ${needed}, did not succeed`;

/** Whether a job has finished: its run (or, for an assembled individual run, its report). */
export const isJobFinished = (job: Pick<JobSpec, 'runDir' | 'parts'>): Promise<boolean> => (job.parts !== undefined ? isAssembled(job.runDir) : isFinished(job.runDir));

/** Assemble an individual run from its goal-network jobs' runs, in this process (it trains nothing). */
const assembleJob = async (job: JobSpec & { readonly parts: readonly string[] }, hooks: AttemptHooks, t0: number): Promise<Attempt> => {
  const seconds = () => (performance.now() - t0) / 1000;
  const log = path.join(job.runDir, 'job.log');
  await makeDirs(job.runDir);
  await fs.appendFile(log, `--- ${new Date().toISOString()} ${hooks.by ?? `pid ${process.pid} on ${os.hostname()}`}: assembling the individual run from its goal-network jobs ${job.parts.join(', ')}\n`);
  const written = await fsStore(job.runDir).writeReport('job.json', `${JSON.stringify(job.config, null, 1)}\n`)();
  const r = E.isLeft(written) ? written : await assembleIndividual(job.config, job.runDir, job.parts.map((id) => path.join(path.dirname(job.runDir), id)));
  if (E.isLeft(r)) {
    const message = describeError(r.left);
    await fs.appendFile(log, `cpg: ${message}\n`);
    return { kind: 'failed', mode: 'run', code: null, signal: null, message, forGood: false, seconds: seconds() };
  }
  await fs.appendFile(log, `assembled: ${r.right.tasks.map((t) => `${t.name} val ${t.valAccuracy.toFixed(4)} test ${t.accuracy.toFixed(4)}`).join(', ')}\n`);
  return { kind: 'done', mode: 'run', seconds: seconds() };
};

/** The outcome of one attempt. */
export type Attempt =
  | { readonly kind: 'done'; readonly mode: 'run' | 'resume' | 'finished before'; readonly seconds: number }
  | {
      readonly kind: 'failed';
      readonly mode: 'run' | 'resume';
      readonly code: number | null;
      readonly signal: string | null;
      /** The child's last error line (`cpg: …`), or how it ended. */
      readonly message: string;
      /** Bad input (exit 2): another attempt would fail the same way. */
      readonly forGood: boolean;
      readonly seconds: number;
    };

/** What an attempt reports while it runs. */
export interface AttemptHooks {
  /** The child started: run or resume, its pid. */
  readonly started?: (mode: 'run' | 'resume', pid: number) => void;
  /** Stops the child (SIGTERM: it ends at its next step, resumable). */
  readonly signal?: AbortSignal;
  /** Who runs the attempt, for the log's header line ("worker 1234 on host"). */
  readonly by?: string;
}

/** The last line the child wrote that reads as its error (`cpg: …`), from the end of its log. */
const lastError = async (log: string, from: number): Promise<string | null> => {
  const text = await fs.readFile(log, 'utf8').catch(() => '');
  const lines = text.slice(from).split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return [...lines].reverse().find((l) => l.startsWith('cpg: ')) ?? null;
};

/**
 * One attempt at a job: nothing when its run has finished, else `cpg run` or
 * `cpg resume` as a child process, its output appended to job.log. Resolves
 * when the child has exited.
 */
export const attemptJob = async (job: JobSpec, hooks: AttemptHooks = {}): Promise<Attempt> => {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  if (await isJobFinished(job)) return { kind: 'done', mode: 'finished before', seconds: 0 };
  if (job.parts !== undefined) return assembleJob({ ...job, parts: job.parts }, hooks, t0);
  const store = fsStore(job.runDir);
  const jobFile = path.join(job.runDir, 'job.json');
  const resumable = await exists(path.join(job.runDir, 'run.json'));
  // A run that started has its goals in its checkpoint.
  const resolved = resumable ? { config: job.config } : await goalsConfig(job);
  if ('error' in resolved) return { kind: 'failed', mode: 'run', code: null, signal: null, message: resolved.error, forGood: false, seconds: seconds() };
  const written = resumable && (await exists(jobFile)) ? E.right('') : await store.writeReport('job.json', `${JSON.stringify(resolved.config, null, 1)}\n`)();
  if (written._tag === 'Left') return { kind: 'failed', mode: 'run', code: null, signal: null, message: `cannot write ${jobFile}`, forGood: false, seconds: seconds() };
  const mode = resumable ? 'resume' : 'run';
  const over = [...(job.config.backend !== 'auto' ? ['--backend', job.config.backend] : []), ...(job.config.threads !== undefined ? ['--threads', String(recordedThreads(job.config.threads))] : [])];
  const args = mode === 'run' ? ['run', '--config', jobFile, '--out', job.runDir] : ['resume', job.runDir, ...over];
  const log = path.join(job.runDir, 'job.log');
  const from = (await fs.stat(log).catch(() => null))?.size ?? 0;
  const fd = openSync(log, 'a');
  writeSync(fd, `--- ${new Date().toISOString()} ${hooks.by ?? `pid ${process.pid} on ${os.hostname()}`}: cpg ${args.join(' ')}\n`);
  const child = spawn(process.execPath, [cliScript(), ...args], { stdio: ['ignore', fd, fd, 'ipc'], env: process.env });
  closeSync(fd);
  const onAbort = () => child.kill('SIGTERM');
  hooks.signal?.addEventListener('abort', onAbort, { once: true });
  if (child.pid !== undefined) hooks.started?.(mode, child.pid);
  const ended = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('error', (e) => resolve({ code: null, signal: e.message }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  hooks.signal?.removeEventListener('abort', onAbort);
  if (ended.code === 0 && (await isFinished(job.runDir))) return { kind: 'done', mode, seconds: seconds() };
  const said = await lastError(log, from);
  const how = ended.code !== null ? `exit ${ended.code}` : `killed by ${ended.signal ?? 'a signal'}`;
  return {
    kind: 'failed',
    mode,
    code: ended.code,
    signal: ended.signal,
    message: `${said !== null ? said.replace(/^cpg: /, '') : `cpg ${mode} ended without a finished run`} (${how})`,
    // Exit 2 is bad input, except a lock held by another process (an attempt that overlapped): that one may pass later.
    forGood: ended.code === 2 && !/locked by process/.test(said ?? ''),
    seconds: seconds(),
  };
};

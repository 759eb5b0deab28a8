/**
 * Sweeps on a real job queue: BullMQ on Redis. `cpg sweep --redis URL`
 * enqueues one job per configuration in a queue every sweep shares (its
 * jobs' ids are `<sweep tag>-<job id>`, and each carries its sweep's
 * directory, so sweeps never mix); `cpg worker --redis URL` runs them as
 * child processes (src/node/sweep/job.ts) on any number of machines that
 * share the sweep directories' path. Retries back off exponentially; a job
 * whose worker was killed is taken up again after the stall timeout and
 * resumes from its run's last checkpoint; a job that fails for good (bad
 * input, or every attempt spent) is reported and the others go on.
 *
 * BullMQ and ioredis are optional peer dependencies: imported here when a
 * sweep on Redis or a worker starts, never by `cpg` or `cpg/node`.
 */
import * as os from 'node:os';
import * as E from 'fp-ts/lib/Either.js';
import type * as Bullmq from 'bullmq';
import type { FlowJob, Job, JobState, Queue } from 'bullmq';
import type * as Ioredis from 'ioredis';
import type { Redis } from 'ioredis';
import type { RunConfig } from '../../algebra/config.js';
import { type CpgError, configError, missingPackage } from '../../algebra/errors.js';
import { missingPackages, notInstalled } from '../optional.js';
import { dependenciesOf } from '../../algebra/grid.js';
import { attemptJob, jobProgress, notRunBecause, runDirOf } from './job.js';
import { isCancelled, redactUrl } from './sweepFile.js';

/** The queue every sweep shares unless told otherwise. */
export { DEFAULT_QUEUE } from '../../algebra/grid.js';

/** How long connecting to Redis may take before it is reported unreachable. */
export const CONNECT_TIMEOUT_MS = 5000;

/** What a queued job carries. */
export interface SweepJobData {
  readonly sweepDir: string;
  readonly id: string;
  readonly label: string;
  readonly config: RunConfig;
  /** A CPG job's goal job (its child in the flow: it runs first). */
  readonly goalsFrom?: string;
  /** An individual run's goal-network jobs (its children in the flow); it is assembled from their runs. */
  readonly parts?: readonly string[];
}

/** What a job's progress says while it runs: tasks finished of planned, and the attempt. */
export interface JobProgress {
  readonly finishedTasks: number;
  readonly plannedTasks: number;
  readonly mode: 'run' | 'resume';
}

const unreachable = (url: string, why: string): CpgError => configError('--redis', `cannot reach Redis at ${redactUrl(url)}: ${why}`);

/** The job queue's packages, imported when a queue is first used. */
export interface QueueLibs {
  readonly bullmq: typeof Bullmq;
  readonly ioredis: typeof Ioredis;
}

/** Imports one of the queue's packages; tests pass one that fails. */
export type QueueImport = (name: 'bullmq' | 'ioredis') => Promise<unknown>;

const importQueuePackage: QueueImport = (name) => (name === 'bullmq' ? import('bullmq') : import('ioredis'));

/**
 * BullMQ and ioredis, or one MissingPackage error naming every one of them
 * that is not installed ("the job queue needs the 'bullmq' and 'ioredis'
 * packages: npm install …"); a package that is there but does not load is
 * named with its reason.
 */
export const loadQueueLibs = async (load: QueueImport = importQueuePackage): Promise<E.Either<CpgError, QueueLibs>> => {
  const attempt = (name: 'bullmq' | 'ioredis') => load(name).then(E.right, (e: unknown) => E.left({ name, e }));
  const [bullmq, ioredis] = await Promise.all([attempt('bullmq'), attempt('ioredis')]);
  if (E.isRight(bullmq) && E.isRight(ioredis)) return E.right({ bullmq: bullmq.right as QueueLibs['bullmq'], ioredis: ioredis.right as QueueLibs['ioredis'] });
  const failed = [bullmq, ioredis].flatMap((r) => (E.isLeft(r) ? [r.left] : []));
  const missing = failed.filter((f) => notInstalled(f.e, f.name)).map((f) => f.name);
  if (missing.length > 0) return E.left(missingPackages('the job queue needs', missing));
  const why = failed.map((f) => `'${f.name}' does not load: ${(f.e instanceof Error ? f.e.message : String(f.e)).split('\n')[0] ?? ''}`);
  return E.left(missingPackage(failed.map((f) => f.name), `the job queue needs the 'bullmq' and 'ioredis' packages, and ${why.join('; ')}`));
};

/** A connection to Redis, with the package that makes queues and workers on it. */
export interface QueueLink {
  readonly bullmq: QueueLibs['bullmq'];
  readonly redis: Redis;
}

/** The sweeps' queue `name` on a connection. */
export const openQueue = (link: QueueLink, name: string): Queue => new link.bullmq.Queue(name, { connection: link.redis });

/**
 * A connection to Redis for BullMQ (`maxRetriesPerRequest: null`), after a
 * probe that connects and pings within CONNECT_TIMEOUT_MS: an unreachable
 * server, a refused password or a bad URL is one ConfigError naming --redis.
 */
export const connectRedis = async (url: string, load: QueueImport = importQueuePackage): Promise<E.Either<CpgError, QueueLink>> => {
  if (!/^rediss?:\/\//.test(url)) return E.left(configError('--redis', `expected a URL redis://[:password@]host[:port][/db] or rediss://… (TLS), got '${url}'`));
  const libs = await loadQueueLibs(load);
  if (E.isLeft(libs)) return libs;
  const { Redis } = libs.right.ioredis;
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: CONNECT_TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // The cause (ECONNREFUSED, WRONGPASS, a TLS failure) arrives as an event; the promise below only says the connection closed.
  let cause: string | null = null;
  probe.on('error', (e: Error) => {
    cause ??= e.message;
  });
  const timer = new Promise<string>((resolve) => setTimeout(() => resolve(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`), CONNECT_TIMEOUT_MS + 1000).unref());
  const tried = probe
    .connect()
    .then(() => probe.ping())
    .then(
      () => null,
      (e: unknown) => {
        const said = e instanceof Error ? e.message : String(e);
        return cause !== null && /connection is closed/i.test(said) ? cause : said;
      },
    );
  const failed = await Promise.race([tried, timer]);
  probe.disconnect();
  if (failed !== null) return E.left(unreachable(url, failed.replace(/\s+/g, ' ').trim()));
  const redis = new Redis(url, { maxRetriesPerRequest: null, connectTimeout: CONNECT_TIMEOUT_MS });
  redis.on('error', () => undefined);
  return E.right({ bullmq: libs.right.bullmq, redis });
};

/** The BullMQ id of a sweep's job. */
export const queueJobId = (tag: string, id: string): string => `${tag}-${id}`;

/** Options of the jobs a sweep enqueues. */
export interface SubmitOptions {
  readonly attempts: number;
  /** First retry delay (ms); each later one doubles. */
  readonly backoffMs: number;
}

/**
 * Enqueue a sweep's jobs (re-adding a job that is queued or done is a
 * no-op; a job that failed for good in an earlier submission starts again).
 */
export const submitJobs = async (link: QueueLink, queue: Queue, tag: string, jobs: readonly SweepJobData[], o: SubmitOptions): Promise<void> => {
  // A failed job is removed and added afresh below, in its flow: retried in place, a parent would run
  // at once, before the children it needs had run again. Finished children stay finished and count
  // as done for the parent added again.
  for (const data of jobs) {
    const job = await queue.getJob(queueJobId(tag, data.id));
    if (job !== undefined && (await job.getState()) === 'failed') await job.remove({ removeChildren: false });
  }
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const needed = new Set(jobs.flatMap((j) => dependenciesOf(j)));
  // Priorities keep the longest chains moving: a job that others waited for (a CPG job, an individual run
  // to assemble) goes first once its children are done, then the goal networks that start chains, then the rest.
  const priority = (j: SweepJobData): number => (dependenciesOf(j).length > 0 ? 1 : needed.has(j.id) ? 2 : 3);
  const opts = (j: SweepJobData) => ({
    jobId: queueJobId(tag, j.id),
    attempts: o.attempts,
    backoff: { type: 'exponential', delay: o.backoffMs },
    removeOnComplete: false,
    removeOnFail: false,
    priority: priority(j),
  });
  // A job that needs others (a CPG job its goal job, an individual run its goal networks) is the parent of a
  // flow whose children they are: it waits in Redis (waiting-children) until they are done, so no worker
  // blocks on it; a child that fails for good fails its parent. Every job is needed by at most one other.
  const node = (j: SweepJobData): FlowJob => ({
    name: 'run',
    queueName: queue.name,
    data: j,
    opts: needed.has(j.id) ? { ...opts(j), failParentOnFailure: true } : opts(j),
    children: dependenciesOf(j).flatMap((d) => (byId.has(d) ? [node(byId.get(d)!)] : [])),
  });
  const roots = jobs.filter((j) => !needed.has(j.id));
  await queue.addBulk(roots.filter((j) => dependenciesOf(j).length === 0).map((data) => ({ name: 'run', data, opts: opts(data) })));
  const trees = roots.filter((j) => dependenciesOf(j).length > 0).map(node);
  if (trees.length > 0) {
    const flows = new link.bullmq.FlowProducer({ connection: queue.opts.connection });
    await flows.addBulk(trees);
    await flows.close();
  }
};

/** A job's state as a sweep reports it. */
export interface JobStatus {
  readonly id: string;
  readonly state: JobState | 'unknown';
  readonly attemptsMade: number;
  readonly attemptsStarted: number;
  readonly progress: JobProgress | null;
  readonly error: string | null;
  readonly result: unknown;
}

const asProgress = (p: unknown): JobProgress | null =>
  typeof p === 'object' && p !== null && typeof (p as JobProgress).finishedTasks === 'number' ? (p as JobProgress) : null;

/** A failure as a sweep says it: BullMQ's "child bull:<queue>:<tag>-<id> failed" (a job this one needs failed for good) in our words. */
export const readableFailure = (reason: string): string => {
  const child = /^child bull:.+:[0-9a-f]+-([0-9a-f]+) failed$/.exec(reason);
  return child !== null ? notRunBecause(child[1]!) : reason;
};

/** The state of each of a sweep's jobs. */
export const jobStatuses = async (queue: Queue, tag: string, ids: readonly string[]): Promise<JobStatus[]> =>
  Promise.all(
    ids.map(async (id): Promise<JobStatus> => {
      const job = await queue.getJob(queueJobId(tag, id));
      if (job === undefined) return { id, state: 'unknown', attemptsMade: 0, attemptsStarted: 0, progress: null, error: null, result: null };
      return {
        id,
        state: await job.getState(),
        attemptsMade: job.attemptsMade,
        attemptsStarted: job.attemptsStarted,
        progress: asProgress(job.progress),
        error: job.failedReason === undefined || job.failedReason === '' ? null : readableFailure(job.failedReason),
        result: job.returnvalue,
      };
    }),
  );

/** Remove a sweep's jobs that have not started; returns how many. Running ones stop when their worker sees the sweep's cancel mark. */
export const removeQueued = async (queue: Queue, tag: string, ids: readonly string[]): Promise<number> => {
  let removed = 0;
  for (const id of ids) {
    const job = await queue.getJob(queueJobId(tag, id));
    if (job === undefined) continue;
    const state = await job.getState();
    // A parent waiting for its goal job goes without its child (a running child stops on the cancel mark);
    // a job a worker has just taken is locked and stays: its worker stops it.
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children')
      removed += await job.remove({ removeChildren: false }).then(
        () => 1,
        () => 0,
      );
  }
  return removed;
};

/** A worker's options. */
export interface WorkerOptions {
  readonly queue: string;
  readonly concurrency: number;
  /** How long a job's lock lasts without renewal (ms): a killed worker's job is taken up again after it. */
  readonly lockDurationMs: number;
  /** How often stalled jobs are looked for (ms). */
  readonly stalledIntervalMs: number;
  /** Where the worker says what happens, one line at a time. */
  readonly say: (line: string) => void;
}

/**
 * A worker: takes jobs from the queue, runs each as a child process, keeps
 * its progress up to date, stops a job whose sweep was cancelled. Resolves
 * to a function that stops it (running children stop at their next step;
 * their jobs are retried).
 */
export const startWorker = (link: QueueLink, o: WorkerOptions): { readonly stop: () => Promise<void> } => {
  const { UnrecoverableError, Worker } = link.bullmq;
  const running = new Map<string, AbortController>();
  const me = `worker ${process.pid} on ${os.hostname()}`;
  const processor = async (job: Job<SweepJobData>): Promise<{ mode: string; seconds: number }> => {
    const { sweepDir, id, label, config, goalsFrom, parts } = job.data;
    const name = `${job.id ?? id} (${label})`;
    if (await isCancelled(sweepDir)) throw new UnrecoverableError('cancelled: the sweep was cancelled');
    const runDir = runDirOf(sweepDir, id);
    const stop = new AbortController();
    running.set(job.id ?? id, stop);
    let cancelled = false;
    let mode: 'run' | 'resume' = 'run';
    // Each second: a cancelled sweep stops the job; the job's progress is reported.
    async function poll(): Promise<void> {
      if (await isCancelled(sweepDir)) {
        cancelled = true;
        stop.abort();
      }
      const p = await jobProgress({ runDir, ...(parts !== undefined ? { parts } : {}) });
      if (p !== null) await job.updateProgress({ finishedTasks: p.finishedTasks, plannedTasks: p.plannedTasks, mode } satisfies JobProgress).catch(() => undefined);
    }
    const tick = setInterval(() => void poll(), 1000);
    const attempt = await attemptJob(
      { id, config, runDir, ...(goalsFrom !== undefined ? { goalsFrom } : {}), ...(parts !== undefined ? { parts } : {}) },
      {
        signal: stop.signal,
        by: `${me}, attempt ${job.attemptsStarted}`,
        started: (m, pid) => {
          mode = m;
          o.say(`job ${name}: attempt ${job.attemptsStarted}: cpg ${m} (pid ${pid}) in ${runDir}`);
        },
      },
    ).finally(() => {
      clearInterval(tick);
      running.delete(job.id ?? id);
    });
    if (attempt.kind === 'done') {
      const p = await jobProgress({ runDir, ...(parts !== undefined ? { parts } : {}) });
      if (p !== null) await job.updateProgress({ finishedTasks: p.finishedTasks, plannedTasks: p.plannedTasks, mode } satisfies JobProgress).catch(() => undefined);
      o.say(`job ${name}: done (${parts !== undefined ? `assembled from its ${parts.length} goal networks` : attempt.mode}, ${attempt.seconds.toFixed(1)} s)`);
      return { mode: attempt.mode, seconds: attempt.seconds };
    }
    o.say(`job ${name}: attempt ${job.attemptsStarted} failed: ${attempt.message}`);
    if (cancelled) throw new UnrecoverableError('cancelled: the sweep was cancelled');
    if (attempt.forGood) throw new UnrecoverableError(attempt.message);
    throw new Error(attempt.message);
  };
  const worker = new Worker<SweepJobData>(o.queue, processor, {
    connection: link.redis,
    concurrency: o.concurrency,
    lockDuration: o.lockDurationMs,
    stalledInterval: o.stalledIntervalMs,
    maxStalledCount: 2,
  });
  worker.on('stalled', (jobId) => o.say(`job ${jobId}: stalled (its worker stopped renewing the lock): back in the queue`));
  worker.on('failed', (job, err) => {
    if (job !== undefined && job.finishedOn !== undefined && (job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError))
      o.say(`job ${job.id}: failed for good after ${job.attemptsMade} attempt${job.attemptsMade === 1 ? '' : 's'}: ${readableFailure(err.message)}`);
  });
  worker.on('error', (e) => o.say(`worker error: ${e.message}`));
  return {
    stop: async () => {
      for (const c of running.values()) c.abort();
      await worker.close();
    },
  };
};

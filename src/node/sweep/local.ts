/**
 * A sweep on this machine without Redis: a pool of `concurrency` child
 * processes, one per job (src/node/sweep/job.ts), jobs taken in grid order.
 * A job that fails is reported and the others go on. Aborting `signal`
 * stops the running children at their next step (resumable) and starts no
 * more.
 */
import type { JobResult } from './sweepFile.js';
import { type Attempt, type JobSpec, attemptJob } from './job.js';

/** What the pool reports as it goes. */
export type PoolEvent =
  | { readonly type: 'started'; readonly job: JobSpec; readonly mode: 'run' | 'resume'; readonly pid: number }
  | { readonly type: 'ended'; readonly job: JobSpec; readonly attempt: Attempt };

/**
 * Run every job, `concurrency` at a time; resolves with each job's result,
 * in the jobs' order. Jobs that take their goals from another job run after
 * every job that does not (a second round); when their goal job failed, they
 * fail without running.
 */
export const runLocalPool = async (
  jobs: readonly JobSpec[],
  o: { readonly concurrency: number; readonly signal?: AbortSignal; readonly onEvent?: (e: PoolEvent) => void },
): Promise<JobResult[]> => {
  const first = jobs.filter((j) => j.goalsFrom === undefined);
  const done = new Map((await runRound(first, o)).map((r) => [r.id, r]));
  const second = jobs.filter((j) => j.goalsFrom !== undefined);
  const ready = second.filter((j) => done.get(j.goalsFrom!)?.status === 'done');
  for (const r of await runRound(ready, o)) done.set(r.id, r);
  return jobs.map(
    (j) =>
      done.get(j.id) ?? {
        id: j.id,
        status: o.signal?.aborted === true ? 'cancelled' : 'failed',
        error: `not run: its goal job ${j.goalsFrom ?? '?'} did not succeed`,
        attempts: 0,
      },
  );
};

const runRound = async (
  jobs: readonly JobSpec[],
  o: { readonly concurrency: number; readonly signal?: AbortSignal; readonly onEvent?: (e: PoolEvent) => void },
): Promise<JobResult[]> => {
  const results: (JobResult | undefined)[] = jobs.map(() => undefined);
  let next = 0;
  const stopped = (): boolean => o.signal?.aborted === true;
  const lane = async (): Promise<void> => {
    while (next < jobs.length && !stopped()) {
      const i = next;
      next += 1;
      const job = jobs[i]!;
      const attempt = await attemptJob(job, {
        started: (mode, pid) => o.onEvent?.({ type: 'started', job, mode, pid }),
        ...(o.signal !== undefined ? { signal: o.signal } : {}),
        by: `cpg sweep (pid ${process.pid})`,
      });
      o.onEvent?.({ type: 'ended', job, attempt });
      results[i] =
        attempt.kind === 'done'
          ? { id: job.id, status: 'done', error: null, attempts: 1 }
          : { id: job.id, status: stopped() ? 'cancelled' : 'failed', error: attempt.message, attempts: 1 };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, jobs.length)) }, lane));
  return jobs.map((j, i) => results[i] ?? { id: j.id, status: 'cancelled', error: 'not started: the sweep was stopped', attempts: 0 });
};

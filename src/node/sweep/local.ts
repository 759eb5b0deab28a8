/**
 * A sweep on this machine without Redis: a pool of `concurrency` child
 * processes, one per job (src/node/sweep/job.ts). A job starts once the jobs
 * it needs (its goal networks, its goal job) have finished, the earliest
 * ready job in grid order first; a job whose needs failed fails without
 * running, and the others go on. Aborting `signal` stops the running
 * children at their next step (resumable) and starts no more.
 */
import { dependenciesOf } from '../../algebra/grid.js';
import type { JobResult } from './sweepFile.js';
import { type Attempt, type JobSpec, attemptJob, notRunBecause } from './job.js';

/** What the pool reports as it goes. */
export type PoolEvent =
  | { readonly type: 'started'; readonly job: JobSpec; readonly mode: 'run' | 'resume'; readonly pid: number }
  | { readonly type: 'ended'; readonly job: JobSpec; readonly attempt: Attempt };

/** Run every job, `concurrency` at a time; resolves with each job's result, in the jobs' order. */
export const runLocalPool = async (
  jobs: readonly JobSpec[],
  o: { readonly concurrency: number; readonly signal?: AbortSignal; readonly onEvent?: (e: PoolEvent) => void },
): Promise<JobResult[]> => {
  const results = new Map<string, JobResult>();
  const pending = new Set(jobs.map((j) => j.id));
  const inSweep = new Set(pending);
  const stopped = (): boolean => o.signal?.aborted === true;
  // A job whose needs cannot all succeed (one failed or is not in the sweep) ends without running.
  const settleBlocked = (): void => {
    for (const j of jobs) {
      if (!pending.has(j.id)) continue;
      const bad = dependenciesOf(j).find((d) => (results.has(d) && results.get(d)!.status !== 'done') || !inSweep.has(d));
      if (bad === undefined) continue;
      pending.delete(j.id);
      results.set(j.id, { id: j.id, status: stopped() ? 'cancelled' : 'failed', error: notRunBecause(bad), attempts: 0 });
    }
  };
  const ready = (j: JobSpec): boolean => dependenciesOf(j).every((d) => results.get(d)?.status === 'done');
  let waiting: (() => void)[] = [];
  const woken = (): Promise<void> => new Promise((r) => waiting.push(r));
  const wakeAll = (): void => {
    const w = waiting;
    waiting = [];
    for (const r of w) r();
  };
  o.signal?.addEventListener('abort', wakeAll, { once: true });
  const lane = async (): Promise<void> => {
    for (;;) {
      if (stopped()) return;
      settleBlocked();
      const job = jobs.find((j) => pending.has(j.id) && ready(j));
      if (job === undefined) {
        if (pending.size === 0) return;
        // Others are running what the pending jobs need: wait until one ends.
        await woken();
        continue;
      }
      pending.delete(job.id);
      const attempt = await attemptJob(job, {
        started: (mode, pid) => o.onEvent?.({ type: 'started', job, mode, pid }),
        ...(o.signal !== undefined ? { signal: o.signal } : {}),
        by: `cpg sweep (pid ${process.pid})`,
      });
      o.onEvent?.({ type: 'ended', job, attempt });
      results.set(
        job.id,
        attempt.kind === 'done'
          ? { id: job.id, status: 'done', error: null, attempts: 1 }
          : { id: job.id, status: stopped() ? 'cancelled' : 'failed', error: attempt.message, attempts: 1 },
      );
      wakeAll();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, jobs.length)) }, lane));
  return jobs.map((j) => results.get(j.id) ?? { id: j.id, status: 'cancelled', error: 'not started: the sweep was stopped', attempts: 0 });
};

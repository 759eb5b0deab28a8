/**
 * `npm run bench:stream-cost -- DIR [DIR…]`
 *
 * What each task of a finished run cost as the stream grew, from its run
 * directory alone: the task's wall time, the width it was learned at, and the
 * bytes of its pick masks as this checkpoint keeps them (bits) against the
 * reference's float masks (4 bytes per weight per task), with the running
 * totals. Prints one Markdown table per directory.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { RunReport } from '../src/algebra/report.js';
import { decodeWith, parseJson } from '../src/algebra/json.js';
import { describeError } from '../src/algebra/errors.js';
import { readRun } from '../src/node/runs.js';
import { runBench } from './main.js';

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(2)}`;

const costOf = async (dir: string): Promise<string> => {
  const m = await readRun(dir)();
  if (E.isLeft(m)) throw new Error(describeError(m.left));
  if (m.right === null || m.right.state === null) throw new Error(`${dir}: no finished CPG or PackNet run here`);
  const text = await fs.readFile(path.join(dir, 'report.json'), 'utf8');
  const report = E.chain(decodeWith(RunReport, path.join(dir, 'report.json')))(parseJson(path.join(dir, 'report.json'))(text));
  if (E.isLeft(report)) throw new Error(describeError(report.left));
  const r = report.right;
  let ours = 0;
  let reference = 0;
  const rows = m.right.state.finished.map((f, i) => {
    const bits = f.picks.reduce((a, p) => a + p.blob.bytes, 0);
    const floats = f.picks.reduce((a, p) => a + 4 * p.length, 0);
    ours += bits;
    reference += floats;
    const t = r.tasks[i]!;
    return `| ${i + 1} | ${t.name} | ${(r.timing.perTask[i]?.seconds ?? 0).toFixed(1)} | ×${f.multiplier} | ${t.sparsity} | ${(100 * t.ownedFraction).toFixed(2)} | ${mib(bits)} | ${mib(floats)} | ${mib(ours)} | ${mib(reference)} |`;
  });
  return [
    `${dir}: ${r.method} on ${r.benchmark}, ${r.tasks.length} tasks; checkpoint ${mib(r.modelSize.checkpointBytes)} MiB in all; pick masks ${mib(ours)} MiB as bits against ${mib(reference)} MiB as the reference's floats (${(reference / Math.max(1, ours)).toFixed(1)}×)`,
    '',
    '| task | name | seconds | width | sparsity | owns % | masks (MiB, bits) | reference masks (MiB, float32) | total masks so far | reference so far |',
    '|--:|:--|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...rows,
  ].join('\n');
};

const main = async (): Promise<number> => {
  const dirs = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  if (dirs.length === 0) {
    process.stderr.write('usage: npm run bench:stream-cost -- DIR [DIR…]   (finished CPG or PackNet run directories)\n');
    return 2;
  }
  for (const d of dirs) process.stdout.write(`${await costOf(d)}\n\n`);
  return 0;
};

runBench('bench:stream-cost', main);

/**
 * `npm run bench:data-hash` — what identifying a run's data costs.
 *
 * Every run hashes each task's data (SHA-256 over its splits) when it starts
 * and again when it resumes or is evaluated; a sweep's one-task jobs each hash
 * every task of the benchmark. This times, in one process, WebCrypto over the
 * parts copied into one buffer (the platform-neutral way, `sha256Hex`) against
 * the directory store's incremental Node hash (`fsStore(…).sha256`), over the
 * benchmarks that ship with the npm install, and checks that both give the
 * same hashes. Prints one Markdown table: the first pass (what a run pays) and
 * the best of 5 per way, and their ratios.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describeError } from '../src/algebra/errors.js';
import { taskDataParts } from '../src/algebra/task.js';
import { sha256Hex } from '../src/effects/store.js';
import { loadBenchmark } from '../src/node/data/benchmarks.js';
import { fsStore } from '../src/node/stores/fs.js';
import type { BenchmarkName } from '../src/algebra/benchmarks.js';
import { runBench } from './main.js';

const cases: readonly { readonly benchmark: BenchmarkName; readonly limitPerTask?: number; readonly tasks?: number }[] = [
  { benchmark: 'split-mnist' },
  { benchmark: 'permuted-mnist', limitPerTask: 2000, tasks: 10 },
  { benchmark: 'split-fmnist', limitPerTask: 4000 },
];

const main = async (): Promise<number> => {
  const store = fsStore(mkdtempSync(path.join(tmpdir(), 'cpg-bench-hash-')));
  const rows: string[] = [];
  for (const c of cases) {
    const b = await loadBenchmark({ benchmark: c.benchmark, seed: 1, valFraction: 0.1, testFraction: 0.2, ...(c.limitPerTask !== undefined ? { limitPerTask: c.limitPerTask } : {}), ...(c.tasks !== undefined ? { tasks: c.tasks } : {}) })();
    if (E.isLeft(b)) throw new Error(describeError(b.left));
    const parts = b.right.tasks.map((t) => taskDataParts(t));
    const bytes = parts.flat().reduce((a, p) => a + p.byteLength, 0);
    // The first pass is what a run pays (it hashes each task once); the best of 5 is the steady state.
    const time = async (hash: (ps: readonly Uint8Array[]) => Promise<string>): Promise<{ readonly first: number; readonly ms: number; readonly hashes: string[] }> => {
      let best = Infinity;
      let first = 0;
      let hashes: string[] = [];
      for (let rep = 0; rep < 5; rep++) {
        const t0 = performance.now();
        hashes = [];
        for (const ps of parts) hashes.push(await hash(ps));
        const ms = performance.now() - t0;
        if (rep === 0) first = ms;
        best = Math.min(best, ms);
      }
      return { first, ms: best, hashes };
    };
    const unwrap = async (r: Promise<E.Either<unknown, string>>): Promise<string> => {
      const v = await r;
      if (E.isLeft(v)) throw new Error('hash failed');
      return v.right;
    };
    const web = await time((ps) => unwrap(sha256Hex(ps)()));
    const node = await time((ps) => unwrap(store.sha256!(ps)()));
    if (web.hashes.join() !== node.hashes.join()) throw new Error(`${c.benchmark}: the two ways disagree`);
    rows.push(
      `| ${c.benchmark} | ${parts.length} | ${(bytes / 1e6).toFixed(0)} MB | ${web.first.toFixed(0)} / ${web.ms.toFixed(0)} ms | ${node.first.toFixed(0)} / ${node.ms.toFixed(0)} ms | ${(web.first / node.first).toFixed(1)}× / ${(web.ms / node.ms).toFixed(1)}× |`,
    );
  }
  process.stdout.write(
    ['| benchmark | tasks | data | WebCrypto, one buffer (first / best of 5) | directory store, incremental (first / best) | ratio (first / best) |', '|:--|--:|--:|--:|--:|--:|', ...rows].join('\n') + '\n',
  );
  return 0;
};

runBench('bench:data-hash', main);

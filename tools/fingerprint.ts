/**
 * `npm run fingerprint -- OUT [--compare BASELINE.json] [--only a,b]` (or `node dist/tools/fingerprint.js …`)
 *
 * The figures a behaviour-preserving change must keep. It runs, on this
 * machine's default backend and threads, the command lines whose results the
 * README and BENCHMARKS quote (reduced in data where the full run takes many
 * minutes, same code paths): `cpg run` as `npm start` runs it,
 * `bench:accuracy` with every method on Split MNIST (MLP and LeNet), Permuted
 * MNIST and Split Fashion-MNIST, a run with the non-default variants (share
 * claim, reference search, reset pick), and a model learned over time with
 * `cpg learn` from image folders (a task given again, a task learned later).
 *
 * Each run directory is reduced to two digests: its blobs (content-addressed,
 * so the sorted names are every network, mask and probe bit for bit) and its
 * report.json with the timing fields removed. OUT/fingerprint.json holds them
 * with the figures themselves, for reading a difference; --compare prints
 * every run whose digests differ from a baseline's and exits 1 if any does.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const node = process.execPath;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const cli = path.join(root, 'dist/src/node/cli/main.js');
const accuracy = path.join(root, 'dist/bench/accuracy.js');

interface Case {
  readonly name: string;
  /** Command lines run one after the other; OUT is this case's directory. */
  readonly steps: (out: string) => readonly (readonly string[])[];
}

const methods = ['--methods', 'individual,finetune,packnet,cpg', '--seeds', '1'];
const cases: readonly Case[] = [
  { name: 'start', steps: (o) => [[cli, 'run', '--out', path.join(o, 'run')]] },
  { name: 'split-mnist', steps: (o) => [[accuracy, '--benchmark', 'split-mnist', ...methods, '--limit-per-task', '1000', '--out', o]] },
  { name: 'permuted-mnist', steps: (o) => [[accuracy, '--benchmark', 'permuted-mnist', ...methods, '--tasks', '4', '--limit-per-task', '600', '--out', o]] },
  { name: 'split-mnist-lenet', steps: (o) => [[accuracy, '--benchmark', 'split-mnist', '--net', 'lenet', ...methods, '--tasks', '3', '--limit-per-task', '300', '--out', o]] },
  { name: 'split-fmnist', steps: (o) => [[accuracy, '--benchmark', 'split-fmnist', ...methods, '--limit-per-task', '600', '--out', o]] },
  {
    name: 'variants',
    steps: (o) => [
      [cli, 'run', '--out', path.join(o, 'run'), '--limit-per-task', '800', '--claim', 'share', '--compact-search', 'reference', '--retrain-pick-from', 'reset', '--record-rule', 'goal', '--seed', '3'],
    ],
  },
  {
    name: 'learn',
    steps: (o) => {
      const data = path.join(o, 'digits');
      const run = path.join(o, 'run');
      const short = ['--train-epochs', '3', '--prune-epochs', '1', '--retrain-epochs', '2', '--individual-epochs', '3'];
      return [
        [path.join(root, 'examples/digit-folders.mjs'), data, '120'],
        [cli, 'learn', run, '--task', 'zero-one', '--data', path.join(data, 'zero-one'), ...short],
        [cli, 'learn', run, '--task', 'two-three', '--data', path.join(data, 'two-three'), '--goal', '0.97'],
        [cli, 'learn', run, '--task', 'zero-one', '--data', path.join(data, 'zero-one')],
        [cli, 'learn', run, '--task', 'four-five', '--data', path.join(data, 'four-five'), '--goal', 'none'],
      ];
    },
  },
];

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/** Timing and dates differ from run to run; everything else must not. */
const timeless = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(timeless);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([k]) => !/^(timing|createdAt|seconds|totalSeconds|wallSeconds|elapsedSeconds|date|dir)$/.test(k))
        .map(([k, x]) => [k, timeless(x)]),
    );
  return v;
};

interface Print {
  readonly blobs: string;
  readonly blobCount: number;
  readonly report: string;
  readonly figures: unknown;
}

const runDirs = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string): void => {
    const names = readdirSync(d, { withFileTypes: true });
    if (names.some((n) => n.name === 'run.json')) out.push(d);
    for (const n of names) if (n.isDirectory() && n.name !== 'blobs') walk(path.join(d, n.name));
  };
  walk(dir);
  return out.sort();
};

const printOf = (dir: string): Print => {
  const blobs = existsSync(path.join(dir, 'blobs')) ? readdirSync(path.join(dir, 'blobs')).sort() : [];
  const reportFile = path.join(dir, 'report.json');
  const report = existsSync(reportFile) ? timeless(JSON.parse(readFileSync(reportFile, 'utf8'))) : null;
  const r = report as { averageAccuracy?: number; tasks?: readonly { accuracy?: number; sparsity?: number; widthMultiplier?: number }[]; maxLogitDrift?: number } | null;
  return {
    blobs: sha(blobs.join('\n')),
    blobCount: blobs.length,
    report: sha(JSON.stringify(report)),
    figures: r === null ? null : { averageAccuracy: r.averageAccuracy, maxLogitDrift: r.maxLogitDrift, tasks: r.tasks?.map((t) => [t.accuracy, t.sparsity, t.widthMultiplier]) },
  };
};

const args = process.argv.slice(2);
const out = args[0];
if (out === undefined || out.startsWith('--')) {
  process.stderr.write('usage: node dist/tools/fingerprint.js OUT [--compare BASELINE.json] [--only a,b]\n');
  process.exit(2);
}
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const refuse = (why: string): never => {
  process.stderr.write(`fingerprint: ${why}\n`);
  process.exit(2);
};
const only = flag('--only')?.split(',');
const unknown = only?.filter((n) => !cases.some((c) => c.name === n)) ?? [];
if (unknown.length > 0) refuse(`--only: no case named ${unknown.map((n) => `'${n}'`).join(', ')} (cases: ${cases.map((c) => c.name).join(', ')})`);
const compare = flag('--compare');
if (compare !== undefined && !existsSync(compare)) refuse(`--compare: ${compare} does not exist (a fingerprint.json of an earlier run)`);
if (existsSync(out) && readdirSync(out).length > 0) refuse(`${out} is not empty: give a new folder`);
mkdirSync(out, { recursive: true });

const prints: Record<string, Print> = {};
for (const c of cases) {
  if (only !== undefined && !only.includes(c.name)) continue;
  const dir = path.join(out, c.name);
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  for (const step of c.steps(dir)) {
    const r = spawnSync(node, step, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) {
      process.stderr.write(`fingerprint: ${c.name}: \`${step.map((s) => path.basename(s)).join(' ')}\` exited ${r.status}\n${r.stderr.slice(-2000)}\n`);
      process.exit(1);
    }
  }
  for (const d of runDirs(dir)) prints[`${c.name}/${path.relative(dir, d)}`] = printOf(d);
  process.stderr.write(`fingerprint: ${c.name} done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}
writeFileSync(path.join(out, 'fingerprint.json'), `${JSON.stringify(prints, null, 1)}\n`);
process.stdout.write(`${Object.keys(prints).length} run directories fingerprinted into ${path.join(out, 'fingerprint.json')}\n`);

if (compare !== undefined) {
  const base = JSON.parse(readFileSync(compare, 'utf8')) as Record<string, Print>;
  let differ = 0;
  for (const [k, p] of Object.entries(prints)) {
    const b = base[k];
    if (b === undefined) {
      process.stdout.write(`new    ${k}\n`);
      differ++;
    } else if (b.blobs !== p.blobs || b.report !== p.report) {
      differ++;
      process.stdout.write(`DIFFER ${k}: blobs ${b.blobs === p.blobs ? 'same' : `${b.blobCount} → ${p.blobCount}, other`}, report ${b.report === p.report ? 'same' : 'other'}\n`);
      process.stdout.write(`  before ${JSON.stringify(b.figures)}\n  after  ${JSON.stringify(p.figures)}\n`);
    } else process.stdout.write(`same   ${k}\n`);
  }
  for (const k of Object.keys(base)) if (!(k in prints) && (only === undefined || only.includes(k.split('/')[0]!))) {
    process.stdout.write(`gone   ${k}\n`);
    differ++;
  }
  process.stdout.write(differ === 0 ? 'every run the same: blobs and report figures\n' : `${differ} run(s) differ\n`);
  process.exit(differ === 0 ? 0 : 1);
}

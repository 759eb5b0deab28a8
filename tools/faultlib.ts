/**
 * Fault injection for cpg: the shared machinery of the full harness
 * (`npm run test:faults`, tools/faults.ts) and of its reduced set in
 * `npm test` (test/faults/*.test.ts).
 *
 * - kill chains: a real run killed with SIGKILL at seeded moments (by time,
 *   by the n-th temporary checkpoint file, by the n-th progress line), resumed
 *   until it finishes, and compared with an uninterrupted run;
 * - write faults: the run's directory store is given a `writeFault` that
 *   makes a write fail (an injected error, EACCES, ENOSPC); the run must stop
 *   naming the file and leave the previous checkpoint valid and resumable;
 * - numerical faults: non-finite losses stop the stage and nothing
 *   non-finite reaches a checkpoint;
 * - hostile input: seeded mutations of checkpoints, goal files, config files
 *   and CIFAR-format data, each refused with a message naming the file and
 *   without damage, or (if still valid) behaving exactly like the original;
 * - the command line, source safety, and reproducibility.
 *
 * Lives under tools/ (not test/): every .js file under dist/test is run as a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hostname, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { isDeepStrictEqual } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import { buildArchitecture } from '../src/algebra/architectures.js';
import { RunConfigInput, decodeConfig, type RunConfig } from '../src/algebra/config.js';
import type { RunReport } from '../src/algebra/report.js';
import { decodeWith } from '../src/algebra/json.js';
import { type CpgError, describeError } from '../src/algebra/errors.js';
import type { SnapshotIndex } from '../src/algebra/snapshot.js';
import { parseArgs } from '../src/node/cli/args.js';
import { exitCodeOf, resumeExitCodeOf } from '../src/algebra/errors.js';
import { MANIFEST_VERSION, modelShape } from '../src/algebra/manifest.js';
import { withPreset } from '../src/cpg/presets.js';
import { loadNet } from '../src/effects/snapshot.js';
import { bytesFloat32 } from '../src/effects/store.js';
import { fsStore, sha256 } from '../src/node/stores/fs.js';
import { type RunRequest, evaluateRun, readRun, runEvents } from '../src/node/runs.js';
import type { RunEvent } from '../src/cpg/events.js';

/** The manifest of a run directory. */
export const manifestPath = (dir: string): string => path.join(dir, 'run.json');

/** A write fault: asked before each atomic write with the file's path. */
type Fault = (file: string) => Error | undefined;

// ---------------------------------------------------------------------------
// Paths, randomness, processes, directory hashes

const here = path.dirname(fileURLToPath(import.meta.url));
/** The compiled tree (dist/). */
export const distRoot = path.resolve(here, '..');
/** The repository root (its src/ holds the TypeScript sources). */
export const repoRoot = path.resolve(distRoot, '..');
/** The command line's entry point. */
export const cliPath = path.join(distRoot, 'src', 'node', 'cli', 'main.js');

/** A seeded random source (mulberry32). */
export interface Rng {
  readonly next: () => number;
  /** An integer in [lo, hi]. */
  readonly int: (lo: number, hi: number) => number;
  readonly pick: <T>(xs: readonly T[]) => T;
  readonly chance: (p: number) => boolean;
}

export const rng = (seed: number): Rng => {
  let a = seed >>> 0 || 0x9e3779b9;
  const next = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!, chance: (p) => next() < p };
};

/** A fresh temporary directory. */
export const tempDir = (prefix: string): string => fs.mkdtempSync(path.join(tmpdir(), `cpg-faults-${prefix}-`));

/** What a command did. */
export interface Proc {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/** The environment the command line runs in: the wasm backend unless told otherwise. */
export const cliEnv = (): NodeJS.ProcessEnv => ({ ...process.env, CPG_BACKEND: process.env['CPG_BACKEND'] ?? 'wasm' });

export interface SpawnOptions {
  readonly cwd?: string;
  readonly timeoutMs?: number;
  /** Called once the child exists (to arm a kill). */
  readonly onStart?: (child: ChildProcess) => void;
  /** Called for each complete line of stdout. */
  readonly onLine?: (line: string, child: ChildProcess) => void;
}

/** Run `cpg ARGS` as a child process. */
export const cpg = (args: readonly string[], o: SpawnOptions = {}): Promise<Proc> => proc(process.execPath, [cliPath, ...args], o);

/** Run a command as a child process (in cpg's environment). */
export const proc = (command: string, args: readonly string[], o: SpawnOptions = {}): Promise<Proc> =>
  new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(command, args, { env: cliEnv(), cwd: o.cwd ?? process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('error', (e) => resolve({ status: 127, signal: null, stdout: '', stderr: String(e), seconds: 0 }));
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout!.on('data', (d: Buffer) => {
      const s = d.toString();
      stdout += s;
      if (o.onLine === undefined) return;
      partial += s;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) o.onLine(l, child);
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 300_000);
    o.onStart?.(child);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, seconds: (performance.now() - t0) / 1000 });
    });
  });

/** Every file and directory under `root` (relative path → sha256 of the content, or 'dir'). */
export const hashTree = (root: string): Map<string, string> => {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = fs.readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(d, n);
      const st = fs.lstatSync(p);
      const rel = path.relative(root, p);
      if (st.isDirectory()) {
        out.set(rel, 'dir');
        walk(p);
      } else out.set(rel, sha256(fs.readFileSync(p)));
    }
  };
  if (fs.existsSync(root) && fs.statSync(root).isFile()) out.set('.', sha256(fs.readFileSync(root)));
  else walk(root);
  return out;
};

/** What changed between two hashTree results (empty: nothing). */
export const treeChanges = (before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] => {
  const out: string[] = [];
  for (const [k, v] of before) {
    const w = after.get(k);
    if (w === undefined) out.push(`removed ${k}`);
    else if (w !== v) out.push(`changed ${k}`);
  }
  for (const k of after.keys()) if (!before.has(k)) out.push(`added ${k}`);
  return out;
};

const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The first path at which two JSON values differ, or undefined. */
export const firstDifference = (a: unknown, b: unknown, at = ''): string | undefined => {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b))
    return `${at || '(root)'}: ${JSON.stringify(a)?.slice(0, 80)} ≠ ${JSON.stringify(b)?.slice(0, 80)}`;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${at}[${k}]` : `${at}.${k}`);
    if (d !== undefined) return d;
  }
  return `${at || '(root)'}: differs`;
};

/** Run async jobs, at most `jobs` at a time, results in order. */
export const pool = async <A, B>(items: readonly A[], jobs: number, f: (a: A, i: number) => Promise<B>): Promise<B[]> => {
  const out: B[] = new Array<B>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await f(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return out;
};

// ---------------------------------------------------------------------------
// The small real run every section uses

/** Goals for the 3 Split MNIST tasks: task 2's is unreachable on purpose, so it grows and then compacts under the cap. */
export const smallGoals = { 'digits-0-1': 0.9, 'digits-2-3': 1, 'digits-4-5': 0.9 } as const;

/** Write the goal file of the small run into `dir`. */
export const writeGoalFile = (dir: string, goals: Record<string, unknown> = smallGoals): string => {
  const file = path.join(dir, 'goals.json');
  fs.writeFileSync(file, `${JSON.stringify(goals, null, 2)}\n`);
  return file;
};

/** Flags of a small CPG run (3 tasks; grows, compacts, retrains the pick): ~7 s on 2 cores. */
export const smallRunFlags = (goals: string, seed = 5, tasks = 3): string[] => [
  '--tasks', String(tasks), '--goals', goals, '--limit-per-task', '96', '--batch-size', '32',
  '--train-epochs', '2', '--prune-epochs', '1', '--prune-ramp-epochs', '1', '--sparsities', '0.3,0.6',
  '--retrain-epochs', '2', '--retrain-patience', '1', '--train-acc-threshold', '0.5', '--seed', String(seed),
];

/** A run to the end through the command line; throws with its output if it fails. */
export const referenceRun = async (dir: string, flags: readonly string[]): Promise<Proc> => {
  const r = await cpg(['run', '--out', dir, ...flags]);
  if (r.status !== 0) throw new Error(`the reference run failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
};

interface ManifestJson {
  format: string;
  version: number;
  config: { net: string; benchmark: string; [k: string]: Json };
  tasks: { name: string; classes: number }[];
  state: SnapshotJson | null;
  finished: ({ name: string; seconds: number; probe: BlobJson | null } & Record<string, Json>)[];
  current: null | { task: number; trained: SnapshotJson | null; lastPruned: SnapshotJson | null; retrained: SnapshotJson | null; pruned: { sparsity: number; snapshot: SnapshotJson }[]; seconds: number } & Record<string, Json>;
  elapsedSeconds: number;
  status: string;
  createdAt: string;
  [k: string]: unknown;
}
interface BlobJson {
  sha256: string;
  bytes: number;
}
interface TensorJson {
  name: string;
  shape: number[];
  blob: BlobJson;
}
interface PickJson {
  name: string;
  length: number;
  blob: BlobJson;
}
interface SnapshotJson {
  multiplier: number;
  sharable: TensorJson[];
  owners: { name: string; blob: BlobJson }[];
  finished: { id: number; name: string; classes: number; multiplier: number; picks: PickJson[] }[];
  privates: { task: number; classes: number; multiplier: number; tensors: TensorJson[] }[];
  currentPicks: PickJson[] | null;
}

const readManifestJson = (dir: string): ManifestJson => readJson(manifestPath(dir)) as ManifestJson;
const writeManifestJson = (dir: string, m: unknown): void => fs.writeFileSync(manifestPath(dir), `${JSON.stringify(m, null, 1)}\n`);

/** Every snapshot a manifest refers to. */
const snapshotsOf = (m: ManifestJson): SnapshotJson[] => {
  const c = m.current;
  return [m.state, c?.trained ?? null, c?.lastPruned ?? null, c?.retrained ?? null, ...(c?.pruned ?? []).map((p) => p.snapshot)].filter(
    (s): s is SnapshotJson => s !== null && typeof s === 'object',
  );
};
/** Float32 tensor entries (weights, private heads) of a manifest, and its probe logits. */
const floatBlobsOf = (m: ManifestJson): BlobJson[] => [
  ...snapshotsOf(m).flatMap((s) => [...s.sharable.map((e) => e.blob), ...s.privates.flatMap((p) => p.tensors.map((e) => e.blob))]),
  ...m.finished.flatMap((f) => (f.probe === null ? [] : [f.probe])),
];
const blobFile = (dir: string, sha: string): string => path.join(dir, 'blobs', `${sha}.bin`);

/** Temporary files left anywhere under a run directory. */
export const leftoverTemps = (dir: string): string[] => {
  // Names only: hashing every blob after every kill was the harness's costliest step.
  try {
    return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((k) => k.endsWith('.tmp')).sort();
  } catch {
    return [];
  }
};

/**
 * How a finished run differs from the reference: the committed network
 * (weights, owner maps, pick masks, private heads: the blob hashes), the
 * finished tasks' records (apart from their seconds), the report (apart from
 * timing) with maxLogitDrift 0, the blob set, and no temporary files left.
 */
export const compareWithReference = (ref: string, dir: string): string[] => {
  const problems: string[] = [];
  let a: ManifestJson;
  let b: ManifestJson;
  try {
    a = readManifestJson(ref);
    b = readManifestJson(dir);
  } catch (e) {
    return [`cannot read run.json: ${String(e)}`];
  }
  if (b.status !== 'finished') problems.push(`status is '${b.status}', not finished`);
  if (b.current !== null) problems.push('a task is still in progress');
  const d1 = firstDifference(a.state, b.state, 'state');
  if (d1 !== undefined) problems.push(`committed network differs at ${d1}`);
  const strip = (fs_: ManifestJson['finished']) => fs_.map(({ seconds: _s, ...rest }) => rest);
  const d2 = firstDifference(strip(a.finished), strip(b.finished), 'finished');
  if (d2 !== undefined) problems.push(`finished tasks differ at ${d2}`);
  const d3 = firstDifference({ goals: a['goals'], tasks: a.tasks, config: a.config }, { goals: b['goals'], tasks: b.tasks, config: b.config });
  if (d3 !== undefined) problems.push(`run setup differs at ${d3}`);
  try {
    const ra = readJson(path.join(ref, 'report.json')) as RunReport;
    const rb = readJson(path.join(dir, 'report.json')) as RunReport;
    if (rb.maxLogitDrift !== 0) problems.push(`maxLogitDrift is ${rb.maxLogitDrift}, not 0`);
    const clean = ({ timing: _t, createdAt: _c, ...rest }: RunReport) => rest;
    const d4 = firstDifference(clean(ra), clean(rb), 'report');
    if (d4 !== undefined) problems.push(`report.json differs at ${d4}`);
  } catch (e) {
    problems.push(`cannot read report.json: ${String(e)}`);
  }
  const blobsA = fs.readdirSync(path.join(ref, 'blobs')).sort();
  const blobsB = fs.existsSync(path.join(dir, 'blobs')) ? fs.readdirSync(path.join(dir, 'blobs')).sort() : [];
  if (!isDeepStrictEqual(blobsA, blobsB)) problems.push(`blob sets differ (${blobsA.length} vs ${blobsB.length} files)`);
  const temps = leftoverTemps(dir);
  if (temps.length > 0) problems.push(`temporary files left behind: ${temps.join(', ')}`);
  return problems;
};

/**
 * Reproducibility: two runs with the same seed on the same backend must give
 * the same report.json apart from timing and createdAt, the same run.json
 * bytes apart from elapsedSeconds, createdAt and per-task seconds, and
 * byte-identical blobs.
 */
export const compareReproducible = (a: string, b: string): string[] => {
  const problems: string[] = [];
  const normReport = (dir: string): string => {
    const r = readJson(path.join(dir, 'report.json')) as Record<string, unknown>;
    return JSON.stringify({ ...r, timing: null, createdAt: null });
  };
  const normManifest = (dir: string): string =>
    fs
      .readFileSync(manifestPath(dir), 'utf8')
      .replace(/"(elapsedSeconds|seconds)": [0-9.e+-]+/g, '"$1": 0')
      .replace(/"createdAt": "[^"]*"/g, '"createdAt": ""');
  if (normReport(a) !== normReport(b)) problems.push(`report.json differs: ${firstDifference(JSON.parse(normReport(a)), JSON.parse(normReport(b)))}`);
  if (normManifest(a) !== normManifest(b)) problems.push(`run.json bytes differ: ${firstDifference(JSON.parse(normManifest(a)), JSON.parse(normManifest(b)))}`);
  const ta = hashTree(path.join(a, 'blobs'));
  const tb = hashTree(path.join(b, 'blobs'));
  const changes = treeChanges(ta, tb);
  if (changes.length > 0) problems.push(`blobs differ: ${changes.slice(0, 5).join(', ')}`);
  if (ta.size === 0) problems.push('no blobs were written');
  return problems;
};

// ---------------------------------------------------------------------------
// Kill chains

/** When to SIGKILL a process of a chain. */
export type Trigger =
  | { readonly kind: 'time'; readonly ms: number }
  /** At the n-th temporary file the run creates (a checkpoint write in flight): any, run.json's, or a blob's. */
  | { readonly kind: 'write'; readonly nth: number; readonly file: 'any' | 'manifest' | 'blob' }
  /** At the n-th progress line of a kind: an epoch ended (training), a stage ended (a commit follows), a task started. */
  | { readonly kind: 'line'; readonly nth: number; readonly what: 'epoch' | 'stage' | 'task' };

export const describeTrigger = (t: Trigger): string =>
  t.kind === 'time' ? `after ${t.ms} ms` : t.kind === 'write' ? `at temp file #${t.nth}${t.file === 'manifest' ? ' of run.json' : t.file === 'blob' ? ' of a blob' : ''}` : `at ${t.what} line #${t.nth}`;

const linePattern = { epoch: /\bepoch \d+\/\d+/, stage: /^\s+(train|prune|retrain|finetune|individual): /, task: /^task \d+\/\d+/ } as const;

/** One SIGKILL of a chain. */
export interface Kill {
  readonly trigger: string;
  /** What the process was doing: the temp file it was writing, or its last line. */
  readonly during: string;
  /** Temporary files present right after the kill (a write cut short). */
  readonly tempsLeft: number;
  /** Killed before its first checkpoint: started again with `cpg run`. */
  readonly beforeFirstCheckpoint: boolean;
}

export interface ChainResult {
  readonly dir: string;
  readonly kills: Kill[];
  /** Triggers that never fired (the process ended first). */
  readonly unfired: number;
  readonly processes: number;
  readonly problems: string[];
}

/** Seeded triggers for a chain of `n` kills (the run takes ~`runMs`). */
export const randomTriggers = (r: Rng, n: number, runMs: number): Trigger[] =>
  Array.from({ length: n }, (): Trigger => {
    const k = r.int(0, 5);
    if (k <= 1) return { kind: 'time', ms: r.int(1000, 1500 + Math.round(runMs / n)) };
    if (k === 2) return r.chance(0.5) ? { kind: 'write', nth: r.int(1, 25), file: 'any' } : { kind: 'write', nth: r.int(1, 20), file: 'blob' };
    if (k === 3) return { kind: 'write', nth: r.int(1, 6), file: 'manifest' };
    return { kind: 'line', nth: r.int(1, 6), what: r.pick(['epoch', 'stage', 'stage', 'task'] as const) };
  });

/**
 * Start a run in `dir` and SIGKILL it at each trigger in turn (each on a new
 * process: the first `cpg run`, then `cpg resume`), then resume until it
 * finishes; compare the result with the reference run `ref`.
 */
export const killChain = async (ref: string, dir: string, flags: readonly string[], triggers: readonly Trigger[]): Promise<ChainResult> => {
  fs.mkdirSync(path.join(dir, 'blobs'), { recursive: true });
  const kills: Kill[] = [];
  const problems: string[] = [];
  let unfired = 0;
  let processes = 0;
  let next = 0;
  for (let attempt = 0; attempt < triggers.length + 4; attempt++) {
    const fresh = !fs.existsSync(manifestPath(dir));
    const args = fresh ? ['run', '--out', dir, ...flags] : ['resume', dir];
    const trigger = triggers[next];
    let during = '';
    let lastLine = '';
    const watchers: fs.FSWatcher[] = [];
    let fired = false;
    let matching = 0;
    const kill = (child: ChildProcess, what: string) => {
      if (fired) return;
      fired = true;
      during = what;
      child.kill('SIGKILL');
    };
    processes += 1;
    const r = await cpg(args, {
      onStart: (child) => {
        if (trigger === undefined) return;
        if (trigger.kind === 'time') {
          const t = setTimeout(() => kill(child, `timer (last line: ${lastLine.trim().slice(0, 60)})`), trigger.ms);
          child.on('exit', () => clearTimeout(t));
        } else if (trigger.kind === 'write') {
          let seen = 0;
          for (const d of [dir, path.join(dir, 'blobs')]) {
            const w = fs.watch(d, (_event, name) => {
              const n = name?.toString() ?? '';
              if (!n.endsWith('.tmp')) return;
              if (trigger.file === 'manifest' && !n.startsWith('.run.json.')) return;
              if (trigger.file === 'blob' && !/\.bin\.\d+\.\d+\.tmp$/.test(n)) return;
              seen += 1;
              if (seen === trigger.nth) kill(child, `writing ${path.relative(dir, path.join(d, n))}`);
            });
            watchers.push(w);
          }
        }
      },
      onLine: (line, child) => {
        lastLine = line;
        if (trigger?.kind !== 'line' || !linePattern[trigger.what].test(line)) return;
        matching += 1;
        if (matching === trigger.nth) kill(child, `after '${line.trim().slice(0, 60)}'`);
      },
    });
    watchers.forEach((w) => w.close());
    if (trigger !== undefined && fired && r.signal === 'SIGKILL') {
      kills.push({ trigger: describeTrigger(trigger), during, tempsLeft: leftoverTemps(dir).length, beforeFirstCheckpoint: !fs.existsSync(manifestPath(dir)) });
      next += 1;
      continue;
    }
    if (r.status !== 0) {
      problems.push(`\`cpg ${args[0]}\` failed (exit ${r.status}${r.signal !== null ? `, ${r.signal}` : ''}) after ${kills.length} kill(s): ${r.stderr.trim().slice(0, 400)}`);
      break;
    }
    unfired += triggers.length - next;
    problems.push(...compareWithReference(ref, dir));
    return { dir, kills, unfired, processes, problems };
  }
  if (problems.length === 0) problems.push('the chain did not finish');
  return { dir, kills, unfired, processes, problems };
};

// ---------------------------------------------------------------------------
// In-process runs (the same code paths as the command line)

/** A run configuration from `cpg run` flags, decoded exactly as the command line does (no config file). */
export const configFromFlags = (flags: readonly string[]): RunConfig => {
  const cmd = parseArgs(['run', ...flags]);
  if (E.isLeft(cmd) || cmd.right.kind !== 'run') throw new Error(`bad flags: ${JSON.stringify(flags)}`);
  const input = decodeWith(RunConfigInput, undefined)(cmd.right.flags);
  if (E.isLeft(input)) throw new Error(describeError(input.left));
  const c = decodeConfig(undefined)(withPreset(input.right));
  if (E.isLeft(c)) throw new Error(describeError(c.left));
  return c.right;
};

/** Run (or resume) in this process to the end; a write fault goes in through the run's store, as any store would; `onEvent` sees every event. */
export const runInProcess = (req: RunRequest, writeFault?: Fault, onEvent?: (e: RunEvent) => void): Promise<E.Either<CpgError, RunReport>> =>
  new Promise((resolve) => {
    let report: RunReport | undefined;
    runEvents(req, { store: fsStore(req.dir, writeFault !== undefined ? { writeFault } : {}) }).subscribe({
      next: (e) => {
        onEvent?.(e);
        if (e.type === 'run-finished') report = e.report;
      },
      error: (e: CpgError) => resolve(E.left(e)),
      complete: () => resolve(report !== undefined ? E.right(report) : E.left({ tag: 'InternalError', message: 'the run completed without a report' })),
    });
  });

/**
 * `cpg run|resume|eval ARGS` in this process, as src/node/cli/main.ts does it
 * (exit code by error kind; stderr `cpg: <one line>`; eval's rows as JSON on
 * stdout), for the quick reduced set; `--config` is left to the real command line. An exception (not an error value) comes back as the command line
 * would print it: `internal error` with its stack.
 */
export const cpgInProcess = async (argv: readonly string[]): Promise<Proc> => {
  const t0 = performance.now();
  const done = (status: number, stdout: string, stderr: string): Proc => ({ status, signal: null, stdout, stderr, seconds: (performance.now() - t0) / 1000 });
  const failed = (e: CpgError) => done(exitCodeOf(e), '', `cpg: ${describeError(e)}\n`);
  try {
    // The backend of this process stays as it is.
    const at = argv.indexOf('--threads');
    const parsed = parseArgs(at < 0 ? argv : [...argv.slice(0, at), ...argv.slice(at + 2)]);
    if (E.isLeft(parsed)) return failed(parsed.left);
    const cmd = parsed.right;
    if (cmd.kind === 'run') {
      // Config files are judged through the real command line only (src/node/cli/main.ts resolves them).
      if (cmd.configFile !== undefined) throw new Error('cpgInProcess does not read --config: use the command line');
      const flags = decodeWith(RunConfigInput, undefined)(cmd.flags);
      if (E.isLeft(flags)) return failed(flags.left);
      const config = decodeConfig(undefined)(withPreset(flags.right));
      if (E.isLeft(config)) return failed(config.left);
      if (config.right.benchmark === 'cifar100' && config.right.dataPath === undefined) return failed({ tag: 'ConfigError', field: 'dataPath', message: 'needs --data' });
      if (cmd.out === undefined) throw new Error('cpgInProcess needs --out');
      const r = await runInProcess({ kind: 'new', dir: cmd.out, config: config.right });
      return E.isLeft(r) ? failed(r.left) : done(0, '', '');
    }
    if (cmd.kind === 'resume') {
      let started = false;
      const r = await runInProcess({ kind: 'resume', dir: cmd.dir }, undefined, (e) => {
        if (e.type === 'run-started') started = true;
      });
      return E.isLeft(r) ? done(resumeExitCodeOf(r.left, started), '', `cpg: ${describeError(r.left)}\n`) : done(0, '', '');
    }
    if (cmd.kind === 'eval') {
      const r = await evaluateRun(cmd.dir, cmd.task !== undefined ? { task: cmd.task } : {})();
      if (E.isLeft(r)) return failed(r.left);
      return done(r.right.rows.every((x) => x.logitDrift === 0) ? 0 : 1, `${JSON.stringify(r.right.rows)}\n`, '');
    }
    return done(0, '', '');
  } catch (e) {
    return done(1, '', `cpg: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
};

/**
 * Whether `dir` holds a valid, loadable checkpoint: run.json decodes and
 * every snapshot it refers to loads (shapes, hashes, finite values, owner
 * ids), and every probe blob is intact. Returns the problems.
 */
export const validateCheckpoint = async (dir: string): Promise<string[]> => {
  const read = await readRun(dir)();
  if (E.isLeft(read)) return [`run.json does not load: ${describeError(read.left)}`];
  const m = read.right;
  if (m === null) return ['run.json is missing'];
  const store = fsStore(dir);
  const base = buildArchitecture(m.config.net, modelShape(m));
  const c = m.current;
  const snaps: SnapshotIndex[] = [m.state, c?.trained ?? null, c?.lastPruned ?? null, c?.retrained ?? null, ...(c?.pruned ?? []).map((p) => p.snapshot)].filter(
    (s): s is SnapshotIndex => s !== null,
  );
  const problems: string[] = [];
  for (const s of snaps) {
    const r = await loadNet(store, base, s)();
    if (E.isLeft(r)) problems.push(`a snapshot does not load: ${describeError(r.left)}`);
  }
  for (const ref of [...m.finished.map((f) => f.probe), ...m.tasks.map((t) => t.probeInputs ?? null)])
    if (ref !== null) {
      const r = await store.getBlob(ref)();
      if (E.isLeft(r)) problems.push(`a probe does not load: ${describeError(r.left)}`);
    }
  return problems;
};

/** Float32 blobs of the checkpoint in `dir` that hold NaN or ±Infinity (or cannot be read). */
export const nonFiniteBlobs = (dir: string): string[] => {
  const bad: string[] = [];
  let m: ManifestJson;
  try {
    m = readManifestJson(dir);
  } catch {
    return [];
  }
  for (const b of new Map(floatBlobsOf(m).map((x) => [x.sha256, x])).values()) {
    const file = blobFile(dir, b.sha256);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      bad.push(`${file} (unreadable)`);
      continue;
    }
    const a = bytesFloat32(bytes);
    if (!a.every((x) => Number.isFinite(x))) bad.push(file);
  }
  return bad;
};

/** The blob hashes of the committed network (weights, owners, picks, privates). */
export const stateHashes = (dir: string): string[] => {
  const s = readManifestJson(dir).state;
  if (s === null) return [];
  return [
    ...s.sharable.map((e) => e.blob.sha256),
    ...s.owners.map((e) => e.blob.sha256),
    ...s.finished.flatMap((f) => f.picks.map((p) => p.blob.sha256)),
    ...s.privates.flatMap((p) => p.tensors.map((e) => e.blob.sha256)),
  ];
};

// ---------------------------------------------------------------------------
// Write faults

/** An error as Node's fs would raise it. */
export const fsError = (code: 'ENOSPC' | 'EACCES' | 'EROFS' | 'EIO', file: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: ${code === 'ENOSPC' ? 'no space left on device' : code === 'EIO' ? 'i/o error' : 'permission denied'}, open '${file}'`), {
    code,
    path: file,
  });

/** Whether chmod can make a directory unwritable for this process (not for root). */
export const chmodStopsWrites = (): boolean => {
  const d = tempDir('chmod');
  try {
    fs.chmodSync(d, 0o555);
    try {
      fs.writeFileSync(path.join(d, 'probe'), 'x');
      return false;
    } catch {
      return true;
    }
  } finally {
    fs.chmodSync(d, 0o755);
    fs.rmSync(d, { recursive: true, force: true });
  }
};

/** One injected write failure. */
export interface WriteFault {
  readonly name: string;
  /**
   * The error to raise for this write (n counts this process's writes; m is the
   * run's manifest as committed on disk, or null), or undefined to let it through.
   */
  readonly fault: (file: string, n: { readonly any: number; readonly blob: number; readonly manifest: number }, m: ManifestJson | null) => Error | undefined;
  /** Copy the run directory here once the run has stopped (a fixture for later checks). */
  readonly keep?: string;
  /** What the error message must say besides the file. */
  readonly says: RegExp;
  /** Set up before the run and undo after (a read-only directory). */
  readonly around?: { readonly before: (dir: string) => void; readonly after: (dir: string) => void };
}

export interface WriteFaultResult {
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
  readonly problems: string[];
}

/**
 * Run (or resume) in this process with a write fault installed: the run must
 * stop with a CheckpointError naming the file that failed, and what is in
 * `dir` must still be a valid checkpoint.
 */
export const runWithWriteFault = async (req: RunRequest, f: WriteFault): Promise<WriteFaultResult> => {
  const n = { any: 0, blob: 0, manifest: 0 };
  const failedFiles: string[] = [];
  const fault: Fault = (file) => {
    n.any += 1;
    if (file.endsWith('.bin')) n.blob += 1;
    if (path.basename(file) === 'run.json') n.manifest += 1;
    let m: ManifestJson | null = null;
    try {
      m = readManifestJson(req.dir);
    } catch {
      m = null;
    }
    const e = f.fault(file, n, m);
    if (e !== undefined) failedFiles.push(file);
    return e;
  };
  f.around?.before(req.dir);
  let r: E.Either<CpgError, RunReport>;
  try {
    r = await runInProcess(req, fault);
  } catch (e) {
    r = E.left({ tag: 'CheckpointError', file: undefined, message: `EXCEPTION ${e instanceof Error ? e.stack : String(e)}` });
  } finally {
    f.around?.after(req.dir);
  }
  const problems: string[] = [];
  if (E.isRight(r)) return { name: f.name, ok: false, message: '', problems: ['the run did not stop: the fault was never reached'] };
  const message = describeError(r.left);
  if (r.left.tag !== 'CheckpointError') problems.push(`stopped with a ${r.left.tag}, not a CheckpointError`);
  if (/EXCEPTION/.test(message)) problems.push('an exception escaped instead of an error value');
  // With chmod the failing file is the temporary one the store opens: its directory is named.
  const named = failedFiles.some((file) => message.includes(file)) || (f.around !== undefined && message.includes(req.dir));
  if (!named) problems.push(`the message does not name the file that failed (${failedFiles[0] ?? '?'})`);
  if (!f.says.test(message)) problems.push(`the message does not say ${f.says}`);
  // Before the first commit there is no checkpoint yet: `cpg run` starts again (the chain does).
  const first = req.kind === 'new' && !fs.existsSync(manifestPath(req.dir));
  if (f.keep !== undefined) copyDir(req.dir, f.keep);
  if (!first) problems.push(...(await validateCheckpoint(req.dir)).map((p) => `previous checkpoint broken: ${p}`));
  return { name: `${f.name}${first ? ' (before the first checkpoint)' : ''}`, ok: problems.length === 0, message, problems };
};

/**
 * The write faults of a chain: an injected effect error on a blob, a
 * read-only run directory (chmod; simulated with EACCES from the hook when
 * chmod does not stop this process, e.g. as root), a full disk on the
 * manifest (the commit point), and a full disk while writing the report.
 */
export const writeFaults = (r: Rng, readOnlyByChmod: boolean): WriteFault[] => {
  const blobAt = r.int(2, 12);
  const manifestAt = r.int(2, 5);
  return [
    {
      name: `injected I/O error on blob write #${blobAt}`,
      fault: (file, n) => (file.endsWith('.bin') && n.blob === blobAt ? fsError('EIO', file) : undefined),
      says: /EIO/,
    },
    readOnlyByChmod
      ? {
          name: 'read-only run directory (chmod a-w)',
          fault: () => undefined,
          says: /EACCES|EPERM|permission/,
          around: {
            before: (dir) => {
              fs.chmodSync(path.join(dir, 'blobs'), 0o555);
              fs.chmodSync(dir, 0o555);
            },
            after: (dir) => {
              fs.chmodSync(dir, 0o755);
              fs.chmodSync(path.join(dir, 'blobs'), 0o755);
            },
          },
        }
      : {
          name: 'read-only run directory (EACCES from the store: chmod does not stop this process)',
          fault: (file) => fsError('EACCES', file),
          says: /EACCES/,
        },
    {
      name: `disk full (ENOSPC) on manifest write #${manifestAt}`,
      fault: (file, n) => (path.basename(file) === 'run.json' && n.manifest === manifestAt ? fsError('ENOSPC', file) : undefined),
      says: /ENOSPC/,
    },
    {
      name: 'disk full (ENOSPC) while writing report.json',
      fault: (file) => (path.basename(file) === 'report.json' ? fsError('ENOSPC', file) : undefined),
      says: /ENOSPC/,
    },
  ];
};

/**
 * Write faults at fixed points of the small run, each leaving a checkpoint
 * worth keeping: a full disk on the commit after task 1 finished (kept in
 * `afterTask1`), an I/O error on a blob written after task 2's first
 * compacting stage (kept in `midTask2`), a read-only directory, and a full
 * disk while writing the report.
 */
export const stagedWriteFaults = (readOnlyByChmod: boolean, afterTask1: string, midTask2: string): WriteFault[] => {
  const [, , readOnly, report] = writeFaults(rng(1), readOnlyByChmod);
  return [
    {
      name: 'disk full (ENOSPC) on the commit after task 1 finished',
      fault: (file, _n, m) => (path.basename(file) === 'run.json' && m !== null && m.finished.length >= 1 ? fsError('ENOSPC', file) : undefined),
      says: /ENOSPC/,
      keep: afterTask1,
    },
    {
      name: "injected I/O error on a blob write after task 2's first compacting stage",
      fault: (file, _n, m) => (file.endsWith('.bin') && m?.current !== null && m?.current !== undefined && m.current.pruned.length + (m.current.lastPruned === null ? 0 : 1) >= 1 ? fsError('EIO', file) : undefined),
      says: /EIO/,
      keep: midTask2,
    },
    readOnly!,
    report!,
  ];
};

export interface WriteChainResult {
  readonly cases: WriteFaultResult[];
  readonly problems: string[];
}

/**
 * A new run in `dir` stopped by each fault in turn (each next attempt
 * resumes), then resumed to the end and compared with the reference.
 */
export const writeFaultChain = async (ref: string, dir: string, config: RunConfig, faults: readonly WriteFault[]): Promise<WriteChainResult> => {
  const cases: WriteFaultResult[] = [];
  for (const f of faults) {
    const req: RunRequest = fs.existsSync(manifestPath(dir)) ? { kind: 'resume', dir } : { kind: 'new', dir, config };
    cases.push(await runWithWriteFault(req, f));
  }
  const end = await runInProcess({ kind: 'resume', dir });
  const problems = E.isLeft(end) ? [`the final resume failed: ${describeError(end.left)}`] : compareWithReference(ref, dir);
  return { cases, problems };
};

/**
 * A checkpoint of a real run taken at a commit: runs in this process and
 * fails the first manifest write after `when(manifest on disk)` holds, so
 * `dir` is left exactly as committed then.
 */
export const checkpointWhere = async (dir: string, config: RunConfig, when: (m: ManifestJson) => boolean): Promise<void> => {
  const fault: Fault = (file) => {
    if (path.basename(file) !== 'run.json' || !fs.existsSync(file)) return undefined;
    return when(readJson(file) as ManifestJson) ? fsError('ENOSPC', file) : undefined;
  };
  const r = await runInProcess(fs.existsSync(manifestPath(dir)) ? { kind: 'resume', dir } : { kind: 'new', dir, config }, fault);
  if (E.isRight(r)) throw new Error('checkpointWhere: the condition never held');
  if (!/ENOSPC/.test(describeError(r.left))) throw new Error(`checkpointWhere: ${describeError(r.left)}`);
};

/** Whether a private tmpfs can be mounted here (`unshare -m`, needs root or CAP_SYS_ADMIN): a real full disk. */
export const canMountTmpfs = async (): Promise<boolean> => {
  const d = tempDir('mnt');
  const r = await proc('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs '${d}'`]);
  fs.rmSync(d, { recursive: true, force: true });
  return r.status === 0;
};

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** KiB a directory tree takes on a tmpfs: every file rounded up to whole 4 KiB pages. */
const pagesKiB = (dir: string): number => {
  let kb = 0;
  for (const n of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const st = fs.statSync(path.join(dir, n), { throwIfNoEntry: false });
    if (st?.isFile() === true) kb += Math.ceil(st.size / 4096) * 4;
  }
  return kb;
};

/**
 * What a run keeps on its disk as it goes (KiB, as a tmpfs counts them),
 * measured before every write it makes: the most it can need is then known
 * from the run itself, whatever size its checkpoints have.
 */
export interface DiskProfile {
  /** On disk once the first checkpoint is committed. */
  readonly firstCheckpoint: number;
  /** The most on disk before the checkpoint with task 1 finished is committed (that commit included). */
  readonly task1Peak: number;
  /** The most on disk at any write of the run. */
  readonly peak: number;
  /** The largest run.json seen (a commit holds the old one and the new one at once). */
  readonly manifest: number;
}

/** Run the small run in `dir` in this process, measuring its disk before every write (see DiskProfile). */
export const diskProfile = async (dir: string, config: RunConfig): Promise<DiskProfile> => {
  let first: number | undefined;
  let task1Peak = 0;
  let peak = 0;
  let manifest = 0;
  let task1Done = false;
  const fault: Fault = () => {
    const kb = fs.existsSync(dir) ? pagesKiB(dir) : 0;
    const file = manifestPath(dir);
    if (fs.existsSync(file)) {
      manifest = Math.max(manifest, Math.ceil(fs.statSync(file).size / 1024));
      first ??= kb;
      // Measured before this write: the commit that finished task 1 shows here, GC done, at the next one.
      if (!task1Done) task1Peak = Math.max(task1Peak, kb);
      if ((readJson(file) as ManifestJson).finished.length >= 1) task1Done = true;
    }
    peak = Math.max(peak, kb);
    return undefined;
  };
  const r = await runInProcess({ kind: 'new', dir, config }, fault);
  if (E.isLeft(r)) throw new Error(`diskProfile: ${describeError(r.left)}`);
  if (first === undefined || !task1Done) throw new Error('diskProfile: the run committed no checkpoint with task 1 finished');
  return { firstCheckpoint: first, task1Peak, peak, manifest };
};

/** A tmpfs the small run fills: its size, and how many tasks the run must have finished when it fills. */
export interface FullDiskPlan {
  readonly kb: number;
  readonly finished: { readonly min: number; readonly max: number };
  readonly why: string;
}

/**
 * Two disks sized from the run's own profile, so that they really fill: one
 * that holds the first checkpoint but fills while task 1 is learned, one that
 * holds task 1 finished but not the run's peak. Each lies halfway between
 * what must fit and what must not; a gap too small to place a disk in (a
 * commit's files, a lock, a page per file) is an error, not a case skipped.
 */
export const fullDiskPlans = (p: DiskProfile): FullDiskPlan[] | string => {
  const margin = 2 * p.manifest + 64;
  const between = (low: number, high: number) => Math.floor((low + high) / 2 / 4) * 4;
  const problems: string[] = [];
  if (p.task1Peak - p.firstCheckpoint < 2 * margin) problems.push(`task 1 adds too little to its first checkpoint (${p.firstCheckpoint} → ${p.task1Peak} KiB)`);
  if (p.peak - p.task1Peak < 2 * margin) problems.push(`the run's peak (${p.peak} KiB) is not past task 1's (${p.task1Peak} KiB)`);
  if (problems.length > 0) return `cannot size a disk that fills: ${problems.join('; ')}`;
  return [
    { kb: between(p.firstCheckpoint, p.task1Peak), finished: { min: 0, max: 0 }, why: `between the first checkpoint (${p.firstCheckpoint} KiB) and task 1's peak (${p.task1Peak} KiB)` },
    { kb: between(p.task1Peak, p.peak), finished: { min: 1, max: Number.POSITIVE_INFINITY }, why: `between task 1's peak (${p.task1Peak} KiB) and the run's (${p.peak} KiB)` },
  ];
};

/**
 * A real full disk: a new run whose directory lies on a private tmpfs of
 * `plan.kb` KiB (its own mount namespace, gone when the run ends). It must
 * fill where the plan says, and stop with ENOSPC naming the file; what it
 * left (copied out before the mount goes, half-written temporary files
 * included) must be a valid checkpoint that `cpg resume` finishes, on a disk
 * with room, exactly as the reference.
 */
export const realDiskFull = async (ref: string, work: string, flags: readonly string[], plan: FullDiskPlan): Promise<WriteFaultResult> => {
  const kb = plan.kb;
  const name = `real full disk (tmpfs of ${kb} KiB, ${plan.why})`;
  const mnt = path.join(work, `tiny-disk-${kb}`);
  const saved = path.join(work, `tiny-disk-${kb}-left`);
  fs.mkdirSync(mnt, { recursive: true });
  const out = path.join(mnt, 'run');
  const script = [
    `mount -t tmpfs -o size=${kb}k tmpfs ${shq(mnt)} || exit 99`,
    `${shq(process.execPath)} ${shq(cliPath)} run --out ${shq(out)} ${flags.map(shq).join(' ')}`,
    'code=$?',
    `cp -a ${shq(out)} ${shq(saved)} 2>/dev/null`,
    'exit $code',
  ].join('; ');
  const r = await proc('unshare', ['-m', 'sh', '-c', script]);
  const message = r.stderr.trim();
  const problems: string[] = [];
  if (r.status === 99) return { name, ok: false, message, problems: ['could not mount the tmpfs'] };
  if (r.status !== 1) problems.push(`exit ${r.status}, expected 1 (the disk was ${r.status === 0 ? 'big enough' : 'not the problem'})`);
  if (!message.includes(out)) problems.push('the message does not name a file of the run directory');
  if (!/ENOSPC/.test(message)) problems.push('the message does not say ENOSPC');
  if (!noStack(r.stderr)) problems.push('stack trace');
  const fresh = !fs.existsSync(manifestPath(saved));
  if (!fresh) problems.push(...(await validateCheckpoint(saved)).map((p) => `the checkpoint left on the full disk is broken: ${p}`));
  const temps = fs.existsSync(saved) ? leftoverTemps(saved).length : 0;
  if (temps > 0) problems.push(`${temps} half-written temporary file(s) left on the full disk`);
  const finished = fresh ? null : (readJson(manifestPath(saved)) as ManifestJson).finished.length;
  const where = finished === null ? 'before the first checkpoint' : `after ${finished} finished task(s)`;
  if (r.status === 1 && (finished === null || finished < plan.finished.min || finished > plan.finished.max))
    problems.push(`it filled ${where}, sized to fill with ${plan.finished.min === plan.finished.max ? plan.finished.min : `at least ${plan.finished.min}`} finished`);
  const again = await cpg(fresh ? ['run', '--out', saved, ...flags] : ['resume', saved]);
  if (again.status !== 0) problems.push(`\`cpg ${fresh ? 'run' : 'resume'}\` on a disk with room failed: ${again.stderr.trim()}`);
  else problems.push(...compareWithReference(ref, saved));
  return { name: `${name}: full ${where}`, ok: problems.length === 0, message, problems };
};

/** Copy a directory tree. */
export const copyDir = (from: string, to: string): void => fs.cpSync(from, to, { recursive: true });

// ---------------------------------------------------------------------------
// Numerical faults

export interface NumericResult {
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
  readonly problems: string[];
}

const numericMessage = /numerical fault: .*stage '([a-z]+)' of task '([^']+)'.*lower the learning rate/;

/** Judge a run stopped by a non-finite loss: the message, the exit code, and every float blob in `dir` finite. */
export const judgeNumeric = (name: string, r: Proc, dir: string, task: string, frozenBefore?: readonly string[]): NumericResult => {
  const problems: string[] = [];
  const message = r.stderr.trim();
  if (r.status === 0 || r.status === null) problems.push(`exit ${r.status}: the run did not stop`);
  const m = numericMessage.exec(message);
  if (m === null) problems.push('the message does not say numerical fault / the stage / the task / lower the learning rate');
  else if (m[2] !== task) problems.push(`the message names task '${m[2]}', expected '${task}'`);
  if (/\n\s+at /.test(r.stderr)) problems.push('stack trace printed');
  const bad = nonFiniteBlobs(dir);
  if (bad.length > 0) problems.push(`non-finite values written: ${bad.join(', ')}`);
  if (frozenBefore !== undefined && !isDeepStrictEqual(stateHashes(dir), frozenBefore)) problems.push("the finished tasks' committed weights changed");
  return { name, ok: problems.length === 0, message, problems };
};

/** Set config fields of a checkpoint's run.json (a valid edit: the manifest stays well-formed). */
export const editConfig = (dir: string, fields: Record<string, Json>): void => {
  const m = readManifestJson(dir);
  writeManifestJson(dir, { ...m, config: { ...m.config, ...fields } });
};

// ---------------------------------------------------------------------------
// Hostile input: seeded mutations

/** The valid inputs that mutations start from. */
export interface Fixtures {
  /** A finished run (mutations are judged with `cpg eval`). */
  readonly done: string;
  /** A checkpoint in the middle of a task (mutations are judged with `cpg resume`); `done` is where it must end. */
  readonly mid: string;
  /** The reference a resumed `mid` must match (a finished run of the same flags). */
  readonly midReference: string;
  /** A valid goal file for the small run. */
  readonly goals: string;
  /** A valid config file. */
  readonly config: string;
  /** A valid CIFAR-100 binary directory (small, generated). */
  readonly cifar: string;
  /** Flags of the run `done` and `mid` come from (goal-file mutations start fresh runs with them). */
  readonly runFlags: readonly string[];
  /**
   * A run directory locked by a live process (this one): `--out <blocker>` passes the up-front check (it exists
   * and takes files), so a run reads its goals and data, then stops cheaply at its lock, before its first write.
   */
  readonly blocker: string;
}

/** The input of a mutation, after mutating: where it is and how to use it. */
export interface MutationCase {
  readonly id: number;
  readonly target: 'manifest' | 'blob' | 'goals' | 'config' | 'dataset';
  readonly kind: string;
  readonly detail: string;
  /** The command that reads it. */
  readonly args: readonly string[];
  /** Paths the message may name (the mutated file first). */
  readonly names: readonly string[];
  /** Trees that must not change when it is refused. */
  readonly watch: readonly string[];
  /** How the original input behaves with the same command. */
  readonly expect: 'eval-ok' | 'resume-ok' | 'same-error';
  /** Where the mutated copy lives (removed afterwards). */
  readonly scratch: string;
}

export type Verdict = 'refused' | 'still-valid' | 'FAIL';
export interface MutationResult {
  readonly c: MutationCase;
  readonly verdict: Verdict;
  readonly why: string;
  readonly message: string;
  /** Files of a refused mutation's run directory or input that changed (must be 0). */
  readonly changed: number;
}

const mutateBytes = (r: Rng, bytes: Buffer): { bytes: Buffer; detail: string } => {
  const k = r.int(0, 3);
  if (k === 0) {
    const n = r.int(0, Math.max(0, bytes.length - 1));
    return { bytes: bytes.subarray(0, n), detail: `truncated to ${n} of ${bytes.length} bytes` };
  }
  const out = Buffer.from(bytes);
  if (out.length === 0) return { bytes: Buffer.from([0]), detail: 'a byte added to an empty file' };
  const flips = k === 3 ? r.int(2, 8) : 1;
  const at: number[] = [];
  for (let i = 0; i < flips; i++) {
    const p = r.int(0, out.length - 1);
    out[p] = out[p]! ^ r.int(1, 255);
    at.push(p);
  }
  return { bytes: out, detail: `flipped byte(s) at ${at.join(', ')}` };
};

/** All JSON paths of objects (to drop or add fields) and leaves (to change) in a value. */
const jsonPaths = (v: Json, at: (string | number)[] = [], out: { objects: (string | number)[][]; leaves: (string | number)[][] } = { objects: [], leaves: [] }) => {
  if (v !== null && typeof v === 'object') {
    if (!Array.isArray(v)) out.objects.push(at);
    for (const [k, x] of Object.entries(v)) jsonPaths(x, [...at, Array.isArray(v) ? Number(k) : k], out);
  } else out.leaves.push(at);
  return out;
};
const getAt = (v: Json, p: readonly (string | number)[]): Json => p.reduce<Json>((o, k) => (o as Record<string, Json>)[k as string]!, v);
const setAt = (v: Json, p: readonly (string | number)[], x: Json | undefined): void => {
  const parent = getAt(v, p.slice(0, -1)) as Record<string, Json>;
  const k = p[p.length - 1]!;
  if (x === undefined) {
    if (Array.isArray(parent)) parent.splice(k as number, 1);
    else delete parent[k as string];
  } else parent[k as string] = x;
};
const showPath = (p: readonly (string | number)[]): string => p.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('') || '(root)';

const otherType = (r: Rng, x: Json): Json => {
  const options: Json[] = typeof x === 'number' ? [String(x), null, [x], { value: x }, true] : typeof x === 'string' ? [7, null, [x], {}, false] : typeof x === 'boolean' ? [String(x), 1, null] : [5, 'x', [], {}];
  return r.pick(options);
};

/** Structural mutations of any JSON document (a config, a goal file, a manifest). */
const mutateJson = (r: Rng, doc: Json, kinds: readonly string[]): { doc: Json | string; kind: string; detail: string } => {
  const kind = r.pick(kinds);
  const d = structuredClone(doc);
  const { objects, leaves } = jsonPaths(d);
  switch (kind) {
    case 'wrong-shape': {
      const alt: Json[] = [[], {}, null, 42, 'cpg-run', true, [d], { data: d }];
      return { doc: r.pick(alt), kind, detail: 'valid JSON of the wrong shape' };
    }
    case 'drop-field': {
      const withKeys = objects.filter((p) => Object.keys(getAt(d, p) as object).length > 0);
      const p = r.pick(withKeys);
      const k = r.pick(Object.keys(getAt(d, p) as object));
      setAt(d, [...p, k], undefined);
      return { doc: d, kind, detail: `removed ${showPath([...p, k])}` };
    }
    case 'unknown-field': {
      const p = r.pick(objects);
      (getAt(d, p) as Record<string, Json>)[r.pick(['extra', 'trainEpochz', 'Format', 'sha'])] = 1;
      return { doc: d, kind, detail: `added an unknown field to ${showPath(p)}` };
    }
    case 'wrong-type': {
      const p = r.pick(leaves.length > 0 ? leaves : [[]]);
      const was = getAt(d, p);
      const now = otherType(r, was);
      if (p.length === 0) return { doc: now, kind, detail: 'root replaced' };
      setAt(d, p, now);
      return { doc: d, kind, detail: `${showPath(p)}: ${JSON.stringify(was)} → ${JSON.stringify(now)}` };
    }
    case 'out-of-range': {
      const nums = leaves.filter((p) => typeof getAt(d, p) === 'number');
      if (nums.length === 0) return mutateJson(r, doc, ['wrong-type']);
      const p = r.pick(nums);
      const was = getAt(d, p) as number;
      const now = r.pick([-1, -was - 1, 1e308, 1.5, 0.5, 2 ** 53, -0.001, 0]);
      setAt(d, p, now);
      return { doc: d, kind, detail: `${showPath(p)}: ${was} → ${now}` };
    }
    default:
      throw new Error(`unknown JSON mutation ${kind}`);
  }
};

/** Store bytes as a blob of a run directory; its new hash and size. */
const putRawBlob = (dir: string, bytes: Buffer): BlobJson => {
  const sha = sha256(bytes);
  fs.writeFileSync(blobFile(dir, sha), bytes);
  return { sha256: sha, bytes: bytes.length };
};
/** Point every reference to blob `from` at `to` in a manifest. */
const replaceBlobRefs = (v: Json, from: string, to: BlobJson): void => {
  if (v === null || typeof v !== 'object') return;
  for (const x of Object.values(v)) {
    if (x !== null && typeof x === 'object' && !Array.isArray(x) && (x as Record<string, Json>)['sha256'] === from) {
      (x as Record<string, Json>)['sha256'] = to.sha256;
      (x as Record<string, Json>)['bytes'] = to.bytes;
    } else replaceBlobRefs(x, from, to);
  }
};

const manifestKinds = [
  'truncate', 'flip-byte', 'flip-bytes', 'version', 'format', 'wrong-shape', 'drop-field', 'unknown-field', 'wrong-type', 'out-of-range',
  'tensor-shape', 'blob-size', 'blob-hash', 'owner-range', 'nan-weight', 'pick-padding', 'pick-length', 'other-net', 'other-benchmark',
  'task-entry', 'finished-drop', 'multiplier', 'dup-entry', 'traversal-hash', 'traversal-name', 'other-file',
] as const;
const blobKinds = ['blob-truncate', 'blob-flip', 'blob-empty', 'blob-delete', 'blob-extend', 'blob-swap'] as const;

/** Mutate a copy of a run directory's manifest or blobs. Returns the detail and which files a message may name. */
const mutateRunDir = (r: Rng, dir: string, target: 'manifest' | 'blob'): { kind: string; detail: string; names: string[] } => {
  const mf = manifestPath(dir);
  const text = fs.readFileSync(mf);
  const m = JSON.parse(text.toString('utf8')) as ManifestJson;
  const snaps = snapshotsOf(m);
  const tensors = snaps.flatMap((s) => [...s.sharable, ...s.privates.flatMap((p) => p.tensors)]);
  const owners = snaps.flatMap((s) => s.owners);
  const picks = snaps.flatMap((s) => [...s.finished.flatMap((f) => f.picks), ...(s.currentPicks ?? [])]);
  const allBlobs = [...new Set(fs.readdirSync(path.join(dir, 'blobs')).filter((n) => n.endsWith('.bin')))].sort();
  const save = (x: unknown) => writeManifestJson(dir, x);
  if (target === 'blob') {
    const kind = r.pick(blobKinds);
    const name = r.pick(allBlobs);
    const file = path.join(dir, 'blobs', name);
    const bytes = fs.readFileSync(file);
    switch (kind) {
      case 'blob-truncate': {
        const n = r.int(0, bytes.length - 1);
        fs.writeFileSync(file, bytes.subarray(0, n));
        return { kind, detail: `${name} truncated to ${n} of ${bytes.length} bytes`, names: [file] };
      }
      case 'blob-flip': {
        const out = Buffer.from(bytes);
        const p = r.int(0, out.length - 1);
        out[p] = out[p]! ^ r.int(1, 255);
        fs.writeFileSync(file, out);
        return { kind, detail: `${name}: byte ${p} flipped`, names: [file] };
      }
      case 'blob-empty':
        fs.writeFileSync(file, Buffer.alloc(0));
        return { kind, detail: `${name} emptied`, names: [file] };
      case 'blob-delete':
        fs.rmSync(file);
        return { kind, detail: `${name} deleted`, names: [file] };
      case 'blob-extend':
        fs.writeFileSync(file, Buffer.concat([bytes, Buffer.alloc(r.int(1, 16), 7)]));
        return { kind, detail: `${name}: bytes appended`, names: [file] };
      case 'blob-swap': {
        const other = allBlobs.find((n) => n !== name && fs.statSync(path.join(dir, 'blobs', n)).size === bytes.length) ?? allBlobs.find((n) => n !== name)!;
        fs.writeFileSync(file, fs.readFileSync(path.join(dir, 'blobs', other)));
        return { kind, detail: `${name} replaced by the content of ${other}`, names: [file] };
      }
    }
  }
  const kind = r.pick(manifestKinds);
  // A fault in run.json may be reported at run.json or at the blob its entry points to (say, one that is missing).
  const names = [mf, path.join(dir, 'blobs') + path.sep];
  const d = structuredClone(m) as unknown as Json & ManifestJson;
  switch (kind) {
    case 'truncate':
    case 'flip-byte':
    case 'flip-bytes': {
      let out: { bytes: Buffer; detail: string };
      do out = mutateBytes(r, text);
      while ((kind === 'truncate') !== out.detail.startsWith('truncated') || (kind === 'flip-bytes') !== /,/.test(out.detail));
      fs.writeFileSync(mf, out.bytes);
      return { kind, detail: `run.json ${out.detail}`, names };
    }
    case 'version':
      // Around the version this release writes: the next one, a string of it, nonsense.
      d.version = r.pick([0, MANIFEST_VERSION + 1, 99, -1, 1.5, String(MANIFEST_VERSION), null] as never[]);
      save(d);
      return { kind, detail: `version ${JSON.stringify(d.version)}`, names };
    case 'format':
      d.format = r.pick(['cpg-runs', '', 'keras', null, 1] as never[]);
      save(d);
      return { kind, detail: `format ${JSON.stringify(d.format)}`, names };
    case 'wrong-shape':
    case 'drop-field':
    case 'unknown-field':
    case 'wrong-type':
    case 'out-of-range': {
      const x = mutateJson(r, d, [kind]);
      save(x.doc);
      return { kind, detail: x.detail, names };
    }
    case 'tensor-shape': {
      const e = r.pick(tensors.length > 0 ? tensors : [{ name: '?', shape: [1], blob: { sha256: '', bytes: 0 } }]);
      const was = [...e.shape];
      const how = r.int(0, 3);
      const shape = how === 0 ? [was[0]! + 1, ...was.slice(1)] : how === 1 ? [...was, 1] : how === 2 && was.length > 1 ? was.slice(1) : [...was].reverse().concat(was.length === 1 ? [2] : []);
      replaceIn(d, e, (t) => ({ ...t, shape }));
      save(d);
      return { kind, detail: `tensor '${e.name}' shape [${was}] → [${shape}]`, names };
    }
    case 'blob-size': {
      const e = r.pick(tensors);
      const bytes = r.pick([0, e.blob.bytes + 4, e.blob.bytes - 4, e.blob.bytes * 2]);
      replaceIn(d, e, (t) => ({ ...t, blob: { ...t.blob, bytes } }));
      save(d);
      return { kind, detail: `tensor '${e.name}' blob bytes ${e.blob.bytes} → ${bytes}`, names };
    }
    case 'blob-hash': {
      const e = r.pick([...tensors, ...owners]);
      const other = allBlobs.map((n) => n.slice(0, -4)).find((h) => h !== e.blob.sha256);
      const sha = r.pick([sha256(Buffer.from(String(r.next()))), other ?? 'f'.repeat(64), e.blob.sha256.toUpperCase(), e.blob.sha256.slice(1)]);
      replaceIn(d, e, (t) => ({ ...t, blob: { ...t.blob, sha256: sha } }));
      save(d);
      return { kind, detail: `'${e.name}' blob hash → ${sha.slice(0, 12)}…`, names };
    }
    case 'traversal-hash': {
      const e = r.pick([...tensors, ...owners]);
      const sha = r.pick(['../x', '../../run', `../${e.blob.sha256}`, '/etc/passwd', `${e.blob.sha256.slice(0, 60)}/../`]);
      replaceIn(d, e, (t) => ({ ...t, blob: { ...t.blob, sha256: sha } }));
      save(d);
      return { kind, detail: `'${e.name}' blob hash → ${JSON.stringify(sha)}`, names };
    }
    case 'owner-range': {
      const o = r.pick(owners);
      const bytes = Buffer.from(fs.readFileSync(blobFile(dir, o.blob.sha256)));
      const cell = r.int(0, bytes.length - 1);
      bytes[cell] = r.int(m.tasks.length + 1, 255);
      const ref = putRawBlob(dir, bytes);
      replaceBlobRefs(d, o.blob.sha256, ref);
      save(d);
      return { kind, detail: `owner map '${o.name}' cell ${cell} = ${bytes[cell]} (hash and size fixed)`, names: [blobFile(dir, ref.sha256), mf] };
    }
    case 'nan-weight': {
      const e = r.pick(tensors);
      const bytes = Buffer.from(fs.readFileSync(blobFile(dir, e.blob.sha256)));
      const a = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      const cell = r.int(0, a.length - 1);
      a[cell] = r.pick([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
      const ref = putRawBlob(dir, bytes);
      replaceBlobRefs(d, e.blob.sha256, ref);
      save(d);
      return { kind, detail: `tensor '${e.name}' cell ${cell} = ${a[cell]} (hash and size fixed)`, names: [blobFile(dir, ref.sha256), mf] };
    }
    case 'pick-padding':
    case 'pick-length': {
      if (picks.length === 0) return mutateRunDir(r, dir, 'manifest');
      const padded = picks.filter((p) => p.length % 8 !== 0);
      if (kind === 'pick-padding' && padded.length > 0) {
        const p = r.pick(padded);
        const bytes = Buffer.from(fs.readFileSync(blobFile(dir, p.blob.sha256)));
        bytes[bytes.length - 1] = bytes[bytes.length - 1]! | (0xff << (p.length % 8)) & 0xff;
        const ref = putRawBlob(dir, bytes);
        replaceBlobRefs(d, p.blob.sha256, ref);
        save(d);
        return { kind, detail: `pick mask '${p.name}': padding bits set (hash fixed)`, names: [blobFile(dir, ref.sha256), mf] };
      }
      const p = r.pick(picks);
      const length = r.pick([p.length + 1, p.length - 1, p.length * 2, 0]);
      replaceIn(d, p, (x) => ({ ...x, length }));
      save(d);
      return { kind: 'pick-length', detail: `pick mask '${p.name}' length ${p.length} → ${length}`, names };
    }
    case 'other-net': {
      const net = r.pick(['lenet', 'vgg-small', 'vgg16', 'resnet18'].filter((n) => n !== m.config.net));
      d.config = { ...d.config, net };
      save(d);
      return { kind, detail: `config.net ${m.config.net} → ${net} (a checkpoint of another net)`, names };
    }
    case 'other-benchmark': {
      const b = r.pick(['permuted-mnist', 'split-fmnist']);
      d.config = { ...d.config, benchmark: b };
      save(d);
      return { kind, detail: `config.benchmark → ${b}`, names };
    }
    case 'task-entry': {
      const i = r.int(0, d.tasks.length - 1);
      const how = r.int(0, 3);
      if (how === 0) d.tasks[i]!.name = `${d.tasks[i]!.name}x`;
      else if (how === 1) d.tasks[i]!.classes = d.tasks[i]!.classes + 1;
      else if (how === 2) d.tasks.splice(i, 1);
      else d.tasks.push({ ...d.tasks[i]! });
      save(d);
      return { kind, detail: `tasks[${i}] ${['renamed', 'classes changed', 'removed', 'duplicated'][how]}`, names };
    }
    case 'finished-drop': {
      if (d.state === null || d.state.finished.length === 0) return mutateRunDir(r, dir, 'manifest');
      if (r.chance(0.5)) d.state.finished.pop();
      else d.finished.pop();
      save(d);
      return { kind, detail: 'a finished task removed from one list but not the other', names };
    }
    case 'multiplier': {
      const s = r.pick(snapshotsOf(d));
      const was = s.multiplier;
      s.multiplier = r.pick([1, 1.25, 2, 0.5, 65].filter((x) => x !== was));
      save(d);
      return { kind, detail: `a snapshot's multiplier ${was} → ${s.multiplier}`, names };
    }
    case 'dup-entry': {
      const s = r.pick(snapshotsOf(d));
      if (r.chance(0.5)) s.sharable.push({ ...s.sharable[0]! });
      else s.owners.push({ ...s.owners[0]! });
      save(d);
      return { kind, detail: 'a tensor or owner entry duplicated', names };
    }
    case 'traversal-name': {
      const evil = r.pick(['../../evil', '../x', '/tmp/evil', 'a/../../b']);
      if (r.chance(0.5)) d.tasks[0]!.name = evil;
      else {
        d.tasks[0]!.name = evil;
        if (d.finished[0] !== undefined) d.finished[0].name = evil;
        if (d.state?.finished[0] !== undefined) d.state.finished[0].name = evil;
      }
      save(d);
      return { kind, detail: `task name ${JSON.stringify(evil)}`, names };
    }
    case 'other-file': {
      const report = path.join(dir, 'report.json');
      const body = r.chance(0.5) && fs.existsSync(report) ? fs.readFileSync(report, 'utf8') : JSON.stringify(smallGoals);
      fs.writeFileSync(mf, body);
      return { kind, detail: 'run.json replaced by another cpg file (report or goals)', names };
    }
  }
  throw new Error(`unhandled mutation ${kind}`);
};

/** Replace an entry (found by identity in the original) wherever an equal entry occurs in the clone. */
const replaceIn = <T extends object>(doc: Json, original: T, f: (x: T) => T): void => {
  const walk = (v: Json): void => {
    if (v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        if (isDeepStrictEqual(x, original)) v[i] = f(structuredClone(x) as unknown as T) as unknown as Json;
        else walk(x);
      });
    } else for (const x of Object.values(v)) walk(x);
  };
  walk(doc);
};

/** A small, valid CIFAR-100 binary directory: 20 superclasses of 5 fine labels, a few images each. */
export const writeCifar = (root: string, perFineTrain = 6, perFineTest = 2): string => {
  const dir = path.join(root, 'cifar-100-binary');
  fs.mkdirSync(dir, { recursive: true });
  const r = rng(7);
  const file = (per: number): Buffer => {
    const recs: Buffer[] = [];
    for (let i = 0; i < per; i++)
      for (let f = 0; f < 100; f++) {
        const b = Buffer.alloc(3074);
        b[0] = Math.floor(f / 5);
        b[1] = f;
        for (let p = 2; p < b.length; p++) b[p] = (r.int(0, 255) + 40 * (f % 5)) & 0xff;
        recs.push(b);
      }
    return Buffer.concat(recs);
  };
  fs.writeFileSync(path.join(dir, 'train.bin'), file(perFineTrain));
  fs.writeFileSync(path.join(dir, 'test.bin'), file(perFineTest));
  fs.writeFileSync(path.join(dir, 'coarse_label_names.txt'), `${Array.from({ length: 20 }, (_, i) => `super${i}`).join('\n')}\n`);
  return root;
};

const datasetKinds = ['bytes', 'label-range', 'fine-under-two', 'unseen-fine', 'empty', 'delete', 'record-truncate', 'names-count', 'is-directory'] as const;

const mutateCifar = (r: Rng, root: string): { kind: string; detail: string; names: string[] } => {
  const dir = path.join(root, 'cifar-100-binary');
  const which = r.pick(['train.bin', 'test.bin']);
  const file = path.join(dir, which);
  const bytes = Buffer.from(fs.readFileSync(file));
  const kind = r.pick(datasetKinds);
  const rec = (i: number) => i * 3074;
  const records = bytes.length / 3074;
  switch (kind) {
    case 'bytes': {
      const out = mutateBytes(r, bytes);
      fs.writeFileSync(file, out.bytes);
      return { kind: out.detail.startsWith('truncated') ? 'truncate' : 'flip-byte', detail: `${which} ${out.detail}`, names: [file] };
    }
    case 'label-range': {
      const i = r.int(0, records - 1);
      const fine = r.chance(0.5);
      bytes[rec(i) + (fine ? 1 : 0)] = fine ? r.int(100, 255) : r.int(20, 255);
      fs.writeFileSync(file, bytes);
      return { kind, detail: `${which} record ${i}: ${fine ? 'fine' : 'coarse'} label ${bytes[rec(i) + (fine ? 1 : 0)]}`, names: [file] };
    }
    case 'fine-under-two': {
      const i = r.int(0, records - 1);
      bytes[rec(i)] = (bytes[rec(i)]! + r.int(1, 19)) % 20;
      fs.writeFileSync(file, bytes);
      return { kind, detail: `${which} record ${i}: fine label ${bytes[rec(i) + 1]} under coarse ${bytes[rec(i)]}`, names: [file, path.join(dir, 'train.bin')] };
    }
    case 'unseen-fine': {
      // Every train record of one fine label moved to its sibling: test.bin then shows a label train.bin never does.
      const train = Buffer.from(fs.readFileSync(path.join(dir, 'train.bin')));
      const f = r.int(0, 99);
      const sibling = f % 5 === 4 ? f - 1 : f + 1;
      for (let i = 0; i < train.length / 3074; i++) if (train[rec(i) + 1] === f) train[rec(i) + 1] = sibling;
      fs.writeFileSync(path.join(dir, 'train.bin'), train);
      return { kind, detail: `fine label ${f} only in test.bin`, names: [path.join(dir, 'test.bin')] };
    }
    case 'empty':
      fs.writeFileSync(file, Buffer.alloc(0));
      return { kind, detail: `${which} emptied`, names: [file] };
    case 'delete':
      fs.rmSync(file);
      return { kind, detail: `${which} deleted`, names: [file] };
    case 'record-truncate': {
      const n = r.int(1, 3073);
      fs.writeFileSync(file, bytes.subarray(0, bytes.length - n));
      return { kind, detail: `${which}: last record cut by ${n} bytes`, names: [file] };
    }
    case 'names-count': {
      const names = path.join(dir, r.pick(['coarse_label_names.txt', 'fine_label_names.txt']));
      fs.writeFileSync(names, 'only\ntwo\n');
      return { kind, detail: `${path.basename(names)} with 2 names`, names: [names] };
    }
    case 'is-directory':
      fs.rmSync(file);
      fs.mkdirSync(file);
      return { kind, detail: `${which} is a directory`, names: [file] };
  }
  throw new Error(`unhandled ${kind}`);
};

const configKinds = ['truncate', 'flip-byte', 'wrong-shape', 'drop-field', 'unknown-field', 'wrong-type', 'out-of-range', 'semantic'] as const;
const goalKinds = ['truncate', 'flip-byte', 'wrong-shape', 'drop-field', 'unknown-field', 'wrong-type', 'out-of-range', 'semantic'] as const;

/** A valid config file's content (every field the harness may break). */
export const sampleConfig = {
  benchmark: 'split-mnist',
  method: 'cpg',
  net: 'mlp',
  seed: 5,
  tasks: 3,
  batchSize: 32,
  lr: 0.01,
  momentum: 0.9,
  trainEpochs: 2,
  pruneEpochs: 1,
  pruneRampEpochs: 1,
  sparsities: [0.3, 0.6],
  lrMilestones: [{ at: 0.5, factor: 0.1 }],
  maxMultiplier: 1.5,
  goals: { kind: 'individual' },
  valFraction: 0.1,
  testFraction: 0.2,
} as const;

const semanticConfig = (r: Rng, d: Record<string, Json>): string => {
  const options: [string, Json][] = [
    ['sparsities', [0.6, 0.3]],
    ['sparsities', [0.3, 1]],
    ['sparsities', []],
    ['maxMultiplier', 0.5],
    ['batchSize', 0],
    ['trainEpochs', -2],
    ['pruneRampEpochs', 5],
    ['testFraction', 0.95],
    ['lrMilestones', [{ at: 0.8, factor: 0.1 }, { at: 0.5, factor: 0.1 }]],
    ['goals', { kind: 'web' }],
    ['goals', { kind: 'file' }],
    ['net', 'resnet50'],
    ['method', 'ewc'],
    ['lr', 0],
    ['momentum', 1],
    ['seed', -1],
    ['tasks', 0],
    ['backend', 'gpu'],
  ];
  const [k, v] = r.pick(options);
  d[k] = v;
  return `${k} = ${JSON.stringify(v)}`;
};

/** Generate mutation `id` (seeded) of `target` into a scratch copy. */
export const makeMutation = (seed: number, id: number, target: MutationCase['target'], fx: Fixtures): MutationCase => {
  const r = rng(seed * 1_000_003 + id * 7919);
  const scratch = tempDir(`mut${id}`);
  if (target === 'manifest' || target === 'blob') {
    const mid = r.chance(0.3);
    const dir = path.join(scratch, 'run');
    copyDir(mid ? fx.mid : fx.done, dir);
    const x = mutateRunDir(r, dir, target);
    return {
      id,
      target,
      kind: x.kind,
      detail: `${mid ? 'mid-task checkpoint' : 'finished run'}: ${x.detail}`,
      args: mid ? ['resume', dir] : evalArgs(dir),
      names: x.names,
      watch: [dir],
      expect: mid ? 'resume-ok' : 'eval-ok',
      scratch,
    };
  }
  if (target === 'goals' || target === 'config') {
    const original = fs.readFileSync(target === 'goals' ? fx.goals : fx.config);
    const file = path.join(scratch, target === 'goals' ? 'goals.json' : 'config.json');
    const kinds = target === 'goals' ? goalKinds : configKinds;
    const kind = r.pick(kinds);
    let detail: string;
    if (kind === 'truncate' || kind === 'flip-byte') {
      let out: { bytes: Buffer; detail: string };
      do out = mutateBytes(r, original);
      while ((kind === 'truncate') !== out.detail.startsWith('truncated'));
      fs.writeFileSync(file, out.bytes);
      detail = out.detail;
    } else if (kind === 'semantic') {
      const d = JSON.parse(original.toString('utf8')) as Record<string, Json>;
      if (target === 'config') detail = semanticConfig(r, d);
      else {
        const keys = Object.keys(d);
        const k = keys[r.int(0, keys.length - 1)]!;
        const how = r.int(0, 4);
        if (how === 0) d[k] = 1.01;
        else if (how === 1) d[k] = 'high';
        else if (how === 2) delete d[k];
        else if (how === 3) d['../../evil'] = 0.5;
        else d[k] = '0.9';
        detail = [`${k}: 1.01`, `${k}: "high"`, `no goal for ${k}`, 'an extra task named ../../evil', `${k}: "0.9" (a numeric string, as the reference writes them)`][how]!;
      }
      fs.writeFileSync(file, JSON.stringify(d, null, 2));
    } else {
      const x = mutateJson(r, JSON.parse(original.toString('utf8')) as Json, [kind]);
      fs.writeFileSync(file, JSON.stringify(x.doc, null, 2));
      detail = x.detail;
    }
    const args = target === 'goals' ? goalArgs(fx, file) : ['run', '--config', file, '--out', fx.done];
    return { id, target, kind, detail: `${target === 'goals' ? 'goal file' : 'config file'}: ${detail}`, args, names: [file], watch: [file, fx.done], expect: 'same-error', scratch };
  }
  const data = path.join(scratch, 'data');
  copyDir(fx.cifar, data);
  const x = mutateCifar(r, data);
  return {
    id,
    target,
    kind: x.kind,
    detail: `CIFAR data: ${x.detail}`,
    args: cifarArgs(data, fx.blocker),
    names: x.names,
    watch: [data],
    expect: 'same-error',
    scratch,
  };
};

/*
 * The commands that read mutated input. One wasm thread: the same results
 * (eval's logit drift stays 0) and a quicker start; a run that accepts its
 * input stops at its first write (`--out` under a regular file).
 */
/** `cpg eval` of a finished run. */
export const evalArgs = (dir: string): string[] => ['eval', dir, '--threads', '1'];
/** A new run with a goal file, stopping at its first write once the goals are read. */
export const goalArgs = (fx: Fixtures, goals: string): string[] => ['run', ...replaceFlag(fx.runFlags, '--goals', goals), '--threads', '1', '--out', fx.blocker];
/** A CIFAR run that stops at its first write once the data is read. */
export const cifarArgs = (data: string, blocker: string): string[] => [
  'run', '--benchmark', 'cifar100', '--data', data, '--net', 'mlp', '--tasks', '2', '--goals', 'individual', '--threads', '1', '--out', blocker,
];

const replaceFlag = (flags: readonly string[], flag: string, value: string): string[] => {
  const out = [...flags];
  const i = out.indexOf(flag);
  if (i >= 0) out[i + 1] = value;
  else out.push(flag, value);
  return out;
};

/** How the original inputs behave: the baseline every still-valid mutation must reproduce. */
export interface Baselines {
  readonly evalDone: Proc;
  readonly goals: Proc;
  readonly config: Proc;
  readonly cifar: Proc;
}

export type Runner = (args: readonly string[]) => Promise<Proc>;

/** The command line as a Runner. */
export const cli: Runner = (args) => cpg(args);

/**
 * Which runner judges a mutation: the command line, or for the quick reduced
 * set this process (config files always go through the command line).
 */
export const runnerFor = (inProcess: boolean) => (target: MutationCase['target']): Runner => (inProcess && target !== 'config' ? cpgInProcess : cli);

/** The originals' behaviour (the command line, or in-process where `runner` says so). */
export const baselines = async (fx: Fixtures, runner: (t: MutationCase['target']) => Runner): Promise<Baselines> => {
  const evalDone = await runner('manifest')(evalArgs(fx.done));
  const goals = await runner('goals')(goalArgs(fx, fx.goals));
  const config = await runner('config')(['run', '--config', fx.config, '--out', fx.done]);
  const cifar = await runner('dataset')(cifarArgs(fx.cifar, fx.blocker));
  const problems: string[] = [];
  if (evalDone.status !== 0) problems.push(`eval of the finished fixture failed: ${evalDone.stderr}`);
  if (!/locked by/.test(goals.stderr)) problems.push(`the original goal file did not reach the run directory's lock: ${goals.stderr}`);
  if (!/already holds a run/.test(config.stderr)) problems.push(`the original config did not reach the run-directory check: ${config.stderr}`);
  if (!/locked by/.test(cifar.stderr)) problems.push(`the original CIFAR data did not load: ${cifar.stderr}`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return { evalDone, goals, config, cifar };
};

const noStack = (s: string): boolean => !/\n\s+at /.test(s) && !/internal error/.test(s);

/** Run one mutation and judge it. */
export const judgeMutation = async (c: MutationCase, fx: Fixtures, base: Baselines, run: Runner): Promise<MutationResult> => {
  const before = c.watch.map(hashTree);
  const r = await run(c.args);
  const after = c.watch.map(hashTree);
  const message = r.stderr.trim();
  const verdict = (v: Verdict, why = '', changed = 0): MutationResult => ({ c, verdict: v, why, message, changed });
  if (r.signal !== null) return verdict('FAIL', `killed by ${r.signal} (timeout?)`);
  if (!noStack(r.stderr)) return verdict('FAIL', 'a stack trace / internal error was printed');
  // Still valid: behaves exactly like the original.
  const original = c.target === 'goals' ? base.goals : c.target === 'config' ? base.config : c.target === 'dataset' ? base.cifar : undefined;
  if (c.expect === 'eval-ok' && r.status === 0)
    return r.stdout === base.evalDone.stdout ? verdict('still-valid') : verdict('FAIL', `accepted, but eval printed something else:\n${r.stdout}`);
  if (c.expect === 'resume-ok' && r.status === 0) {
    const diff = compareWithReference(fx.midReference, c.watch[0]!);
    return diff.length === 0 ? verdict('still-valid') : verdict('FAIL', `accepted, but the resumed run differs: ${diff.join('; ')}`);
  }
  if (original !== undefined && r.status === original.status && message === original.stderr.trim()) {
    const changed = c.watch.flatMap((_, i) => treeChanges(before[i]!, after[i]!));
    return changed.length === 0 ? verdict('still-valid') : verdict('FAIL', `accepted, but files changed: ${changed.join(', ')}`);
  }
  // Refused: non-zero, names the file and what is wrong, nothing changed.
  const problems: string[] = [];
  if (r.status === 0) problems.push('exit 0');
  const named = c.names.find((n) => message.includes(n));
  if (named === undefined) problems.push(`the message does not name ${c.names[0]}`);
  else if (message.replace(named, '').replace(/^cpg: /, '').replace(/[:\s]/g, '').length < 5) problems.push('the message does not say what is wrong');
  const changed = c.watch.flatMap((w, i) => treeChanges(before[i]!, after[i]!).map((x) => `${path.basename(w)}: ${x}`));
  if (changed.length > 0) problems.push(`files changed: ${changed.slice(0, 6).join(', ')}`);
  if (message.split('\n').length > 3) problems.push('more than a short message');
  return problems.length === 0 ? verdict('refused') : verdict('FAIL', problems.join('; '), changed.length);
};

/** The seeded plan of `n` mutations over the targets, in fixed proportions. */
export const mutationPlan = (n: number): MutationCase['target'][] => {
  const weights: [MutationCase['target'], number][] = [
    ['manifest', 0.4],
    ['blob', 0.15],
    ['goals', 0.15],
    ['config', 0.15],
    ['dataset', 0.15],
  ];
  const out: MutationCase['target'][] = [];
  for (const [t, w] of weights) for (let i = 0; i < Math.round(n * w); i++) out.push(t);
  while (out.length < n) out.push('manifest');
  return out.slice(0, n);
};

/**
 * Build the mutation fixtures in `work`: a finished run (`done`, or made
 * here) and a mid-task checkpoint of the same flags (`mid`, or made here in
 * this process: the checkpoint committed after task 2's first compacting
 * stage, taken by failing the next manifest write), goal and config files, a
 * CIFAR directory and a run directory locked by this process.
 */
export const buildFixtures = async (work: string, flags: readonly string[], given: { readonly done?: string; readonly mid?: string } = {}): Promise<Fixtures> => {
  const mid = given.mid ?? path.join(work, 'fixture-mid');
  if (given.mid === undefined)
    await checkpointWhere(mid, configFromFlags(flags), (m) => m.current !== null && m.finished.length >= 1 && (m.current.pruned.length >= 1 || m.current.lastPruned !== null));
  const done = given.done ?? path.join(work, 'fixture-done');
  if (given.done === undefined) {
    copyDir(mid, done);
    const r = await runInProcess({ kind: 'resume', dir: done });
    if (E.isLeft(r)) throw new Error(describeError(r.left));
  }
  const configFile = path.join(work, 'config.json');
  fs.writeFileSync(configFile, `${JSON.stringify(sampleConfig, null, 2)}\n`);
  const blocker = path.join(work, 'locked-out');
  fs.mkdirSync(blocker, { recursive: true });
  fs.writeFileSync(path.join(blocker, 'lock'), `${JSON.stringify({ pid: process.pid, host: hostname(), token: 'fault-harness' })}\n`);
  const goals = flags[flags.indexOf('--goals') + 1]!;
  return { done, mid, midReference: done, goals, config: configFile, cifar: writeCifar(path.join(work, 'cifar')), runFlags: flags, blocker };
};

// ---------------------------------------------------------------------------
// The command line

/** A command line that must be refused: exit 2, one line naming `names`, no stack. */
export interface CliCase {
  readonly args: readonly string[];
  readonly names: RegExp;
}

/** Bad command lines beyond those of test/cli (`out`: a run directory that exists; `blocker`: a regular file). */
export const cliCases = (work: string, existingRun: string, blocker: string): CliCase[] => {
  // Refused before the run directory is made: a fresh path (the judge checks it never appears), so the refusal
  // tested is the case's own, not the --out check that comes first.
  const nowhere = ['--out', path.join(work, 'never-created')];
  const dirAsFile = path.join(work, 'a-directory');
  const hostile = hostileInputs(work);
  fs.mkdirSync(dirAsFile, { recursive: true });
  // A directory with no run, and a copy of the run with a flipped byte in a blob of its network: resume refuses both (2).
  const noRun = path.join(work, 'no-run-here');
  fs.mkdirSync(noRun, { recursive: true });
  const damaged = path.join(work, 'damaged-run');
  copyDir(existingRun, damaged);
  const sha = readManifestJson(damaged).state!.sharable[0]!.blob.sha256;
  const blob = blobFile(damaged, sha);
  const bytes = fs.readFileSync(blob);
  bytes[5] = bytes[5]! ^ 0xff;
  fs.writeFileSync(blob, bytes);
  return [
    { args: ['run', '--sparsities', '0.3,1', ...nowhere], names: /--sparsities\[1\]/ },
    { args: ['run', '--sparsities', '-0.1,0.5', ...nowhere], names: /--sparsities\[0\]/ },
    { args: ['run', '--sparsities', '0', ...nowhere], names: /--sparsities/ },
    { args: ['run', '--max-multiplier', '0.99', ...nowhere], names: /--max-multiplier/ },
    { args: ['run', '--prune-epochs', '-1', ...nowhere], names: /--prune-epochs/ },
    { args: ['run', '--retrain-epochs', '0', ...nowhere], names: /--retrain-epochs/ },
    { args: ['run', '--individual-epochs', '-2', ...nowhere], names: /--individual-epochs/ },
    { args: ['run', '--retrain-epochs', '1.5', ...nowhere], names: /--retrain-epochs/ },
    { args: ['run', '--batch-size', '2.5', ...nowhere], names: /--batch-size/ },
    { args: ['run', '--eval-batch-size', '0', ...nowhere], names: /--eval-batch-size/ },
    { args: ['run', '--lr', '-0.1', ...nowhere], names: /--lr/ },
    { args: ['run', '--lr', '0', ...nowhere], names: /--lr/ },
    { args: ['run', '--lr', 'Infinity', ...nowhere], names: /--lr/ },
    { args: ['run', '--lr', 'fast', ...nowhere], names: /--lr/ },
    { args: ['run', '--seed', '-1', ...nowhere], names: /--seed/ },
    { args: ['run', '--seed', '1.5', ...nowhere], names: /--seed/ },
    { args: ['run', '--tasks', '0', ...nowhere], names: /--tasks/ },
    { args: ['run', '--tasks', '99', ...nowhere], names: /--tasks|tasks/ },
    { args: ['run', '--limit-per-task', '0', ...nowhere], names: /--limit-per-task/ },
    { args: ['run', '--threads', '0', ...nowhere], names: /--threads/ },
    { args: ['run', '--val-fraction', '1', ...nowhere], names: /--val-fraction/ },
    { args: ['run', '--val-fraction', '0.6', '--test-fraction', '0.5', ...nowhere], names: /--test-fraction/ },
    { args: ['run', '--prune-epochs', '2', '--prune-ramp-epochs', '5', ...nowhere], names: /--prune-ramp-epochs/ },
    { args: ['run', '--momentum', '1', ...nowhere], names: /--momentum/ },
    { args: ['run', '--method', 'ewc', ...nowhere], names: /--method/ },
    { args: ['run', '--net', 'resnet50', ...nowhere], names: /--net/ },
    { args: ['run', '--backend', 'gpu', ...nowhere], names: /--backend/ },
    { args: ['run', '--train-epochs', '', ...nowhere], names: /--train-epochs/ },
    { args: ['run', '--train-epochs=3', '--train-epochs', '4', ...nowhere], names: /--train-epochs is given twice/ },
    { args: ['run', '-v'], names: /'-v'/ },
    { args: ['run', '--trainEpochs', '3'], names: /--trainEpochs.*did you mean --train-epochs/ },
    { args: ['resume', existingRun, '--lr', '0.1'], names: /--lr/ },
    { args: ['resume', existingRun, 'second-dir'], names: /one run directory/ },
    { args: ['eval'], names: /needs the run directory/ },
    { args: ['eval', existingRun, '--task', '../../no-such-task'], names: /no finished task named '\.\.\/\.\.\/no-such-task'/ },
    { args: ['resume', existingRun, '--threads', '-4'], names: /--threads/ },
    { args: ['run', '--goals', path.join(work, 'no-such-goals.json'), ...nowhere], names: /no-such-goals\.json/ },
    { args: ['run', '--goals', dirAsFile, ...nowhere], names: /a-directory/ },
    { args: ['run', '--config', dirAsFile, ...nowhere], names: /a-directory/ },
    { args: ['run', '--benchmark', 'cifar100', '--data', blocker, ...nowhere], names: /blocker/ },
    { args: ['run', '--benchmark', 'cifar100', '--data', dirAsFile, ...nowhere], names: /a-directory/ },
    { args: ['run', '--out', existingRun, '--tasks', '2'], names: /already holds a run/ },
    // Hostile command lines from a new user's and an attacker's tries (issue 27).
    { args: ['run', '--out', '/proc/cpg-nope', '--tasks', '1'], names: /--out.*cannot create \/proc\/cpg-nope/ },
    { args: ['run', '--out', path.join(blocker, 'run'), '--tasks', '1'], names: /--out.*not a directory/ },
    { args: ['learn', '/proc/cpg-nope', '--task', 'x', '--data', hostile.folder], names: /RUN.*cannot create/ },
    { args: ['export', existingRun, '--task', 'all', '--out', '/proc/cpg-nope/x'], names: /--out.*cannot create/ },
    { args: ['run', '--threads', '999', ...nowhere], names: /--threads.*\[1, \d+\]/ },
    { args: ['resume', existingRun, '--threads', '999'], names: /--threads/ },
    { args: ['run', '--config', hostile.duplicateConfig, ...nowhere], names: /dup-config\.json.*"trainEpochs" is given twice/ },
    { args: ['run', '--goals', hostile.duplicateGoals, '--tasks', '1', ...nowhere], names: /dup-goals\.json.*"digits-0-1" is given twice/ },
    { args: ['sweep', '--grid', hostile.duplicateGrid, '--out', path.join(work, 'never-created')], names: /dup-grid\.json.*"seed" is given twice/ },
    { args: ['learn', existingRun, '--task', '../evil', '--data', hostile.folder], names: /task '\.\.\/evil': name: holds '\/'/ },
    { args: ['learn', existingRun, '--task', '..', '--data', hostile.folder], names: /cannot be '\.\.'/ },
    { args: ['learn', existingRun, '--task', 'digits-0-1', '--data', hostile.folder], names: /holds a task named 'digits-0-1' learned from other data/ },
    { args: ['run', '--max-multiplier', '100', ...nowhere], names: /--max-multiplier/ },
    { args: ['run', '--backend', 'webgl', ...nowhere], names: /--backend.*browser/ },
    { args: ['help', 'frob'], names: /no help on 'frob'/ },
    { args: ['resume', noRun], names: /no-run-here\/run\.json: no run here/ },
    { args: ['resume', damaged], names: new RegExp(`damaged-run/blobs/${sha}\\.bin: blob content does not match its sha256`) },
  ];
};

/** The files the hostile command lines need: JSON with a repeated key, a small image folder. */
const hostileInputs = (work: string): { readonly duplicateConfig: string; readonly duplicateGoals: string; readonly duplicateGrid: string; readonly folder: string } => {
  const duplicateConfig = path.join(work, 'dup-config.json');
  fs.writeFileSync(duplicateConfig, '{"trainEpochs": 2,\n "lr": 0.1,\n "trainEpochs": 3}\n');
  const duplicateGoals = path.join(work, 'dup-goals.json');
  fs.writeFileSync(duplicateGoals, '{"digits-0-1": 0.9, "digits-0-1": 0.1}\n');
  const duplicateGrid = path.join(work, 'dup-grid.json');
  fs.writeFileSync(duplicateGrid, '{"config": {"tasks": 1}, "axes": {"seed": [1], "seed": [2]}}\n');
  // Two classes of 60 seeded grey 28×28 images: a task every model of MNIST's shape could take, and not one it holds.
  const folder = path.join(work, 'noise-folder');
  const r = rng(404);
  for (const cls of ['a', 'b']) {
    fs.mkdirSync(path.join(folder, cls), { recursive: true });
    for (let i = 0; i < 60; i++) {
      const png = new PNG({ width: 28, height: 28, colorType: 0 });
      for (let p = 0; p < 28 * 28; p++) {
        const v = Math.floor(r.next() * 256);
        png.data[4 * p] = v;
        png.data[4 * p + 1] = v;
        png.data[4 * p + 2] = v;
        png.data[4 * p + 3] = 255;
      }
      fs.writeFileSync(path.join(folder, cls, `${String(i).padStart(3, '0')}.png`), PNG.sync.write(png, { colorType: 0 }));
    }
  }
  return { duplicateConfig, duplicateGoals, duplicateGrid, folder };
};

export interface CliResult {
  readonly args: readonly string[];
  readonly ok: boolean;
  readonly why: string;
  readonly stderr: string;
}

/** Judge one refused command line. */
export const judgeCli = (c: CliCase, r: Proc): CliResult => {
  const problems: string[] = [];
  if (r.status !== 2) problems.push(`exit ${r.status}, expected 2`);
  if (!c.names.test(r.stderr)) problems.push(`stderr does not match ${c.names}`);
  if (!noStack(r.stderr)) problems.push('stack trace');
  if (r.stderr.trim().split('\n').length !== 1) problems.push('not one line');
  return { args: c.args, ok: problems.length === 0, why: problems.join('; '), stderr: r.stderr.trim() };
};

// ---------------------------------------------------------------------------
// Safety

/**
 * Places in src/ that could evaluate code: eval, Function, dynamic import or
 * require, vm, child processes. The known dynamic loads are allowed by
 * name: all load installed packages named in the code, never a path read
 * from a file.
 */
export const codeEvaluationSites = (): { allowed: string[]; offending: string[] } => {
  const allowed: string[] = [];
  const offending: string[] = [];
  const known = [
    // tfjs-node(-gpu): the specifier is one of a constant list of package names.
    /src\/node\/platform\.ts: +await import\(spec\);/,
    // webgpu (Dawn) and @tensorflow/tfjs-backend-webgpu: the specifier is a constant package name.
    /src\/node\/webgpu\.ts: +(const m = \(await import\(spec\)\) as DawnModule;|await import\(spec\);)/,
    // The threaded wasm build's scripts, inside the installed @tensorflow/tfjs-backend-wasm.
    /src\/node\/wasmThreads\.ts: .*require\((path\.join\(outDir, 'tfjs-backend-wasm-threaded-simd\.worker\.js'\)|mainScript)\)/,
    // The job queue's optional packages (bullmq, ioredis), imported by constant name when a sweep on Redis or a worker starts.
    /src\/node\/sweep\/queue\.ts: const importQueuePackage: QueueImport = \(name\) => \(name === 'bullmq' \? import\('bullmq'\) : import\('ioredis'\)\);$/,
    // A method's training code, loaded when it first learns a task (src/cpg/methods): our own modules, by constant relative path.
    /src\/cpg\/methods\/(cpg|packnet)\.ts: +\(\) => Promise\.all\(\[import\('\.\.\/learn\.js'\), import\('\.\.\/model\.js'\)\]\),$/,
    /src\/cpg\/methods\/finetune\.ts: +learnTask: \(ctx, s, data, k\) => loaded\(\(\) => import\('\.\.\/baselines\.js'\), /,
    // Sweep jobs run the cpg command itself (process.execPath and our own CLI script) as a child process; nothing read from a file is run.
    /src\/node\/sweep\/job\.ts: import \{ spawn \} from 'node:child_process';$/,
  ];
  const risky = [/\beval\s*\(/, /\bnew\s+Function\b/, /\bFunction\s*\(/, /\bimport\s*\(/, /\brequire\s*\(/, /['"](node:)?vm['"]/, /['"](node:)?child_process['"]/, /\bv8\.deserialize\b/, /\bsetTimeout\s*\(\s*['"`]/];
  const walk = (d: string): void => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n);
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.ts'))
        fs.readFileSync(p, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
            if (!risky.some((re) => re.test(code))) return;
            const site = `${path.relative(repoRoot, p)}: ${line}`;
            (known.some((re) => re.test(site)) ? allowed : offending).push(`${path.relative(repoRoot, p)}:${i + 1}: ${line.trim()}`);
          });
    }
  };
  walk(path.join(repoRoot, 'src'));
  return { allowed, offending };
};

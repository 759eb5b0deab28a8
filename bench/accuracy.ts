/**
 * `npm run bench:accuracy -- --benchmark B [--net N] [--seeds K] [--out DIR] [--quick] [run flags]`
 *
 * Runs individual, fine-tune, PackNet and CPG on the same data, network and
 * budget — one run directory per method × seed under --out (default
 * bench-runs/<benchmark>-<net>/) — and prints one table: per-task accuracy,
 * average accuracy, forgetting, backward transfer, model size, checkpoint
 * bytes, wall time and max logit drift (mean ± std over seeds when K > 1).
 * The table also goes to <out>/accuracy.json and <out>/accuracy.md.
 *
 * Finished runs are reused (their report.json is read); a run directory
 * without a report is resumed; so an interrupted benchmark continues where it
 * stopped when the same command is given again. A run directory made with a
 * different configuration is refused rather than mixed into the table.
 *
 * CPG's goals come from the individual run of the same seed (its validation
 * accuracy per task, written to <out>/seed-<s>/goals.json): the individual
 * networks are trained once, not once more inside the CPG run.
 *
 * Other flags: --seed S (first seed, default 1), --methods a,b (a subset;
 * cpg brings individual along), --verbose (the full per-stage progress of
 * `cpg run`), and every `cpg run` configuration flag (--train-epochs 5,
 * --limit-per-task 2000, --backend wasm, …), passed to every run.
 * Progress goes to stderr; the table to stdout.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Subscription } from 'rxjs';
import { type Method, type RunConfig, type RunConfigInput, RunConfigInput as InputCodec, RunReport, decodeConfig, decodeWith, parseJson } from '../src/algebra/codecs.js';
import { type CpgError, describeError } from '../src/algebra/errors.js';
import { parseArgs, asFlag } from '../src/cli/args.js';
import { pct, renderer } from '../src/cli/render.js';
import { withPreset } from '../src/cpg/presets.js';
import { shutdownBackend } from '../src/node/backend.js';
import { type RunEvent } from '../src/streams/run.js';
import { type RunRequest, readRun, runEvents } from '../src/node/runs.js';
import { type BenchResult, type RunSource, type RunSummary, benchMethods, budgetOf, duration, renderMarkdown, renderText, resultJson, summarize } from '../src/cli/accuracyTable.js';

/** A failure of the benchmark itself: message and exit code. */
class BenchFailure extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

const usageError = (message: string): never => {
  throw new BenchFailure(message, 2);
};

const usage = `Usage: npm run bench:accuracy -- --benchmark B [--net N] [--seeds K] [--seed S] [--out DIR] [--quick]
                               [--methods individual,finetune,packnet,cpg] [--verbose] [cpg run flags]
  Runs every method on the same data, network and budget; reuses finished runs and resumes interrupted ones.
  Any \`cpg run\` configuration flag (e.g. --train-epochs 5 --limit-per-task 2000) applies to every run.`;

/** A tiny, fast configuration for checking that the whole benchmark works (not a result). */
const quickPreset: RunConfigInput = {
  tasks: 2,
  limitPerTask: 400,
  trainEpochs: 2,
  pruneEpochs: 1,
  pruneRampEpochs: 1,
  sparsities: [0.5, 0.8],
  retrainEpochs: 1,
  retrainPatience: 1,
};

interface BenchArgs {
  readonly seeds: readonly number[];
  readonly methods: readonly Method[];
  readonly quick: boolean;
  readonly verbose: boolean;
  readonly out: string | undefined;
  readonly configFile: string | undefined;
  /** Decoded configuration flags (benchmark and net included when given). */
  readonly flags: RunConfigInput;
  /** The pass-through flags as typed. */
  readonly passThrough: readonly string[];
}

const parseInt10 = (flag: string, text: string | undefined, min: number): number => {
  const n = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isInteger(n) || n < min) return usageError(`${flag} needs an integer ≥ ${min}, got ${text ?? 'nothing'}`);
  return n;
};

/** Our own flags out of argv; the rest is parsed as `cpg run` would parse it. */
export const parseBenchArgs = (argv: readonly string[]): BenchArgs => {
  let seedCount = 1;
  let firstSeed = 1;
  let quick = false;
  let verbose = false;
  let methods: Method[] = [...benchMethods];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      i += 1;
      return argv[i];
    };
    switch (name) {
      case '--seeds':
        seedCount = parseInt10('--seeds', value(), 1);
        break;
      case '--seed':
        firstSeed = parseInt10('--seed', value(), 0);
        break;
      case '--quick':
        quick = true;
        break;
      case '--verbose':
        verbose = true;
        break;
      case '--methods': {
        const v = value() ?? '';
        const asked = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
        const bad = asked.find((m) => !(benchMethods as readonly string[]).includes(m));
        if (bad !== undefined || asked.length === 0) usageError(`--methods takes a comma-separated list of ${benchMethods.join(', ')}; got '${v}'`);
        const set = new Set(asked);
        if (set.has('cpg')) set.add('individual'); // CPG's goals come from the individual run
        methods = benchMethods.filter((m) => set.has(m));
        break;
      }
      case '--method':
        usageError('--method: the benchmark runs every method (choose a subset with --methods)');
        break;
      case '--goals':
        usageError("--goals: CPG's goals come from the benchmark's own individual runs");
        break;
      case '--help':
      case '-h':
        throw new BenchFailure(usage, 0);
      default:
        rest.push(arg);
    }
  }
  const parsed = parseArgs(['run', ...rest]);
  if (E.isLeft(parsed)) {
    const e = parsed.left;
    return usageError((e.tag === 'ConfigError' ? e.message : describeError(e)).replace('`cpg run`', 'bench:accuracy').replace('see `cpg run --help`', 'see `cpg help run`'));
  }
  const cmd = parsed.right;
  if (cmd.kind !== 'run') return usageError(usage);
  const flags = decodeWith(InputCodec, undefined)(cmd.flags);
  if (E.isLeft(flags)) {
    const e = flags.left;
    return usageError(e.tag === 'DecodeError' ? `invalid value for ${asFlag(e.field)}: ${e.message}` : describeError(e));
  }
  const own = new Set(['--seeds', '--seed', '--quick', '--verbose', '--methods', '--out', '--benchmark', '--net', '--config']);
  const passThrough: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    const takesNext = !a.includes('=');
    if (own.has(name)) {
      if (takesNext) i += 1;
      continue;
    }
    passThrough.push(takesNext && rest[i + 1] !== undefined ? `${a} ${rest[++i]}` : a);
  }
  return {
    seeds: Array.from({ length: seedCount }, (_, k) => firstSeed + k),
    methods,
    quick,
    verbose,
    out: cmd.out,
    configFile: cmd.configFile,
    flags: flags.right,
    passThrough,
  };
};

const readConfigFile = async (file: string): Promise<RunConfigInput> => {
  const text = await fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => usageError(`--config: cannot read ${file}: ${e.code ?? e.message}`));
  const r = E.chain(decodeWith(InputCodec, file))(parseJson(file)(text));
  if (E.isLeft(r)) return usageError(describeError(r.left));
  for (const f of ['method', 'goals', 'seed'] as const) if (r.right[f] !== undefined) usageError(`${file}: '${f}' is set by the benchmark, not by its config file`);
  return r.right;
};

/** The configuration of one run: preset, quick preset, config file, flags; then method, seed and goals. */
const configFor = (base: RunConfigInput, method: Method, seed: number, goalsPath: string | undefined): RunConfig => {
  const input: RunConfigInput = {
    ...base,
    method,
    seed,
    ...(method === 'cpg' && goalsPath !== undefined ? { goals: { kind: 'file' as const, path: goalsPath } } : {}),
  };
  const c = decodeConfig(undefined)(withPreset(input));
  if (E.isLeft(c)) {
    const e = c.left;
    return usageError(e.tag === 'DecodeError' ? `invalid value for ${asFlag(e.field)}: ${e.message}` : describeError(e));
  }
  return c.right;
};

/** JSON with sorted keys (to compare configurations). */
const canonical = (u: unknown): string =>
  JSON.stringify(u, (_, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

/** The fields on which two configurations differ (backend, threads and the goal file's path do not count). */
export const configDifferences = (stored: RunConfig, wanted: RunConfig): string[] => {
  const strip = (c: RunConfig): Record<string, unknown> => {
    const { backend: _b, threads: _t, goals, ...rest } = c;
    return { ...rest, goals: goals.kind };
  };
  const a = strip(stored);
  const b = strip(wanted);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => canonical(a[k]) !== canonical(b[k])).map((k) => `${asFlag(k)}: ${canonical(a[k]) ?? 'unset'} there, ${canonical(b[k]) ?? 'unset'} here`);
};

const exists = (p: string): Promise<boolean> => fs.stat(p).then(
  () => true,
  () => false,
);

const te = async <A>(x: () => Promise<E.Either<CpgError, A>>): Promise<A> => {
  const r = await x();
  if (E.isLeft(r)) throw new BenchFailure(describeError(r.left), 1);
  return r.right;
};

const writeAtomic = async (file: string, text: string): Promise<void> => {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
};

/** Side facts an earlier version of this script wrote next to a run, when reports lacked the thread count. */
interface RunMeta {
  readonly backend: string;
  readonly threads: number;
}

const metaPath = (dir: string): string => `${dir}.bench.json`;

const readMeta = async (dir: string): Promise<RunMeta | null> => {
  try {
    const u = JSON.parse(await fs.readFile(metaPath(dir), 'utf8')) as Partial<RunMeta>;
    return typeof u.backend === 'string' && typeof u.threads === 'number' ? { backend: u.backend, threads: u.threads } : null;
  } catch {
    return null;
  }
};

// ---------------------------------------------------------------------------
// Progress (stderr)

const err = process.stderr;
const tty = err.isTTY === true;
let live = false;
const say = (s: string): void => {
  if (live) err.write('\r\x1b[2K');
  live = false;
  err.write(`${s}\n`);
};
const liveLine = (s: string): void => {
  if (!tty) return;
  err.write(`\r\x1b[2K${s.slice(0, (err.columns ?? 120) - 1)}`);
  live = true;
};

/** A compact renderer: a line per finished task, a live epoch line on a terminal (a line a minute otherwise). */
const compact = (label: string) => {
  let lastPrinted = 0;
  return (e: RunEvent): void => {
    switch (e.type) {
      case 'run-started':
        say(`  ${label}: backend ${e.backend}${e.backend === 'wasm' ? ` (${e.threads} thread${e.threads === 1 ? '' : 's'})` : ''}, ${e.tasks.length} tasks${e.resumed ? ', resumed' : ''}`);
        break;
      case 'epoch-ended': {
        const line = `  ${label} task ${e.task} ${e.name}: ${e.stage} ${e.epoch}/${e.epochs}  loss ${e.loss.toFixed(4)}  train ${pct(e.trainAcc)}  val ${pct(e.valAcc)}${e.stage === 'prune' ? `  sparsity ${e.sparsity.toFixed(2)}` : ''}  ${Math.round(e.samplesPerSec)} img/s`;
        if (tty) liveLine(line);
        else if (performance.now() - lastPrinted > 60_000) {
          lastPrinted = performance.now();
          say(line);
        }
        break;
      }
      case 'stage-started':
        if (e.stage === 'grow') say(`  ${label} task ${e.task} ${e.name}: goal missed, grow to ×${e.multiplier}`);
        break;
      case 'task-finished': {
        const acc = e.accuracyRow[e.accuracyRow.length - 1];
        say(
          e.purpose === 'goal'
            ? `  ${label} task ${e.task} ${e.name}: val ${pct(e.valAcc)}, test ${pct(acc)} (${duration(e.seconds)})`
            : `  ${label} task ${e.task} ${e.name}: test ${pct(acc)}${e.goal !== null ? `, val ${pct(e.valAcc)} (goal ${pct(e.goal)})` : ''}, ×${e.multiplier.toFixed(2)}, sparsity ${e.sparsity}, earlier ${e.accuracyRow.length > 1 ? e.accuracyRow.slice(0, -1).map(pct).join(' ') : '—'}, drift ${e.maxLogitDrift} (${duration(e.seconds)})`,
        );
        break;
      }
      default:
        break;
    }
  };
};

// ---------------------------------------------------------------------------
// Running

let current: Subscription | undefined;
let stopping = false;

/** Follow one run to its report (which says the backend and threads it used). */
const follow = (req: RunRequest, label: string, verbose: boolean): Promise<RunReport> =>
  new Promise((resolve, reject) => {
    const render = verbose ? renderer(err) : compact(label);
    let report: RunReport | undefined;
    current = runEvents(req).subscribe({
      next: (e) => {
        if (e.type === 'run-finished') report = e.report;
        render(e);
      },
      error: (e: CpgError) => reject(new BenchFailure(`${label}: ${describeError(e)}`, e.tag === 'Cancelled' ? 130 : 1)),
      complete: () => {
        current = undefined;
        if (report === undefined) reject(new BenchFailure(`${label}: the run ended without a report`, 1));
        else resolve(report);
      },
    });
  });

const readReport = async (file: string): Promise<RunReport> => {
  const text = await fs.readFile(file, 'utf8');
  const r = E.chain(decodeWith(RunReport, file))(parseJson(file)(text));
  if (E.isLeft(r)) throw new BenchFailure(`${describeError(r.left)} (delete ${path.dirname(file)} to run it again)`, 1);
  return r.right;
};

/** Reuse, resume or run one method × seed. */
const obtain = async (dir: string, config: RunConfig, label: string, verbose: boolean, goals: Readonly<Record<string, number>> | null): Promise<RunSummary> => {
  const t0 = performance.now();
  let source: RunSource = 'ran';
  let outcome: { report: RunReport; meta: RunMeta | null };
  const held = await te(readRun(dir));
  if (held !== null) {
    const m = held;
    const diff = configDifferences(m.config, config);
    if (diff.length > 0)
      throw new BenchFailure(`${dir} holds a run with another configuration (${diff.join('; ')}): choose another --out, or delete ${dir}`, 2);
    if (goals !== null && m.goals !== null && canonical(m.goals) !== canonical(goals))
      throw new BenchFailure(`${dir} was given other goals than the individual run's (${canonical(m.goals)} vs ${canonical(goals)}): delete ${dir} to rerun it`, 2);
    const reportFile = path.join(dir, 'report.json');
    if (m.status === 'finished' && (await exists(reportFile))) {
      source = 'reused';
      outcome = { report: await readReport(reportFile), meta: await readMeta(dir) };
      say(`${label}: reusing the finished run in ${dir}`);
    } else {
      source = 'resumed';
      say(`${label}: resuming the run in ${dir}`);
      outcome = { report: await follow({ kind: 'resume', dir, ...(config.backend !== 'auto' ? { backend: config.backend } : {}), ...(config.threads !== undefined ? { threads: config.threads } : {}) }, label, verbose), meta: null };
    }
  } else {
    say(`${label}: new run in ${dir}`);
    await fs.mkdir(path.dirname(dir), { recursive: true });
    outcome = { report: await follow({ kind: 'new', dir, config }, label, verbose), meta: null };
  }
  // Reports written before they carried the thread count have it in the side file.
  const s = summarize(outcome.report, { dir, threads: outcome.report.threads ?? outcome.meta?.threads ?? null, source });
  if (source !== 'reused')
    say(
      `${label}: done in ${duration((performance.now() - t0) / 1000)}: average ${pct(s.averageAccuracy)}, forgetting ${s.forgetting === 0 ? '0' : (100 * s.forgetting).toFixed(2)}, size ${s.relativeSize.toFixed(2)}×, run time ${duration(s.wallSeconds)}`,
    );
  return s;
};

const machineOf = (runs: readonly RunSummary[]): string => {
  const backends = [...new Set(runs.map((r) => `${r.backend}${r.threads !== null ? ` (${r.threads} thread${r.threads === 1 ? '' : 's'})` : ''}`))];
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `backend ${backends.join(', ') || '—'}; Node ${process.version} on ${os.cpus().length} × ${cpu}, ${os.platform()} ${os.arch()}`;
};

const main = async (argv: readonly string[]): Promise<number> => {
  const args = parseBenchArgs(argv);
  const fromFile = args.configFile !== undefined ? await readConfigFile(args.configFile) : {};
  const base: RunConfigInput = { ...(args.quick ? quickPreset : {}), ...fromFile, ...args.flags };
  const probe = configFor(base, 'cpg', args.seeds[0]!, undefined);
  const benchmark = probe.benchmark;
  const net = probe.net;
  const out = args.out ?? path.join('bench-runs', `${benchmark}-${net}${args.quick ? '-quick' : ''}`);
  const command = `npm run bench:accuracy -- ${argv.join(' ')}`.trim();
  say(`bench:accuracy: ${benchmark}, net ${net}, methods ${args.methods.join(', ')}, seed${args.seeds.length === 1 ? '' : 's'} ${args.seeds.join(', ')} → ${out}`);
  say(`  budget: ${budgetOf(probe, args.methods)}`);

  const runs: RunSummary[] = [];
  const total = args.methods.length * args.seeds.length;
  let n = 0;
  for (const seed of args.seeds) {
    const seedDir = path.join(out, `seed-${seed}`);
    let goals: Record<string, number> | null = null;
    const goalsPath = path.join(seedDir, 'goals.json');
    for (const method of args.methods) {
      n += 1;
      const label = `[${n}/${total}] seed ${seed} ${method}`;
      if (method === 'cpg') {
        if (goals === null) throw new BenchFailure(`${label}: no individual run to take the goals from`, 1);
        await writeAtomic(goalsPath, `${JSON.stringify(goals, null, 1)}\n`);
      }
      const config = configFor(base, method, seed, method === 'cpg' ? goalsPath : undefined);
      const s = await obtain(path.join(seedDir, method), config, label, args.verbose, method === 'cpg' ? goals : null);
      if (method === 'individual') goals = Object.fromEntries(s.tasks.map((t) => [t.name, t.valAccuracy]));
      runs.push(s);
    }
  }

  const result: BenchResult = {
    benchmark,
    net,
    seeds: args.seeds,
    runs,
    command,
    passThrough: args.passThrough,
    budget: budgetOf(probe, args.methods),
    machine: machineOf(runs),
    quick: args.quick,
  };
  await writeAtomic(path.join(out, 'accuracy.json'), `${JSON.stringify(resultJson(result), null, 1)}\n`);
  await writeAtomic(path.join(out, 'accuracy.md'), renderMarkdown(result));
  process.stdout.write(`\n${renderText(result)}\n\n(${path.join(out, 'accuracy.md')}, ${path.join(out, 'accuracy.json')})\n`);
  return 0;
};

const onSignal = (): void => {
  if (stopping) process.exit(130);
  stopping = true;
  current?.unsubscribe();
  say('\nbench:accuracy: stopped. Every finished run is kept and the current one resumes from its last checkpoint: give the same command again to continue.');
  // The step in flight finishes before the run notices; give it a moment.
  setTimeout(() => {
    void shutdownBackend()().finally(() => process.exit(130));
  }, 300);
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

main(process.argv.slice(2)).then(
  async (code) => {
    await shutdownBackend()();
    process.exit(code);
  },
  async (e: unknown) => {
    if (stopping) return;
    if (e instanceof BenchFailure) (e.code === 0 ? process.stdout : process.stderr).write(`${e.code === 0 ? '' : 'bench:accuracy: '}${e.message}\n`);
    else process.stderr.write(`bench:accuracy: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    await shutdownBackend()();
    process.exit(e instanceof BenchFailure ? e.code : 1);
  },
);

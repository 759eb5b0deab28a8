/**
 * `npm run bench:accuracy -- --benchmark B [--net N] [--seeds K] [--out DIR] [--quick] [run flags]`
 *
 * Runs individual, fine-tune, PackNet and CPG on the same data, network and
 * budget and prints one table: per-task accuracy, average accuracy,
 * forgetting, backward transfer, model size, checkpoint bytes, wall time and
 * max logit drift (mean ± std over seeds when K > 1).
 *
 * It is a sweep (`cpg sweep`, src/node/cli/sweep.ts) of the grid method × seed,
 * written to <out>/grid.json (default out: bench-runs/<benchmark>-<net>/),
 * run on this machine one job at a time so that wall times stay comparable:
 * each run in <out>/runs/<job id>/ with its log job.log beside it, the table
 * in <out>/accuracy.md and <out>/accuracy.json, the jobs in <out>/sweep.json.
 * CPG's goals come from the individual run of the same seed, whose networks
 * are one job per task (the individual row is assembled from them).
 *
 * Finished runs are reused and an interrupted one resumes from its
 * checkpoint, so an interrupted benchmark continues where it stopped when the
 * same command is given again. A directory holding a sweep of other
 * configurations is refused rather than mixed into the table.
 *
 * Other flags: --seed S (first seed, default 1), --methods a,b (a subset;
 * cpg brings individual along), and every `cpg run` configuration flag
 * (--train-epochs 5, --limit-per-task 2000, --backend wasm, …), passed to
 * every run. Progress goes to stderr; the table to stdout.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { type Method, type RunConfig, type RunConfigInput, RunConfigInput as InputCodec, decodeConfig } from '../src/algebra/config.js';
import { decodeWith, parseJson } from '../src/algebra/json.js';
import { type CpgError, describeError, exitCodeOf } from '../src/algebra/errors.js';
import { parseArgs, asFlag } from '../src/node/cli/args.js';
import { withPreset } from '../src/cpg/presets.js';
import { sweepLocally } from '../src/node/cli/sweep.js';
import { benchMethods, budgetOf } from '../src/node/cli/accuracyTable.js';

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
                               [--methods individual,finetune,packnet,cpg] [cpg run flags]
  Runs every method on the same data, network and budget, as a sweep one job at a time; reuses finished runs
  and resumes interrupted ones. Each run's progress is in <out>/runs/<job id>/job.log.
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
        usageError('--verbose: each run is a job of a sweep now; its full progress is in <out>/runs/<job id>/job.log');
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
  const own = new Set(['--seeds', '--seed', '--quick', '--methods', '--out', '--benchmark', '--net', '--config']);
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

/** The configuration of one run: preset, quick preset, config file, flags; then method and seed (to print the budget and refuse bad flags before the sweep). */
const configFor = (base: RunConfigInput, method: Method, seed: number): RunConfig => {
  const input: RunConfigInput = { ...base, method, seed };
  const c = decodeConfig(undefined)(withPreset(input));
  if (E.isLeft(c)) {
    const e = c.left;
    return usageError(e.tag === 'DecodeError' ? `invalid value for ${asFlag(e.field)}: ${e.message}` : describeError(e));
  }
  return c.right;
};

const say = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

const main = async (argv: readonly string[]): Promise<number> => {
  const args = parseBenchArgs(argv);
  const fromFile = args.configFile !== undefined ? await readConfigFile(args.configFile) : {};
  const base: RunConfigInput = { ...(args.quick ? quickPreset : {}), ...fromFile, ...args.flags };
  const probe = configFor(base, 'cpg', args.seeds[0]!);
  const benchmark = probe.benchmark;
  const net = probe.net;
  const out = args.out ?? path.join('bench-runs', `${benchmark}-${net}${args.quick ? '-quick' : ''}`);
  const command = `npm run bench:accuracy -- ${argv.join(' ')}`.trim();
  say(`bench:accuracy: ${benchmark}, net ${net}, methods ${args.methods.join(', ')}, seed${args.seeds.length === 1 ? '' : 's'} ${args.seeds.join(', ')} → ${out}`);
  say(`  budget: ${budgetOf(probe, args.methods)}`);
  // The grid: the fixed configuration, and method × seed (each resolved as \`cpg run\` resolves it).
  const grid = { file: path.join(out, 'grid.json'), text: `${JSON.stringify({ config: base, axes: { method: args.methods, seed: args.seeds } }, null, 1)}\n` };
  return sweepLocally(grid, out, 1, { command, quick: args.quick, passThrough: args.passThrough }, (e: CpgError) => {
    process.stderr.write(`bench:accuracy: ${describeError(e)}\n`);
    return exitCodeOf(e);
  });
};

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof BenchFailure) (e.code === 0 ? process.stdout : process.stderr).write(`${e.code === 0 ? '' : 'bench:accuracy: '}${e.message}\n`);
    else process.stderr.write(`bench:accuracy: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(e instanceof BenchFailure ? e.code : 1);
  },
);

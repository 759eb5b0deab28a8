/**
 * Command-line parsing (pure): commands, flags, and the mapping of flags to
 * run-configuration fields. Every configuration field is a flag in kebab
 * case (`trainEpochs` → `--train-epochs`); values are coerced by the field's
 * codec and then decoded with it, so a bad value names its flag.
 *
 * `commandFlags` is the one list of the flags each command takes: the
 * parser accepts exactly these, and `cpg help COMMAND` lists exactly these,
 * so the two cannot drift.
 */
import { MethodNameType } from '../../algebra/config.js';
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { BackendChoice } from '../../algebra/backends.js';
import { RunConfigInput, type RunConfigInput as Input } from '../../algebra/config.js';
import { LenientNumberType, ListType, NumberRangeType, OneOfType, PrimitiveType } from '../../algebra/shape.js';
import { parseJson } from '../../algebra/json.js';
import { type CpgError, configError } from '../../algebra/errors.js';
import { DEFAULT_QUEUE } from '../../algebra/grid.js';
import { MAX_WASM_THREADS } from '../../algebra/threads.js';
import { DEFAULT_TOLERANCE } from '../../cpg/evalRun.js';
import { exportFormats } from '../../cpg/export.js';

export type Command =
  | { readonly kind: 'run'; readonly flags: Flags; readonly configFile: string | undefined; readonly out: string | undefined }
  | {
      readonly kind: 'learn';
      readonly dir: string;
      readonly flags: Flags;
      readonly configFile: string | undefined;
      /** The task's name (--task), its image folder (--data), its goal (--goal: a fraction, 'individual' or 'none'). */
      readonly task: string | undefined;
      readonly data: string | undefined;
      readonly goal: string | undefined;
    }
  | { readonly kind: 'resume'; readonly dir: string; readonly flags: Flags }
  | { readonly kind: 'eval'; readonly dir: string; readonly task: string | undefined; readonly tolerance: string | undefined; readonly flags: Flags }
  /** Images (files and folders) to classify with finished task `task` ('all': every one); `json`: one object per line. */
  /** Finished task `task` ('all': every one) written to `out` as `format` ('tfjs' unless given). */
  | { readonly kind: 'export'; readonly dir: string; readonly task: string; readonly out: string; readonly format: string | undefined; readonly flags: Flags }
  | { readonly kind: 'predict'; readonly dir: string; readonly task: string; readonly inputs: readonly string[]; readonly json: boolean; readonly flags: Flags }
  /** `cpg sweep` and `cpg worker` read their flags themselves (src/node/cli/sweep.ts), from the same table. */
  | { readonly kind: 'sweep' | 'worker'; readonly argv: readonly string[] }
  /** `cpg help [COMMAND [flags]]`, `cpg COMMAND [flags] --help`: the flags given choose the defaults shown (a benchmark's preset). */
  | { readonly kind: 'help'; readonly topic: CommandName | undefined; readonly argv: readonly string[] }
  | { readonly kind: 'version' };

/** Configuration fields given as flags (already coerced, not yet decoded). */
export type Flags = Readonly<Record<string, unknown>>;

const usage = (message: string, field = 'command line'): CpgError => configError(field, message);

export const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** A configuration field's name. */
export type ConfigField = keyof Input & string;

/** Every configuration field a flag can set. */
export const configFields = (): readonly ConfigField[] => Object.keys(RunConfigInput.optional) as ConfigField[];

/**
 * The configuration fields `cpg learn` takes: all but those naming a
 * benchmark's data, the run's goal source (a task's goal is --goal) and the
 * individual baseline's one network (a model learns with cpg or packnet).
 */
export const learnFields = (): readonly ConfigField[] => configFields().filter((f) => !['benchmark', 'tasks', 'dataPath', 'goals', 'onlyTask'].includes(f));

/** What each configuration field is for, in a few words (a new field must say). */
export const fieldAbout: Readonly<Record<ConfigField, string>> = {
  benchmark: 'whose tasks to learn',
  method: 'CPG or a baseline on the same data and budget',
  net: 'the network (vgg16 and resnet18 are the CIFAR forms)',
  seed: 'seeds the data split, the initial weights and the batch order',
  backend: 'where it runs (also CPG_BACKEND; auto: the first that loads)',
  batchSize: 'training images a step',
  lr: "the train stage's learning rate (weights)",
  lrMask: "the train stage's learning rate of the pick mask",
  weightDecay: 'L2 weight decay',
  momentum: 'SGD momentum',
  trainEpochs: 'epochs of the train stage',
  lrMilestones: 'learning-rate steps: [{"at": fraction of the epochs, "factor": …}, …]',
  maskLrMilestones: "the pick mask's learning-rate steps, as --lr-milestones",
  pruneEpochs: 'epochs of the compact stage, a compacting target',
  pruneLr: "the compact stage's learning rate",
  pruneRampEpochs: 'epochs over which pruning ramps up to a target (≤ --prune-epochs)',
  pruneFrequency: 'steps between pruning updates',
  sparsities: 'the compacting targets: increasing fractions of the free weights pruned',
  retrainEpochs: 'epochs of retraining the pick after compacting',
  retrainLr: "the retrain stage's learning rate (weights)",
  retrainMaskLr: "the retrain stage's learning rate of the pick mask",
  retrainPatience: 'retrain epochs without improvement before it stops early',
  growStep: 'how much wider the network grows when a task misses its goal (× the original width)',
  maxMultiplier: 'the widest the network may grow (× the original width)',
  trainAccThreshold: 'training accuracy a compacting target must keep to be recorded',
  allowedLoss: 'accuracy a task may fall short of its goal and still meet it',
  maskInit: 'the initial value of each pick-mask cell',
  maskThreshold: 'a pick-mask cell above it picks its weight',
  goals: 'where accuracy goals come from: individual (one network per task first) or a goal file {"task": accuracy, …}',
  individualEpochs: 'epochs of each individual network (goals, the individual method)',
  packnetSparsity: "PackNet's pruning ratio of each task's weights",
  valFraction: 'share of each class held out for validation (when the data has no split)',
  testFraction: 'share of each class held out for testing (when the data has no split)',
  evalBatchSize: 'images an evaluation batch',
  probeSize: "probe images whose logits are recorded with each task (cpg eval checks them)",
  tasks: 'learn only the first N tasks',
  dataPath: "CIFAR-100's binary directory (cifar-100-binary/ with train.bin, test.bin)",
  threads: `wasm threads (1..${MAX_WASM_THREADS})`,
  limitPerTask: 'at most N training images a task (quick runs)',
  expectedTasks: 'how many tasks the model is expected to hold (open-ended streams): the budget counts the tasks left to it',
  reserve: 'share of the room a task that misses its goal at the widest leaves for the tasks to come',
  recordRule: 'when a compacting target is recorded: on training accuracy (reference), or also when validation meets the goal',
  capacityBudget: 'share: a task keeps at most its share of the room; none: the reference alone',
  claim: 'all: a task claims every free weight (the reference); share: only what its share needs',
  compactSearch: 'reference: every target in turn; bisect: the last target first, then a bisection',
  retrainPickFrom: 'where retraining the pick starts: every cell at --mask-init (reset, the reference), or the pick learned',
  allowedLossImages: 'the goal tolerance in validation images: max(--allowed-loss, N / validation images)',
  onlyTask: "the individual baseline: train task k's network alone",
};

/** A whole number a command reads itself: in [min, max], `fallback` when not given. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
  readonly fallback: number;
}

/** One flag of a command. */
export interface FlagEntry {
  /** As typed, without the dashes. */
  readonly name: string;
  /** A switch takes no value. */
  readonly switch?: true;
  /** The configuration field it sets; absent: the command's own flag. */
  readonly field?: ConfigField;
  /** What its value looks like ('DIR', 'N'). */
  readonly value?: string;
  /**
   * Its default in words, where it is no resolved configuration field's:
   * the command's own flags, and fields a run directory supplies.
   */
  readonly default?: string;
  /** A whole number the command reads itself (its default is `fallback`). */
  readonly int?: IntRange;
  readonly about: string;
}

/** The commands, in the order help lists them. */
export const commandNames = ['run', 'learn', 'resume', 'eval', 'predict', 'export', 'sweep', 'worker'] as const;
export type CommandName = (typeof commandNames)[number];

const isCommand = (s: string): s is CommandName => (commandNames as readonly string[]).includes(s);

const codecOf = (field: string): t.Mixed | undefined => (RunConfigInput.optional as Readonly<Record<string, t.Mixed>>)[field];

/** Backends a command on Node may name: webgl is a browser's. */
export const nodeBackends = BackendChoice.values.filter((b) => b !== 'webgl');

/** Why a backend cannot run a command on Node (webgl), or undefined. */
export const nodeBackendProblem = (backend: unknown): CpgError | undefined =>
  backend === 'webgl' ? configError('backend', `webgl runs only in a browser page; on Node choose ${nodeBackends.join(', ')}`) : undefined;

/** How a field's value reads in help ('N', 'X', 'cpg|packnet|…'). */
const valueOf = (field: ConfigField): string | undefined => {
  if (field === 'backend') return nodeBackends.join('|');
  if (field === 'goals') return 'individual|FILE';
  if (field === 'dataPath') return 'DIR';
  const c = codecOf(field);
  if (c instanceof NumberRangeType) return c.integer ? 'N' : 'X';
  if (c instanceof OneOfType || c instanceof MethodNameType) return (c.values as readonly string[]).join('|');
  if (c instanceof ListType) return c.of instanceof NumberRangeType ? 'X,Y,…' : 'JSON';
  return c === undefined ? undefined : 'X';
};

const fieldFlag = (field: ConfigField, extra: Partial<FlagEntry> = {}): FlagEntry => {
  const value = valueOf(field);
  return { name: kebab(field), field, ...(value !== undefined ? { value } : {}), about: fieldAbout[field], ...extra };
};

/** --backend and --threads of a command that works on a run: the run's unless given. */
const whereItRuns: readonly FlagEntry[] = [
  fieldFlag('backend', { default: "the run's (its --backend; auto if it had none)" }),
  fieldFlag('threads', { default: `the run's; else every core, at most ${MAX_WASM_THREADS}` }),
];

/** Longest a Node timer may wait (ms): a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const count = (fallback: number): IntRange => ({ min: 1, max: Number.MAX_SAFE_INTEGER, fallback });

/** Every command's flags: what the parser accepts and what help lists. */
export const commandFlags: Readonly<Record<CommandName, readonly FlagEntry[]>> = {
  run: [
    { name: 'out', value: 'DIR', default: 'runs/<benchmark>-<method>-<net>-<date>', about: 'the run directory (must not hold a run)' },
    { name: 'config', value: 'FILE', default: 'none', about: 'a JSON file of configuration fields (flags win over it)' },
    fieldFlag('dataPath', { name: 'data', value: 'DIR' }),
    ...configFields().map((f) => fieldFlag(f, f === 'dataPath' ? { about: 'the same as --data' } : {})),
  ],
  learn: [
    { name: 'task', value: 'NAME', default: 'required', about: "the task's name" },
    { name: 'data', value: 'DIR', default: 'required', about: "the task's image folder: one sub-folder per class, or train/ val/ test/ with the class folders" },
    { name: 'goal', value: 'ACC|individual|none', default: 'individual', about: "the task's accuracy goal: a fraction such as 0.9, a network trained on the task alone, or none" },
    { name: 'config', value: 'FILE', default: 'none', about: 'a JSON file of configuration fields (flags win over it)' },
    ...learnFields().map((f) => fieldFlag(f, f === 'method' ? { value: 'cpg|packnet', about: 'CPG or PackNet' } : {})),
  ],
  resume: whereItRuns,
  eval: [
    { name: 'task', value: 'NAME', default: 'every finished task', about: 'the finished task to check' },
    { name: 'tolerance', value: 'X', default: String(DEFAULT_TOLERANCE), about: 'the logit drift allowed on a backend other than the one that recorded a task' },
    ...whereItRuns,
  ],
  predict: [
    { name: 'task', value: 'NAME|all', default: 'required', about: 'the finished task that classifies (all: every one)' },
    { name: 'json', switch: true, default: 'off (a table)', about: 'one JSON object a line' },
    ...whereItRuns,
  ],
  export: [
    { name: 'task', value: 'NAME|all', default: 'required', about: 'the finished task to write (all: every one, each in its own folder)' },
    { name: 'out', value: 'DIR', default: 'required', about: 'a folder that does not exist yet, or is empty' },
    { name: 'format', value: exportFormats.join('|'), default: exportFormats[0], about: 'a tfjs LayersModel directory or one ONNX file' },
    ...whereItRuns,
  ],
  sweep: [
    { name: 'grid', value: 'FILE', default: 'required', about: 'the grid: {"config": {…}, "axes": {"field": [values…]}}' },
    { name: 'out', value: 'DIR', default: 'required', about: 'where the runs and tables go (or the sweep for --status / --cancel)' },
    { name: 'concurrency', value: 'N', int: count(1), about: 'jobs run at once by a local sweep (child processes)' },
    { name: 'redis', value: 'URL', default: 'none (run here)', about: 'enqueue the jobs on Redis for `cpg worker`s' },
    { name: 'queue', value: 'NAME', default: DEFAULT_QUEUE, about: 'the queue on Redis' },
    { name: 'attempts', value: 'N', int: count(3), about: 'tries of a job on Redis (with backoff)' },
    { name: 'detach', switch: true, default: 'off (wait for the jobs)', about: 'enqueue and return' },
    { name: 'status', switch: true, default: 'off', about: "cpg sweep DIR --status: each job's state and progress" },
    { name: 'cancel', switch: true, default: 'off', about: 'cpg sweep DIR --cancel: remove queued jobs, stop running ones' },
  ],
  worker: [
    { name: 'redis', value: 'URL', default: 'required', about: 'the Redis that holds the queue' },
    { name: 'concurrency', value: 'N', int: count(1), about: 'jobs this worker runs at once' },
    { name: 'lock-duration', value: 'MS', int: { min: 1000, max: MAX_TIMER_MS, fallback: 30_000 }, about: "how long a job's lock lasts without renewal" },
    { name: 'stall-interval', value: 'MS', int: { min: 1000, max: MAX_TIMER_MS, fallback: 30_000 }, about: 'how often stalled jobs are looked for' },
    { name: 'queue', value: 'NAME', default: DEFAULT_QUEUE, about: 'the queue on Redis' },
  ],
};

/** A flag's default in words, where the table says it (own flags). */
export const ownDefault = (f: FlagEntry): string | undefined => f.default ?? (f.int !== undefined ? String(f.int.fallback) : undefined);

/**
 * Turn a flag's text into the JSON value its field expects; decoding checks
 * it afterwards. A list given as JSON with a key given twice is refused here
 * (JSON.parse would keep the last one).
 */
export const coerce = (field: string, text: string): E.Either<CpgError, unknown> => {
  if (field === 'goals') return E.right(text === 'individual' ? { kind: 'individual' } : { kind: 'file', path: text });
  const codec = codecOf(field);
  if (codec instanceof NumberRangeType || codec instanceof LenientNumberType) return E.right(text.trim() === '' ? text : Number.isNaN(Number(text)) ? text : Number(text));
  if (codec instanceof ListType) {
    if (codec.of instanceof NumberRangeType) return E.right(text.split(',').map((x) => (Number.isNaN(Number(x)) || x.trim() === '' ? x : Number(x))));
    const parsed = parseJson(undefined)(text);
    if (E.isRight(parsed)) return parsed;
    // Not JSON: the text itself, which the field's decoder refuses by name; a repeated key: refused now, under the field's name.
    return parsed.left.tag === 'DecodeError' && parsed.left.field !== '(root)' ? E.left({ ...parsed.left, field: `${field}${parsed.left.field.startsWith('[') ? '' : '.'}${parsed.left.field}` }) : E.right(text);
  }
  if (codec instanceof PrimitiveType && (text === 'true' || text === 'false')) return E.right(text === 'true');
  return E.right(text);
};

/** Levenshtein distance, for "did you mean" hints. */
const distance = (a: string, b: string): number => {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
};

const suggest = (flag: string, known: readonly string[], prefix = '--'): string => {
  const best = [...known].sort((x, y) => distance(flag, x) - distance(flag, y))[0];
  return best !== undefined && distance(flag, best) <= Math.max(2, Math.floor(flag.length / 3)) ? ` (did you mean ${prefix}${best}?)` : '';
};

/** Flags as given: values by name (in the order given), switches, positionals. */
export interface ScannedFlags {
  readonly values: Readonly<Record<string, string>>;
  readonly switches: ReadonlySet<string>;
  readonly positional: readonly string[];
}

/** The flags a command takes. */
export interface FlagSpec {
  /** Flags that take a value: `--name value` or `--name=value`. */
  readonly valued: readonly string[];
  /** Flags that take none. */
  readonly switches: readonly string[];
  /** The message for a flag in neither list. */
  readonly unknown: (name: string) => string;
  /** What a flag sets, when two names set one thing (giving both is giving it twice); the flag's name by default. */
  readonly sameAs?: (name: string) => string;
}

/**
 * The shared core of every command's argv: long flags with values
 * (`--name value`, `--name=value`), switches, positionals; an unknown flag,
 * a short option, a missing value, a valued switch and a flag given twice
 * are each a one-line ConfigError naming the flag.
 */
export const scanFlags = (argv: readonly string[], spec: FlagSpec): E.Either<CpgError, ScannedFlags> => {
  const values: Record<string, string> = {};
  const on = new Set<string>();
  const positional: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg.length > 1) return E.left(usage(`unknown option '${arg}' (options are long: --name value)`, arg));
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const isSwitch = spec.switches.includes(name);
    if (!isSwitch && !spec.valued.includes(name)) return E.left(usage(spec.unknown(name), `--${name}`));
    if (isSwitch) {
      if (eq !== -1) return E.left(usage(`--${name} is a switch: it takes no value`, `--${name}`));
      if (on.has(name)) return E.left(usage(`--${name} is given twice`, `--${name}`));
      on.add(name);
      continue;
    }
    let value = eq === -1 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) return E.left(usage(`--${name} needs a value`, `--${name}`));
      value = next;
      i += 1;
    }
    const key = spec.sameAs?.(name) ?? name;
    if (seen.has(key)) return E.left(usage(`--${name} is given twice`, `--${name}`));
    seen.add(key);
    values[name] = value;
  }
  return E.right({ values, switches: on, positional });
};

/** A command's argv, by its flags in `commandFlags`: an unknown flag is refused with the nearest known one. */
export const scanCommand = (command: CommandName, argv: readonly string[]): E.Either<CpgError, ScannedFlags> => {
  const entries = commandFlags[command];
  return scanFlags(argv, {
    valued: entries.filter((f) => f.switch !== true).map((f) => f.name),
    switches: entries.filter((f) => f.switch === true).map((f) => f.name),
    unknown: (name) => `unknown flag --${name} for \`cpg ${command}\`${suggest(name, entries.map((f) => f.name))}; see \`cpg ${command} --help\``,
    // A configuration field set under two names (--data and --data-path) is given twice.
    sameAs: (name) => entries.find((f) => f.name === name)?.field ?? `--${name}`,
  });
};

/** The configuration fields among a command's flags, coerced (not yet decoded); a backend Node cannot run is refused. */
export const configFlags = (command: CommandName, values: Readonly<Record<string, string>>): E.Either<CpgError, Flags> => {
  const flags: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(values)) {
    const field = commandFlags[command].find((f) => f.name === name)?.field;
    if (field === undefined) continue;
    const v = coerce(field, text);
    if (E.isLeft(v)) return v;
    flags[field] = v.right;
  }
  const bad = nodeBackendProblem(flags['backend']);
  return bad !== undefined ? E.left(bad) : E.right(flags);
};

/** A whole number a command reads itself, in its range (`commandFlags`), or its default when not given. */
export const intFlag = (command: CommandName, values: Readonly<Record<string, string>>, name: string): E.Either<CpgError, number> => {
  const r = commandFlags[command].find((f) => f.name === name)?.int;
  if (r === undefined) return E.left(usage(`\`cpg ${command}\` has no whole-number flag --${name}`, `--${name}`));
  const text = values[name];
  if (text === undefined) return E.right(r.fallback);
  const n = Number(text);
  return text.trim() !== '' && Number.isSafeInteger(n) && n >= r.min && n <= r.max
    ? E.right(n)
    : E.left(usage(`expected an integer ${r.max === Number.MAX_SAFE_INTEGER ? `≥ ${r.min} (and ≤ 2^53 − 1)` : `in [${r.min}, ${r.max}]`}, got '${text}'`, `--${name}`));
};

/** Parse argv (without node and the script). */
export const parseArgs = (argv: readonly string[]): E.Either<CpgError, Command> => {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') return E.right({ kind: 'help', topic: undefined, argv: [] });
  if (command === 'help') {
    const [topic, ...more] = rest;
    if (topic === undefined || topic === 'help') return E.right({ kind: 'help', topic: undefined, argv: [] });
    if (!isCommand(topic)) return E.left(usage(`no help on '${topic}': the commands are ${commandNames.join(', ')}${suggest(topic, commandNames, '')}`, 'help'));
    return E.right({ kind: 'help', topic, argv: more });
  }
  if (command === '--version' || command === 'version') return E.right({ kind: 'version' });
  if (!isCommand(command)) return E.left(usage(`unknown command '${command}' (commands: ${commandNames.join(', ')}, help)${suggest(command, [...commandNames, 'help'], '')}`));
  if (rest.includes('--help') || rest.includes('-h')) return E.right({ kind: 'help', topic: command, argv: rest.filter((a) => a !== '--help' && a !== '-h') });
  if (command === 'sweep' || command === 'worker') return E.right({ kind: command, argv: rest });

  const scanned = scanCommand(command, rest);
  if (E.isLeft(scanned)) return scanned;
  const { values, positional } = scanned.right;
  const flags = configFlags(command, values);
  if (E.isLeft(flags)) return flags;
  const json = scanned.right.switches.has('json');
  const { out, config: configFile, task, goal, format, tolerance } = values;
  const data = command === 'learn' ? values['data'] : undefined;
  switch (command) {
    case 'run':
      if (positional.length > 0) return E.left(usage(`unexpected argument '${positional[0]}' (flags look like --benchmark split-mnist)`));
      return E.right({ kind: 'run', flags: flags.right, configFile, out });
    case 'learn':
      if (positional.length !== 1)
        return E.left(usage(positional.length === 0 ? '`cpg learn` needs the run directory: cpg learn RUN --task NAME --data DIR' : `\`cpg learn\` takes one run directory, got ${positional.length}`));
      return E.right({ kind: 'learn', dir: positional[0]!, flags: flags.right, configFile, task, data, goal });
    case 'export':
      if (positional.length !== 1)
        return E.left(usage(positional.length === 0 ? '`cpg export` needs the run directory: cpg export RUN --task NAME --out DIR [--format tfjs|onnx]' : `\`cpg export\` takes one run directory, got ${positional.length}`));
      if (task === undefined) return E.left(usage('`cpg export` needs --task NAME (a finished task, or all)', '--task'));
      if (out === undefined) return E.left(usage('`cpg export` needs --out DIR (a folder that does not exist yet, or is empty)', '--out'));
      return E.right({ kind: 'export', dir: positional[0]!, task, out, format, flags: flags.right });
    case 'predict':
      if (positional.length === 0) return E.left(usage('`cpg predict` needs the run directory and images: cpg predict RUN --task NAME FILE|DIR...'));
      if (task === undefined) return E.left(usage('`cpg predict` needs --task NAME (a finished task, or all)', '--task'));
      if (positional.length === 1) return E.left(usage('`cpg predict` needs at least one image file or folder after the run directory'));
      return E.right({ kind: 'predict', dir: positional[0]!, task, inputs: positional.slice(1), json, flags: flags.right });
    case 'resume':
    case 'eval': {
      if (positional.length !== 1)
        return E.left(usage(positional.length === 0 ? `\`cpg ${command}\` needs the run directory: cpg ${command} DIR` : `\`cpg ${command}\` takes one run directory, got ${positional.length}`));
      const dir = positional[0]!;
      return E.right(command === 'resume' ? { kind: 'resume', dir, flags: flags.right } : { kind: 'eval', dir, task, tolerance, flags: flags.right });
    }
  }
};

/** Field names in errors, in the words the user typed them: `trainEpochs` → `--train-epochs`. */
export const asFlag = (field: string): string => {
  const head = /^[A-Za-z]+/.exec(field)?.[0] ?? field;
  const name = head === 'dataPath' ? 'data' : kebab(head);
  return `--${name}${field.slice(head.length)}`;
};

export type { Input as RunConfigInput };

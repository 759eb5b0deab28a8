/**
 * `cpg help [COMMAND [flags]]` and `cpg COMMAND [flags] --help`: what a
 * command does and every flag it takes (`commandFlags`, the table the parser
 * reads), each with the default it would use. The defaults of configuration
 * fields come from resolving a configuration exactly as the command does —
 * for `run` the benchmark's preset (`--benchmark` given with the help
 * chooses it), for `learn` the preset for your own data or the model in RUN
 * — so they cannot differ from what runs.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { RunConfig, RunConfigInput } from '../../algebra/config.js';
import { benchmarkFacts } from '../../algebra/benchmarks.js';
import type { CpgError } from '../../algebra/errors.js';
import { MAX_WASM_THREADS } from '../../algebra/threads.js';
import { DEFAULT_RESERVE } from '../../cpg/model.js';
import { presets } from '../../cpg/presets.js';
import { readManifest } from '../../effects/checkpoint.js';
import { defaultThreads } from '../../effects/platform.js';
import { nodePlatform } from '../platform.js';
import { fsStore } from '../stores/fs.js';
import { type CommandName, type ConfigField, type FlagEntry, commandFlags, configFlags, kebab, ownDefault, scanCommand } from './args.js';
import { resolveRunConfig } from './configFile.js';
import { resolveLearnConfig } from './learn.js';
import { sweepHelp } from './sweep.js';

const usageLines = `Usage:
  cpg run [--benchmark B] [--method M] [--net N] [--out DIR] [--config FILE] [field flags]
  cpg learn RUN --task NAME --data DIR [--goal ACC|individual|none] [--config FILE] [field flags]
  cpg resume DIR [--backend B] [--threads N]
  cpg eval DIR [--task NAME] [--tolerance X] [--backend B] [--threads N]
  cpg predict RUN --task NAME|all FILE|DIR... [--json] [--backend B] [--threads N]
  cpg export RUN --task NAME|all --out DIR [--format tfjs|onnx] [--backend B] [--threads N]
  cpg sweep --grid GRID.json --out DIR [--concurrency N | --redis URL [--detach]]
  cpg sweep DIR --status | --cancel
  cpg worker --redis URL [--concurrency N] [--lock-duration MS] [--stall-interval MS]
  cpg help [COMMAND [flags]]      every flag of COMMAND, with the defaults it would use

Commands:
  run      learn a benchmark's tasks one after the other, checkpointing every stage
  learn    learn one more task, from an image folder, into the model in RUN (created by the first call)
  resume   continue a stopped or killed run or learn from its last completed stage
  eval     re-evaluate finished tasks from a checkpoint alone and prove their outputs unchanged
  predict  classify images with finished tasks of the model in RUN
  export   write a finished task as a tfjs LayersModel or an ONNX file any app can load
  sweep    run a grid of configurations as jobs (here, or on workers over Redis) and tabulate them
  worker   take sweep jobs from Redis and run them, on any number of machines`;

const examples = `Examples:
  cpg run                                          # Split MNIST, CPG, goals from individual networks
  cpg run --benchmark permuted-mnist --tasks 10 --out runs/pmnist
  cpg run --method packnet --out runs/packnet      # a baseline on the same data and budget
  cpg run --benchmark cifar100 --data ~/data/cifar-100-binary --backend tensorflow
  cpg learn runs/mine --task zero-one --data data/zero-one     # your own images, one task per call
  cpg resume runs/pmnist
  cpg eval runs/pmnist --task digits-0-1
  cpg help run --benchmark cifar100                # run's flags with CIFAR-100's defaults`;

/** What each command does, before its flags. */
const about: Readonly<Record<CommandName, string>> = {
  run: `cpg run learns a benchmark's tasks one after the other with a method, checkpointing
every completed stage into --out, then writes report.json and report.html there.`,
  learn: `cpg learn RUN --task NAME --data DIR learns one task into the model in RUN and
rewrites RUN/report.json and report.html for every task so far.

  DIR  one sub-folder per class (DIR/<class>/*.png|*.jpg, sub-folders allowed),
       or DIR/train, DIR/val, DIR/test each with the class folders. Labels follow
       the sorted class names; files without an image extension and hidden
       entries are skipped. Without train/val/test each class is split with
       --val-fraction and --test-fraction (seeded by --seed).

The first call creates RUN: the input shape is the first image's height × width
(grey if every image is grey, else RGB), normalised with the first task's
training images; --net, --method (cpg or packnet) and the stage flags are taken
then. Later calls use RUN's configuration; they may change a task's stage
lengths and rates, not the net or the method. RUN may also be a finished
\`cpg run\` (one more task for a benchmark model).

Capacity for tasks to come (--capacity-budget share, the default): a task keeps
at most 1 − --reserve of the room — free weights plus the growth still allowed —
or an equal share of it among the tasks left to --expected-tasks N. Where
compacting every free weight to that share would need a sparsity beyond the
sweep's last target, --claim share makes the task claim at random only what
that target compacts to its share (default: all, the reference; share helps
long streams on short budgets, see BENCHMARKS.md). When the budget demands a
sparsity beyond the requested --sparsities, the run says so as it happens; a
warning (capacity-low) names the constraint that bound a task (the open
stream's reserve, the planned share, or the maximum width), with its figures
and the flag that would loosen it.

A task given again with the same name and data is skipped (exit 0); with other
data it is refused (exit 2). A killed learn is finished by \`cpg resume RUN\`
(or by giving its task again). RUN is locked while a process works on it; bad
input is refused (exit 2) before RUN is touched.`,
  resume: `cpg resume DIR continues the run in DIR exactly where its last completed stage
ended, with the same seeds; it ends with the same finished tasks as a run that
was never stopped. --backend / --threads may differ from the original run.
It checks the whole checkpoint before it writes anything: a DIR with no run,
or a damaged checkpoint, is refused naming the file (exit 2), nothing changed.`,
  eval: `cpg eval DIR rebuilds every finished task (or --task NAME) from DIR's checkpoint,
measures its test and validation accuracy, and compares its logits on a fixed
probe batch with those recorded when it finished: on the backend that recorded
them (same backend, thread count and SIMD) they must be bit-identical (drift 0);
on another, which rounds floats differently, within --tolerance. Exit 1, with
the reason, when a task fails its check.`,
  predict: `cpg predict RUN --task NAME FILE|DIR... classifies images with the finished
task NAME of the model in RUN (--task all: with every finished task). A DIR is
read recursively in sorted order, taking .png, .jpg and .jpeg files. Images are
decoded, resized and normalised exactly as the task's training images were;
each gets its label (class name), the confidence and the top 3. --json prints
one JSON object per line instead:
  {"file": "...", "label": "...", "index": n, "confidence": 0..1, "top": [{"label", "confidence"}, ...]}
(with "task" first under --task all). Every image is decoded before anything
is printed: a file that is not an image refuses the call (exit 2), naming it.`,
  export: `cpg export RUN --task NAME --out DIR writes the finished task NAME of the model
in RUN (--task all: every finished task, each in DIR/<task name>/) as a model
any app can load, with task.json beside it (class names in output order, input
shape, the normalisation folded in, accuracy, net, width and the SHA-256 of
RUN's run.json):
  tfjs  a LayersModel directory: model.json and weights.bin, stock layers only;
        loads with tf.loadLayersModel in a program that does not import cpg
  onnx  model.onnx, opset 13; input NHWC, convolutions NCHW inside
Both take pixels / 255 in [0, 1], NHWC [batch, height, width, channels] with any
batch size, and output logits. DIR must not exist yet, or be empty; nothing is
written unless every file could be.`,
  sweep: sweepHelp,
  worker: sweepHelp,
};

/** A value as it is typed on the command line: lists of numbers comma-separated, goals by kind, other lists as JSON. */
export const shownValue = (v: unknown): string => {
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v.join(',');
  if (typeof v === 'object' && v !== null && 'kind' in v) {
    const g = v as { kind: string; path?: string };
    return g.kind === 'file' && g.path !== undefined ? g.path : g.kind;
  }
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
};

/** What an optional field left out means for this configuration. */
const absentMeans = (field: ConfigField, c: RunConfig): string => {
  switch (field) {
    case 'tasks':
      return c.benchmark === 'custom' ? 'none' : `all ${benchmarkFacts[c.benchmark].defaultTasks}`;
    case 'threads':
      return `every core, at most ${MAX_WASM_THREADS} (${defaultThreads(nodePlatform())} here)`;
    case 'dataPath':
      return c.benchmark === 'cifar100' ? 'required' : 'none';
    case 'limitPerTask':
      return 'none (every training image)';
    case 'reserve':
      return `none (${DEFAULT_RESERVE} when --expected-tasks is not set)`;
    case 'onlyTask':
      return "none (every task's network)";
    default:
      return 'none';
  }
};

/** A flag's default for this command: its own, or the resolved configuration's value of its field. */
export const defaultOf = (f: FlagEntry, config: RunConfig | undefined): string => {
  const own = ownDefault(f);
  if (own !== undefined || f.field === undefined || config === undefined) return own ?? 'none';
  const v = (config as Readonly<Record<string, unknown>>)[f.field];
  return v === undefined ? absentMeans(f.field, config) : shownValue(v);
};

const NAME_WIDTH = 34;
const DEFAULT_WIDTH = 18;

/** A column: padded to its width, and at least two spaces from the next. */
const column = (s: string, width: number): string => (s.length + 2 > width ? `${s}  ` : s.padEnd(width));

/** One line a flag (two when its default is long): name and value, default, what it is for. */
const flagLine = (f: FlagEntry, config: RunConfig | undefined): string => {
  const name = column(`  --${f.name}${f.value !== undefined ? ` ${f.value}` : ''}`, NAME_WIDTH);
  const d = defaultOf(f, config);
  return d.length + 2 <= DEFAULT_WIDTH ? `${name}${column(d, DEFAULT_WIDTH)}${f.about}` : `${name}${d}\n${' '.repeat(NAME_WIDTH + DEFAULT_WIDTH)}${f.about}`;
};

/** Text wrapped at word boundaries. */
const wrap = (text: string, width = 100): string =>
  text
    .split(' ')
    .reduce<string[]>((lines, word) => {
      const last = lines[lines.length - 1];
      if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
      else lines.push(word);
      return lines;
    }, [])
    .join('\n');

/** A preset as the flags it sets. */
const presetFlags = (p: Omit<RunConfigInput, 'benchmark'>): string =>
  Object.entries(p)
    .map(([k, v]) => `--${kebab(k)} ${shownValue(v)}`)
    .join(' ');

/** The configuration a run or a learn would use, and the sentence that says where its defaults come from. */
const resolved = async (topic: 'run' | 'learn', values: Readonly<Record<string, string>>, positional: readonly string[]): Promise<E.Either<CpgError, { readonly config: RunConfig; readonly from: string }>> => {
  const flags = configFlags(topic, values);
  if (E.isLeft(flags)) return flags;
  const configFile = values['config'];
  // --benchmark chooses the preset; any other field given is applied too, as the command would.
  const given = Object.keys(flags.right).some((f) => f !== 'benchmark') || configFile !== undefined ? ', then the config file and flags given' : '';
  if (topic === 'run') {
    const c = await resolveRunConfig(configFile, flags.right);
    if (E.isLeft(c)) return c;
    const b = c.right.benchmark === 'custom' ? 'split-mnist' : c.right.benchmark;
    return E.right({
      config: c.right,
      from: `the defaults for --benchmark ${b}: its preset (${presetFlags(presets[b]) || 'none: the reference defaults alone'}) over the reference defaults (CPG-SPEC: CIFAR-100 on VGG16)${given}. Another benchmark's: cpg help run --benchmark B.`,
    });
  }
  const dir = positional[0];
  const m = dir === undefined ? E.right(null) : await readManifest(fsStore(dir))();
  if (E.isLeft(m)) return m;
  const c = await resolveLearnConfig({ dir: dir ?? 'RUN', configFile, flags: flags.right }, m.right);
  if (E.isLeft(c)) return c;
  return E.right({
    config: c.right.config,
    from:
      m.right !== null
        ? `the defaults of the model in ${dir}: its own configuration (${dir}/run.json)${given}; a learn may change the stage lengths and rates, not --net or --method.`
        : `the defaults for a new model learned from your own data: the 'custom' preset (${presetFlags(presets.custom)}) over the reference defaults (CPG-SPEC: CIFAR-100 on VGG16)${given}. A RUN that holds a model keeps its own configuration: cpg help learn RUN shows it.`,
  });
};

/** The help of `topic` (every flag, with its default), or the overview; refused when the flags given are not the command's. */
export const helpText = async (topic: CommandName | undefined, argv: readonly string[]): Promise<E.Either<CpgError, string>> => {
  if (topic === undefined) return E.right(`\n${usageLines}\n\n${examples}\n`);
  const scanned = scanCommand(topic, argv);
  if (E.isLeft(scanned)) return scanned;
  let config: RunConfig | undefined;
  let from = "the defaults it uses (a run directory's own where it says \"the run's\")";
  if (topic === 'run' || topic === 'learn') {
    const r = await resolved(topic, scanned.right.values, scanned.right.positional);
    if (E.isLeft(r)) return r;
    config = r.right.config;
    from = r.right.from;
  }
  const lines = commandFlags[topic].map((f) => flagLine(f, config));
  return E.right(`\n${about[topic]}\n\n${wrap(`Flags of cpg ${topic}, with ${from}`)}\n${lines.join('\n')}\n`);
};

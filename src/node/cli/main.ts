#!/usr/bin/env node
/**
 * The `cpg` command line: thin — parse, subscribe to the run's event
 * stream, render. Exit codes: 0 done, 1 the run failed, 2 bad command line,
 * configuration or input file, 130 stopped by Ctrl-C (resumable).
 */
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Observable } from 'rxjs';
import { RunConfigInput, decodeConfig, decodeWith, newRunDefaults, runConfigDefaults, type RunConfig } from '../../algebra/codecs.js';
import { type CpgError, describeError, exitCodeOf, resumeExitCodeOf } from '../../algebra/errors.js';
import { withPreset, presets } from '../../cpg/presets.js';
import type { RunEvent } from '../../cpg/events.js';
import { evaluateRun, runEvents } from '../runs.js';
import { asFlag, configFields, kebab, parseArgs, type Command } from './args.js';
import { drift, pct, renderer, table } from './render.js';
import { learnCommand } from './learn.js';
import { predictCommand } from './predict.js';
import { DEFAULT_TOLERANCE, type EvalRow } from '../../cpg/evalRun.js';
import { exportCommand } from './export.js';
import { givenFields } from './configFile.js';
import { shutdownBackend } from '../backend.js';
import { sweepCommand, sweepHelp, workerCommand } from './sweep.js';

/** Errors in the user's words: config fields named as the flags that set them. */
const explain = (e: CpgError, fromFlags: boolean): string => {
  if (fromFlags && e.tag === 'DecodeError' && e.file === undefined) return `invalid value for ${asFlag(e.field)}: ${e.message}`;
  if (fromFlags && e.tag === 'ConfigError' && /^[a-z]/.test(e.field) && configFields().includes(e.field.replace(/[[.].*$/, '')))
    return `invalid value for ${asFlag(e.field)}: ${e.message}`;
  return describeError(e);
};

const fail = (e: CpgError, fromFlags = false): number => {
  process.stderr.write(`cpg: ${explain(e, fromFlags)}\n`);
  if (e.tag === 'InternalError' && e.stack !== undefined && process.env['CPG_DEBUG'] !== undefined) process.stderr.write(`${e.stack}\n`);
  return exitCodeOf(e);
};

/** A command that only reads a run: a checkpoint it cannot read is bad input (a damaged run directory), exit 2. */
const failReading = (e: CpgError): number => {
  const code = fail(e);
  return e.tag === 'CheckpointError' ? 2 : code;
};

const timestamp = (): string => new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');

/** The run's configuration: benchmark preset, then the config file, then flags; decoded with the reference defaults. */
const resolveConfig = async (cmd: Extract<Command, { kind: 'run' }>): Promise<E.Either<CpgError, RunConfig>> => {
  const given = await givenFields(cmd.configFile, cmd.flags);
  if (E.isLeft(given)) return given;
  const { fromFile, fromFlags } = given.right;
  const merged = decodeConfig(undefined)(withPreset({ ...fromFile, ...fromFlags }));
  // A cross-field fault in a value that came from the config file (not a flag) names the file.
  const top = (field: string) => field.replace(/[[.].*$/, '');
  const config =
    E.isLeft(merged) && merged.left.tag === 'DecodeError' && merged.left.file === undefined && cmd.configFile !== undefined &&
    top(merged.left.field) in fromFile && !(top(merged.left.field) in fromFlags)
      ? E.left<CpgError, RunConfig>({ ...merged.left, file: cmd.configFile })
      : merged;
  if (E.isRight(config) && config.right.benchmark === 'cifar100' && config.right.dataPath === undefined)
    return E.left({
      tag: 'ConfigError',
      field: 'dataPath',
      message: 'CIFAR-100 cannot be downloaded here: give its binary directory with --data DIR (cifar-100-binary/ with train.bin and test.bin)',
    });
  return config;
};

/**
 * A run started by a sweep or a worker (with an IPC channel to it) must not
 * outlive it: an orphan would write beside the job's next attempt. When the
 * channel closes or the process is re-parented, `stop` is called; if the run
 * has not ended 5 s later, the process exits (every checkpoint write is
 * atomic, so the last checkpoint stays valid either way).
 */
const orphanGuard = (stop: () => void): void => {
  if (process.channel === undefined) return;
  process.channel.unref();
  const parent = process.ppid;
  let gone = false;
  const onGone = () => {
    if (gone) return;
    gone = true;
    stop();
    setTimeout(() => process.exit(130), 5000).unref();
  };
  process.once('disconnect', onGone);
  setInterval(() => {
    if (process.ppid !== parent) onGone();
  }, 500).unref();
};

/**
 * Subscribe to a run and render it; resolves to the exit code (of an error:
 * `codeOf`, told whether the run had started). Ctrl-C (or SIGTERM) asks the
 * run to stop: it ends at its next step, releases the run directory, and the
 * stream completes with 'stopped' (exit 130); a second one exits at once.
 */
export const follow = (dir: string, start: (signal: AbortSignal) => Observable<RunEvent>, codeOf: (e: CpgError, started: boolean) => number = exitCodeOf): Promise<number> =>
  new Promise((resolve) => {
    const render = renderer(process.stdout);
    const stop = new AbortController();
    let stopped = false;
    let started = false;
    const onSignal = () => {
      if (stop.signal.aborted) process.exit(130);
      stop.abort();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    orphanGuard(() => {
      process.stderr.write('cpg: the process that started this run is gone: stopping at the next step\n');
      stop.abort();
    });
    start(stop.signal).subscribe({
      next: (e) => {
        if (e.type === 'run-started') started = true;
        if (e.type === 'stopped') {
          stopped = true;
          process.stdout.write(`\ncpg: stopped. The last checkpoint in ${dir} is valid; continue with: cpg resume ${dir}\n`);
        } else render(e);
      },
      error: (e: CpgError) => {
        fail(e);
        resolve(codeOf(e, started));
      },
      complete: () => resolve(stopped ? 130 : 0),
    });
  });

/** "(MNIST family: 8)" when the MNIST presets agree on a field, else which benchmark sets what. */
const mnistPresets = (field: string, shown: (v: unknown) => string): string => {
  const family = ['split-mnist', 'permuted-mnist', 'split-fmnist'] as const;
  const values = family.map((b) => shown((presets[b] as Record<string, unknown>)[field]));
  if (values.every((v) => v === '')) return '';
  if (values.every((v) => v === values[0])) return `(MNIST family: ${values[0]})`;
  const groups = new Map<string, string[]>();
  family.forEach((b, i) => groups.set(values[i]!, [...(groups.get(values[i]!) ?? []), b]));
  return `(${[...groups].map(([v, bs]) => `${bs.join(', ')}: ${v === '' ? 'default' : v}`).join('; ')})`;
};

const helpText = (topic: string | undefined): string => {
  const defaults: Record<string, unknown> = { ...runConfigDefaults, ...newRunDefaults };
  const fields = configFields()
    .filter((f) => !['benchmark', 'method', 'net'].includes(f))
    .map((f) => {
      const d = defaults[f];
      const shown = (v: unknown) => (v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
      return `    --${kebab(f).padEnd(22)} ${shown(d).padEnd(14)} ${mnistPresets(f, shown)}`.trimEnd();
    });
  const common = `
Usage:
  cpg run [--benchmark B] [--method M] [--net N] [--out DIR] [--config FILE] [field flags]
  cpg learn RUN --task NAME --data DIR [--goal ACC|individual|none] [--config FILE] [field flags]
  cpg resume DIR [--backend auto|tensorflow|webgpu|webgl|wasm|cpu] [--threads N]
  cpg eval DIR [--task NAME] [--tolerance X]
  cpg predict RUN --task NAME|all FILE|DIR... [--json]
  cpg export RUN --task NAME|all --out DIR [--format tfjs|onnx]
  cpg sweep --grid GRID.json --out DIR [--concurrency N | --redis URL [--detach]]
  cpg sweep DIR --status | --cancel
  cpg worker --redis URL [--concurrency N] [--lock-duration MS] [--stall-interval MS]
  cpg help [run|learn|resume|eval|predict|export|sweep]

Commands:
  run      learn a benchmark's tasks one after the other, checkpointing every stage
  learn    learn one more task, from an image folder, into the model in RUN (created by the first call)
  resume   continue a stopped or killed run or learn from its last completed stage
  eval     re-evaluate finished tasks from a checkpoint alone and prove their outputs unchanged
  predict  classify images with finished tasks of the model in RUN
  export   write a finished task as a tfjs LayersModel or an ONNX file any app can load
  sweep    run a grid of configurations as jobs (here, or on workers over Redis) and tabulate them
  worker   take sweep jobs from Redis and run them, on any number of machines
`;
  if (topic === 'resume')
    return `${common}
cpg resume DIR continues the run in DIR exactly where its last completed stage
ended, with the same seeds; it ends with the same finished tasks as a run that
was never stopped. --backend / --threads may differ from the original run.
It checks the whole checkpoint before it writes anything: a DIR with no run,
or a damaged checkpoint, is refused naming the file (exit 2), nothing changed.`;
  if (topic === 'learn')
    return `${common}
cpg learn RUN --task NAME --data DIR learns one task into the model in RUN and
rewrites RUN/report.json and report.html for every task so far.

  DIR        one sub-folder per class (DIR/<class>/*.png|*.jpg, sub-folders allowed),
             or DIR/train, DIR/val, DIR/test each with the class folders. Labels follow
             the sorted class names; files without an image extension and hidden
             entries are skipped. Without train/val/test each class is split with
             --val-fraction and --test-fraction (seeded by --seed).
  --goal     where the task's accuracy goal comes from: individual (default: a network
             trained on the task alone), a fraction such as 0.9, or none.

The first call creates RUN: the input shape is the first image's height × width
(grey if every image is grey, else RGB), normalised with the first task's
training images; --net (default mlp), --method (cpg or packnet) and the stage
flags are taken then. Later calls use RUN's configuration; they may change a
task's stage lengths and rates, not the net or the method. RUN may also be a
finished \`cpg run\` (one more task for a benchmark model).

Capacity for tasks to come (--capacity-budget share, the default): a task keeps
at most 1 − --reserve (default 0.9) of the room — free weights plus the growth
still allowed — or an equal share of it among the tasks left to
--expected-tasks N. Where compacting every free weight to that share would
need a sparsity beyond the sweep's last target, --claim share makes the task
claim at random only what that target compacts to its share (default: all, the
reference; share helps long streams on short budgets, see BENCHMARKS.md).
A warning (capacity-low) says when the model runs out of room; a later learn
may raise --max-multiplier to give it more.

A killed learn is finished by \`cpg resume RUN\`. RUN is locked while a process
works on it; bad input is refused (exit 2) before RUN is touched.`;
  if (topic === 'predict')
    return `${common}
cpg predict RUN --task NAME FILE|DIR... classifies images with the finished
task NAME of the model in RUN (--task all: with every finished task). A DIR is
read recursively in sorted order, taking .png, .jpg and .jpeg files. Images are
decoded, resized and normalised exactly as the task's training images were;
each gets its label (class name), the confidence and the top 3. --json prints
one JSON object per line instead:
  {"file": "...", "label": "...", "index": n, "confidence": 0..1, "top": [{"label", "confidence"}, ...]}
(with "task" first under --task all). Every image is decoded before anything
is printed: a file that is not an image refuses the call (exit 2), naming it.
--backend and --threads choose where it runs (default: the run's).`;
  if (topic === 'export')
    return `${common}
cpg export RUN --task NAME --out DIR [--format tfjs|onnx] writes the finished
task NAME of the model in RUN (--task all: every finished task, each in
DIR/<task name>/) as a model any app can load, with task.json beside it (class
names in output order, input shape, the normalisation folded in, accuracy, net,
width and the SHA-256 of RUN's run.json):
  tfjs (default)  a LayersModel directory: model.json and weights.bin, stock layers only;
                  loads with tf.loadLayersModel in a program that does not import cpg
  onnx            model.onnx, opset ${13}; input NHWC, convolutions NCHW inside
Both take pixels / 255 in [0, 1], NHWC [batch, height, width, channels] with any
batch size, and output logits. DIR must not exist yet, or be empty; nothing is
written unless every file could be.`;
  if (topic === 'sweep' || topic === 'worker') return `${common}
${sweepHelp}`;
  if (topic === 'eval')
    return `${common}
cpg eval DIR [--task NAME] [--tolerance X] rebuilds every finished task (or
NAME) from DIR's checkpoint, measures its test and validation accuracy, and
compares its logits on a fixed probe batch with those recorded when it
finished: on the backend that recorded them (same backend, thread count and
SIMD) they must be bit-identical (drift 0); on another, which rounds floats
differently, within --tolerance (default 1e-4). Exit 1, with the reason, when
a task fails its check.`;
  return `${common}
cpg run — the common flags:
    --benchmark  split-mnist | permuted-mnist | split-fmnist | cifar100   (default split-mnist)
    --method     cpg | packnet | finetune | individual                    (default cpg)
    --net        mlp | lenet | vgg-small | vgg16 | resnet18               (default: mlp, vgg16 for cifar100)
    --out DIR    the run directory (default runs/<benchmark>-<method>-<date>)
    --config F   a JSON file of configuration fields (flags win over it)
    --data DIR   CIFAR-100's binary directory (cifar-100-binary/ with train.bin, test.bin)
    --goals F    a goal file {"task name": accuracy, ...}; default: train one network per task first
    --tasks N    learn only the first N tasks
    --backend    auto | tensorflow | webgpu | webgl | wasm | cpu (also CPG_BACKEND; webgpu: Node with the optional
                 webgpu package, chosen by auto only on a hardware adapter; webgl: browsers only); --threads N for wasm

Every configuration field is a flag (reference defaults for CIFAR-100 / VGG16;
the MNIST family has shorter stages, shown in brackets):
${fields.join('\n')}

Examples:
  cpg run                                          # Split MNIST, CPG, goals from individual networks
  cpg run --benchmark permuted-mnist --tasks 10 --out runs/pmnist
  cpg run --method packnet --out runs/packnet      # a baseline on the same data and budget
  cpg run --benchmark cifar100 --data ~/data/cifar-100-binary --backend tensorflow
  cpg learn runs/mine --task zero-one --data data/zero-one     # your own images, one task per call
  cpg resume runs/pmnist
  cpg eval runs/pmnist --task digits-0-1
`;
};

const main = async (argv: readonly string[]): Promise<number> => {
  const parsed = parseArgs(argv);
  if (E.isLeft(parsed)) return fail(parsed.left, true);
  const cmd = parsed.right;
  switch (cmd.kind) {
    case 'help':
      process.stdout.write(`${helpText(cmd.topic)}\n`);
      return 0;
    case 'version':
      process.stdout.write('cpg 0.1.0\n');
      return 0;
    case 'run': {
      const config = await resolveConfig(cmd);
      if (E.isLeft(config)) return fail(config.left, true);
      const c = config.right;
      if (c.benchmark === 'custom')
        return fail({ tag: 'ConfigError', field: 'benchmark', message: "'custom' is a model learned from your own tasks: use `cpg learn RUN --task NAME --data DIR`" }, true);
      const out = cmd.out ?? path.join('runs', `${c.benchmark}-${c.method}-${c.net}-${timestamp()}`);
      return follow(out, (signal) => runEvents({ kind: 'new', dir: out, config: c, signal }));
    }
    case 'learn':
      return learnCommand(cmd, { fail, follow });
    case 'sweep':
      return sweepCommand(cmd.argv, (e) => fail(e, false));
    case 'worker':
      return workerCommand(cmd.argv, (e) => fail(e, false));
    case 'resume': {
      const backend = cmd.flags['backend'];
      const threads = cmd.flags['threads'];
      const o = decodeWith(RunConfigInput, undefined)({ ...(backend !== undefined ? { backend } : {}), ...(threads !== undefined ? { threads } : {}) });
      if (E.isLeft(o)) return fail(o.left, true);
      // No run in DIR, or a damaged checkpoint, is bad input (2); a failure once the run started is 1.
      return follow(
        cmd.dir,
        (signal) =>
          runEvents({
            kind: 'resume',
            dir: cmd.dir,
            signal,
            ...(o.right.backend !== undefined ? { backend: o.right.backend } : {}),
            ...(o.right.threads !== undefined ? { threads: o.right.threads } : {}),
          }),
        resumeExitCodeOf,
      );
    }
    case 'predict':
      return predictCommand(cmd, fail, failReading);
    case 'export':
      return exportCommand(cmd, fail, failReading);
    case 'eval': {
      const o = decodeWith(RunConfigInput, undefined)(cmd.flags);
      if (E.isLeft(o)) return fail(o.left, true);
      const tolerance = cmd.tolerance === undefined ? DEFAULT_TOLERANCE : Number(cmd.tolerance);
      if (!(Number.isFinite(tolerance) && tolerance >= 0))
        return fail({ tag: 'ConfigError', field: '--tolerance', message: `expected a logit drift ≥ 0 (like 1e-4), got '${cmd.tolerance}'` });
      const r = await evaluateRun(cmd.dir, {
        tolerance,
        ...(cmd.task !== undefined ? { task: cmd.task } : {}),
        ...(o.right.backend !== undefined ? { backend: o.right.backend } : {}),
        ...(o.right.threads !== undefined ? { threads: o.right.threads } : {}),
      })();
      if (E.isLeft(r)) return failReading(r.left);
      const rows = r.right.rows;
      const carried = rows.some((x) => x.testAccuracy === null);
      const checkOf = (x: EvalRow) => (x.check === 'bit-identical' ? 'bit-identical' : `≤ ${drift(tolerance)}`);
      process.stdout.write(
        `${table(
          ['task', 'test acc', 'val acc', 'recorded', 'logit drift', 'check'],
          rows.map((x) => [x.name, pct(x.testAccuracy), pct(x.valAccuracy), pct(x.recordedAccuracy), drift(x.logitDrift), `${checkOf(x)}${x.within ? '' : ' ✗'}`]),
        )}\nevaluated on ${r.right.backend}${rows.some((x) => x.check === 'tolerance') ? `\n≤ ${drift(tolerance)}: not the backend that recorded the task; another backend rounds floats differently, so its outputs are promised bit for bit only there (--tolerance sets the bound)` : ''}${carried ? "\n— : the task's data is not at hand (given in memory, or its folder is gone); its probe logits were checked" : ''}\n`,
      );
      const bad = rows.filter((x) => !x.within);
      if (bad.length === 0) return 0;
      const worst = bad.reduce((a, b) => (b.logitDrift > a.logitDrift ? b : a));
      process.stderr.write(
        `cpg: ${bad.length} task${bad.length === 1 ? '' : 's'} failed the check: '${worst.name}' drifted ${drift(worst.logitDrift)}${worst.check === 'bit-identical' ? ` on the backend that recorded it (${r.right.backend}), where its outputs must be bit-identical` : `, beyond the tolerance ${drift(tolerance)} on ${r.right.backend}`}\n`,
      );
      return 1;
    }
  }
};

main(process.argv.slice(2)).then(
  async (code) => {
    await shutdownBackend()();
    process.exit(code);
  },
  async (e: unknown) => {
    process.stderr.write(`cpg: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    await shutdownBackend()();
    process.exit(1);
  },
);

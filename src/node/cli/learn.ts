/**
 * `cpg learn RUN --task NAME --data DIR [--goal ACC|individual|none] [flags]`:
 * learn one more task, from an image folder, into the model in RUN (created
 * by the first call, with the input shape of the first task's images).
 *
 * Everything about the input is checked before RUN is touched — the flags,
 * the folder and its images, the task against the model — so a refusal
 * (exit 2) leaves RUN as it was.
 */
import { builtInMethod, protectingMethods } from '../../cpg/methods/registry.js';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Observable } from 'rxjs';
import { RunConfig, decodeConfig, type RunConfigInput as Input } from '../../algebra/config.js';
import { decodeWith } from '../../algebra/json.js';
import { type CpgError, configError, decodeError, resumeExitCodeOf } from '../../algebra/errors.js';
import { type GoalChoice, type RunManifest, type TaskSource, modelShape } from '../../algebra/manifest.js';
import { checkTaskFor, checkTaskName } from '../../algebra/task.js';
import { recordedThreads } from '../../algebra/threads.js';
import { architectureFor } from '../../cpg/context.js';
import type { RunEvent } from '../../cpg/events.js';
import { withPresetFor } from '../../cpg/presets.js';
import { readManifest } from '../../effects/checkpoint.js';
import { readImageFolder } from '../sources/folder.js';
import { fsStore } from '../stores/fs.js';
import { creatableDir } from '../dirs.js';
import type { LearnRequest } from '../../streams/run.js';
import { learner } from '../defaults.js';
import type { Command } from './args.js';
import { givenFields } from './configFile.js';
import { maxWidthProblem } from '../../cpg/model.js';

type LearnCommand = Extract<Command, { kind: 'learn' }>;

/** `--goal`: a fraction in [0, 1], 'individual' (train one network on the task alone) or 'none'. */
export const parseGoal = (text: string | undefined): E.Either<CpgError, GoalChoice> => {
  if (text === undefined || text === 'individual') return E.right({ kind: 'individual' });
  if (text === 'none') return E.right({ kind: 'none' });
  const x = Number(text);
  return text.trim() !== '' && Number.isFinite(x) && x >= 0 && x <= 1
    ? E.right({ kind: 'given', goal: x })
    : E.left(configError('--goal', `expected an accuracy in [0, 1] (like 0.95), 'individual' or 'none', got '${text}'`));
};

/**
 * The configuration of this learn: the model's (or, for a new model, the
 * preset for your own data), then the file, then flags (`cpg help learn`
 * shows the same).
 */
export const resolveLearnConfig = async (
  cmd: Pick<LearnCommand, 'dir' | 'configFile' | 'flags'>,
  m: RunManifest | null,
): Promise<E.Either<CpgError, { readonly config: RunConfig; readonly changed: boolean }>> => {
  const fields = await givenFields(cmd.configFile, cmd.flags);
  if (E.isLeft(fields)) return fields;
  const given: Input = { ...fields.right.fromFile, ...fields.right.fromFlags };
  for (const f of ['benchmark', 'tasks', 'dataPath'] as const)
    if (given[f] !== undefined) return E.left(configError(f, `is about a shipped benchmark; \`cpg learn\` learns the task in --data`));
  // Fields a learn would not use (no flag of its sets them; a config file may): refused rather than ignored.
  if (given.goals !== undefined) return E.left(decodeError(cmd.configFile, 'goals', "is a run's goal source; `cpg learn` takes each task's goal with --goal"));
  if (given.onlyTask !== undefined) return E.left(decodeError(cmd.configFile, 'onlyTask', "is for the individual baseline's networks; `cpg learn` learns with cpg or packnet"));
  // A new model starts from the preset for your own data; an existing one from its own configuration.
  const decoded =
    m === null
      ? E.map((c: RunConfig): RunConfig => ({ ...c, benchmark: 'custom' }))(decodeConfig(cmd.configFile)(withPresetFor('custom', given)))
      : decodeWith(RunConfig, cmd.configFile)({ ...RunConfig.encode(m.config), ...given });
  const config = decoded;
  if (E.isLeft(config)) return config;
  if (m !== null) {
    if (config.right.net !== m.config.net) return E.left(configError('net', `the model in ${cmd.dir} is a '${m.config.net}' network; it cannot learn with '${config.right.net}'`));
    if (config.right.method !== m.config.method) return E.left(configError('method', `the model in ${cmd.dir} learns with '${m.config.method}', not '${config.right.method}'`));
    const narrower = maxWidthProblem(m, config.right.maxMultiplier);
    if (narrower !== undefined) return E.left(configError('maxMultiplier', `${cmd.dir}: ${narrower}`));
  }
  if (builtInMethod(config.right.method)?.protectsTasks !== true)
    return E.left(configError('method', `a model learns tasks over time with ${protectingMethods()}, not '${config.right.method}'`));
  return E.right({ config: config.right, changed: Object.keys(given).length > 0 });
};

/** Run `cpg learn`; resolves to the exit code. */
export const learnCommand = async (
  cmd: LearnCommand,
  io: { readonly fail: (e: CpgError, fromFlags?: boolean) => number; readonly follow: (dir: string, start: (signal: AbortSignal) => Observable<RunEvent>, codeOf?: (e: CpgError, started: boolean) => number) => Promise<number> },
): Promise<number> => {
  if (cmd.task === undefined) return io.fail(configError('--task', 'name the task: cpg learn RUN --task NAME --data DIR'));
  if (cmd.data === undefined) return io.fail(configError('--data', 'give the task\'s image folder: cpg learn RUN --task NAME --data DIR (one sub-folder per class)'));
  const goal = parseGoal(cmd.goal);
  if (E.isLeft(goal)) return io.fail(goal.left);
  const where = await creatableDir(cmd.dir, 'RUN');
  if (where !== undefined) return io.fail(where);
  const store = fsStore(cmd.dir);
  // Another process at work on RUN is named first (its half-learned task is its business, not an error of this call).
  const free = await store.lock();
  if (E.isLeft(free)) return io.fail(free.left);
  await free.right.release();
  const m = await readManifest(store)();
  // A RUN whose checkpoint cannot be read is bad input, refused with nothing changed.
  if (E.isLeft(m)) {
    io.fail(m.left);
    return resumeExitCodeOf(m.left, false);
  }
  const model = m.right;
  // A new name that cannot be a folder is refused before the folder is read (a name the model holds predates the rule).
  const named = model?.tasks.some((t) => t.name === cmd.task) === true ? E.right(cmd.task) : checkTaskName(cmd.task);
  if (E.isLeft(named)) return io.fail(named.left);
  // A task the model holds, given again, goes to the learner as the library's caller's would: the same data is
  // skipped (or, unfinished, continued); other data is refused there (exit 2).
  const held = model?.tasks.find((t) => t.name === cmd.task);
  const pending = model !== null && model.tasks.length > model.finished.length ? model.tasks[model.finished.length] : undefined;
  if (pending !== undefined && held !== pending)
    return io.fail(configError('dir', `${cmd.dir} has an unfinished task '${pending.name}': \`cpg resume ${cmd.dir}\` finishes it first`));
  const resolved = await resolveLearnConfig(cmd, model);
  if (E.isLeft(resolved)) return io.fail(resolved.left, true);
  const { config, changed } = resolved.right;
  // A held task's folder is split as it was when it was learned, so the same folder is the same data.
  const split = held?.source?.kind === 'folder' ? held.source : config;
  const read = await readImageFolder(cmd.data, {
    name: cmd.task,
    ...(model !== null ? { inputShape: modelShape(model) } : {}),
    seed: split.seed,
    valFraction: split.valFraction,
    testFraction: split.testFraction,
    ...(split.limitPerTask !== undefined ? { limitPerTask: split.limitPerTask } : {}),
    ...(model !== null && model.normalisation !== null ? { normalisation: model.normalisation } : {}),
  })();
  if (E.isLeft(read)) return io.fail(read.left);
  const { task, images, skipped, layout } = read.right;
  const fits =
    held !== undefined
      ? E.right(task)
      : checkTaskFor(model === null ? undefined : { inputShape: modelShape(model), normalisation: model.normalisation, names: model.tasks.map((t) => t.name) })(task);
  if (E.isLeft(fits)) return io.fail(fits.left);
  const arch = architectureFor(config.net, task.inputShape, `task '${task.name}'`);
  if (E.isLeft(arch)) return io.fail(configError('net', arch.left), true);
  process.stdout.write(
    `data: ${images.toLocaleString('en-US')} images of ${task.classNames.length} classes from ${cmd.data} (${layout === 'splits' ? 'train/val/test folders' : 'split by class'}; ` +
      `${task.train.count} train, ${task.val.count} validation, ${task.test?.count ?? 0} test; ${task.inputShape.join('×')})${skipped > 0 ? `; ${skipped} non-image or hidden entr${skipped === 1 ? 'y' : 'ies'} skipped` : ''}\n`,
  );
  const source: TaskSource = {
    kind: 'folder',
    path: path.resolve(cmd.data),
    seed: split.seed,
    valFraction: split.valFraction,
    testFraction: split.testFraction,
    ...(split.limitPerTask !== undefined ? { limitPerTask: split.limitPerTask } : {}),
  };
  const request: LearnRequest = { task, goal: goal.right, source, ...(model === null || changed ? { config } : {}) };
  return io.follow(cmd.dir, (signal) =>
    learner({
      store,
      signal,
      ...(model === null ? { config } : {}),
      ...(config.backend !== 'auto' ? { backend: config.backend } : {}),
      ...(config.threads !== undefined ? { threads: recordedThreads(config.threads)! } : {}),
    })([request]),
    // Checked whole before anything is written: a damaged checkpoint is refused (exit 2).
    resumeExitCodeOf,
  );
};

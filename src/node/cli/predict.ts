/**
 * `cpg predict RUN --task NAME|all FILE|DIR... [--json]`: classify images
 * with finished tasks of the model in RUN. Images are decoded, resized and
 * normalised exactly as the task's training images were. Every image is read
 * and decoded before anything is printed: one that does not decode refuses
 * the whole call (exit 2), naming the file.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { decodeWith } from '../../algebra/json.js';
import { RunConfigInput } from '../../algebra/config.js';
import { type CpgError, dataError } from '../../algebra/errors.js';
import { pixelsOf } from '../../algebra/task.js';
import type { Model, ModelTask, Prediction } from '../../cpg/predict.js';
import { openRun, tasksNamed } from './openRun.js';
import { readBytes } from '../data/files.js';
import { decodeImage } from '../../effects/images/decode.js';
import { toInput } from '../../effects/images/resize.js';
import { byCodePoint, imageExtension } from '../sources/folder.js';
import type { Command } from './args.js';
import { table } from './render.js';

type PredictCommand = Extract<Command, { kind: 'predict' }>;

const reason = (e: unknown): string => {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOENT' ? 'not found' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : e instanceof Error ? e.message : String(e);
};

/** The image files under a folder, recursively, in sorted order (hidden entries skipped). */
const walk = (dir: string): TE.TaskEither<CpgError, readonly string[]> =>
  pipe(
    TE.tryCatch(
      () => readdir(dir, { withFileTypes: true }),
      (e) => dataError(dir, reason(e)),
    ),
    TE.chain((entries) =>
      pipe(
        [...entries].filter((d) => !d.name.startsWith('.')).sort((a, b) => byCodePoint(a.name, b.name)),
        TE.traverseSeqArray((d): TE.TaskEither<CpgError, readonly string[]> => {
          const p = join(dir, d.name);
          if (d.isDirectory()) return walk(p);
          if (d.isSymbolicLink())
            return pipe(
              TE.tryCatch(
                () => stat(p),
                (e) => dataError(p, `broken link: ${reason(e)}`),
              ),
              TE.chain((s) => (s.isDirectory() ? walk(p) : TE.right(s.isFile() && imageExtension.test(d.name) ? [p] : []))),
            );
          return TE.right(d.isFile() && imageExtension.test(d.name) ? [p] : []);
        }),
        TE.map((xs) => xs.flat()),
      ),
    ),
  );

/** The files the arguments name: a file as given, a folder's images recursively. */
export const imageFiles = (inputs: readonly string[]): TE.TaskEither<CpgError, readonly string[]> =>
  pipe(
    inputs,
    TE.traverseSeqArray((p) =>
      pipe(
        TE.tryCatch(
          () => stat(p),
          (e) => dataError(p, reason(e)),
        ),
        TE.chain((s) => (s.isDirectory() ? pipe(walk(p), TE.chain((fs) => (fs.length === 0 ? TE.left(dataError(p, 'holds no images (.png, .jpg, .jpeg)')) : TE.right(fs)))) : TE.right([p]))),
      ),
    ),
    TE.map((xs) => xs.flat()),
  );

/** Every file as the model's input (count × H·W·C pixels in [0, 1]), or the first that does not decode. */
const readImages = (files: readonly string[], m: Model): TE.TaskEither<CpgError, Float32Array> => {
  const pixels = pixelsOf(m.inputShape);
  const out = new Float32Array(files.length * pixels);
  return pipe(
    files,
    TE.traverseSeqArrayWithIndex((i, f) =>
      pipe(
        readBytes(f),
        TE.chainEitherK((bytes) => decodeImage(bytes, f)),
        TE.map((img) => out.set(toInput(img, m.inputShape), i * pixels)),
      ),
    ),
    TE.map(() => out),
  );
};

const percent = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** One JSON line per image (and task). */
const jsonLine = (file: string, t: ModelTask, p: Prediction, withTask: boolean): string =>
  JSON.stringify({
    ...(withTask ? { task: t.name } : {}),
    file,
    label: p.label,
    index: p.index,
    confidence: p.confidence,
    top: p.top.map((r) => ({ label: r.label, confidence: r.confidence })),
  });

/** The predictions of `tasks` for `files`, printed; exit code. */
export const predictCommand = async (
  cmd: PredictCommand,
  fail: (e: CpgError, fromFlags?: boolean) => number,
  failReading: (e: CpgError) => number,
): Promise<number> => {
  const o = decodeWith(RunConfigInput, undefined)(cmd.flags);
  if (E.isLeft(o)) return fail(o.left, true);
  const files = await imageFiles(cmd.inputs)();
  if (E.isLeft(files)) return fail(files.left);
  const opened = await openRun(cmd.dir, o.right)();
  if (E.isLeft(opened)) return failReading(opened.left);
  const model = opened.right;
  try {
    const tasks = tasksNamed(model, cmd.task);
    if (E.isLeft(tasks)) return fail(tasks.left);
    const x = await readImages(files.right, model)();
    if (E.isLeft(x)) return fail(x.left);
    const results: (readonly [ModelTask, readonly Prediction[]])[] = [];
    for (const t of tasks.right) {
      // Read back asynchronously: every backend, webgpu included.
      const p = await model.predictAsync(t.name, x.right, { top: 3 })();
      if (E.isLeft(p)) return fail(p.left);
      results.push([t, p.right]);
    }
    const many = cmd.task === 'all';
    if (cmd.json) {
      const lines = results.flatMap(([t, ps]) => ps.map((p, i) => jsonLine(files.right[i]!, t, p, many)));
      process.stdout.write(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
    } else {
      const rows = results.flatMap(([t, ps]) =>
        ps.map((p, i) => [...(many ? [t.name] : []), files.right[i]!, p.label, percent(p.confidence), p.top.map((r) => `${r.label} ${percent(r.confidence)}`).join(', ')]),
      );
      process.stdout.write(`${table([...(many ? ['task'] : []), 'file', 'label', 'confidence', 'top 3'], rows)}\n`);
    }
    return 0;
  } finally {
    model.dispose();
  }
};

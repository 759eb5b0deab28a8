/**
 * `cpg export RUN --task NAME|all --out DIR [--format tfjs|onnx]`: write a
 * finished task (or each one, into its own folder) as a model any app can
 * load — a tfjs LayersModel directory or one ONNX file — with task.json.
 *
 * Everything is built in memory and checked first; the files go to a
 * temporary folder beside DIR that is renamed into place, so a refusal or a
 * failure leaves nothing behind.
 */
import { readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { decodeWith } from '../../algebra/json.js';
import { RunConfigInput } from '../../algebra/config.js';
import { type CpgError, configError, dataError } from '../../algebra/errors.js';
import { type ExportFiles, type ExportFormat, exportFormats } from '../../cpg/export.js';
import type { ModelTask } from '../../cpg/predict.js';
import { exportFolders } from './exportFolders.js';
import { openRun, tasksNamed } from './openRun.js';
import type { Command } from './args.js';
import { creatableDir, makeDirs } from '../dirs.js';

type ExportCommand = Extract<Command, { kind: 'export' }>;

/** Why `out` cannot take an export (it exists and is not an empty folder), or undefined. */
const outProblem = async (out: string): Promise<CpgError | undefined> => {
  try {
    const s = await stat(out);
    if (!s.isDirectory()) return configError('--out', `${out} is a file: give a folder that does not exist yet, or an empty one`);
    const inside = await readdir(out);
    return inside.length === 0 ? undefined : configError('--out', `${out} already holds files (${inside.slice(0, 3).join(', ')}${inside.length > 3 ? ', …' : ''}): give a folder that does not exist yet, or an empty one`);
  } catch (e) {
    return (e as { code?: unknown }).code === 'ENOENT' ? undefined : dataError(out, e instanceof Error ? e.message : String(e));
  }
};

/** Writes every file under a temporary folder beside `out`, then renames it into place. */
const writeAll = async (out: string, folders: readonly (readonly [string, ExportFiles, ModelTask])[]): Promise<E.Either<CpgError, void>> => {
  const tmp = path.join(path.dirname(path.resolve(out)), `.${path.basename(out)}.export-${process.pid}`);
  try {
    for (const [sub, files] of folders) {
      const dir = path.join(tmp, sub);
      await makeDirs(dir);
      // 'wx': a file already there (two tasks in one folder) fails the export rather than being replaced.
      for (const [name, bytes] of files) await writeFile(path.join(dir, name), bytes, { flag: 'wx' });
    }
    // An empty --out folder is replaced by the finished one.
    await rmdir(out).catch((e: { code?: unknown }) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
    await rename(tmp, out);
    return E.right(undefined);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    return E.left(dataError(out, `could not write the export: ${e instanceof Error ? e.message : String(e)}`));
  }
};

/** Exports the tasks; exit code. */
export const exportCommand = async (
  cmd: ExportCommand,
  fail: (e: CpgError, fromFlags?: boolean) => number,
  failReading: (e: CpgError) => number,
): Promise<number> => {
  const o = decodeWith(RunConfigInput, undefined)(cmd.flags);
  if (E.isLeft(o)) return fail(o.left, true);
  const format = (cmd.format ?? 'tfjs') as ExportFormat;
  if (!exportFormats.includes(format)) return fail(configError('--format', `expected ${exportFormats.join(' or ')}, got '${cmd.format}'`));
  const busy = (await outProblem(cmd.out)) ?? (await creatableDir(cmd.out, '--out'));
  if (busy !== undefined) return fail(busy);
  const opened = await openRun(cmd.dir, o.right)();
  if (E.isLeft(opened)) return failReading(opened.left);
  const model = opened.right;
  try {
    const tasks = tasksNamed(model, cmd.task);
    if (E.isLeft(tasks)) return fail(tasks.left);
    // Under --task all, one folder per task, never two tasks in one (see exportFolders).
    const named = exportFolders(tasks.right.map((t) => t.name));
    const folders: (readonly [string, ExportFiles, ModelTask])[] = [];
    for (const [i, t] of tasks.right.entries()) {
      const files = await model.export(t.name, format)();
      if (E.isLeft(files)) return fail(files.left);
      folders.push([cmd.task === 'all' ? named[i]!.folder : '', files.right, t]);
    }
    const written = await writeAll(cmd.out, folders);
    if (E.isLeft(written)) return fail(written.left);
    for (const [i, [sub, files, t]] of folders.entries()) {
      const why = cmd.task === 'all' ? named[i]!.why : undefined;
      process.stdout.write(`exported '${t.name}' (${format}) to ${path.join(cmd.out, sub)}${why !== undefined ? ` (${why})` : ''}: ${[...files.keys()].join(', ')}\n`);
    }
    return 0;
  } finally {
    model.dispose();
  }
};

/**
 * A task from a folder of images laid out as torchvision's ImageFolder:
 * `DIR/<class name>/**\/*.png|jpg|jpeg`, each class cut into seeded,
 * stratified train / validation / test splits; or `DIR/{train,val,test}/<class
 * name>/…` when the splits are given. Images are decoded once (pngjs,
 * jpeg-js), area-resized to the model's input and normalised.
 */
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { identity, pipe } from 'fp-ts/lib/function.js';
import { type CpgError, dataError, internalError, taskError } from '../../algebra/errors.js';
import { checkNormalisation, checkTaskData, type InputShape, type Normalisation, type Split, type Task } from '../../algebra/task.js';
import { readBytes } from '../data/files.js';
import { allocateLimit, assembleSplit, type ClassSplit, type SplitPart, splitClass, splitCounts } from '../../effects/data/split.js';
import type { ClassPool } from '../../effects/data/types.js';
import { decodeImage } from '../../effects/images/decode.js';
import { isGrey, toInput } from '../../effects/images/resize.js';
import { rngFor } from '../../effects/random.js';

/** How to read an image folder into a task. */
export interface FolderOptions {
  /** The task's name. */
  readonly name: string;
  /** The model's [H, W, C] (C 1 or 3); undefined: H×W of the first image, C = 1 if every image is grey, else 3. */
  readonly inputShape?: InputShape;
  readonly seed: number;
  /** Fraction of each class for validation, in [0, 1) (above 0 unless the splits are given). */
  readonly valFraction: number;
  /** Fraction of each class for test, in [0, 1); valFraction + testFraction < 1. */
  readonly testFraction: number;
  /** Cap on training images, spread over the classes in proportion to their sizes. */
  readonly limitPerTask?: number;
  /** Undefined: per-channel mean and std of this task's training images. */
  readonly normalisation?: Normalisation;
}

/** A task read from a folder, with what was found there. */
export interface FolderTask {
  readonly task: Task;
  /** 'classes': DIR/<class>/…, cut by the fractions; 'splits': DIR/{train,val,test}/<class>/…. */
  readonly layout: 'classes' | 'splits';
  /** Image files read. */
  readonly images: number;
  /** Entries skipped: hidden ones (not entered), files without an image extension, files outside class folders. */
  readonly skipped: number;
}

type Which = keyof ClassSplit;

/** A class folder and its image files, in order. */
interface ClassFiles {
  readonly name: string;
  readonly folder: string;
  readonly files: readonly string[];
}

/** The class folders of one split root (DIR, or DIR/train …). */
interface Root {
  readonly dir: string;
  readonly classes: readonly ClassFiles[];
  readonly skipped: number;
}

type Kind = 'dir' | 'file' | 'other';
interface Entry {
  readonly name: string;
  readonly path: string;
  readonly kind: Kind;
}

/** The files read as images. */
export const imageExtension = /\.(png|jpe?g)$/i;
const isHidden = (name: string): boolean => name.startsWith('.');
const splitNames: readonly Which[] = ['train', 'val', 'test'];

/** Code-point order, as Python's sorted() (plain `<` compares UTF-16 units). */
export const byCodePoint = (a: string, b: string): number => {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
};

const fsReason = (e: unknown): string => {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'is not a directory';
  if (code === 'ELOOP') return 'too many levels of symbolic links';
  return e instanceof Error ? e.message : String(e);
};

const kindOf = (d: { isDirectory(): boolean; isFile(): boolean }): Kind => (d.isDirectory() ? 'dir' : d.isFile() ? 'file' : 'other');

/** The entries of a directory, sorted; symbolic links are followed (as torchvision does). */
const entriesOf = (dir: string): TE.TaskEither<CpgError, readonly Entry[]> =>
  pipe(
    TE.tryCatch(
      () => readdir(dir, { withFileTypes: true }),
      (e) => dataError(dir, fsReason(e)),
    ),
    TE.chain((ds: Dirent[]) =>
      pipe(
        [...ds].sort((a, b) => byCodePoint(a.name, b.name)),
        TE.traverseArray((d): TE.TaskEither<CpgError, Entry> => {
          const path = join(dir, d.name);
          if (!d.isSymbolicLink() || isHidden(d.name)) return TE.right({ name: d.name, path, kind: kindOf(d) });
          return pipe(
            TE.tryCatch(
              () => stat(path),
              (e) => dataError(path, `broken link: ${fsReason(e)}`),
            ),
            TE.map((s) => ({ name: d.name, path, kind: kindOf(s) })),
          );
        }),
      ),
    ),
  );

/** Image files as [folder relative to the class, file name, path], and the entries skipped on the way. */
interface Walked {
  readonly files: readonly (readonly [string, string, string])[];
  readonly skipped: number;
}

/**
 * The image files under a class folder in torchvision's order (sorted
 * os.walk: folders by path, files by name within each), and how many entries
 * were skipped. `ancestors` (real paths) stops symbolic-link cycles.
 */
const walkClass = (folder: string, rel: string, ancestors: readonly string[]): TE.TaskEither<CpgError, Walked> =>
  pipe(
    TE.tryCatch(
      () => realpath(folder),
      (e) => dataError(folder, fsReason(e)),
    ),
    TE.chain((real) =>
      ancestors.includes(real)
        ? TE.left(dataError(folder, 'symbolic link back to a folder that contains it (a cycle)'))
        : pipe(
            entriesOf(folder),
            TE.chain((entries) => walkEntries(rel, [...ancestors, real], entries)),
          ),
    ),
  );

/** A folder's entries walked: its image files, then those of each sub-folder below it (`ancestors` ends with the folder). */
const walkEntries = (rel: string, ancestors: readonly string[], entries: readonly Entry[]): TE.TaskEither<CpgError, Walked> => {
  const here = entries.filter((e) => !isHidden(e.name) && e.kind === 'file' && imageExtension.test(e.name));
  const subs = entries.filter((e) => !isHidden(e.name) && e.kind === 'dir');
  const skippedHere = entries.length - here.length - subs.length;
  return pipe(
    subs,
    TE.traverseSeqArray((s) => walkClass(s.path, rel === '' ? s.name : `${rel}/${s.name}`, ancestors)),
    TE.map((below) => ({
      files: [...here.map((e) => [rel, e.name, e.path] as const), ...below.flatMap((b) => b.files)],
      skipped: skippedHere + below.reduce((a, b) => a + b.skipped, 0),
    })),
  );
};

const sortWalk = (files: readonly (readonly [string, string, string])[]): string[] =>
  [...files].sort((a, b) => byCodePoint(a[0], b[0]) || byCodePoint(a[1], b[1])).map((f) => f[2]);

/** The class folders of a split root and their image files. */
const readRoot = (dir: string, entries: readonly Entry[]): TE.TaskEither<CpgError, Root> => {
  const folders = entries.filter((e) => !isHidden(e.name) && e.kind === 'dir');
  const skipped = entries.length - folders.length;
  return pipe(
    folders,
    TE.traverseSeqArray((f) =>
      pipe(
        walkClass(f.path, '', []),
        TE.map((w) => ({ cls: { name: f.name, folder: f.path, files: sortWalk(w.files) }, skipped: w.skipped })),
      ),
    ),
    TE.map((cs) => ({ dir, classes: cs.map((c) => c.cls), skipped: skipped + cs.reduce((a, c) => a + c.skipped, 0) })),
  );
};

const noImages = 'holds no images (.png, .jpg, .jpeg)';

/** The class folders of DIR (or DIR/train): at least two, none empty. */
const checkClasses = (root: Root): E.Either<CpgError, Root> => {
  if (root.classes.length === 0) return E.left(dataError(root.dir, 'holds no class folders: expected <folder>/<class name>/<images>'));
  if (root.classes.length === 1) return E.left(dataError(root.dir, `holds one class folder ('${root.classes[0]!.name}'): a task needs at least 2`));
  return E.right(root);
};

const checkNonEmpty = (root: Root): E.Either<CpgError, Root> => {
  const empty = root.classes.find((c) => c.files.length === 0);
  return empty === undefined ? E.right(root) : E.left(dataError(empty.folder, noImages));
};

/** Training / validation image counts of a class of n (splitClass's own arithmetic). */
const trainValOf = (n: number, v: number, t: number): readonly [number, number] => {
  const c = splitCounts(n, v, t);
  return [c.train, c.val];
};

/** The fewest images a class needs to keep one in train and one in validation (undefined: over a million). */
const fewestToSplit = (v: number, t: number): number | undefined => {
  for (let n = 2; n <= 1_000_000; n++) {
    const [tr, va] = trainValOf(n, v, t);
    if (tr >= 1 && va >= 1) return n;
  }
  return undefined;
};

const isFraction = (f: number): boolean => typeof f === 'number' && Number.isFinite(f) && f >= 0 && f < 1;

const checkOptions = (o: FolderOptions): E.Either<CpgError, FolderOptions> => {
  const bad = (field: string, message: string) => E.left(taskError(String(o.name), field, message));
  if (typeof o.seed !== 'number' || !Number.isFinite(o.seed)) return bad('seed', `must be a finite number, got ${String(o.seed)}`);
  if (!isFraction(o.valFraction)) return bad('valFraction', `must be in [0, 1), got ${String(o.valFraction)}`);
  if (!isFraction(o.testFraction)) return bad('testFraction', `must be in [0, 1), got ${String(o.testFraction)}`);
  if (o.valFraction + o.testFraction >= 1)
    return bad('testFraction', `valFraction + testFraction must be below 1, got ${o.valFraction + o.testFraction}`);
  if (o.limitPerTask !== undefined && (!Number.isSafeInteger(o.limitPerTask) || o.limitPerTask < 1))
    return bad('limitPerTask', `must be a positive whole number, got ${String(o.limitPerTask)}`);
  const s = o.inputShape;
  if (s !== undefined) {
    const side = (d: unknown) => Number.isSafeInteger(d) && (d as number) >= 1 && (d as number) <= 4096;
    if (!Array.isArray(s) || s.length !== 3 || !side(s[0]) || !side(s[1]) || (s[2] !== 1 && s[2] !== 3))
      return bad('inputShape', `must be [height, width, channels] with sides in 1..4096 and 1 or 3 channels, got ${JSON.stringify(s)}`);
  }
  return E.right(o);
};

/** The images of one class folder as inputs in [0, 1], `pixels` values each, one after another. */
interface Decoded {
  readonly data: Float32Array;
  readonly count: number;
}

interface DecodedAll {
  readonly shape: InputShape;
  /** Per root, per class. */
  readonly roots: readonly (readonly Decoded[])[];
  readonly images: number;
}

/** Files read ahead of the decoder. */
const readAhead = 16;

/** Every image file in order (roots, classes, files), with where its input goes. */
const jobsOf = (roots: readonly Root[]) =>
  roots.flatMap((r, ri) => r.classes.flatMap((c, ci) => c.files.map((file, fi) => ({ ri, ci, fi, file }))));

/**
 * Decodes every image once, in order (roots, classes, files), into its
 * resized [0, 1] input. Without a shape, the first image sets H×W and each
 * image is kept as RGB until every image is known to be grey or not.
 */
const decodeAll = (roots: readonly Root[], given: InputShape | undefined): TE.TaskEither<CpgError, DecodedAll> => {
  const run = async (): Promise<E.Either<CpgError, DecodedAll>> => {
    const jobs = jobsOf(roots);
    let shape: readonly [number, number, number] | undefined = given === undefined ? undefined : [given[0], given[1], given[2]];
    let grey = true;
    let stores: Float32Array[][] = [];
    for (let start = 0; start < jobs.length; start += readAhead) {
      const batch = jobs.slice(start, start + readAhead);
      const bytes = await Promise.all(batch.map((j) => readBytes(j.file)()));
      for (const [k, j] of batch.entries()) {
        const b = bytes[k]!;
        if (E.isLeft(b)) return b;
        const img = decodeImage(b.right, j.file);
        if (E.isLeft(img)) return img;
        if (shape === undefined) {
          const { width, height } = img.right;
          if (width > 4096 || height > 4096)
            return E.left(dataError(j.file, `is ${width}×${height}, the first image sets the input shape and sides above 4096 are refused: give inputShape`));
          shape = [height, width, 3];
        }
        if (stores.length === 0) {
          const pixels = shape[0] * shape[1] * shape[2];
          stores = roots.map((r) => r.classes.map((c) => new Float32Array(c.files.length * pixels)));
        }
        if (given === undefined && grey) grey = isGrey(img.right);
        const pixels = shape[0] * shape[1] * shape[2];
        stores[j.ri]![j.ci]!.set(toInput(img.right, shape), j.fi * pixels);
      }
    }
    if (shape === undefined) return E.left(dataError(roots[0]?.dir, noImages));
    const stored = shape[2];
    const final: InputShape = given ?? [shape[0], shape[1], grey ? 1 : 3];
    // All grey: keep one channel (toInput's luminance of a grey pixel is exactly its R value).
    const keep = (s: Float32Array): Float32Array => {
      if (final[2] === stored) return s;
      const out = new Float32Array(s.length / 3);
      for (let i = 0; i < out.length; i++) out[i] = s[i * 3]!;
      return out;
    };
    return E.right({
      shape: final,
      roots: stores.map((r, ri) => r.map((s, ci) => ({ data: keep(s), count: roots[ri]!.classes[ci]!.files.length }))),
      images: jobs.length,
    });
  };
  return pipe(TE.tryCatch(run, internalError), TE.chainEitherK(identity));
};

/** One class's images in one store, its label, and which of them go to each split. */
interface Cut {
  readonly store: Decoded;
  readonly label: number;
  readonly indices: Readonly<Record<Which, Int32Array>>;
}

/** Per-channel population mean and std of the training images' values (float64). */
const statsOf = (name: string, cuts: readonly Cut[], pixels: number, channels: number): E.Either<CpgError, Normalisation> => {
  const sum = new Float64Array(channels);
  let images = 0;
  for (const c of cuts)
    for (const i of c.indices.train) {
      const base = i * pixels;
      for (let j = 0; j < pixels; j += channels) for (let k = 0; k < channels; k++) sum[k] = sum[k]! + c.store.data[base + j + k]!;
      images++;
    }
  const n = (images * pixels) / channels;
  const mean = Array.from(sum, (s) => s / n);
  const sq = new Float64Array(channels);
  for (const c of cuts)
    for (const i of c.indices.train) {
      const base = i * pixels;
      for (let j = 0; j < pixels; j += channels)
        for (let k = 0; k < channels; k++) {
          const d = c.store.data[base + j + k]! - mean[k]!;
          sq[k] = sq[k]! + d * d;
        }
    }
  const std = Array.from(sq, (s) => Math.sqrt(s / n));
  const flat = std.findIndex((s) => !(s > 0));
  if (flat !== -1)
    return E.left(
      taskError(
        name,
        'normalisation',
        `channel ${flat} of the ${images} training image(s) is constant (${mean[flat]}): its standard deviation is 0, so it cannot be normalised; give a normalisation`,
      ),
    );
  return E.right({ mean, std });
};

/** A pool over one class's [0, 1] inputs, normalised per channel as they are written out. */
const normalisedPool = (store: Decoded, pixels: number, n: Normalisation): ClassPool => {
  const channels = n.mean.length;
  const mean = Float64Array.from(n.mean);
  const std = Float64Array.from(n.std);
  return {
    count: store.count,
    pixels,
    write: (i, out, offset) => {
      const base = i * pixels;
      for (let j = 0; j < pixels; j++) {
        const c = j % channels;
        out[offset + j] = (store.data[base + j]! - mean[c]!) / std[c]!;
      }
    },
  };
};

const all = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
const none = new Int32Array(0);

/** The folders of each split root and the layout. */
interface Layout {
  readonly layout: FolderTask['layout'];
  readonly roots: readonly Root[];
  readonly skipped: number;
}

const readLayout = (dir: string): TE.TaskEither<CpgError, Layout> =>
  pipe(
    TE.tryCatch(
      () => stat(dir),
      (e) => dataError(dir, fsReason(e)),
    ),
    TE.chain((s) => (s.isDirectory() ? entriesOf(dir) : TE.left(dataError(dir, 'is not a directory')))),
    TE.chain((entries): TE.TaskEither<CpgError, Layout> => {
      const dirs = entries.filter((e) => !isHidden(e.name) && e.kind === 'dir').map((e) => e.name);
      const splitsLayout = dirs.length === 3 && splitNames.every((n) => dirs.includes(n));
      if (!splitsLayout) return pipe(readRoot(dir, entries), TE.map((r) => ({ layout: 'classes' as const, roots: [r], skipped: r.skipped })));
      const topSkipped = entries.length - 3;
      return pipe(
        splitNames,
        TE.traverseSeqArray((which) => {
          const sub = join(dir, which);
          return pipe(entriesOf(sub), TE.chain((es) => readRoot(sub, es)));
        }),
        TE.map((roots) => ({ layout: 'splits' as const, roots, skipped: topSkipped + roots.reduce((a, r) => a + r.skipped, 0) })),
      );
    }),
  );

/** Checks the folders of the layout; returns the roots with val / test classes in train's order (undefined: absent). */
const checkLayout = (
  dir: string,
  layout: FolderTask['layout'],
  roots: readonly Root[],
  o: FolderOptions,
): E.Either<CpgError, readonly (readonly (ClassFiles | undefined)[])[]> => {
  const train = roots[0]!;
  const checked = checkClasses(train);
  if (E.isLeft(checked)) return checked;
  const total = roots.reduce((a, r) => a + r.classes.reduce((b, c) => b + c.files.length, 0), 0);
  if (total === 0) return E.left(dataError(dir, noImages));
  const filled = checkNonEmpty(train);
  if (E.isLeft(filled)) return filled;
  if (layout === 'classes') {
    if (o.valFraction === 0)
      return E.left(taskError(o.name, 'valFraction', 'is 0: validation images are cut from each class folder, so it must be above 0'));
    for (const c of train.classes) {
      const [tr, va] = trainValOf(c.files.length, o.valFraction, o.testFraction);
      if (tr < 1 || va < 1)
        return E.left(
          dataError(
            c.folder,
            `has ${c.files.length} image(s): with valFraction ${o.valFraction} and testFraction ${o.testFraction} a class needs at least ${fewestToSplit(o.valFraction, o.testFraction) ?? 'a million'} to keep one image in train and one in validation`,
          ),
        );
    }
    return E.right([train.classes]);
  }
  const names = train.classes.map((c) => c.name);
  const aligned: (ClassFiles | undefined)[][] = [train.classes.slice()];
  for (const r of roots.slice(1)) {
    const stranger = r.classes.find((c) => !names.includes(c.name));
    if (stranger !== undefined) return E.left(dataError(stranger.folder, `class '${stranger.name}' is not in ${join(dir, 'train')}`));
    const ok = checkNonEmpty(r);
    if (E.isLeft(ok)) return ok;
    aligned.push(names.map((n) => r.classes.find((c) => c.name === n)));
  }
  if (roots[1]!.classes.length === 0) return E.left(dataError(roots[1]!.dir, `${noImages}: validation images are needed`));
  return E.right(aligned);
};

/** Each class's stores and split indices, in either layout. */
const cutsOf = (o: FolderOptions, layout: FolderTask['layout'], classNames: readonly string[], decoded: DecodedAll): Cut[] => {
  const splitKey = (c: string) => rngFor(o.seed, `split/folder/${o.name}/${c}`);
  const train = decoded.roots[0]!;
  if (layout === 'classes') {
    const splits = train.map((s, i) => splitClass(s.count, o.valFraction, o.testFraction, splitKey(classNames[i]!)));
    const keep = allocateLimit(
      splits.map((s) => s.train.length),
      o.limitPerTask,
    );
    return train.map((store, label) => ({ store, label, indices: { ...splits[label]!, train: splits[label]!.train.subarray(0, keep[label]) } }));
  }
  // Splits given: a class has a store in each split; train keeps a seeded sample (in file order) under limitPerTask.
  const keep = allocateLimit(
    train.map((s) => s.count),
    o.limitPerTask,
  );
  return train.flatMap((store, label): Cut[] => {
    const k = keep[label]!;
    const chosen = k === store.count ? all(store.count) : splitKey(classNames[label]!).permutation(store.count).subarray(0, k).sort();
    const other = (which: 'val' | 'test', r: number): Cut => {
      const s = decoded.roots[r]![label]!;
      return { store: s, label, indices: { train: none, val: none, test: none, [which]: all(s.count) } };
    };
    return [{ store, label, indices: { train: chosen, val: none, test: none } }, other('val', 1), other('test', 2)];
  });
};

/** The roots in train's class order; a class missing from val / test has no files there. */
const inTrainOrder = (roots: readonly Root[], aligned: readonly (readonly (ClassFiles | undefined)[])[], classNames: readonly string[]): Root[] =>
  aligned.map((cs, r) => ({
    dir: roots[r]!.dir,
    classes: cs.map((c, i) => c ?? { name: classNames[i]!, folder: roots[r]!.dir, files: [] }),
    skipped: 0,
  }));

/** The task from its decoded images: cut into splits, normalised, checked. */
const taskFrom = (
  o: FolderOptions,
  layout: FolderTask['layout'],
  classNames: readonly string[],
  skipped: number,
  decoded: DecodedAll,
): E.Either<CpgError, FolderTask> => {
  const cuts = cutsOf(o, layout, classNames, decoded);
  const pixels = decoded.shape[0] * decoded.shape[1] * decoded.shape[2];
  const channels = decoded.shape[2];
  const norm = o.normalisation === undefined ? statsOf(o.name, cuts, pixels, channels) : E.map(() => o.normalisation!)(checkNormalisation(o.name, o.normalisation, channels));
  if (E.isLeft(norm)) return norm;
  const pools = cuts.map((c) => normalisedPool(c.store, pixels, norm.right));
  const split = (which: Which): Split =>
    assembleSplit(
      cuts.map((c, k): SplitPart => ({ pool: pools[k]!, label: c.label, indices: c.indices[which] })),
      pixels,
      rngFor(o.seed, `order/folder/${o.name}/${which}`),
    );
  const test = split('test');
  const task: Task = {
    name: o.name,
    classNames,
    inputShape: decoded.shape,
    train: split('train'),
    val: split('val'),
    ...(test.count > 0 ? { test } : {}),
    normalisation: norm.right,
    augmentation: 'none',
  };
  return pipe(
    // The name is judged where the task enters a model (a learner, `cpg learn`): here, the data.
    checkTaskData(task),
    E.map((t): FolderTask => ({ task: t, layout, images: decoded.images, skipped })),
  );
};

/**
 * Reads an image folder into a checked task. Classes are the sub-folders of
 * `dir` (of `dir/train` in the splits layout) in code-point order, label i the
 * i-th; files are PNG or JPEG by content, resized to the model's input.
 * Missing, unreadable or undecodable files and folders are DataErrors naming
 * them; a task that cannot be learned is a TaskError.
 */
export const readImageFolder = (dir: string, o: FolderOptions): TE.TaskEither<CpgError, FolderTask> =>
  pipe(
    TE.fromEither(checkOptions(o)),
    TE.chain(() => readLayout(dir)),
    TE.chain(({ layout, roots, skipped }) =>
      pipe(
        TE.fromEither(checkLayout(dir, layout, roots, o)),
        TE.chain((aligned) => {
          const classNames = roots[0]!.classes.map((c) => c.name);
          return pipe(
            decodeAll(inTrainOrder(roots, aligned, classNames), o.inputShape),
            TE.chainEitherK((decoded) => taskFrom(o, layout, classNames, skipped, decoded)),
          );
        }),
      ),
    ),
  );

/**
 * CIFAR-100 in its official binary format (`cifar-100-binary/`): `train.bin`
 * (50,000 records) and `test.bin` (10,000), each record 1 byte coarse label
 * (0..19), 1 byte fine label (0..99) and 3,072 bytes of pixels (1,024 R, then
 * G, then B, each a row-major 32×32 plane); optional `coarse_label_names.txt`
 * and `fine_label_names.txt` (one name a line).
 */
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { CpgError } from '../../algebra/errors.js';
import { dataError, exists, readBytes, readText } from './files.js';

/** Side of a CIFAR image. */
export const cifarSide = 32;
/** Bytes of one record: two labels and 3·32·32 pixels. */
export const cifarRecordBytes = 2 + 3 * cifarSide * cifarSide;
/** Number of coarse (superclass) labels. */
export const cifarCoarseCount = 20;
/** Number of fine labels. */
export const cifarFineCount = 100;

/** The coarse label names, in label order (used when coarse_label_names.txt is absent). */
export const cifarCoarseNames: readonly string[] = [
  'aquatic_mammals', 'fish', 'flowers', 'food_containers', 'fruit_and_vegetables', 'household_electrical_devices',
  'household_furniture', 'insects', 'large_carnivores', 'large_man-made_outdoor_things', 'large_natural_outdoor_scenes',
  'large_omnivores_and_herbivores', 'medium_mammals', 'non-insect_invertebrates', 'people', 'reptiles', 'small_mammals',
  'trees', 'vehicles_1', 'vehicles_2',
];

/** The fine label names, in label order (alphabetical; used when fine_label_names.txt is absent). */
export const cifarFineNames: readonly string[] = [
  'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle',
  'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle',
  'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur',
  'dolphin', 'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard',
  'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain',
  'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree',
  'plain', 'plate', 'poppy', 'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket',
  'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider',
  'squirrel', 'streetcar', 'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor',
  'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm',
];

/** One decoded binary file: the raw bytes and each record's labels. */
export interface CifarFile {
  readonly file: string;
  readonly bytes: Buffer;
  readonly count: number;
  readonly coarse: Uint8Array;
  readonly fine: Uint8Array;
}

/** Checks a binary file's size and labels. */
export const decodeCifarFile = (file: string, bytes: Buffer): E.Either<CpgError, CifarFile> => {
  if (bytes.length === 0) return E.left(dataError(file, 'is empty'));
  if (bytes.length % cifarRecordBytes !== 0)
    return E.left(
      dataError(file, `truncated or not CIFAR-100 binary: ${bytes.length} bytes is not a whole number of ${cifarRecordBytes}-byte records`),
    );
  const count = bytes.length / cifarRecordBytes;
  const coarse = new Uint8Array(count);
  const fine = new Uint8Array(count);
  for (let r = 0; r < count; r++) {
    const c = bytes[r * cifarRecordBytes]!;
    const f = bytes[r * cifarRecordBytes + 1]!;
    if (c >= cifarCoarseCount) return E.left(dataError(file, `record ${r}: coarse label ${c} out of range 0..${cifarCoarseCount - 1}`));
    if (f >= cifarFineCount) return E.left(dataError(file, `record ${r}: fine label ${f} out of range 0..${cifarFineCount - 1}`));
    coarse[r] = c;
    fine[r] = f;
  }
  return E.right({ file, bytes, count, coarse, fine });
};

/**
 * Which superclass each fine label belongs to (-1: unseen), as train.bin says;
 * a fine label under two superclasses, or one in test.bin that train.bin never
 * shows, is an error.
 */
export const fineToCoarse = (train: CifarFile, test: CifarFile): E.Either<CpgError, Int8Array> => {
  const map = new Int8Array(cifarFineCount).fill(-1);
  for (let r = 0; r < train.count; r++) {
    const f = train.fine[r]!;
    const c = train.coarse[r]!;
    if (map[f] === -1) map[f] = c;
    else if (map[f] !== c)
      return E.left(dataError(train.file, `record ${r}: fine label ${f} is under coarse label ${c}, earlier under ${map[f]}`));
  }
  for (let r = 0; r < test.count; r++) {
    const f = test.fine[r]!;
    if (map[f] === -1) return E.left(dataError(test.file, `record ${r}: fine label ${f} never occurs in ${train.file}`));
    if (map[f] !== test.coarse[r])
      return E.left(dataError(test.file, `record ${r}: fine label ${f} is under coarse label ${test.coarse[r]}, in ${train.file} under ${map[f]}`));
  }
  return E.right(map);
};

/** The directory holding train.bin: `dataPath` itself or its `cifar-100-binary/` subdirectory. */
export const locateCifar = (dataPath: string): TE.TaskEither<CpgError, string> =>
  pipe(
    exists(dataPath),
    TE.chain((there) => (there ? exists(join(dataPath, 'train.bin')) : TE.left(dataError(dataPath, 'CIFAR-100 directory not found')))),
    TE.chain((direct) =>
      direct
        ? TE.right(dataPath)
        : pipe(
            exists(join(dataPath, 'cifar-100-binary', 'train.bin')),
            TE.chain((nested) =>
              nested
                ? TE.right(join(dataPath, 'cifar-100-binary'))
                : pipe(
                    exists(join(dataPath, 'cifar-100-binary')),
                    // Name the file that is missing where the user has put the data.
                    TE.chain((hasDir) =>
                      TE.left(
                        hasDir
                          ? dataError(join(dataPath, 'cifar-100-binary', 'train.bin'), 'not found')
                          : dataError(join(dataPath, 'train.bin'), 'not found (expected the cifar-100-binary directory)'),
                      ),
                    ),
                  ),
            ),
          ),
    ),
  );

/** Label names from an optional file (one a line, blank lines ignored); `fallback` when the file is absent. */
export const readLabelNames = (file: string, fallback: readonly string[]): TE.TaskEither<CpgError, readonly string[]> =>
  pipe(
    exists(file),
    TE.chain((there) =>
      there
        ? pipe(
            readText(file),
            TE.chainEitherK((text) => {
              const names = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
              return names.length === fallback.length
                ? E.right(names)
                : E.left(dataError(file, `expected ${fallback.length} names, one a line, found ${names.length}`));
            }),
          )
        : TE.right(fallback),
    ),
  );

/** A CIFAR-100 directory, read and checked. */
export interface CifarData {
  readonly train: CifarFile;
  readonly test: CifarFile;
  readonly fineToCoarse: Int8Array;
  readonly coarseNames: readonly string[];
  readonly fineNames: readonly string[];
}

/** Reads and checks train.bin, test.bin and the optional name files under `dataPath`. */
export const readCifar = (dataPath: string): TE.TaskEither<CpgError, CifarData> =>
  pipe(
    locateCifar(dataPath),
    TE.chain((dir) => {
      const binary = (name: string) => {
        const file = join(dir, name);
        return pipe(readBytes(file), TE.chainEitherK((b) => decodeCifarFile(file, b)));
      };
      return pipe(
        TE.Do,
        TE.bind('train', () => binary('train.bin')),
        TE.bind('test', () => binary('test.bin')),
        TE.bind('fineToCoarse', ({ train, test }) => TE.fromEither(fineToCoarse(train, test))),
        TE.bind('coarseNames', () => readLabelNames(join(dir, 'coarse_label_names.txt'), cifarCoarseNames)),
        TE.bind('fineNames', () => readLabelNames(join(dir, 'fine_label_names.txt'), cifarFineNames)),
      );
    }),
  );

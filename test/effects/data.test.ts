import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as E from 'fp-ts/lib/Either.js';
import type { CpgError } from '../../src/algebra/errors.js';
import { rngFor } from '../../src/effects/random.js';
import {
  augmentBatch,
  batchIndices,
  type Benchmark,
  type DataOptions,
  fashionClassNames,
  gather,
  loadBenchmark,
  mnistStats,
  permutationFor,
  readDigits,
  readFashionClasses,
  type Split,
  cifarStats,
} from '../../src/node/data/index.js';

const right = <A>(r: E.Either<CpgError, A>): A => {
  if (r._tag === 'Left') assert.fail(`expected Right, got ${JSON.stringify(r.left)}`);
  return r.right;
};
const left = <A>(r: E.Either<CpgError, A>): CpgError => {
  assert.equal(r._tag, 'Left', 'expected an error value');
  return (r as E.Left<CpgError>).left;
};
const dataErrorAbout = (e: CpgError, file: RegExp, message: RegExp): void => {
  assert.equal(e.tag, 'DataError', JSON.stringify(e));
  if (e.tag !== 'DataError') return;
  assert.match(e.file ?? '', file, JSON.stringify(e));
  assert.match(e.message, message, JSON.stringify(e));
};

const load = async (o: Partial<DataOptions> & Pick<DataOptions, 'benchmark'>): Promise<Benchmark> =>
  right(await loadBenchmark({ seed: 1, valFraction: 0.1, testFraction: 0.2, ...o })());

/** Image `n` of a split as a string key (exact content). */
const key = (s: Split, n: number, pixels: number): string =>
  Buffer.from(s.x.buffer, s.x.byteOffset + n * pixels * 4, pixels * 4).toString('base64');
const keys = (s: Split, pixels: number): string[] => Array.from({ length: s.count }, (_, n) => key(s, n, pixels));
const labelCounts = (s: Split, classes: number): number[] => {
  const c = new Array<number>(classes).fill(0);
  for (const y of s.y) c[y] = c[y]! + 1;
  return c;
};
const tempDir = () => mkdtemp(join(tmpdir(), 'cpg-data-test-'));

// ---------------------------------------------------------------- MNIST

test('the mnist package yields 10,000 real digits, 784 pixels in [0, 1] each', async () => {
  const digits = right(await readDigits([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])());
  const counts = digits.map((d) => d.length / 784);
  assert.ok(counts.every((c) => Number.isInteger(c) && c > 800 && c < 1200), `${counts}`);
  assert.equal(counts.reduce((a, b) => a + b, 0), 10000);
  for (const d of digits) for (const v of d) assert.ok(v >= 0 && v <= 1);
  // Real digits: a "1" lights fewer pixels than a "0" on average.
  const ink = (d: Float32Array) => d.reduce((a, b) => a + b, 0) / (d.length / 784);
  assert.ok(ink(digits[1]!) < ink(digits[0]!));
});

test('split MNIST: five two-digit tasks, stratified, disjoint, correctly labelled and normalised', async () => {
  const digits = right(await readDigits([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])());
  const b = await load({ benchmark: 'split-mnist' });
  assert.deepEqual(b.inputShape, [28, 28, 1]);
  assert.equal(b.augmentation, 'none');
  assert.deepEqual(b.tasks.map((t) => t.name), ['digits-0-1', 'digits-2-3', 'digits-4-5', 'digits-6-7', 'digits-8-9']);
  // Every pool image, normalised the same way, keyed by its digit.
  const digitOf = new Map<string, number>();
  digits.forEach((d, digit) => {
    const x = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) x[i] = (d[i]! - mnistStats.mean) / mnistStats.std;
    const s: Split = { x, y: new Int32Array(d.length / 784), count: d.length / 784 };
    for (const k of keys(s, 784)) digitOf.set(k, digit);
  });
  b.tasks.forEach((t, ti) => {
    assert.equal(t.classNames.length, 2);
    assert.deepEqual(t.classNames, [`${2 * ti}`, `${2 * ti + 1}`]);
    const seen = new Set<string>();
    for (const [which, s] of [['train', t.train], ['val', t.val], ['test', t.test]] as const) {
      assert.equal(s.x.length, s.count * 784);
      assert.equal(s.y.length, s.count);
      const ks = keys(s, 784);
      ks.forEach((k, n) => {
        assert.equal(digitOf.get(k), 2 * ti + s.y[n]!, `${t.name}/${which} image ${n} is not the digit its label says`);
        assert.ok(!seen.has(k), `${t.name}: an image is in two splits`);
        seen.add(k);
      });
      // Stratified: each class contributes its share of its own pool.
      const counts = labelCounts(s, 2);
      [0, 1].forEach((label) => {
        const n = digits[2 * ti + label]!.length / 784;
        const want = which === 'test' ? Math.round(n * 0.2) : which === 'val' ? Math.round(n * 0.1) : n - Math.round(n * 0.2) - Math.round(n * 0.1);
        assert.equal(counts[label], want, `${t.name}/${which} class ${label}`);
      });
    }
    assert.equal(seen.size, (digits[2 * ti]!.length + digits[2 * ti + 1]!.length) / 784, 'every image used once');
  });
});

test('splits are a function of the seed; tasks loads a prefix; limitPerTask caps training, stratified', async () => {
  const a = await load({ benchmark: 'split-mnist', tasks: 2 });
  const again = await load({ benchmark: 'split-mnist', tasks: 2 });
  const other = await load({ benchmark: 'split-mnist', tasks: 2, seed: 2 });
  const full = await load({ benchmark: 'split-mnist' });
  assert.equal(a.tasks.length, 2);
  a.tasks.forEach((t, i) => {
    assert.deepEqual(t.train.x, again.tasks[i]!.train.x);
    assert.deepEqual(t.test.y, again.tasks[i]!.test.y);
    assert.deepEqual(t.val.x, full.tasks[i]!.val.x, 'a prefix of tasks splits like the full benchmark');
    const mine = new Set(keys(t.test, 784));
    const theirs = keys(other.tasks[i]!.test, 784);
    assert.ok(theirs.some((k) => !mine.has(k)), 'another seed draws another test set');
  });
  const limited = await load({ benchmark: 'split-mnist', tasks: 2, limitPerTask: 101 });
  limited.tasks.forEach((t, i) => {
    const base = a.tasks[i]!;
    assert.equal(t.train.count, 101);
    const [n0, n1] = labelCounts(base.train, 2) as [number, number];
    const [l0, l1] = labelCounts(t.train, 2) as [number, number];
    assert.ok(Math.abs(l0 - (101 * n0) / (n0 + n1)) < 1 && l0 + l1 === 101, `${l0}/${l1} vs ${n0}/${n1}`);
    const pool = new Set(keys(base.train, 784));
    assert.ok(keys(t.train, 784).every((k) => pool.has(k)), 'limited train ⊂ train');
    assert.deepEqual(t.val.x, base.val.x);
    assert.deepEqual(t.test.x, base.test.x);
  });
});

test('permuted MNIST: task 1 plain, task t a seeded permutation of the same images', async () => {
  const b = await load({ benchmark: 'permuted-mnist', tasks: 3, limitPerTask: 500 });
  assert.deepEqual(b.tasks.map((t) => t.name), ['permuted-1', 'permuted-2', 'permuted-3']);
  const perms = [1, 2, 3].map((t) => permutationFor(1, t));
  for (const p of perms) assert.deepEqual(Int32Array.from(p).sort(), Int32Array.from({ length: 784 }, (_, i) => i));
  assert.ok(perms[0]!.every((v, i) => v === i));
  assert.ok(!perms[1]!.every((v, i) => v === i));
  assert.notDeepEqual(perms[1], perms[2]);
  assert.notDeepEqual(permutationFor(2, 2), perms[1], 'the seed matters');
  assert.deepEqual(permutationFor(1, 2), perms[1], 'and determines it');
  const plain = b.tasks[0]!;
  assert.equal(plain.classNames.length, 10);
  assert.deepEqual(labelCounts(plain.test, 10).map((c) => c > 150), new Array(10).fill(true));
  b.tasks.forEach((t, ti) => {
    for (const which of ['train', 'val', 'test'] as const) {
      const s = t[which];
      const s1 = plain[which];
      assert.deepEqual(s.y, s1.y);
      const p = perms[ti]!;
      for (let n = 0; n < s.count; n += 37)
        for (let j = 0; j < 784; j++) assert.equal(s.x[n * 784 + j], s1.x[n * 784 + p[j]!]);
    }
  });
});

// ---------------------------------------------------------------- Fashion-MNIST

test('Fashion-MNIST classes: parsed once, then read from a validated cache that is rebuilt when corrupt', async () => {
  const cacheDir = await tempDir();
  try {
    // A first choice that cannot be a directory (it is under a file): the entry falls back to the second.
    await writeFile(join(cacheDir, 'plain-file'), '');
    const blocked = join(cacheDir, 'plain-file', 'cache');
    const t0 = performance.now();
    const cold = right(await readFashionClasses([5], { cacheDirs: [blocked, cacheDir] })())[0]!;
    const t1 = performance.now();
    const warm = right(await readFashionClasses([5], { cacheDirs: [cacheDir] })())[0]!;
    const t2 = performance.now();
    console.log(`# fashion-mnist class 5: JSON ${Math.round(t1 - t0)} ms, cache ${Math.round(t2 - t1)} ms`);
    assert.ok(cold.count > 6900 && cold.count <= 7000, `${cold.count}`);
    assert.equal(cold.data.length, cold.count * 784);
    const distinct = new Set<string>();
    for (let i = 0; i < cold.count; i++) distinct.add(Buffer.from(cold.data.subarray(i * 784, (i + 1) * 784)).toString('latin1'));
    assert.equal(distinct.size, cold.count, 'repeated images are kept once');
    assert.deepEqual(warm.data, cold.data);
    const [entry, ...others] = (await readdir(cacheDir)).filter((f) => f !== 'plain-file');
    assert.ok(entry !== undefined && others.length === 0, 'one entry, in the fallback directory');
    const file = join(cacheDir, entry);
    // Flip one payload byte: the entry must be rejected and rebuilt.
    const bytes = await readFile(file);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
    await writeFile(file, bytes);
    const afterFlip = right(await readFashionClasses([5], { cacheDirs: [cacheDir] })())[0]!;
    assert.deepEqual(afterFlip.data, cold.data);
    assert.notDeepEqual(await readFile(file), bytes, 'the corrupt entry was rewritten');
    await writeFile(file, bytes.subarray(0, 1000)); // truncated
    assert.deepEqual(right(await readFashionClasses([5], { cacheDirs: [cacheDir] })())[0]!.data, cold.data);
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
});

test('split Fashion-MNIST: the first task loads alone, stratified and disjoint', async () => {
  const b = await load({ benchmark: 'split-fmnist', tasks: 1 });
  assert.equal(b.tasks.length, 1);
  const t = b.tasks[0]!;
  assert.equal(t.name, 'tshirt-trouser');
  assert.deepEqual(t.classNames, [fashionClassNames[0], fashionClassNames[1]]);
  assert.deepEqual(t.classNames, ['T-shirt/top', 'Trouser']);
  const seen = new Set<string>();
  for (const s of [t.train, t.val, t.test]) {
    const c = labelCounts(s, 2);
    assert.ok(Math.abs(c[0]! - c[1]!) <= 0.01 * s.count, `balanced: ${c}`);
    for (const k of keys(s, 784)) {
      assert.ok(!seen.has(k), 'an image is in two splits');
      seen.add(k);
    }
    for (const v of s.x) assert.ok(v >= -0.2860 / 0.353 - 1e-5 && v <= (1 - 0.286) / 0.353 + 1e-5);
  }
  assert.ok(Math.abs(t.test.count / seen.size - 0.2) < 0.001 && Math.abs(t.val.count / seen.size - 0.1) < 0.001);
});

// ---------------------------------------------------------------- CIFAR-100

const record = 3074;
/** Fine label f belongs to superclass coarseOf(f): 5 fines per superclass, not in label order. */
const coarseOf = (f: number) => (f * 7) % 20;
/** The byte a test file holds for (record r, channel c, position p): the first two spell r, so records differ. */
const pixel = (r: number, c: number, p: number) => (p === 0 ? r & 255 : p === 1 ? r >> 8 : (r * 31 + c * 101 + p * 7) % 256);
const cifarFile = (labels: readonly (readonly [number, number])[]): Buffer => {
  const b = Buffer.alloc(labels.length * record);
  labels.forEach(([c, f], r) => {
    b[r * record] = c;
    b[r * record + 1] = f;
    for (let ch = 0; ch < 3; ch++) for (let p = 0; p < 1024; p++) b[r * record + 2 + ch * 1024 + p] = pixel(r, ch, p);
  });
  return b;
};
const fines = Array.from({ length: 100 }, (_, f) => f);
/** A small CIFAR-100 in the official format: 4 training and 2 test images per fine class. */
const writeCifar = async (dir: string): Promise<void> => {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'train.bin'), cifarFile([0, 1, 2, 3].flatMap(() => fines.map((f) => [coarseOf(f), f] as const))));
  await writeFile(join(dir, 'test.bin'), cifarFile([0, 1].flatMap(() => fines.map((f) => [coarseOf(f), f] as const))));
  await writeFile(join(dir, 'fine_label_names.txt'), fines.map((f) => `fine${f}`).join('\n') + '\n\n');
};

test('CIFAR-100: superclass tasks of 5 fine classes, NHWC, normalised per channel, test = test.bin', async () => {
  const root = await tempDir();
  try {
    const dir = join(root, 'cifar-100-binary');
    await writeCifar(dir);
    const b = await load({ benchmark: 'cifar100', dataPath: root, valFraction: 0.25 }); // the parent directory is accepted too
    assert.deepEqual(b.inputShape, [32, 32, 3]);
    assert.equal(b.augmentation, 'crop-flip');
    assert.equal(b.tasks.length, 20);
    assert.equal(b.tasks[0]!.name, 'aquatic_mammals');
    assert.equal(b.tasks[19]!.name, 'vehicles_2');
    // Pixel bytes identify their record; which records exist per fine class is known.
    const fineByPixels = async (file: string) => {
      const bytes = await readFile(join(dir, file));
      const m = new Map<string, number>();
      for (let r = 0; r < bytes.length / record; r++)
        m.set(bytes.subarray(r * record + 2, (r + 1) * record).toString('base64'), bytes[r * record + 1]!);
      return m;
    };
    const trainFine = await fineByPixels('train.bin');
    const testFine = await fineByPixels('test.bin');
    /** Image n of a split back in CIFAR's planar bytes, undoing NHWC and the per-channel normalisation. */
    const planar = (s: Split, n: number): string => {
      const b = Buffer.alloc(3072);
      for (let p = 0; p < 1024; p++)
        for (let c = 0; c < 3; c++) {
          const v = (s.x[n * 3072 + p * 3 + c]! * cifarStats.std[c]! + cifarStats.mean[c]!) * 255;
          assert.ok(Math.abs(v - Math.round(v)) < 1e-3, 'normalised with the CIFAR-100 channel statistics');
          b[c * 1024 + p] = Math.round(v);
        }
      return b.toString('base64');
    };
    b.tasks.forEach((t, k) => {
      const mine = fines.filter((f) => coarseOf(f) === k);
      assert.equal(t.classNames.length, 5);
      assert.deepEqual(t.classNames, mine.map((f) => `fine${f}`));
      assert.deepEqual([t.train.count, t.val.count, t.test.count], [15, 5, 10]);
      assert.deepEqual(labelCounts(t.val, 5), [1, 1, 1, 1, 1]);
      assert.deepEqual(labelCounts(t.test, 5), [2, 2, 2, 2, 2]);
      const seen = new Set<string>();
      for (const [s, from] of [[t.train, trainFine], [t.val, trainFine], [t.test, testFine]] as const)
        for (let n = 0; n < s.count; n++) {
          const key = planar(s, n);
          assert.equal(from.get(key), mine[s.y[n]!], `${t.name}: image ${n} is not a record of its labelled fine class`);
          assert.ok(!seen.has(key + (from === testFine ? 'test' : 'train')), 'an image is in two splits');
          seen.add(key + (from === testFine ? 'test' : 'train'));
        }
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('CIFAR-100: missing, truncated and malformed files are refused, naming the file', async () => {
  const root = await tempDir();
  const o = (dataPath: string) => loadBenchmark({ benchmark: 'cifar100', seed: 1, valFraction: 0.1, testFraction: 0, dataPath, tasks: 1 })();
  try {
    await writeCifar(root);
    right(await o(root));
    dataErrorAbout(left(await loadBenchmark({ benchmark: 'cifar100', seed: 1, valFraction: 0.1, testFraction: 0 })()), /^$/, /dataPath/);
    dataErrorAbout(left(await o(join(root, 'nowhere'))), /nowhere$/, /not found/);
    const train = await readFile(join(root, 'train.bin'));
    await writeFile(join(root, 'train.bin'), train.subarray(0, train.length - 1));
    dataErrorAbout(left(await o(root)), /train\.bin$/, /whole number of 3074-byte records/);
    const badCoarse = Buffer.from(train);
    badCoarse[5 * record] = 20;
    await writeFile(join(root, 'train.bin'), badCoarse);
    dataErrorAbout(left(await o(root)), /train\.bin$/, /record 5: coarse label 20 out of range/);
    const badFine = Buffer.from(train);
    badFine[7 * record + 1] = 100;
    await writeFile(join(root, 'train.bin'), badFine);
    dataErrorAbout(left(await o(root)), /train\.bin$/, /record 7: fine label 100 out of range/);
    const moved = Buffer.from(train);
    moved[record * 150] = (coarseOf(moved[record * 150 + 1]!) + 1) % 20;
    await writeFile(join(root, 'train.bin'), moved);
    dataErrorAbout(left(await o(root)), /train\.bin$/, /record 150: fine label \d+ is under coarse label/);
    await writeFile(join(root, 'train.bin'), train);
    await rm(join(root, 'test.bin'));
    dataErrorAbout(left(await o(root)), /test\.bin$/, /not found/);
    await writeCifar(root);
    await writeFile(join(root, 'coarse_label_names.txt'), 'a\nb\n');
    dataErrorAbout(left(await o(root)), /coarse_label_names\.txt$/, /expected 20 names/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- malformed JSON sources, options

test('malformed MNIST and Fashion-MNIST files are refused, naming the file', async () => {
  const dir = await tempDir();
  try {
    const digit = async (text: string) => {
      await writeFile(join(dir, '0.json'), text);
      return left(await readDigits([0], dir)());
    };
    dataErrorAbout(await digit('{"data": [0, 0.5'), /0\.json$/, /bad JSON/);
    dataErrorAbout(await digit(JSON.stringify({ data: new Array(783).fill(0) })), /0\.json$/, /wrong pixel count/);
    dataErrorAbout(await digit(JSON.stringify({ data: [...new Array(783).fill(0), 2] })), /0\.json$/, /pixel 783.*\[0, 1\]/);
    dataErrorAbout(await digit(JSON.stringify([1, 2])), /0\.json$/, /'data' array/);
    dataErrorAbout(left(await readDigits([3], dir)()), /3\.json$/, /not found/);
    const cloth = async (rows: unknown) => {
      await writeFile(join(dir, '0.json'), JSON.stringify({ data: rows }));
      return left(await readFashionClasses([0], { dir, cacheDirs: [join(dir, 'cache')] })());
    };
    dataErrorAbout(await cloth([new Array(784).fill(0), new Array(700).fill(0)]), /0\.json$/, /image 1: wrong pixel count 700/);
    dataErrorAbout(await cloth([[...new Array(783).fill(0), 256]]), /0\.json$/, /pixel 783.*0\.\.255/);
    dataErrorAbout(await cloth([]), /0\.json$/, /no images/);
    // The two empty separator rows the real package has are skipped; repeats kept once.
    await writeFile(join(dir, '0.json'), JSON.stringify({ data: [[], new Array(784).fill(1), new Array(784).fill(1), new Array(784).fill(2)] }));
    assert.equal(right(await readFashionClasses([0], { dir, cacheDirs: [join(dir, 'cache')] })())[0]!.count, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bad options are ConfigErrors naming the field', async () => {
  const field = async (o: Partial<DataOptions>) => {
    const e = left(await loadBenchmark({ benchmark: 'split-mnist', seed: 1, valFraction: 0.1, testFraction: 0.2, ...o })());
    assert.equal(e.tag, 'ConfigError');
    return e.tag === 'ConfigError' ? e.field : '';
  };
  assert.equal(await field({ valFraction: 1 }), 'valFraction');
  assert.equal(await field({ testFraction: -0.1 }), 'testFraction');
  assert.equal(await field({ valFraction: 0.5, testFraction: 0.5 }), 'testFraction');
  assert.equal(await field({ tasks: 6 }), 'tasks');
  assert.equal(await field({ tasks: 0 }), 'tasks');
  assert.equal(await field({ limitPerTask: 0 }), 'limitPerTask');
  assert.equal(await field({ seed: Number.NaN }), 'seed');
  assert.equal(await field({ benchmark: 'imagenet' as never }), 'benchmark');
});

// ---------------------------------------------------------------- batches

test('batchIndices covers every index once; shuffled by the rng, ordered without', () => {
  const ordered = batchIndices(10, 4, undefined);
  assert.deepEqual(ordered.map((b) => [...b]), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  const shuffled = batchIndices(1000, 64, rngFor(3, 'batches'));
  assert.equal(shuffled.length, 16);
  assert.ok(shuffled.slice(0, -1).every((b) => b.length === 64));
  const all = shuffled.flatMap((b) => [...b]);
  assert.deepEqual([...all].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  assert.notDeepEqual(all, Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(batchIndices(1000, 64, rngFor(3, 'batches')), shuffled);
  assert.deepEqual(batchIndices(0, 8, undefined), []);
});

test('gather copies the chosen images and labels', () => {
  const s: Split = { x: Float32Array.from({ length: 5 * 3 }, (_, i) => i), y: Int32Array.from([10, 11, 12, 13, 14]), count: 5 };
  const g = gather(s, Int32Array.from([4, 0, 4]), 3);
  assert.deepEqual([...g.x], [12, 13, 14, 0, 1, 2, 12, 13, 14]);
  assert.deepEqual([...g.y], [14, 10, 14]);
});

test('augmentBatch: each image a 4-padded random crop, sometimes mirrored; seeded', () => {
  const shape = [6, 5, 2] as const;
  const px = 6 * 5 * 2;
  const count = 200;
  const x = Float32Array.from({ length: count * px }, (_, i) => 1 + (i % 997));
  const out = augmentBatch(x, count, shape, rngFor(9, 'augment'));
  assert.deepEqual(augmentBatch(x, count, shape, rngFor(9, 'augment')), out);
  // Reference: pad by 4 with zeros, crop at (4+dy, 4+dx), then mirror.
  const variant = (n: number, dy: number, dx: number, flip: boolean): Float32Array => {
    const v = new Float32Array(px);
    for (let r = 0; r < 6; r++)
      for (let c = 0; c < 5; c++) {
        const cc = flip ? 4 - c : c;
        const [sr, sc] = [r + dy, cc + dx];
        if (sr >= 0 && sr < 6 && sc >= 0 && sc < 5) for (let ch = 0; ch < 2; ch++) v[(r * 5 + c) * 2 + ch] = x[n * px + (sr * 5 + sc) * 2 + ch]!;
      }
    return v;
  };
  const used = new Set<string>();
  for (let n = 0; n < count; n++) {
    const got = out.subarray(n * px, (n + 1) * px);
    let found = '';
    for (let dy = -4; dy <= 4 && found === ''; dy++)
      for (let dx = -4; dx <= 4 && found === ''; dx++)
        for (const flip of [false, true]) if (found === '' && variant(n, dy, dx, flip).every((v, i) => v === got[i])) found = `${dy},${dx},${flip}`;
    assert.notEqual(found, '', `image ${n} is not a padded crop / flip of its input`);
    used.add(found);
  }
  assert.ok(used.size > 50, `crops and flips vary: ${used.size} distinct`);
  assert.ok([...used].some((u) => u.endsWith('true')) && [...used].some((u) => u.endsWith('false')));
});

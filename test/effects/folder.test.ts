import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import type { CpgError } from '../../src/algebra/errors.js';
import type { Split } from '../../src/algebra/task.js';
import { decodeImage, imageDecoder, type PngLibrary, type RawImage } from '../../src/effects/images/decode.js';
import { isGrey, toInput } from '../../src/effects/images/resize.js';
import { type FolderOptions, type FolderTask, readImageFolder } from '../../src/node/sources/folder.js';

const { PNG } = pngjs;
type Rgba = readonly [number, number, number, number];
type Pixel = (x: number, y: number) => Rgba;

const rgbaOf = (w: number, h: number, f: Pixel): Uint8Array => {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 4);
  return data;
};
const raw = (w: number, h: number, f: Pixel): RawImage => ({ width: w, height: h, data: rgbaOf(w, h, f) });

/** A PNG file (8-bit RGBA unless colorType says otherwise; input pixels are RGBA). */
const png = (w: number, h: number, f: Pixel, colorType: 0 | 2 | 4 | 6 = 6): Buffer => {
  const p = new PNG({ width: w, height: h });
  p.data.set(rgbaOf(w, h, f));
  return PNG.sync.write(p, { colorType, inputColorType: 6 });
};
/** A 16-bit RGBA PNG of the given 16-bit samples. */
const png16 = (w: number, h: number, samples: Uint16Array): Buffer =>
  PNG.sync.write({ width: w, height: h, data: Buffer.from(samples.buffer) } as unknown as InstanceType<typeof PNG>, {
    bitDepth: 16,
    colorType: 6,
    inputColorType: 6,
  });
const jpg = (w: number, h: number, f: Pixel, quality = 90): Buffer => jpeg.encode({ width: w, height: h, data: rgbaOf(w, h, f) }, quality).data;

const grey =
  (v: number): Pixel =>
  () => [v, v, v, 255];

const root = await mkdtemp(join(tmpdir(), 'cpg-folder-'));
after(async () => {
  await rm(root, { recursive: true, force: true });
});
let dirs = 0;
/** A fresh folder holding `files` (relative path → bytes or text). */
const folder = async (files: Readonly<Record<string, Uint8Array | string>>): Promise<string> => {
  const dir = join(root, `case-${dirs++}`);
  await mkdir(dir, { recursive: true });
  for (const [rel, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), bytes);
  }
  return dir;
};

const base: FolderOptions = { name: 'folder', seed: 1, valFraction: 0.5, testFraction: 0.1 };
const identityNorm = (c: number) => ({ mean: Array(c).fill(0) as number[], std: Array(c).fill(1) as number[] });
const read = (dir: string, o: Partial<FolderOptions> = {}): Promise<E.Either<CpgError, FolderTask>> => readImageFolder(dir, { ...base, ...o })();
const right = <A>(r: E.Either<CpgError, A>): A => {
  if (E.isLeft(r)) assert.fail(`expected Right, got ${JSON.stringify(r.left)}`);
  return r.right;
};
const refused = (r: E.Either<CpgError, unknown>, tag: CpgError['tag'], where: string | RegExp, message: RegExp): CpgError => {
  assert.ok(E.isLeft(r), 'expected a Left');
  const e = r.left;
  assert.equal(e.tag, tag, JSON.stringify(e));
  const at = e.tag === 'DataError' ? e.file : e.tag === 'TaskError' ? e.field : undefined;
  if (typeof where === 'string') assert.equal(at, where, JSON.stringify(e));
  else assert.match(at ?? '', where, JSON.stringify(e));
  assert.match(e.message, message, JSON.stringify(e));
  assert.ok(!e.message.includes('\n'), 'one line');
  return e;
};

/** n files `<cls>/<i>.png`, image i of class c a constant grey `value(c, i)`. */
const classFiles = (classes: readonly string[], n: number, value: (c: number, i: number) => number, side = 4): Record<string, Buffer> =>
  Object.fromEntries(classes.flatMap((cls, c) => Array.from({ length: n }, (_, i) => [`${cls}/${String(i).padStart(3, '0')}.png`, png(side, side, grey(value(c, i)))])));

/** The first value of each input of a split. */
const firstValues = (s: Split, pixels: number): number[] => Array.from({ length: s.count }, (_, i) => s.x[i * pixels]!);

test('classes are the sub-folders in code-point order, label i the i-th; every split holds each class', async () => {
  // UTF-16 order would put the emoji (a surrogate pair) before the fullwidth A; code-point order puts it last.
  const names = ['b', 'a', 'Z', 'é', '\u{1F600}', '\uFF21'];
  const dir = await folder(classFiles(names, 10, (c) => 20 + 30 * c));
  const r = right(await read(dir, { normalisation: identityNorm(1) }));
  assert.deepEqual(r.task.classNames, ['Z', 'a', 'b', 'é', '\uFF21', '\u{1F600}']);
  assert.equal(r.layout, 'classes');
  assert.equal(r.images, 60);
  assert.deepEqual(r.task.inputShape, [4, 4, 1]);
  for (const s of [r.task.train, r.task.val, r.task.test!])
    for (let i = 0; i < s.count; i++) {
      const name: string = r.task.classNames[s.y[i]!]!;
      assert.equal(s.x[i * 16], Math.fround((20 + 30 * names.indexOf(name)) / 255), `${name} labelled ${s.y[i]}`);
    }
  // 10 a class: 1 test, 5 val, 4 train.
  assert.deepEqual([r.task.train.count, r.task.val.count, r.task.test!.count], [24, 30, 6]);
  assert.equal(r.task.augmentation, 'none');
});

test('hidden entries and non-image files are skipped and counted; extensions in any case; format by content', async () => {
  const files: Record<string, Uint8Array | string> = {
    ...classFiles(['cat', 'dog'], 10, (c) => 60 + 100 * c),
    'cat/.DS_Store': 'junk',
    'cat/notes.txt': 'not an image',
    'cat/.hidden/inside.png': 'never read: hidden folders are not entered',
    'cat/sub/deeper/UPPER.PNG': png(4, 4, grey(60)),
    'dog/photo.JPEG': jpg(4, 4, grey(160)),
    'dog/disguised.png': jpg(4, 4, grey(160)), // a JPEG named .png
    'README.md': 'top-level files belong to no class',
    '.git/config': 'hidden folder at the top',
  };
  const dir = await folder(files);
  const r = right(await read(dir));
  assert.deepEqual(r.task.classNames, ['cat', 'dog']);
  assert.equal(r.images, 23);
  assert.equal(r.skipped, 5); // .DS_Store, notes.txt, .hidden, README.md, .git
});

test('splits layout: train/ val/ test/ hold class folders; classes come from train/; test may lack a class or be empty', async () => {
  const dir = await folder({
    ...Object.fromEntries(Object.entries(classFiles(['x', 'y'], 3, (c) => 40 + 100 * c)).map(([k, v]) => [`train/${k}`, v])),
    ...Object.fromEntries(Object.entries(classFiles(['x', 'y'], 5, (c) => 40 + 100 * c)).map(([k, v]) => [`val/${k}`, v])),
    ...Object.fromEntries(Object.entries(classFiles(['y'], 2, () => 140)).map(([k, v]) => [`test/${k}`, v])),
    'train/.hidden.png': 'skipped',
  });
  const r = right(await read(dir, { valFraction: 0, testFraction: 0, normalisation: identityNorm(1) }));
  assert.equal(r.layout, 'splits');
  assert.deepEqual(r.task.classNames, ['x', 'y']);
  assert.deepEqual([r.task.train.count, r.task.val.count, r.task.test?.count], [6, 10, 2]);
  assert.deepEqual(Array.from(r.task.test!.y), [1, 1]);
  assert.equal(r.skipped, 1);
  for (const s of [r.task.train, r.task.val, r.task.test!])
    for (let i = 0; i < s.count; i++) assert.equal(s.x[i * 16], Math.fround((40 + 100 * s.y[i]!) / 255));
  // limitPerTask takes a seeded sample of train only.
  const capped = right(await read(dir, { valFraction: 0, testFraction: 0, limitPerTask: 4 }));
  assert.deepEqual([capped.task.train.count, capped.task.val.count], [4, 10]);

  const noTest = await folder({
    ...Object.fromEntries(Object.entries(classFiles(['x', 'y'], 3, (c, i) => 40 + 100 * c + i)).map(([k, v]) => [`train/${k}`, v])),
    ...Object.fromEntries(Object.entries(classFiles(['x', 'y'], 5, (c, i) => 40 + 100 * c + i)).map(([k, v]) => [`val/${k}`, v])),
    'test/.keep': '',
  });
  const t = right(await read(noTest));
  assert.equal(t.layout, 'splits');
  assert.equal(t.task.test, undefined);

  const stranger = await folder({
    ...Object.fromEntries(Object.entries(classFiles(['x', 'y'], 3, (c) => 40 + 100 * c)).map(([k, v]) => [`train/${k}`, v])),
    ...Object.fromEntries(Object.entries(classFiles(['x', 'y', 'z'], 5, (c) => 40 + 100 * c)).map(([k, v]) => [`val/${k}`, v])),
    'test/.keep': '',
  });
  refused(await read(stranger), 'DataError', join(stranger, 'val', 'z'), /class 'z' is not in .*train/);
});

test('the seeded split is the same twice and differs with the seed; testFraction 0 leaves test out', async () => {
  const dir = await folder(classFiles(['a', 'b'], 20, (c, i) => 10 * c + i + 1));
  const ids = (s: Split) => firstValues(s, 16).map((v) => Math.round(v * 255));
  const one = right(await read(dir, { seed: 7, normalisation: identityNorm(1) }));
  const again = right(await read(dir, { seed: 7, normalisation: identityNorm(1) }));
  const other = right(await read(dir, { seed: 8, normalisation: identityNorm(1) }));
  assert.deepEqual(again.task, one.task);
  assert.notDeepEqual(new Set(ids(other.task.train)), new Set(ids(one.task.train)));
  // Every image lands in exactly one split.
  const all = [...ids(one.task.train), ...ids(one.task.val), ...ids(one.task.test!)].sort((a, b) => a - b);
  assert.deepEqual(all, [...Array.from({ length: 20 }, (_, i) => i + 1), ...Array.from({ length: 20 }, (_, i) => i + 11)].sort((a, b) => a - b));
  const noTest = right(await read(dir, { seed: 7, testFraction: 0 }));
  assert.equal(noTest.task.test, undefined);
  const capped = right(await read(dir, { seed: 7, limitPerTask: 6 }));
  assert.equal(capped.task.train.count, 6);
});

test('an inferred shape takes H×W of the first image and 1 channel only when every image is grey', async () => {
  const greyDir = await folder({
    'a/0.png': png(6, 4, grey(10), 0), // a greyscale PNG: the first image sets 4×6
    ...classFiles(['a', 'b'], 10, (c, i) => 50 + 9 * i + c, 8),
  });
  const g = right(await read(greyDir));
  assert.deepEqual(g.task.inputShape, [4, 6, 1]);
  const colourDir = await folder({ ...classFiles(['a', 'b'], 10, (c, i) => 50 + 9 * i + c), 'b/999.png': png(4, 4, () => [200, 10, 10, 255]) });
  const c = right(await read(colourDir));
  assert.deepEqual(c.task.inputShape, [4, 4, 3]);
  assert.equal(c.task.normalisation!.mean.length, 3);
});

test('grayscale or RGB follows the model: RGB into a grey model is luminance, grey into an RGB model is three equal channels', async () => {
  const dir = await folder({
    ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`red/${i}.png`, png(4, 4, () => [200, 100, 50, 255])])),
    ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`grey/${i}.png`, png(4, 4, grey(90), 0)])),
  });
  const lum = right(await read(dir, { inputShape: [2, 2, 1], normalisation: identityNorm(1) }));
  const red = lum.task.classNames.indexOf('red');
  const s = lum.task.train;
  for (let i = 0; i < s.count; i++)
    assert.equal(s.x[i * 4], Math.fround(s.y[i] === red ? (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255 : 90 / 255));
  const rgb = right(await read(dir, { inputShape: [3, 3, 3], normalisation: identityNorm(3) }));
  const t = rgb.task.train;
  for (let i = 0; i < t.count; i++) {
    const px = Array.from(t.x.subarray(i * 27, i * 27 + 3));
    assert.deepEqual(px, t.y[i] === red ? [200, 100, 50].map((v) => Math.fround(v / 255)) : [90, 90, 90].map((v) => Math.fround(v / 255)));
  }
});

test('area resizing: a 4×4 to 2×2 averages each block exactly; a gradient; up-scaling; alpha over black; luminance', () => {
  const values = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 255];
  const img = raw(4, 4, (x, y) => [values[y * 4 + x]!, 255 - values[y * 4 + x]!, 7, 255]);
  const out = toInput(img, [2, 2, 3]);
  const block = (bx: number, by: number) => [0, 1].flatMap((dy) => [0, 1].map((dx) => values[(2 * by + dy) * 4 + 2 * bx + dx]!));
  for (let by = 0; by < 2; by++)
    for (let bx = 0; bx < 2; bx++) {
      const b = block(bx, by);
      const sum = b.reduce((a, v) => a + v, 0);
      const at = (by * 2 + bx) * 3;
      assert.equal(out[at], Math.fround(sum / 4 / 255));
      assert.equal(out[at + 1], Math.fround((4 * 255 - sum) / 4 / 255));
      assert.equal(out[at + 2], Math.fround(7 / 255));
    }
  // A horizontal gradient 0, 32, …, 224 over 8 columns to 4, 3 and 16 columns.
  const ramp = raw(8, 1, (x) => [32 * x, 32 * x, 32 * x, 255]);
  assert.deepEqual(Array.from(toInput(ramp, [1, 4, 1])), [16, 80, 144, 208].map((v) => Math.fround(v / 255)));
  // 8 → 3: each output covers 8/3 source pixels.
  const third = [
    (32 * 0 + 32 * 1 + (2 / 3) * 64) / (8 / 3),
    ((1 / 3) * 64 + 96 + 128 + (1 / 3) * 160) / (8 / 3),
    ((2 / 3) * 160 + 192 + 224) / (8 / 3),
  ];
  toInput(ramp, [1, 3, 1]).forEach((v, i) => assert.ok(Math.abs(v - third[i]! / 255) < 1e-6, `${v} vs ${third[i]! / 255}`));
  // Up-scaling by 2 repeats each pixel; 2 → 3 mixes the middle.
  assert.deepEqual(Array.from(toInput(raw(2, 1, (x) => [x * 255, 0, 0, 255]), [1, 4, 3])).filter((_, i) => i % 3 === 0), [0, 0, 1, 1]);
  assert.deepEqual(Array.from(toInput(raw(2, 1, (x) => [x * 255, 0, 0, 255]), [1, 3, 3])).filter((_, i) => i % 3 === 0), [0, 0.5, 1]);
  // Alpha over black, then luminance.
  const a = toInput(raw(1, 1, () => [200, 100, 50, 51]), [1, 1, 3]);
  assert.deepEqual(Array.from(a), [200, 100, 50].map((v) => Math.fround((v * 51) / 255 / 255)));
  const l = toInput(raw(1, 1, () => [200, 100, 50, 51]), [1, 1, 1]);
  assert.ok(Math.abs(l[0]! - ((0.299 * 200 + 0.587 * 100 + 0.114 * 50) * 51) / 255 / 255) < 1e-7);
  assert.equal(isGrey(raw(2, 2, grey(3))), true);
  assert.equal(isGrey(raw(2, 2, (x) => [3, 3, x, 255])), false);
});

test('property: integer down-scales preserve the mean; every output is in [0, 1]', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 4 }),
      fc.constantFrom(1, 3),
      fc.integer({ min: 0, max: 0xffffffff }),
      (H, W, ky, kx, C, seed) => {
        const w = W * kx;
        const h = H * ky;
        let s = seed >>> 0;
        const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
        const img: RawImage = { width: w, height: h, data: Uint8Array.from({ length: w * h * 4 }, next) };
        const full = toInput(img, [h, w, C]);
        const small = toInput(img, [H, W, C]);
        const mean = (a: Float32Array) => a.reduce((x, v) => x + v, 0) / a.length;
        assert.ok(Math.abs(mean(full) - mean(small)) < 1e-6, `${mean(full)} vs ${mean(small)}`);
        for (const a of [full, small]) for (const v of a) assert.ok(v >= 0 && v <= 1, `${v}`);
        const up = toInput(img, [h * 2 + 1, w + 3, C]);
        for (const v of up) assert.ok(v >= 0 && v <= 1, `${v}`);
      },
    ),
    { numRuns: 200, seed: 42 },
  );
});

test('normalisation: computed from train (per channel mean 0, std 1 there) or applied as given', async () => {
  const dir = await folder(
    Object.fromEntries(
      ['p', 'q'].flatMap((cls, c) =>
        Array.from({ length: 10 }, (_, i) => [`${cls}/${i}.png`, png(3, 3, (x, y) => [(37 * i + 11 * x + 3 * y + 80 * c) % 256, (5 * i + 40 * x) % 256, 17 * y + i, 255])]),
      ),
    ),
  );
  const r = right(await read(dir));
  const { train } = r.task;
  assert.deepEqual(r.task.inputShape, [3, 3, 3]);
  for (let c = 0; c < 3; c++) {
    const vals = Array.from(train.x).filter((_, i) => i % 3 === c);
    const m = vals.reduce((a, v) => a + v, 0) / vals.length;
    const sd = Math.sqrt(vals.reduce((a, v) => a + (v - m) ** 2, 0) / vals.length);
    assert.ok(Math.abs(m) < 1e-5, `mean ${m}`);
    assert.ok(Math.abs(sd - 1) < 1e-5, `std ${sd}`);
  }
  const given = { mean: [0.25, 0.5, 0.125], std: [0.5, 2, 0.25] };
  const g = right(await read(dir, { normalisation: given }));
  const plain = right(await read(dir, { normalisation: identityNorm(3) }));
  assert.deepEqual(g.task.normalisation, given);
  plain.task.val.x.forEach((v, i) => assert.equal(g.task.val.x[i], Math.fround((v - given.mean[i % 3]!) / given.std[i % 3]!)));
  const flat = await folder(classFiles(['a', 'b'], 10, () => 128));
  refused(await read(flat), 'TaskError', 'normalisation', /channel 0 .* standard deviation is 0/);
  refused(await read(dir, { normalisation: { mean: [0], std: [1] } }), 'TaskError', 'normalisation.mean', /3 finite/);
});

test('refusals name the folder or file, on one line', async () => {
  const missing = join(root, 'no-such-folder');
  refused(await read(missing), 'DataError', missing, /not found/);
  const file = join(root, 'a-file.png');
  await writeFile(file, png(2, 2, grey(1)));
  refused(await read(file), 'DataError', file, /not a directory/);
  const empty = await folder({ 'README.md': 'no classes' });
  refused(await read(empty), 'DataError', empty, /no class folders/);
  const one = await folder(classFiles(['only'], 20, (_, i) => i));
  refused(await read(one), 'DataError', one, /one class folder \('only'\).*at least 2/);
  const noImagesAtAll = await folder({ 'a/x.txt': 'text', 'b/y.txt': 'text' });
  refused(await read(noImagesAtAll), 'DataError', noImagesAtAll, /no images/);
  const oneEmpty = await folder({ ...classFiles(['a'], 10, (_, i) => i), 'b/y.txt': 'text' });
  refused(await read(oneEmpty), 'DataError', join(oneEmpty, 'b'), /no images/);
  const junk = await folder({ ...classFiles(['a', 'b'], 10, (_, i) => i), 'b/broken.png': 'this is not a png' });
  refused(await read(junk), 'DataError', join(junk, 'b', 'broken.png'), /not a PNG or JPEG image/);
  const cut = png(4, 4, grey(9));
  const truncated = await folder({ ...classFiles(['a', 'b'], 10, (_, i) => i), 'a/cut.png': cut.subarray(0, cut.length - 20) });
  refused(await read(truncated), 'DataError', join(truncated, 'a', 'cut.png'), /^corrupt PNG: truncated/);
  const few = await folder({ ...classFiles(['a'], 20, (_, i) => i), ...classFiles(['b'], 2, (_, i) => i) });
  refused(await read(few, { valFraction: 0.2, testFraction: 0.1 }), 'DataError', join(few, 'b'), /has 2 image\(s\).*at least 3 to keep one image in train and one in validation/);
  refused(await read(few, { valFraction: 0 }), 'TaskError', 'valFraction', /above 0/);
  refused(await read(few, { valFraction: 1 }), 'TaskError', 'valFraction', /\[0, 1\)/);
  refused(await read(few, { inputShape: [4, 4, 2] }), 'TaskError', 'inputShape', /1 or 3 channels/);
  // Too few validation images over the whole task is checkTask's refusal.
  const small = await folder(classFiles(['a', 'b'], 4, (_, i) => i));
  refused(await read(small), 'TaskError', 'val', /at least 10/);
});

test('an unreadable file or folder is a DataError naming it', { skip: process.getuid?.() === 0 ? 'root reads every file' : false }, async () => {
  const dir = await folder(classFiles(['a', 'b'], 10, (_, i) => i));
  const locked = join(dir, 'a', '003.png');
  await chmod(locked, 0o000);
  refused(await read(dir), 'DataError', locked, /permission denied/);
  await chmod(locked, 0o644);
  const shut = join(dir, 'b');
  await chmod(shut, 0o000);
  refused(await read(dir), 'DataError', shut, /permission denied/);
  await chmod(shut, 0o755);
});

test('decoding: 16-bit PNGs come out 8-bit (rounded); transparency and palette-free types; garbage never throws', () => {
  const samples = Uint16Array.from([65535, 0, 32768, 65535, 257 * 7, 300, 128, 65535]);
  const d = decodeImage(png16(2, 1, samples), 'sixteen.png');
  assert.deepEqual(Array.from(right(d).data), Array.from(samples, (v) => Math.floor((v * 255) / 65535 + 0.5)));
  for (const t of [0, 2, 4, 6] as const) {
    const img = right(decodeImage(png(3, 2, (x, y) => [40 * x + y, 40 * x + y, 40 * x + y, 255], t), `type${t}.png`));
    assert.deepEqual([img.width, img.height], [3, 2]);
    assert.equal(img.data[4], 40);
  }
  const empty = decodeImage(new Uint8Array(0), 'empty.png');
  assert.ok(E.isLeft(empty) && empty.left.tag === 'DataError' && empty.left.file === 'empty.png');
  const head = png(2, 2, grey(1)).subarray(0, 8);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('png', 'jpeg', 'none'), (tail, kind) => {
      const prefix = kind === 'png' ? Array.from(head) : kind === 'jpeg' ? [0xff, 0xd8, 0xff] : [];
      const r = decodeImage(Uint8Array.from([...prefix, ...tail]), 'fuzz');
      if (E.isLeft(r)) {
        assert.equal(r.left.tag, 'DataError');
        assert.ok(r.left.tag === 'DataError' && r.left.file === 'fuzz' && !r.left.message.includes('\n'));
      }
    }),
    { numRuns: 300, seed: 3 },
  );
});

// pngjs/browser.js (the browserified build, with its own Buffer and zlib) loads in Node 20 and, fed
// through the same imageDecoder, gives byte-identical pixels to the Node build for every PNG type here.
test('the browser build of pngjs decodes to identical pixels; jpeg-js decodes the same bytes identically every time', () => {
  const browser = createRequire(import.meta.url)('pngjs/browser.js') as PngLibrary;
  const decodeInBrowser = imageDecoder(browser);
  const files = [
    png(5, 3, (x, y) => [x * 50, y * 80, (x * y * 37) % 256, 255 - x * 20]),
    png(4, 4, (x, y) => [x * 60, x * 60, x * 60, 255], 0),
    png(4, 2, (x, y) => [x * 60, y * 100, 7, 255], 2),
    png16(2, 1, Uint16Array.from([65535, 0, 32768, 65535, 257 * 7, 300, 128, 65535])),
  ];
  for (const [i, f] of files.entries()) {
    const node = right(decodeImage(f, `n${i}.png`));
    const web = right(decodeInBrowser(f, `b${i}.png`));
    assert.deepEqual([web.width, web.height], [node.width, node.height]);
    assert.deepEqual(Array.from(web.data), Array.from(node.data));
  }
  assert.ok(E.isLeft(decodeInBrowser(new Uint8Array([1, 2, 3]), 'x')));
  const photo = jpg(16, 12, (x, y) => [(x * 16) % 256, (y * 21) % 256, (x * y * 3) % 256, 255], 75);
  const first = right(decodeImage(photo, 'photo.jpg'));
  for (let k = 0; k < 3; k++) assert.deepEqual(right(decodeImage(Uint8Array.from(photo), 'photo.jpg')).data, first.data);
  assert.deepEqual([first.width, first.height], [16, 12]);
});

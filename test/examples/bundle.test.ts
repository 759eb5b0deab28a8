/**
 * `cpg` and `cpg/browser` bundle for a browser: esbuild (platform browser)
 * bundles each built entry with no error — it fails on any Node built-in a
 * module of ours or a dependency reaches — and the bundle's inputs hold no
 * Node built-in, none of Node's edges (src/node, the file store, the
 * benchmark readers, image folders) and neither tfjs-node nor our threaded
 * wasm loader. A dependency's own `browser` field may disable a Node module
 * it only uses in Node (tfjs does); a module of ours may not. The same check
 * on `cpg/node` fails, so the check does catch a Node import.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const isBuiltin = (p: string): boolean => p.startsWith('node:') || builtins.has(p) || builtins.has(p.split('/')[0]!);

/** Bundles `entry` for a browser: the metafile, or esbuild's errors as lines. */
const bundle = (entry: string): Promise<{ readonly metafile?: Metafile; readonly errors: readonly string[] }> =>
  build({ entryPoints: [path.join(root, entry)], absWorkingDir: root, bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' }).then(
    (r) => ({ metafile: r.metafile, errors: r.errors.map((e) => e.text) }),
    (e: { errors?: { text: string; location?: { file: string } | null }[] }) => ({ errors: (e.errors ?? [{ text: String(e) }]).map((x) => `${x.location?.file ?? ''}: ${x.text}`) }),
  );

/** What in a bundle's inputs is Node's: built-ins, our Node edges, native or threaded backends. */
const nodeInputs = (m: Metafile): string[] => {
  const found: string[] = [];
  for (const [file, input] of Object.entries(m.inputs)) {
    if (isBuiltin(file)) found.push(`${file} (a Node built-in)`);
    if (/^dist\/src\/(node|cli)\//.test(file) || /^dist\/src\/effects\/(stores\/fs|data\/(index|benchmarks|mnist|fashion|cifar|cache|files)|sources\/(folder|runTasks)|goalFile|images\/)/.test(file))
      found.push(`${file} (Node's edge)`);
    if (/tfjs-node|wasmThreads/.test(file)) found.push(`${file} (a Node backend)`);
    for (const i of input.imports) {
      const disabled = i.path.startsWith('(disabled):');
      const target = disabled ? i.path.slice('(disabled):'.length) : i.path;
      // Ours must not even reach a module a browser field disables; a dependency may.
      if (file.startsWith('dist/') && (disabled || isBuiltin(target))) found.push(`${file} imports ${i.original ?? target}`);
      else if (!disabled && isBuiltin(target)) found.push(`${file} imports ${target}`);
    }
  }
  return found;
};

/** Node's globals used by our modules in a bundle (a browser has none of them); a `globalThis.x` check is fine. */
const nodeGlobals = (m: Metafile): string[] =>
  Object.keys(m.inputs)
    .filter((f) => f.startsWith('dist/'))
    .flatMap((f) => {
      const code = readFileSync(path.join(root, f), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '')
        .replace(/`(?:[^`\\]|\\.)*`|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''");
      return [...code.matchAll(/(?<![.\w$])(Buffer|setImmediate|process|require|__dirname|__filename)\b/g)].map((x) => `${f}: ${x[1]}`);
    });

for (const entry of ['dist/src/index.js', 'dist/src/browser/index.js']) {
  test(`${entry} bundles for a browser with no Node built-in and none of Node's edges`, { timeout: 120_000 }, async () => {
    const r = await bundle(entry);
    assert.deepEqual(r.errors, [], `esbuild --platform=browser refused ${entry}`);
    assert.ok(r.metafile !== undefined);
    const inputs = Object.keys(r.metafile.inputs);
    assert.ok(inputs.includes('dist/src/streams/run.js') && inputs.includes('dist/src/cpg/predict.js') && inputs.includes('dist/src/effects/stores/memory.js'), 'the learner, openModel and the memory store are in it');
    if (entry.includes('browser')) assert.ok(inputs.includes('dist/src/browser/indexedDbStore.js'));
    assert.deepEqual(nodeInputs(r.metafile), []);
    assert.deepEqual([...new Set(nodeGlobals(r.metafile))], [], 'Buffer, setImmediate, process and require are Node globals');
  });
}

test('the check catches Node: cpg/node does not bundle for a browser', { timeout: 120_000 }, async () => {
  const r = await bundle('dist/src/node/index.js');
  assert.ok(r.errors.some((e) => /Could not resolve "node:(fs|os|path|crypto|module)/.test(e)), r.errors.join('\n'));
  const fsStoreModule = { inputs: { 'dist/src/node/stores/fs.js': { bytes: 0, imports: [] } }, outputs: {} };
  assert.ok(nodeGlobals(fsStoreModule).includes('dist/src/node/stores/fs.js: process'), 'the globals check sees process.pid in the file store');
  assert.deepEqual(nodeInputs({ inputs: { 'dist/src/x.js': { bytes: 0, imports: [{ path: 'node:fs', kind: 'import-statement', original: 'node:fs' }] } }, outputs: {} }), [
    'dist/src/x.js imports node:fs',
  ]);
});

test('the browser example builds only into a new, empty or earlier-built folder: one that holds other files is refused (exit 2) and left as it was', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'cpg-browser-out-'));
  writeFileSync(path.join(out, 'notes.txt'), 'mine');
  const r = spawnSync(process.execPath, [path.join(root, 'examples', 'browser', 'build.mjs'), out], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /holds other files: give a new or empty folder/);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  assert.deepEqual(readdirSync(out), ['notes.txt']);
  assert.equal(readFileSync(path.join(out, 'notes.txt'), 'utf8'), 'mine');
});

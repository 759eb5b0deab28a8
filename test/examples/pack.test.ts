/**
 * What the package ships: `npm pack --dry-run` lists only the build of src
 * (modules and their types), the examples the README names, the README, the
 * LICENSE and package.json — no tests, benches, tools, sources or source
 * maps — and the entries that
 * package.json names are in it: the bin, and each entry of the exports map
 * (`cpg`, `cpg/node`, `cpg/browser`), an ES module with its types.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

test('npm pack ships the build of src, README, LICENSE and package.json only, with every entry package.json names', { timeout: 120_000 }, () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 110_000 });
  assert.equal(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  const stray = files.filter(
    (f) => !['package.json', 'README.md', 'LICENSE'].includes(f) && !/^dist\/src\/.+\.(js|d\.ts)$/.test(f) && !/^examples\/(browser\/)?[\w-]+\.(mjs|html)$/.test(f),
  );
  assert.deepEqual(stray, [], 'only the build of src, the examples and the three top-level files');
  // Every example the README names (examples/… in a clone, node_modules/cpg/examples/… in a project) is in the package.
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const named = new Set([...readme.matchAll(/examples\/((?:browser\/)?[\w-]+\.mjs)/g)].map((m) => `examples/${m[1]}`));
  assert.ok(named.size >= 4, `the README names ${named.size} examples`);
  for (const f of named) assert.ok(files.includes(f), `the README names ${f}, which the package lacks`);
  // What an example imports from its folder or the package's build is packed with it.
  for (const f of files.filter((x) => x.startsWith('examples/') && x.endsWith('.mjs')))
    for (const m of readFileSync(path.join(root, f), 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(f), m[1]!));
      assert.ok(files.includes(target), `${f} imports ${m[1]}, which the package lacks`);
    }
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; exports: Record<string, string | Record<string, string>> };
  const entries = [
    ...Object.values(pkg.bin),
    ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e))),
  ].map((p) => p.replace(/^\.\//, ''));
  for (const entry of entries) assert.ok(files.includes(entry), `${entry} is named by package.json but not packed`);
  for (const [entry, js] of [['.', 'dist/src/index'], ['./node', 'dist/src/node/index'], ['./browser', 'dist/src/browser/index']] as const)
    assert.deepEqual(pkg.exports[entry], { types: `./${js}.d.ts`, import: `./${js}.js` }, `exports['${entry}']: types and import conditions`);
  assert.ok(files.includes('LICENSE') && readFileSync(path.join(root, 'LICENSE'), 'utf8').startsWith('MIT License'));
});

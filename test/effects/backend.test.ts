import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import * as tf from '@tensorflow/tfjs-core';
import { acquireBackend, backendUsers, coreCount, resolvePreference, selectBackend, shutdownBackend, withBackend } from '../../src/node/backend.js';

const backendModule = fileURLToPath(new URL('../../src/node/backend.js', import.meta.url));

/** Runs with CPG_BACKEND set (or unset), restoring it afterwards. */
const withEnv = async <A>(value: string | undefined, f: () => Promise<A>): Promise<A> => {
  const saved = process.env['CPG_BACKEND'];
  if (value === undefined) delete process.env['CPG_BACKEND'];
  else process.env['CPG_BACKEND'] = value;
  try {
    return await f();
  } finally {
    if (saved === undefined) delete process.env['CPG_BACKEND'];
    else process.env['CPG_BACKEND'] = saved;
  }
};

after(async () => {
  await shutdownBackend()();
});

test('an explicit preference wins over CPG_BACKEND; with auto, CPG_BACKEND forces one; nonsense is a ConfigError', () => {
  assert.deepEqual(resolvePreference('cpu', 'wasm'), E.right({ name: 'cpu', forced: true }));
  assert.deepEqual(resolvePreference('auto', 'wasm'), E.right({ name: 'wasm', forced: true }));
  assert.deepEqual(resolvePreference('auto', undefined), E.right({ name: 'auto', forced: false }));
  assert.deepEqual(resolvePreference('auto', ''), E.right({ name: 'auto', forced: false }));
  const bad = resolvePreference('auto', 'cuda');
  assert.ok(E.isLeft(bad) && bad.left.tag === 'ConfigError' && bad.left.field === 'CPG_BACKEND');
});

test('forcing tensorflow where no native package is installed is a Left naming what to install, not a fallback', async () => {
  const byArg = await withEnv(undefined, () => selectBackend({ prefer: 'tensorflow' })());
  assert.ok(E.isLeft(byArg));
  assert.equal(byArg.left.tag, 'BackendError');
  assert.match(byArg.left.tag === 'BackendError' ? byArg.left.message : '', /@tensorflow\/tfjs-node-gpu.*@tensorflow\/tfjs-node/s);
  const byEnv = await withEnv('tensorflow', () => selectBackend({ prefer: 'auto' })());
  assert.ok(E.isLeft(byEnv) && byEnv.left.tag === 'BackendError' && byEnv.left.backend === 'tensorflow');
});

test('CPG_BACKEND=cpu with auto gives cpu; an explicit wasm overrides it', async () => {
  const cpu = await withEnv('cpu', () => selectBackend({ prefer: 'auto' })());
  assert.deepEqual(E.map((i: { name: string }) => i.name)(cpu), E.right('cpu'));
  assert.equal(tf.getBackend(), 'cpu');
  const wasm = await withEnv('cpu', () => selectBackend({ prefer: 'wasm', threads: 1 })());
  assert.ok(E.isRight(wasm) && wasm.right.name === 'wasm' && wasm.right.threads === 1 && wasm.right.simd);
  assert.equal(tf.getBackend(), 'wasm');
});

test('auto without CPG_BACKEND picks wasm here (tensorflow is not installed); asking twice keeps the live backend and its tensors', async () => {
  const first = await withEnv(undefined, () => selectBackend({ prefer: 'auto', threads: 1 })());
  assert.ok(E.isRight(first) && first.right.name === 'wasm');
  const t = tf.tensor1d([1, 2, 3]);
  const again = await withEnv(undefined, () => selectBackend({ prefer: 'auto' })());
  assert.deepEqual(again, first);
  assert.deepEqual(Array.from(t.dataSync()), [1, 2, 3]);
  t.dispose();
});

test('threads must be a positive integer', async () => {
  for (const threads of [0, 1.5, -2]) {
    const r = await selectBackend({ prefer: 'wasm', threads })();
    assert.ok(E.isLeft(r) && r.left.tag === 'ConfigError' && r.left.field === 'threads', String(threads));
  }
});

test('withBackend runs on the named backend and restores the previous one', async () => {
  await selectBackend({ prefer: 'wasm', threads: 1 })();
  const r = await withBackend('cpu', () => tf.getBackend())();
  assert.deepEqual(r, E.right('cpu'));
  assert.equal(tf.getBackend(), 'wasm');
  const failed = await withBackend('cpu', () => {
    throw new Error('boom');
  })();
  assert.ok(E.isLeft(failed) && failed.left.tag === 'BackendError' && /boom/.test(failed.left.message));
  assert.equal(tf.getBackend(), 'wasm');
});

test('the threaded wasm build runs with the cores asked for, and a process using it exits by itself', { skip: coreCount() < 2 ? 'one core' : false }, () => {
  // A child process: the worker threads must not keep it alive after its work.
  const script = `
    import * as tf from '@tensorflow/tfjs-core';
    import { selectBackend } from ${JSON.stringify(backendModule)};
    const r = await selectBackend({ prefer: 'wasm', threads: 2 })();
    const y = tf.conv2d(tf.ones([2, 8, 8, 3]), tf.ones([3, 3, 3, 4]), 1, 'same');
    console.log(JSON.stringify({ info: r.right, sum: tf.sum(y).dataSync()[0] }));`;
  const started = Date.now();
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(child.signal, null, `child did not exit by itself within 60 s (${Date.now() - started} ms)`);
  assert.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as { info: { threads: number; detail: string }; sum: number };
  assert.equal(out.info.threads, 2);
  assert.match(out.info.detail, /threaded/);
  // 'same' 3×3 of ones over ones: interior 27, edges 18, corners 12.
  assert.equal(out.sum, 2 * 4 * (36 * 27 + 24 * 18 + 4 * 12));
});

test('concurrent requests share one initialisation; while it is claimed another backend or thread count is refused, auto shares it; after release anything goes', async () => {
  assert.ok(E.isRight(await shutdownBackend()()));
  const requests = [1, 2, 3].map(() => acquireBackend({ prefer: 'wasm', threads: 1 })());
  const first = await requests[0]!;
  assert.ok(E.isRight(first));
  const instance = tf.engine().registry['wasm'];
  const t = tf.tensor1d([1, 2, 3]);
  const leases = await Promise.all(requests);
  assert.ok(leases.every(E.isRight));
  for (const l of leases) assert.deepEqual(E.isRight(l) && l.right.info, first.right.info);
  assert.equal(tf.engine().registry['wasm'], instance, 'not re-created by the later requests');
  assert.deepEqual(Array.from(t.dataSync()), [1, 2, 3]);
  t.dispose();
  assert.equal(backendUsers(), 3);

  const cpu = await acquireBackend({ prefer: 'cpu' })();
  assert.ok(E.isLeft(cpu) && cpu.left.tag === 'BackendError');
  assert.match(cpu.left.message, /already runs wasm with 1 thread for 3 other learners.*one engine per process/);
  const wider = await acquireBackend({ prefer: 'wasm', threads: 2 })();
  assert.ok(E.isLeft(wider) && /wasm with 2 threads cannot start beside it/.test(wider.left.message));
  const auto = await acquireBackend({ prefer: 'auto' })();
  assert.ok(E.isRight(auto) && auto.right.info.name === 'wasm');
  await auto.right.release();
  assert.ok(E.isLeft(await shutdownBackend()()), 'not shut down under its users');
  assert.equal(tf.getBackend(), 'wasm');

  for (const l of leases) if (E.isRight(l)) await l.right.release();
  assert.equal(backendUsers(), 0);
  const now = await selectBackend({ prefer: 'cpu' })();
  assert.ok(E.isRight(now) && now.right.name === 'cpu');
  assert.ok(E.isRight(await selectBackend({ prefer: 'wasm', threads: 1 })()));
});

test("webgl is a browser's: on Node a named request (argument or CPG_BACKEND) is a one-line BackendError, and auto passes it by", async () => {
  for (const [prefer, env] of [['webgl', undefined], ['auto', 'webgl']] as const) {
    const r = await withEnv(env, () => selectBackend({ prefer })());
    assert.ok(E.isLeft(r) && r.left.tag === 'BackendError' && r.left.backend === 'webgl', `${prefer} ${env}`);
    assert.match(r.left.tag === 'BackendError' ? r.left.message : '', /^webgl runs only in a browser page, not on the node platform: choose another backend \(tensorflow, wasm, cpu\)$/);
  }
  // The core's default platform (a web runtime) in Node: tfjs registered no webgl here, so it says so.
  const core = await import('../../src/effects/backend.js');
  const web = await core.selectBackend({ prefer: 'webgl' })();
  assert.ok(E.isLeft(web) && web.left.tag === 'BackendError' && /tfjs found no page here/.test(web.left.message) && !web.left.message.includes('\n'));
  const auto = await core.selectBackend({ prefer: 'auto', threads: 1 })();
  assert.ok(E.isRight(auto) && auto.right.name === 'wasm', 'auto on the web platform without a page: webgl fails, wasm loads');
});

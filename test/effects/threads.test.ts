/**
 * The wasm backend's thread limit: asked for more than its threaded build
 * runs on, it used to run on fewer without a word; now the request is
 * refused, naming the range, and the limit is the build's own.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { MAX_WASM_THREADS, recordedThreads } from '../../src/algebra/threads.js';
import { defaultThreads } from '../../src/effects/platform.js';
import { selectBackend, shutdownBackend } from '../../src/node/backend.js';
import { nodePlatform } from '../../src/node/platform.js';

after(async () => {
  await shutdownBackend()();
});

test("the limit is the threaded wasm build's pthread pool", () => {
  const require = createRequire(import.meta.url);
  const build = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  const pool = /pthreadPoolSize=(\d+)/.exec(readFileSync(build, 'utf8'));
  assert.ok(pool !== null, 'the build names its pool size');
  assert.equal(Number(pool[1]), MAX_WASM_THREADS);
});

test('a request beyond the limit is refused naming the range; the limit itself runs on as many threads', async () => {
  for (const threads of [MAX_WASM_THREADS + 1, 999]) {
    const r = await selectBackend({ prefer: 'wasm', threads, platform: nodePlatform() })();
    assert.ok(E.isLeft(r) && r.left.tag === 'ConfigError' && r.left.field === 'threads', JSON.stringify(r));
    assert.equal(r.left.message, `expected 1..${MAX_WASM_THREADS} (the most the wasm backend runs on), got ${threads}`);
  }
  const r = await selectBackend({ prefer: 'wasm', threads: MAX_WASM_THREADS, platform: nodePlatform() })();
  assert.ok(E.isRight(r), JSON.stringify(r));
  assert.equal(r.right.threads, MAX_WASM_THREADS);
});

test('the default (every core) stops at the limit; a run recorded with more goes on with the most', () => {
  const p = nodePlatform();
  assert.equal(defaultThreads({ ...p, cores: 64 }), MAX_WASM_THREADS);
  assert.equal(defaultThreads({ ...p, cores: 2 }), 2);
  assert.equal(recordedThreads(12), MAX_WASM_THREADS);
  assert.equal(recordedThreads(3), 3);
  assert.equal(recordedThreads(undefined), undefined);
});

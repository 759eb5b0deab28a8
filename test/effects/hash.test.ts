/**
 * A task's data is identified by the SHA-256 of its parts one after the
 * other. The directory store hashes them incrementally with Node's crypto
 * (no copy into one buffer); it must give WebCrypto's hash of the
 * concatenation, bit for bit, or every run written before would read as
 * "has different data" on resume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import fc from 'fast-check';
import { sha256Hex } from '../../src/effects/store.js';
import { fsStore } from '../../src/node/stores/fs.js';
import { memoryStore } from '../../src/effects/stores/memory.js';
import { dataHashOf } from '../../src/cpg/model.js';
import { type Task, taskDataParts } from '../../src/algebra/task.js';

const store = fsStore(mkdtempSync(path.join(tmpdir(), 'cpg-hash-')));

test("the directory store's incremental SHA-256 of parts is WebCrypto's of their concatenation", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), async (parts) => {
      const fast = await store.sha256!(parts)();
      const web = await sha256Hex(parts)();
      assert.ok(E.isRight(fast) && E.isRight(web));
      assert.equal(fast.right, web.right);
    }),
    { seed: 42, numRuns: 200 },
  );
});

test("a task's data hash is the same from the directory store and the memory store, and follows the store's hash", async () => {
  const split = (n: number, from: number) => ({ x: Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(from + i)), y: Int32Array.from({ length: n }, (_, i) => i % 2), count: n });
  const task = { name: 'a-b', classNames: ['a', 'b'], inputShape: [2, 2, 1], train: split(50, 0), val: split(10, 1), test: split(10, 2), normalisation: null } as unknown as Task;
  const viaFs = await dataHashOf(store, task)();
  const viaMemory = await dataHashOf(memoryStore(), task)();
  assert.ok(E.isRight(viaFs) && E.isRight(viaMemory));
  assert.equal(viaFs.right, viaMemory.right);
  assert.equal(taskDataParts(task).length, 7, 'a header and x, y of three splits');
  const marked = await dataHashOf({ sha256: () => TE.right('from the store') }, task)();
  assert.deepEqual(marked, E.right('from the store'));
});

/**
 * The directory store's blobs: a file already under a blob's name is trusted
 * only if it holds the very bytes being stored. A file of the right size
 * with a flipped byte (a blob written for a commit that never happened, then
 * damaged) is replaced, so no manifest is ever committed over it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { fsStore } from '../../src/node/stores/fs.js';

const right = async <A>(te: () => Promise<E.Either<unknown, A>>): Promise<A> => {
  const r = await te();
  assert.ok(E.isRight(r), JSON.stringify(E.isLeft(r) ? r.left : ''));
  return r.right;
};

test('putBlob replaces a damaged file of the right size under the blob\'s name, and leaves an intact one alone', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cpg-fsstore-'));
  const store = fsStore(dir);
  const data = Uint8Array.from({ length: 64 }, (_, i) => i * 3);
  const ref = await right(store.putBlob(data));
  const file = path.join(dir, 'blobs', `${ref.sha256}.bin`);

  // Intact: not written again.
  const written = statSync(file).mtimeMs;
  await new Promise((r) => setTimeout(r, 20));
  await right(store.putBlob(data));
  assert.equal(statSync(file).mtimeMs, written, 'an intact blob is not rewritten');

  // Damaged behind the store's back, same size: putting the bytes again restores them.
  const bad = Buffer.from(data);
  bad[5] = bad[5]! ^ 0xff;
  writeFileSync(file, bad);
  const before = await store.getBlob(ref)();
  assert.ok(E.isLeft(before) && /does not match its sha256/.test(before.left.message), JSON.stringify(before));
  assert.deepEqual(await right(store.putBlob(data)), ref);
  assert.deepEqual([...readFileSync(file)], [...data], 'the damaged file was replaced');
  assert.deepEqual([...(await right(store.getBlob(ref)))], [...data]);
});

/**
 * The IndexedDB store (`cpg/browser`) keeps the Store contract, run here on
 * fake-indexeddb: blobs named by their SHA-256 and checked on read, the
 * manifest replaced whole together with the blobs it drops, reports, a lock
 * that refuses a second taker until released (Web Locks, and the lock record
 * where there are none), what it holds surviving a reload, and a learner
 * that learns two tasks into it with the core's default (browser) platform,
 * drift 0, then skips them after the reload.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { IDBFactory } from 'fake-indexeddb';
import { indexedDbStore, type IdbFactory, type LockManagerLike } from '../../src/browser/index.js';
import { learner } from '../../src/streams/run.js';
import { sha256Hex } from '../../src/effects/store.js';
import { eventsOrError, tinyConfig, tinyTask } from '../helpers/tinyTasks.js';

const right = async <A>(te: () => Promise<E.Either<unknown, A>>): Promise<A> => {
  const r = await te();
  assert.ok(E.isRight(r), JSON.stringify(E.isLeft(r) ? r.left : ''));
  return r.right;
};

const fresh = (): IdbFactory => new IDBFactory() as unknown as IdbFactory;
const bytes = (...xs: number[]) => Uint8Array.from(xs);

test('blobs are named by SHA-256, stored once, checked on read; the manifest replaces the old one and drops unkept blobs; it all survives a reload', async () => {
  const idb = fresh();
  const store = indexedDbStore('model', { indexedDB: idb, locks: null });
  assert.equal(await right(store.readManifest), null);
  const a = await right(store.putBlob(bytes(1, 2, 3)));
  assert.deepEqual(a, { sha256: await right(sha256Hex([bytes(1, 2, 3)])), bytes: 3 });
  assert.deepEqual(await right(store.putBlob(bytes(1, 2, 3))), a, 'the same bytes, the same blob');
  const b = await right(store.putBlob(bytes(4, 5)));
  assert.deepEqual([...(await right(store.getBlob(a)))], [1, 2, 3]);
  assert.deepEqual([...(await right(store.blobs))].sort(), [a.sha256, b.sha256].sort());

  await right(store.writeManifest(new TextEncoder().encode('{"v":1}'), new Set([a.sha256, b.sha256])));
  // A reader alongside the next commit sees one manifest or the other, whole.
  const [seen] = await Promise.all([store.readManifest(), store.writeManifest(new TextEncoder().encode('{"v":2}'), new Set([b.sha256]))()]);
  assert.ok(E.isRight(seen) && ['{"v":1}', '{"v":2}'].includes(new TextDecoder().decode(seen.right!)));
  assert.equal(new TextDecoder().decode((await right(store.readManifest))!), '{"v":2}');
  assert.deepEqual(await right(store.blobs), [b.sha256], 'the blob the manifest no longer keeps is gone');
  const gone = await store.getBlob(a)();
  assert.ok(E.isLeft(gone) && gone.left.tag === 'CheckpointError' && /missing/.test(gone.left.message), JSON.stringify(gone));
  assert.equal(await right(store.writeReport('report.json', '{}')), 'indexeddb:model/report.json');

  // A reload: a new store object over the same database sees everything.
  store.close();
  const again = indexedDbStore('model', { indexedDB: idb, locks: null });
  assert.equal(new TextDecoder().decode((await right(again.readManifest))!), '{"v":2}');
  assert.deepEqual([...(await right(again.getBlob(b)))], [4, 5]);
  again.close();
});

test('a flipped byte or a wrong size is named, not loaded, and storing the bytes again replaces it', async () => {
  const idb = fresh();
  const store = indexedDbStore('model', { indexedDB: idb, locks: null });
  const ref = await right(store.putBlob(bytes(7, 8, 9)));
  const wrongSize = await store.getBlob({ ...ref, bytes: 4 })();
  assert.ok(E.isLeft(wrongSize) && /3 bytes, the manifest says 4/.test(wrongSize.left.message), JSON.stringify(wrongSize));
  // Corrupt it behind the store's back: a page's other code, or a disk.
  store.close();
  await new Promise<void>((resolve, reject) => {
    const open = (idb as unknown as InstanceType<typeof IDBFactory>).open('model', 1);
    open.onsuccess = () => {
      const tx = open.result.transaction(['blobs'], 'readwrite');
      tx.objectStore('blobs').put(bytes(7, 8, 0), ref.sha256);
      tx.oncomplete = () => (open.result.close(), resolve());
      tx.onabort = () => reject(tx.error);
    };
  });
  const flipped = await indexedDbStore('model', { indexedDB: idb, locks: null }).getBlob(ref)();
  assert.ok(E.isLeft(flipped) && flipped.left.tag === 'CheckpointError' && /sha256/.test(flipped.left.message), JSON.stringify(flipped));
  assert.equal(flipped.left.file, `indexeddb:model/blobs/${ref.sha256}.bin`);
  // Storing the same bytes again replaces the damaged blob of the right size instead of trusting it.
  const healed = indexedDbStore('model', { indexedDB: idb, locks: null });
  assert.deepEqual(await right(healed.putBlob(bytes(7, 8, 9))), ref);
  assert.deepEqual([...(await right(healed.getBlob(ref)))], [7, 8, 9]);
  healed.close();
});

test('the lock record refuses a second taker until released, and breakLock clears one left behind', async () => {
  const idb = fresh();
  const one = indexedDbStore('model', { indexedDB: idb, locks: null });
  const two = indexedDbStore('model', { indexedDB: idb, locks: null });
  const held = await right(one.lock);
  const refused = await two.lock();
  assert.ok(E.isLeft(refused) && refused.left.tag === 'LockError', JSON.stringify(refused));
  await right(held.release);
  const taken = await right(two.lock);
  // An old holder's release does not undo the new holder's lock.
  await right(held.release);
  assert.ok(E.isLeft(await one.lock()));
  void taken;
  // Left behind (a page closed mid-task): cleared on purpose.
  await right(one.breakLock);
  await right((await right(one.lock)).release);
  one.close();
  two.close();
});

test('with Web Locks, the lock is the lock manager\'s: refused while held (ifAvailable), free again once released', async () => {
  // A lock manager with the one behaviour the store uses: ifAvailable requests.
  const held = new Set<string>();
  const locks: LockManagerLike = {
    request: (name, _o, callback) => {
      if (held.has(name)) return Promise.resolve(callback(null));
      held.add(name);
      return Promise.resolve(callback({ name })).then(() => void held.delete(name));
    },
  };
  const idb = fresh();
  const a = indexedDbStore('model', { indexedDB: idb, locks });
  const lock = await right(a.lock);
  const refused = await indexedDbStore('model', { indexedDB: idb, locks }).lock();
  assert.ok(E.isLeft(refused) && refused.left.tag === 'LockError', JSON.stringify(refused));
  await right(lock.release);
  await new Promise((r) => setTimeout(r, 0));
  await right((await right(a.lock)).release);
});

test('a learner on the core (browser platform) learns two tasks into IndexedDB with drift 0, and after a reload skips them', { timeout: 180_000 }, async () => {
  const idb = fresh();
  const store = indexedDbStore('digits', { indexedDB: idb, locks: null });
  const run = await eventsOrError(learner({ store, config: tinyConfig() })([tinyTask('one', 1), tinyTask('two', 2)]));
  assert.ok(E.isRight(run), JSON.stringify(E.isLeft(run) ? run.left : ''));
  const end = run.right[run.right.length - 1];
  assert.ok(end?.type === 'run-finished');
  assert.deepEqual(end.report.tasks.map((t) => t.name), ['one', 'two']);
  assert.equal(end.report.maxLogitDrift, 0);
  assert.ok(run.right.some((e) => e.type === 'run-started'));
  store.close();

  const reloaded = indexedDbStore('digits', { indexedDB: idb, locks: null });
  const again = await eventsOrError(learner({ store: reloaded })([tinyTask('one', 1), tinyTask('two', 2)]));
  assert.ok(E.isRight(again), JSON.stringify(E.isLeft(again) ? again.left : ''));
  assert.equal(again.right.filter((e) => e.type === 'task-skipped').length, 2);
  const last = again.right[again.right.length - 1];
  assert.ok(last?.type === 'run-finished' && last.report.maxLogitDrift === 0);
  reloaded.close();
});

/**
 * `cpg/browser`: everything of `cpg` (browser-safe), plus a store in the
 * page's IndexedDB, so a model learned in a page survives a reload.
 */
export * from '../index.js';
export { indexedDbStore } from './indexedDbStore.js';
export type { IndexedDbStore, IndexedDbStoreOptions, LockManagerLike } from './indexedDbStore.js';
export type { IdbFactory } from './indexedDb.js';

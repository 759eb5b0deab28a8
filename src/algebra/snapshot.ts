/**
 * The on-disk index of a network's values (io-ts): which blob holds which
 * tensor, owner map and pick mask. The blobs themselves are raw bytes
 * (float32 little-endian, uint8 owner cells, packed pick bits); this index
 * is what a checkpoint manifest embeds and what is decoded before any blob is
 * trusted.
 */
import type * as t from 'io-ts';
import { NonNegativeInt, PositiveInt, Sha256, StoredMultiplier as Multiplier, Text, list, nullable, struct } from './shape.js';

// Closed objects, like every other file the run reads: an unknown field is refused
// with its name, not silently dropped.
/** A stored blob: its hash names it; its size is checked on read. */
export const BlobRefCodec = struct('a blob reference', { sha256: Sha256, bytes: NonNegativeInt });
export type BlobRef = t.TypeOf<typeof BlobRefCodec>;

export const TensorEntry = struct('a tensor entry', { name: Text, shape: list(PositiveInt), blob: BlobRefCodec });
export type TensorEntry = t.TypeOf<typeof TensorEntry>;

export const OwnerEntry = struct('an owner-map entry', { name: Text, blob: BlobRefCodec });
export const PickEntry = struct('a pick-mask entry', { name: Text, length: NonNegativeInt, blob: BlobRefCodec });
export type PickEntry = t.TypeOf<typeof PickEntry>;

export const FinishedEntry = struct('a finished-task entry', {
  id: PositiveInt,
  name: Text,
  classes: PositiveInt,
  multiplier: Multiplier,
  picks: list(PickEntry),
});

export const PrivatesEntry = struct('a private-tensors entry', {
  task: PositiveInt,
  classes: PositiveInt,
  multiplier: Multiplier,
  tensors: list(TensorEntry),
});

/** The values of a network, by blob: sharable tensors, owner maps, finished tasks, private tensors. */
export const SnapshotIndex = struct('a snapshot index', {
  multiplier: Multiplier,
  sharable: list(TensorEntry),
  owners: list(OwnerEntry),
  finished: list(FinishedEntry),
  privates: list(PrivatesEntry),
  /** Binary pick masks of the task in progress (between its stages), or null. */
  currentPicks: nullable(list(PickEntry)),
});
export type SnapshotIndex = t.TypeOf<typeof SnapshotIndex>;

/** Every blob a snapshot refers to, as its entries name them (a blob may appear more than once). */
export const snapshotBlobRefs = (s: SnapshotIndex): BlobRef[] => [
  ...s.sharable.map((e) => e.blob),
  ...s.owners.map((e) => e.blob),
  ...s.finished.flatMap((f) => f.picks.map((p) => p.blob)),
  ...s.privates.flatMap((p) => p.tensors.map((e) => e.blob)),
  ...(s.currentPicks ?? []).map((p) => p.blob),
];

/** Every blob hash a snapshot refers to (to keep them when collecting garbage). */
export const snapshotBlobs = (s: SnapshotIndex): string[] => snapshotBlobRefs(s).map((b) => b.sha256);

/** Bytes of all blobs a snapshot refers to, each counted once. */
export const snapshotBytes = (s: SnapshotIndex): number =>
  [...new Map(snapshotBlobRefs(s).map((b) => [b.sha256, b.bytes])).values()].reduce((a, b) => a + b, 0);

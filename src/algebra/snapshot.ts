/**
 * The on-disk index of a network's values (io-ts): which blob holds which
 * tensor, owner map and pick mask. The blobs themselves are raw bytes
 * (float32 little-endian, uint8 owner cells, packed pick bits); this index
 * is what a checkpoint manifest embeds and what is decoded before any blob is
 * trusted.
 */
import * as t from 'io-ts';
import { NonNegativeInt, PositiveInt } from './codecs.js';

const isHex64 = (s: string) => /^[0-9a-f]{64}$/.test(s);

/** A sha256 hex digest. */
export const Sha256 = new t.Type<string, string, unknown>(
  'Sha256',
  (u): u is string => typeof u === 'string' && isHex64(u),
  (u, c) => (typeof u === 'string' && isHex64(u) ? t.success(u) : t.failure(u, c, 'expected a sha256 hex digest (64 lowercase hex characters)')),
  t.identity,
);

const isMultiplier = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 1 && n <= 64;
/** A parameter multiplier (1 … 64). */
export const Multiplier = new t.Type<number, number, unknown>(
  'Multiplier',
  isMultiplier,
  (u, c) => (isMultiplier(u) ? t.success(u) : t.failure(u, c, 'expected a width multiplier between 1 and 64')),
  t.identity,
);

export const BlobRefCodec = t.strict({ sha256: Sha256, bytes: NonNegativeInt }, 'BlobRef');

export const TensorEntry = t.strict({ name: t.string, shape: t.array(PositiveInt), blob: BlobRefCodec }, 'TensorEntry');
export type TensorEntry = t.TypeOf<typeof TensorEntry>;

export const OwnerEntry = t.strict({ name: t.string, blob: BlobRefCodec }, 'OwnerEntry');
export const PickEntry = t.strict({ name: t.string, length: NonNegativeInt, blob: BlobRefCodec }, 'PickEntry');
export type PickEntry = t.TypeOf<typeof PickEntry>;

export const FinishedEntry = t.strict(
  { id: PositiveInt, name: t.string, classes: PositiveInt, multiplier: Multiplier, picks: t.array(PickEntry) },
  'FinishedEntry',
);

export const PrivatesEntry = t.strict(
  { task: PositiveInt, classes: PositiveInt, multiplier: Multiplier, tensors: t.array(TensorEntry) },
  'PrivatesEntry',
);

/** The values of a network, by blob: sharable tensors, owner maps, finished tasks, private tensors. */
export const SnapshotIndex = t.strict(
  {
    multiplier: Multiplier,
    sharable: t.array(TensorEntry),
    owners: t.array(OwnerEntry),
    finished: t.array(FinishedEntry),
    privates: t.array(PrivatesEntry),
    /** Binary pick masks of the task in progress (between its stages), or null. */
    currentPicks: t.union([t.array(PickEntry), t.null]),
  },
  'SnapshotIndex',
);
export type SnapshotIndex = t.TypeOf<typeof SnapshotIndex>;

/** Every blob hash a snapshot refers to (to keep them when collecting garbage). */
export const snapshotBlobs = (s: SnapshotIndex): string[] => [
  ...s.sharable.map((e) => e.blob.sha256),
  ...s.owners.map((e) => e.blob.sha256),
  ...s.finished.flatMap((f) => f.picks.map((p) => p.blob.sha256)),
  ...s.privates.flatMap((p) => p.tensors.map((e) => e.blob.sha256)),
  ...(s.currentPicks ?? []).map((p) => p.blob.sha256),
];

/** Bytes of all blobs a snapshot refers to, each counted once. */
export const snapshotBytes = (s: SnapshotIndex): number => {
  const seen = new Map<string, number>();
  const add = (b: { sha256: string; bytes: number }) => seen.set(b.sha256, b.bytes);
  s.sharable.forEach((e) => add(e.blob));
  s.owners.forEach((e) => add(e.blob));
  s.finished.forEach((f) => f.picks.forEach((p) => add(p.blob)));
  s.privates.forEach((p) => p.tensors.forEach((e) => add(e.blob)));
  (s.currentPicks ?? []).forEach((p) => add(p.blob));
  return [...seen.values()].reduce((a, b) => a + b, 0);
};

/**
 * Saving and loading a network's values (NetState) as blobs plus an index.
 * Loading checks everything against the architecture before anything is
 * used: names, shapes, byte counts, hashes, finite values, owner ids in
 * range, pick padding bits, and the backbone's own invariants.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type CpgError, checkpointError, numericError } from '../algebra/errors.js';
import { type Graph, type ParamSpec, paramSpecs, shapeSize } from '../algebra/graph.js';
import { type Backbone, type FinishedTask, type OwnerMap, type PickMask, graphAt, validateBackbone } from '../algebra/backbone.js';
import { ownersFromBytes } from '../algebra/ownerMap.js';
import { pickFromBytes } from '../algebra/pickMask.js';
import type { PickEntry, SnapshotIndex, TensorEntry } from '../algebra/snapshot.js';
import type { NetState, TaskPrivates } from './network.js';
import { type Store, blobEntry, bytesFloat32, float32Bytes, nonFiniteIn } from './store.js';

/** Store a float32 tensor; a non-finite value is never written (loading would refuse it anyway). */
const putTensor = (store: Store, name: string, shape: readonly number[], a: Float32Array): TE.TaskEither<CpgError, TensorEntry> => {
  const bad = nonFiniteIn(name, a);
  if (bad !== undefined) return TE.left(numericError(`${bad}: not written to the checkpoint in ${store.location}; lower the learning rate`));
  return pipe(
    store.putBlob(float32Bytes(a)),
    TE.map((blob) => ({ name, shape: [...shape], blob })),
  );
};

const putPicks = (store: Store, picks: ReadonlyMap<string, PickMask>): TE.TaskEither<CpgError, PickEntry[]> =>
  pipe(
    [...picks].map(([name, p]) =>
      pipe(
        store.putBlob(p.bits),
        TE.map((blob) => ({ name, length: p.length, blob })),
      ),
    ),
    TE.sequenceSeqArray,
    TE.map((xs) => [...xs]),
  );

const shapesOf = (g: Graph, classes: number): E.Either<CpgError, ReadonlyMap<string, readonly number[]>> =>
  pipe(
    paramSpecs(g, classes),
    E.map((specs) => new Map(specs.map((s) => [s.name, s.shape] as const))),
  );

const putOwners = (store: Store, owners: ReadonlyMap<string, OwnerMap>) =>
  TE.sequenceSeqArray(
    [...owners].map(([name, o]) =>
      pipe(
        store.putBlob(o.cells),
        TE.map((blob) => ({ name, blob })),
      ),
    ),
  );

const putFinished = (store: Store, f: FinishedTask) =>
  pipe(
    putPicks(store, f.picks),
    TE.map((picks) => ({ id: f.id, name: f.name, classes: f.classes, multiplier: f.multiplier, picks })),
  );

const putPrivates = (store: Store, backbone: Backbone, task: number, p: TaskPrivates) =>
  pipe(
    TE.fromEither(shapesOf(graphAt(backbone, p.multiplier), p.classes)),
    TE.chain((pshapes) => TE.sequenceSeqArray([...p.values].map(([name, a]) => putTensor(store, name, pshapes.get(name)!, a)))),
    TE.map((tensors) => ({ task, classes: p.classes, multiplier: p.multiplier, tensors: [...tensors] })),
  );

/** Store a network's values (and the current task's binary picks, between stages). */
export const saveNet = (
  store: Store,
  s: NetState,
  currentPicks: ReadonlyMap<string, PickMask> | undefined,
): TE.TaskEither<CpgError, SnapshotIndex> => {
  const g = graphAt(s.backbone, s.backbone.multiplier);
  return pipe(
    TE.fromEither(shapesOf(g, 1)),
    TE.chain((shapes) => TE.sequenceSeqArray([...s.sharable].map(([name, a]) => putTensor(store, name, shapes.get(name)!, a)))),
    TE.bindTo('sharable'),
    TE.bind('owners', () => putOwners(store, s.backbone.owners)),
    TE.bind('finished', () => TE.sequenceSeqArray(s.backbone.finished.map((f) => putFinished(store, f)))),
    TE.bind('privates', () => TE.sequenceSeqArray([...s.privates].map(([task, p]) => putPrivates(store, s.backbone, task, p)))),
    TE.bind('currentPicks', () => (currentPicks === undefined ? TE.right(null) : putPicks(store, currentPicks))),
    TE.map((r) => ({
      multiplier: s.backbone.multiplier,
      sharable: [...r.sharable],
      owners: [...r.owners],
      finished: [...r.finished],
      privates: [...r.privates],
      currentPicks: r.currentPicks,
    })),
  );
};

/** Read a float32 tensor blob and check its shape against the architecture and its values for NaN/Inf. */
const loadTensor = (store: Store, e: TensorEntry, expected: readonly number[] | undefined): TE.TaskEither<CpgError, Float32Array> => {
  const file = store.nameOf(blobEntry(e.blob));
  if (expected === undefined) return TE.left(checkpointError(file, `tensor '${e.name}' is not part of this architecture`));
  if (expected.join(',') !== e.shape.join(','))
    return TE.left(checkpointError(file, `tensor '${e.name}' has shape [${e.shape.join(', ')}], the architecture needs [${expected.join(', ')}]`));
  return pipe(
    store.getBlob(e.blob),
    TE.chain((bytes) => {
      if (bytes.byteLength !== 4 * shapeSize(expected))
        return TE.left(checkpointError(file, `tensor '${e.name}' has ${bytes.byteLength} bytes, [${expected.join(', ')}] float32 needs ${4 * shapeSize(expected)}`));
      const a = bytesFloat32(bytes);
      const bad = nonFiniteIn(e.name, a);
      return bad !== undefined ? TE.left(checkpointError(file, bad)) : TE.right(a);
    }),
  );
};

const loadPicks = (store: Store, entries: readonly PickEntry[], sizes: ReadonlyMap<string, number>): TE.TaskEither<CpgError, ReadonlyMap<string, PickMask>> =>
  pipe(
    entries.map((p) => {
      const file = store.nameOf(blobEntry(p.blob));
      const size = sizes.get(p.name);
      if (size === undefined) return TE.left(checkpointError(file, `pick mask for '${p.name}', which the architecture does not share`));
      if (size !== p.length) return TE.left(checkpointError(file, `pick mask for '${p.name}' has ${p.length} cells, the tensor has ${size}`));
      return pipe(
        store.getBlob(p.blob),
        TE.chain((bytes) =>
          TE.fromEither(
            pipe(
              pickFromBytes(p.length, bytes, p.name),
              E.mapLeft((e): CpgError => checkpointError(file, e.message)),
              E.map((mask) => [p.name, mask] as const),
            ),
          ),
        ),
      );
    }),
    TE.sequenceSeqArray,
    TE.map((xs) => new Map(xs)),
  );

const unique = (names: readonly string[], what: string): E.Either<CpgError, void> => {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) return E.left(checkpointError(undefined, `${what} '${n}' appears twice`));
    seen.add(n);
  }
  return E.right(undefined);
};

/** The sharable tensors' sizes at multiplier `m`, which pick masks are checked against. */
const sharableSizes = (proto: Backbone, m: number): E.Either<CpgError, ReadonlyMap<string, number>> =>
  pipe(
    paramSpecs(graphAt(proto, m), 1),
    E.map((specs) => new Map(specs.filter((s) => s.role === 'sharable').map((s) => [s.name, shapeSize(s.shape)] as const))),
  );

const loadNamedTensor = (store: Store, e: TensorEntry, expected: readonly number[] | undefined) =>
  pipe(
    loadTensor(store, e, expected),
    TE.map((a) => [e.name, a] as const),
  );

/** One layer's owner map: a layer the architecture shares, task ids up to `maxTask`. */
const loadOwnerMap = (store: Store, e: SnapshotIndex['owners'][number], shape: readonly number[] | undefined, maxTask: number) =>
  pipe(
    store.getBlob(e.blob),
    TE.chain((bytes) => {
      if (shape === undefined) return TE.left(checkpointError(store.nameOf(blobEntry(e.blob)), `owner map for '${e.name}', which the architecture does not share`));
      return TE.fromEither(
        pipe(
          ownersFromBytes(e.name, shapeSize(shape), bytes, maxTask),
          E.mapLeft((err): CpgError => checkpointError(store.nameOf(blobEntry(e.blob)), err.message)),
          E.map((o) => [e.name, o] as const),
        ),
      );
    }),
  );

const loadFinished = (store: Store, proto: Backbone, f: SnapshotIndex['finished'][number]) =>
  pipe(
    TE.fromEither(sharableSizes(proto, f.multiplier)),
    TE.chain((sizes) => loadPicks(store, f.picks, sizes)),
    TE.map((picks): FinishedTask => ({ id: f.id, name: f.name, classes: f.classes, multiplier: f.multiplier, picks })),
  );

/** A task's private tensors: every one its head needs, none of the sharable ones, each checked. */
const loadPrivates = (
  store: Store,
  proto: Backbone,
  want: ReadonlyMap<string, readonly number[]>,
  maxTask: number,
  p: SnapshotIndex['privates'][number],
): TE.TaskEither<CpgError, readonly [number, TaskPrivates]> => {
  if (p.task > maxTask) return TE.left(checkpointError(undefined, `private tensors for task ${p.task}, but only ${maxTask} task(s) exist`));
  return pipe(
    TE.fromEither(shapesOf(graphAt(proto, p.multiplier), p.classes)),
    TE.chain((shapes) => {
      const names = [...shapes].filter(([n]) => !want.has(n)).map(([n]) => n);
      const lacking = names.find((n) => !p.tensors.some((e) => e.name === n));
      if (lacking !== undefined) return TE.left(checkpointError(undefined, `task ${p.task} lacks private tensor '${lacking}'`));
      return TE.sequenceSeqArray(p.tensors.map((e) => loadNamedTensor(store, e, shapes.get(e.name))));
    }),
    TE.map((tensors): readonly [number, TaskPrivates] => [p.task, { classes: p.classes, multiplier: p.multiplier, values: new Map(tensors) }]),
  );
};

/** Load and check a network's values against the architecture `base` (at multiplier 1). */
export const loadNet = (
  store: Store,
  base: Graph,
  idx: SnapshotIndex,
): TE.TaskEither<CpgError, { readonly state: NetState; readonly currentPicks: ReadonlyMap<string, PickMask> | undefined }> => {
  const proto: Backbone = { base, multiplier: idx.multiplier, owners: new Map(), finished: [] };
  const g = graphAt(proto, idx.multiplier);
  return pipe(
    TE.fromEither(
      pipe(
        unique(idx.sharable.map((e) => e.name), 'sharable tensor'),
        E.chain(() => unique(idx.owners.map((e) => e.name), 'owner map')),
        E.chain((): E.Either<CpgError, readonly ParamSpec[]> => paramSpecs(g, 1)),
      ),
    ),
    TE.chain((specs) => {
      const sharableSpecs = specs.filter((s) => s.role === 'sharable');
      const want = new Map(sharableSpecs.map((s) => [s.name, s.shape] as const));
      const missing = sharableSpecs.find((s) => !idx.sharable.some((e) => e.name === s.name));
      if (missing !== undefined) return TE.left(checkpointError(undefined, `the checkpoint lacks sharable tensor '${missing.name}'`));
      const maxTask = idx.finished.length + 1;
      return pipe(
        TE.Do,
        TE.bind('sharable', () => TE.sequenceSeqArray(idx.sharable.map((e) => loadNamedTensor(store, e, want.get(e.name))))),
        TE.bind('owners', () => TE.sequenceSeqArray(idx.owners.map((e) => loadOwnerMap(store, e, want.get(e.name), maxTask)))),
        TE.bind('finished', () => TE.sequenceSeqArray(idx.finished.map((f) => loadFinished(store, proto, f)))),
        TE.bind('privates', () => TE.sequenceSeqArray(idx.privates.map((p) => loadPrivates(store, proto, want, maxTask, p)))),
        TE.bind('currentPicks', () =>
          idx.currentPicks === null
            ? TE.right(undefined)
            : pipe(
                TE.fromEither(sharableSizes(proto, idx.multiplier)),
                TE.chain((sizes) => loadPicks(store, idx.currentPicks!, sizes)),
              ),
        ),
        TE.chain((r) => {
          const owners = new Map<string, OwnerMap>(r.owners);
          const backbone: Backbone = { base, multiplier: idx.multiplier, owners, finished: r.finished };
          return pipe(
            TE.fromEither(validateBackbone(backbone)),
            TE.mapLeft((e): CpgError => checkpointError(undefined, `the checkpoint's ownership state is inconsistent: ${e.message}`)),
            TE.map(() => ({
              state: { backbone, sharable: new Map(r.sharable), privates: new Map(r.privates) },
              currentPicks: r.currentPicks,
            })),
          );
        }),
      );
    }),
  );
};

/**
 * A run's manifest in a store: reading decodes and checks it (any version this
 * release reads) before anything in it is used; writing replaces it atomically
 * and only then drops blobs that nothing refers to any more.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type CpgError, checkpointError } from '../algebra/errors.js';
import { decodeWith, parseJson } from '../algebra/json.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, RunManifest, RunManifestV1, upgradeV1 } from '../algebra/manifest.js';
import { snapshotBlobRefs } from '../algebra/snapshot.js';
import { type BlobRef, MANIFEST_ENTRY, type Store } from './store.js';

/** The manifest's name in messages (a path for a directory store). */
export const manifestName = (store: Store): string => store.nameOf(MANIFEST_ENTRY);

const decode = (file: string) => (u: unknown): E.Either<CpgError, RunManifest> => {
  const o = u as { format?: unknown; version?: unknown } | null;
  if (typeof o !== 'object' || o === null || o.format !== MANIFEST_FORMAT)
    return E.left(checkpointError(file, `not a cpg run manifest (its "format" is ${JSON.stringify(o?.format)}, expected "${MANIFEST_FORMAT}")`));
  if (o.version === 1) return pipe(decodeWith(RunManifestV1, file)(u), E.chain(upgradeV1(file)));
  if (o.version !== MANIFEST_VERSION)
    return E.left(checkpointError(file, `manifest version ${JSON.stringify(o.version)} is not supported (this cpg reads versions 1 and ${MANIFEST_VERSION})`));
  return decodeWith(RunManifest, file)(u);
};

/** Read and check the manifest of a store; null when the store holds no run. */
export const readManifest = (store: Store): TE.TaskEither<CpgError, RunManifest | null> => {
  const file = manifestName(store);
  return pipe(
    store.readManifest,
    TE.chainEitherK((bytes) =>
      bytes === null
        ? E.right(null)
        : pipe(
            parseJson(file)(new TextDecoder('utf-8', { fatal: false }).decode(bytes)),
            E.chain(decode(file)),
            E.chain(consistent(file)),
          ),
    ),
  );
};

/**
 * What the codec cannot see field by field: the finished tasks are the first
 * tasks of the run, in order, recorded alike in the task list, the results and
 * the committed network, and the task in progress is the next one.
 */
const consistent =
  (file: string) =>
  (m: RunManifest): E.Either<CpgError, RunManifest> => {
    const bad = (message: string): E.Either<CpgError, RunManifest> => E.left(checkpointError(file, `inconsistent manifest: ${message}`));
    if (m.finished.length > m.tasks.length) return bad(`${m.finished.length} finished tasks, but the run has ${m.tasks.length}`);
    if (m.individual.length > m.tasks.length) return bad(`${m.individual.length} individual results, but the run has ${m.tasks.length} tasks`);
    const names = new Set<string>();
    for (const [i, t] of m.tasks.entries()) {
      if (names.has(t.name)) return bad(`task ${i + 1}'s name '${t.name}' is used twice`);
      names.add(t.name);
      if (t.classNames !== undefined && t.classNames.length !== t.classes)
        return bad(`task '${t.name}' has ${t.classes} classes but ${t.classNames.length} class names`);
    }
    for (const [i, f] of m.finished.entries()) {
      const t = m.tasks[i]!;
      if (f.name !== t.name || f.classes !== t.classes)
        return bad(`finished task ${i + 1} is '${f.name}' (${f.classes} classes), but task ${i + 1} of the run is '${t.name}' (${t.classes} classes)`);
    }
    if (m.state !== null) {
      if (m.state.finished.length !== m.finished.length)
        return bad(`the committed network holds ${m.state.finished.length} finished task(s), the results ${m.finished.length}`);
      for (const [i, f] of m.state.finished.entries())
        if (f.name !== m.finished[i]!.name || f.classes !== m.finished[i]!.classes)
          return bad(`the committed network's task ${i + 1} is '${f.name}' (${f.classes} classes), the results say '${m.finished[i]!.name}' (${m.finished[i]!.classes} classes)`);
    }
    if (m.current !== null && m.current.task !== m.finished.length + 1)
      return bad(`task ${m.current.task} is in progress after ${m.finished.length} finished task(s)`);
    if (m.current !== null && m.current.task > m.tasks.length) return bad(`task ${m.current.task} is in progress, but the run lists ${m.tasks.length} task(s)`);
    if (m.plannedTasks !== undefined && m.plannedTasks > m.tasks.length)
      return bad(`${m.plannedTasks} tasks were planned, but the run lists ${m.tasks.length}`);
    return E.right(m);
  };

/** Every blob a manifest refers to, each once: the committed network, the task in progress's snapshots, the probes. */
export const manifestBlobRefs = (m: RunManifest): BlobRef[] => {
  const c = m.current;
  const all: BlobRef[] = [
    ...(m.state !== null ? snapshotBlobRefs(m.state) : []),
    ...m.finished.flatMap((f) => (f.probe !== null ? [f.probe] : [])),
    ...m.tasks.flatMap((t) => (t.probeInputs !== undefined ? [t.probeInputs] : [])),
    ...(c === null ? [] : [c.trained, c.lastPruned, c.retrained, ...c.pruned.map((p) => p.snapshot)].flatMap((s) => (s !== null ? snapshotBlobRefs(s) : []))),
  ];
  return [...new Map(all.map((b) => [b.sha256, b])).values()];
};

/** Every blob hash a manifest refers to. */
export const manifestBlobs = (m: RunManifest): Set<string> => new Set(manifestBlobRefs(m).map((b) => b.sha256));

/** Commit a manifest: atomic replace, then drop blobs nothing refers to. Returns the bytes written. */
export const writeManifest = (store: Store, m: RunManifest): TE.TaskEither<CpgError, number> => {
  const bytes = new TextEncoder().encode(`${JSON.stringify(RunManifest.encode(m), null, 1)}\n`);
  return pipe(
    store.writeManifest(bytes, manifestBlobs(m)),
    TE.map(() => bytes.byteLength),
  );
};

/**
 * Reads every blob the manifest refers to, each once, checking its size and
 * hash: a resume, or a learn into a model, reads them later, after it has
 * committed; a damaged one found then would leave the run changed. Checked
 * before anything is written, a damaged checkpoint is refused as it is. One
 * pass over the checkpoint's bytes (a blob at a time), before stages that
 * read most of them anyway.
 */
export const checkBlobs = (store: Store, m: RunManifest): TE.TaskEither<CpgError, void> =>
  pipe(
    manifestBlobRefs(m),
    // Each blob's bytes are dropped once checked: at most one is held at a time.
    TE.traverseSeqArray((ref) => pipe(store.getBlob(ref), TE.map(() => undefined))),
    TE.map(() => undefined),
  );

/**
 * Reads every probe blob of the run (each task's probe inputs and recorded
 * logits), checking sizes and hashes: a later evaluation or learn without
 * the tasks' data depends on them, so a damaged one is named now, not then.
 */
export const checkProbes = (store: Store, m: RunManifest): TE.TaskEither<CpgError, void> =>
  pipe(
    [...m.tasks.flatMap((t) => (t.probeInputs !== undefined ? [t.probeInputs] : [])), ...m.finished.flatMap((f) => (f.probe !== null ? [f.probe] : []))],
    TE.traverseSeqArray((ref) => store.getBlob(ref)),
    TE.map(() => undefined),
  );

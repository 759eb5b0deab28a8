/**
 * A run directory: `run.json` (the manifest, the commit point), `blobs/`
 * (tensors by hash), `report.json`, `report.html`. Reading decodes and checks
 * the manifest before anything in it is used; writing replaces it atomically
 * and only then deletes blobs that nothing refers to any more.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { CpgError } from '../algebra/errors.js';
import { decodeWith, parseJson } from '../algebra/codecs.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, RunManifest } from '../algebra/manifest.js';
import { snapshotBlobs } from '../algebra/snapshot.js';
import { collectGarbage, readFile, writeAtomic } from './store.js';

export const MANIFEST_FILE = 'run.json';

export const manifestPath = (dir: string): string => path.join(dir, MANIFEST_FILE);

/** Whether `dir` already holds a run (a manifest). */
export const holdsRun = (dir: string): TE.TaskEither<CpgError, boolean> =>
  TE.tryCatch(
    async () => (await fs.stat(manifestPath(dir)).catch(() => undefined)) !== undefined,
    (e) => ({ tag: 'CheckpointError', file: dir, message: String(e) }),
  );

/** Read and decode the manifest of a run directory. */
export const readManifest = (dir: string): TE.TaskEither<CpgError, RunManifest> => {
  const file = manifestPath(dir);
  return pipe(
    readFile(file),
    TE.mapLeft((e): CpgError =>
      e.tag === 'CheckpointError' && e.message === 'file is missing'
        ? { tag: 'CheckpointError', file, message: `no run here: ${dir} has no ${MANIFEST_FILE} (start one with \`cpg run --out ${dir}\`)` }
        : e,
    ),
    TE.chainEitherK((bytes) => parseJson(file)(new TextDecoder('utf-8', { fatal: false }).decode(bytes))),
    TE.chainEitherK((u): E.Either<CpgError, unknown> => {
      const o = u as { format?: unknown; version?: unknown } | null;
      if (typeof o !== 'object' || o === null || o.format !== MANIFEST_FORMAT)
        return E.left({ tag: 'CheckpointError', file, message: `not a cpg run manifest (its "format" is ${JSON.stringify(o?.format)}, expected "${MANIFEST_FORMAT}")` });
      if (o.version !== MANIFEST_VERSION)
        return E.left({ tag: 'CheckpointError', file, message: `manifest version ${JSON.stringify(o.version)} is not supported (this cpg reads version ${MANIFEST_VERSION})` });
      return E.right(u);
    }),
    TE.chainEitherK(decodeWith(RunManifest, file)),
    TE.chainEitherK(consistent(file)),
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
    const bad = (message: string): E.Either<CpgError, RunManifest> => E.left({ tag: 'CheckpointError', file, message: `inconsistent manifest: ${message}` });
    if (m.finished.length > m.tasks.length) return bad(`${m.finished.length} finished tasks, but the run has ${m.tasks.length}`);
    if (m.individual.length > m.tasks.length) return bad(`${m.individual.length} individual results, but the run has ${m.tasks.length} tasks`);
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
    return E.right(m);
  };

/** Every blob a manifest refers to. */
export const manifestBlobs = (m: RunManifest): Set<string> => {
  const keep = new Set<string>();
  const add = (xs: string[]) => xs.forEach((x) => keep.add(x));
  if (m.state !== null) add(snapshotBlobs(m.state));
  for (const f of m.finished) if (f.probe !== null) keep.add(f.probe.sha256);
  const c = m.current;
  if (c !== null) {
    for (const s of [c.trained, c.lastPruned, c.retrained]) if (s !== null) add(snapshotBlobs(s));
    for (const p of c.pruned) add(snapshotBlobs(p.snapshot));
  }
  return keep;
};

/** Commit a manifest: atomic replace, then drop blobs nothing refers to. Returns the bytes written. */
export const writeManifest = (dir: string, m: RunManifest): TE.TaskEither<CpgError, number> => {
  const text = `${JSON.stringify(RunManifest.encode(m), null, 1)}\n`;
  return pipe(
    writeAtomic(manifestPath(dir), text),
    TE.chain(() => collectGarbage(dir, manifestBlobs(m))),
    TE.map(() => Buffer.byteLength(text)),
  );
};

/** Write a report file atomically. */
export const writeReportFile = (dir: string, name: string, text: string): TE.TaskEither<CpgError, string> => {
  const file = path.join(dir, name);
  return pipe(
    writeAtomic(file, text),
    TE.map(() => file),
  );
};

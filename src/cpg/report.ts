/**
 * The run report: per-task results, the accuracy matrix and what it says
 * about forgetting, model size, capacity per layer and task, timing.
 * Built from the manifest and the final network only.
 */
import type { RunReport, LayerCapacity } from '../algebra/report.js';
import { paramSpecs, shapeSize } from '../algebra/graph.js';
import { type Backbone, type OwnerMap, graphAt, ownersOf } from '../algebra/backbone.js';
import { countOwned, countFree } from '../algebra/ownerMap.js';
import { pickedCount } from '../algebra/pickMask.js';
import type { RunManifest } from '../algebra/manifest.js';
import { validationTooSmall } from '../algebra/lifecycle.js';
import { snapshotBytes } from '../algebra/snapshot.js';
import type { NetState } from '../effects/network.js';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { CpgError } from '../algebra/errors.js';
import type { MethodTraits } from '../algebra/methodTraits.js';
import type { Graph } from '../algebra/graph.js';

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Rows of test accuracies: row i after task i, column j task j (null before j is learned). */
export const accuracyMatrix = (m: RunManifest, model: MethodTraits['model']): (number | null)[][] => {
  const perTask = model === 'per-task';
  const n = perTask ? m.individual.length : m.finished.length;
  const rows: (number | null)[][] = [];
  for (let i = 0; i < n; i++) {
    const known = perTask ? m.individual.slice(0, i + 1).map((r) => r.testAccuracy) : [...m.finished[i]!.accuracyRow];
    rows.push([...known, ...new Array<null>(n - known.length).fill(null)]);
  }
  return rows;
};

/** Average drop from the best accuracy each earlier task ever had to its final one. */
export const forgetting = (rows: readonly (readonly (number | null)[])[]): number => {
  const n = rows.length;
  if (n < 2) return 0;
  const drops: number[] = [];
  for (let j = 0; j < n - 1; j++) {
    let best = -Infinity;
    for (let i = j; i < n; i++) best = Math.max(best, rows[i]![j] ?? -Infinity);
    drops.push(best - (rows[n - 1]![j] ?? 0));
  }
  return mean(drops);
};

/** Average change from each task's accuracy right after it was learned to its final one. */
export const backwardTransfer = (rows: readonly (readonly (number | null)[])[]): number => {
  const n = rows.length;
  if (n < 2) return 0;
  const d: number[] = [];
  for (let j = 0; j < n - 1; j++) d.push((rows[n - 1]![j] ?? 0) - (rows[j]![j] ?? 0));
  return mean(d);
};

const parametersOf = (g: Graph, classes: number, role?: 'sharable' | 'private'): number => {
  const specs = paramSpecs(g, classes);
  return E.isLeft(specs) ? 0 : specs.right.filter((s) => role === undefined || s.role === role).reduce((a, s) => a + shapeSize(s.shape), 0);
};

/** Capacity of sharable layer `name` with owner map `o` (`restricted[i]`: the owner maps finished task i sees). */
const layerCapacity = (b: Backbone, restricted: readonly ReadonlyMap<string, OwnerMap>[], name: string, o: OwnerMap): E.Either<CpgError, LayerCapacity> =>
  pipe(
    E.sequenceArray(b.finished.map((t, i) => pickedCount(t.id, restricted[i]!.get(name) ?? o, t.picks.get(name)))),
    E.map(
      (picked): LayerCapacity => ({
        name,
        size: o.cells.length,
        perTask: b.finished.map((t, i) => ({
          owned: o.cells.length === 0 ? 0 : countOwned(t.id)(o) / o.cells.length,
          picked: o.cells.length === 0 ? 0 : picked[i]!.picked / o.cells.length,
        })),
        free: o.cells.length === 0 ? 0 : countFree(o) / o.cells.length,
      }),
    ),
  );

/** Capacity of every sharable layer: per task owned and picked fractions, and the free fraction. */
export const capacityOf = (s: NetState): E.Either<CpgError, LayerCapacity[]> => {
  const b = s.backbone;
  return pipe(
    E.sequenceArray(b.finished.map((t) => ownersOf(t.id)(b))),
    E.chain((restricted) => E.sequenceArray([...b.owners].map(([name, o]) => layerCapacity(b, restricted, name, o)))),
    E.map((xs) => [...xs]),
  );
};

/** The report of a run as it stands. */
export const buildReport = (
  m: RunManifest,
  final: NetState | undefined,
  o: {
    readonly base: Graph;
    readonly backend: RunReport['backend'];
    readonly threads: number;
    readonly simd: boolean;
    readonly device?: string | undefined;
    readonly maxLogitDrift: number;
    readonly createdAt: string;
    readonly capacityPolicy: string;
    /** What the run's method keeps: a shared network, or a network per task (then the report is of those). */
    readonly model: MethodTraits['model'];
  },
): E.Either<CpgError, RunReport> => {
  const c = m.config;
  const rows = accuracyMatrix(m, o.model);
  const last = rows[rows.length - 1] ?? [];
  const firstClasses = m.tasks[0]?.classes ?? 1;
  const oneNetwork = parametersOf(o.base, firstClasses);
  const individual = o.model === 'per-task';
  const goals = m.goals ?? {};
  const tasks: RunReport['tasks'] = individual
    ? m.individual.map((r) => ({
        name: r.name,
        accuracy: r.testAccuracy,
        valAccuracy: r.valAccuracy,
        goal: goals[r.name] ?? null,
        widthMultiplier: 1,
        sparsity: 0,
        ownedFraction: 1,
        pickedFraction: 0,
        growths: [],
        pruneCurve: [],
        retrainKept: false,
        note: 'a network of its own',
      }))
    : m.finished.map((f, j) => ({
        name: f.name,
        accuracy: (last[j] ?? f.testAccuracy) as number,
        valAccuracy: f.valAccuracy,
        goal: f.goal,
        widthMultiplier: f.multiplier,
        sparsity: f.sparsity,
        ownedFraction: f.ownedFraction,
        pickedFraction: f.pickedFraction,
        growths: f.growths,
        pruneCurve: f.pruneCurve,
        retrainKept: f.retrainKept,
        note: f.note,
        ...(f.accuracyOn !== undefined ? { accuracyOn: f.accuracyOn } : {}),
        ...(f.budget !== undefined ? { budget: f.budget } : {}),
        allowedLoss: f.allowedLoss ?? (m.tasks[j]?.config ?? c).allowedLoss,
        ...(f.validationImages !== undefined ? { validationImages: f.validationImages } : {}),
        ...(f.validationImages !== undefined && f.goal !== null
          ? { validationTooSmall: validationTooSmall(f.validationImages, f.allowedLoss ?? (m.tasks[j]?.config ?? c).allowedLoss) }
          : {}),
      }));
  let parameters: number;
  if (individual) parameters = m.individual.length * oneNetwork;
  else if (final !== undefined) {
    const g = graphAt(final.backbone, final.backbone.multiplier);
    parameters = parametersOf(g, 1, 'sharable');
    for (const p of final.privates.values()) for (const v of p.values.values()) parameters += v.length;
  } else parameters = 0;
  const capacity = final === undefined ? E.right([]) : capacityOf(final);
  if (E.isLeft(capacity)) return capacity;
  return E.right({
    method: c.method,
    benchmark: c.benchmark,
    net: c.net,
    backend: o.backend,
    seed: c.seed,
    tasks,
    accuracyMatrix: rows,
    averageAccuracy: mean(last.filter((x): x is number => x !== null)),
    forgetting: forgetting(rows),
    backwardTransfer: backwardTransfer(rows),
    maxLogitDrift: o.maxLogitDrift,
    modelSize: {
      parameters,
      relativeToOneNetwork: oneNetwork === 0 ? 0 : parameters / oneNetwork,
      checkpointBytes: m.state === null ? 0 : snapshotBytes(m.state),
    },
    capacity: capacity.right,
    timing: {
      totalSeconds: m.elapsedSeconds,
      perTask: individual ? m.individual.map((r) => ({ name: r.name, seconds: r.seconds })) : m.finished.map((f) => ({ name: f.name, seconds: f.seconds })),
    },
    createdAt: o.createdAt,
    threads: o.threads,
    simd: o.simd,
    ...(o.device !== undefined ? { device: o.device } : {}),
    capacityPolicy: o.capacityPolicy,
  });
};

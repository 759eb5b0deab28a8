/**
 * Synthetic run reports for the report tests and for looking at the page: a CPG-like
 * run (owner maps filled by compacting, picks of older weights, one growth, columns of
 * the accuracy matrix constant) or a forgetting one, for any number of tasks.
 */
import type { RunReport, TaskReport } from '../../src/algebra/report.js';

export interface SyntheticOptions {
  readonly tasks: number;
  readonly names?: readonly string[];
  readonly method?: RunReport['method'];
  readonly benchmark?: RunReport['benchmark'];
  readonly net?: RunReport['net'];
  readonly layers?: readonly { readonly name: string; readonly size: number }[];
  /** Accuracies drop after a task is learned (fine-tune like). */
  readonly forgets?: boolean;
  readonly maxLogitDrift?: number;
  /** Tasks (0-based) that have no goal. */
  readonly noGoal?: readonly number[];
  /** Tasks (0-based) whose compacting sweep is empty. */
  readonly noCurve?: readonly number[];
  /** Task (0-based) that grows the network, missing its goal by one sample. */
  readonly growAt?: number | null;
  readonly seed?: number;
}

/** CIFAR-100's 20 superclasses. */
export const cifarNames = [
  'aquatic_mammals', 'fish', 'flowers', 'food_containers', 'fruit_and_vegetables', 'household_electrical_devices',
  'household_furniture', 'insects', 'large_carnivores', 'large_man-made_outdoor_things', 'large_natural_outdoor_scenes',
  'large_omnivores_and_herbivores', 'medium_mammals', 'non-insect_invertebrates', 'people', 'reptiles', 'small_mammals',
  'trees', 'vehicles_1', 'vehicles_2',
];

const SPARSITIES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d;
const unit = (x: number): number => Math.min(1, Math.max(0, x));

/** A deterministic generator in [0, 1). */
const lcg = (seed: number): (() => number) => {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
};

export const syntheticReport = (o: SyntheticOptions): RunReport => {
  const rnd = lcg(o.seed ?? 7);
  const n = o.tasks;
  const names = Array.from({ length: n }, (_, i) => o.names?.[i] ?? `digits-${2 * i}-${2 * i + 1}`);
  const layers = o.layers ?? [
    { name: 'dense1/kernel', size: 784 * 400 },
    { name: 'dense2/kernel', size: 400 * 400 },
  ];
  const growAt = o.growAt === undefined ? (n > 2 ? 2 : null) : o.growAt;
  const valSize = 600;

  // Owner maps in absolute weights, per layer.
  const owned = layers.map(() => [] as number[]);
  const picked = layers.map(() => [] as number[]);
  const sizes = layers.map((l) => l.size);
  const free = layers.map((l) => l.size);
  let multiplier = 1;
  const tasks: TaskReport[] = [];
  const finalAcc: number[] = [];
  for (let k = 0; k < n; k++) {
    const base = 0.9 + 0.09 * rnd();
    const goal = (o.noGoal ?? []).includes(k) ? null : round(unit(base - 0.006 + 0.008 * rnd()));
    const growths: TaskReport['growths'][number][] = [];
    if (k === growAt) {
      const g = goal ?? 0.95;
      growths.push({ from: multiplier, to: multiplier + 0.5, trainAcc: 0.991, valAcc: round(g - 1 / valSize), goal: g, shortfallSamples: 1, trainAccFailed: false });
      multiplier += 0.5;
      layers.forEach((_, li) => {
        const grownSize = Math.round((sizes[li] ?? 0) * 1.5);
        free[li] = (free[li] ?? 0) + grownSize - (sizes[li] ?? 0);
        sizes[li] = grownSize;
      });
    }
    // Sweep: accuracy holds, then falls; stops early sometimes.
    const cliff = 0.6 + 0.35 * rnd();
    const curve = (o.noCurve ?? []).includes(k)
      ? []
      : SPARSITIES.slice(0, 6 + Math.floor(rnd() * 5)).map((s) => ({
          sparsity: s,
          valAcc: round(unit(base + 0.003 - 0.01 * s - (s > cliff ? (s - cliff) * 0.9 : 0) + 0.003 * (rnd() - 0.5))),
        }));
    const ok = curve.filter((p) => goal === null || p.valAcc >= goal);
    const chosen = ok.length === 0 ? (goal === null ? (curve[curve.length - 1]?.sparsity ?? 0) : 0) : (ok[ok.length - 1]?.sparsity ?? 0);
    const valAcc = chosen === 0 ? round(base) : (curve.find((p) => p.sparsity === chosen)?.valAcc ?? round(base));
    const test = round(unit(valAcc - 0.01 + 0.015 * rnd()));
    finalAcc.push(test);
    // Claim the free weights, keep 1 - chosen of them, pick some old ones.
    let ownTotal = 0;
    let pickTotal = 0;
    let olderTotal = 0;
    let sizeTotal = 0;
    layers.forEach((_, li) => {
      const claim = free[li] ?? 0;
      // A task leaves room for the ones still to come (as the prune cap does).
      const share = k === n - 1 ? 1 : Math.max(0.08, 2 / (n - k + 1));
      const keep = Math.round(claim * Math.min(1 - chosen, share));
      const older = (owned[li] ?? []).reduce((a, b) => a + b, 0);
      const pick = k === 0 ? 0 : Math.round(older * (0.15 + 0.5 * rnd()));
      owned[li]?.push(keep);
      picked[li]?.push(pick);
      free[li] = claim - keep;
      ownTotal += keep;
      pickTotal += pick;
      olderTotal += older;
      sizeTotal += sizes[li] ?? 0;
    });
    const kept = k > 0 && rnd() < 0.4;
    tasks.push({
      name: names[k] ?? `task ${k + 1}`,
      accuracy: test,
      valAccuracy: valAcc,
      goal,
      widthMultiplier: multiplier,
      sparsity: chosen,
      ownedFraction: round(sizeTotal === 0 ? 0 : ownTotal / sizeTotal),
      // Picked: a share of the older tasks' weights, as the learner reports it.
      pickedFraction: round(olderTotal === 0 ? 0 : pickTotal / olderTotal),
      growths,
      pruneCurve: curve,
      retrainKept: kept,
      note:
        (chosen === 0 ? 'no compacted model met the goal: kept the unpruned model' : `goal met at sparsity ${chosen}`) +
        (k === 0 ? '' : `; pick retrained: ${round(valAcc + (kept ? 0.002 : -0.003), 4)} ${kept ? '>' : '≤'} ${round(valAcc, 4)}, ${kept ? 'kept' : 'not kept'}`),
    });
  }
  const matrix = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      if (j > i) return null;
      const a = finalAcc[j] ?? 0;
      return o.forgets === true ? round(unit(a - (i - j) * (0.04 + 0.05 * rnd()))) : a;
    }),
  );
  const last = matrix[n - 1] ?? [];
  const lastVals = last.filter((v): v is number => v !== null);
  const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  const drops = Array.from({ length: Math.max(0, n - 1) }, (_, j) => (matrix[j]?.[j] ?? 0) - (last[j] ?? 0));
  const oneNetwork = layers.reduce((a, l) => a + l.size, 0);
  const parameters = sizes.reduce((a, b) => a + b, 0);
  const seconds = Array.from({ length: n }, () => round(40 + 120 * rnd(), 1));
  return {
    method: o.method ?? 'cpg',
    benchmark: o.benchmark ?? 'split-mnist',
    net: o.net ?? 'mlp',
    backend: 'tensorflow',
    threads: 16,
    simd: false,
    seed: 1,
    tasks,
    accuracyMatrix: matrix,
    averageAccuracy: round(mean(lastVals), 6),
    forgetting: round(mean(drops), 6),
    backwardTransfer: round(-mean(drops), 6),
    maxLogitDrift: o.maxLogitDrift ?? 0,
    modelSize: { parameters, relativeToOneNetwork: oneNetwork === 0 ? 0 : round(parameters / oneNetwork, 4), checkpointBytes: Math.round(parameters * 4.2 + 12345) },
    capacity: layers.map((l, li) => {
      const size = sizes[li] ?? l.size;
      return {
        name: l.name,
        size,
        perTask: (owned[li] ?? []).map((w, k) => ({ owned: round(w / size, 6), picked: round((picked[li]?.[k] ?? 0) / size, 6) })),
        free: round((free[li] ?? 0) / size, 6),
      };
    }),
    timing: {
      totalSeconds: round(seconds.reduce((a, b) => a + b, 0) * 1.08, 1),
      perTask: names.map((name, i) => ({ name, seconds: seconds[i] ?? 0 })),
    },
    createdAt: '2025-03-14T09:26:53.589Z',
  };
};

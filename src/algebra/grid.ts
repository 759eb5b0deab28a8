/**
 * Sweeps as data: a grid file `{"config": {…fixed fields…}, "axes":
 * {"field": [values…]}}`, decoded with the same field codecs as `--config`,
 * its points (the Cartesian product of the axes, in file order, the last
 * axis varying fastest), and a job's identity: the SHA-256 of its fully
 * resolved configuration (presets and defaults applied) without the backend
 * and thread count, which change where a run runs, not what it computes.
 */
import type { TraitsOf } from './methodTraits.js';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { benchmarkFacts, isBenchmarkName } from './benchmarks.js';
import { RunConfigInput, type RunConfig } from './config.js';
import { decodeWith } from './json.js';
import { type CpgError, decodeError } from './errors.js';
import { sha256OfText } from './sha256.js';

/** The BullMQ queue a sweep's jobs go to, and workers take them from, when none is named. */
export const DEFAULT_QUEUE = 'cpg-sweeps';

/** The most jobs one grid may make. */
export const MAX_GRID_JOBS = 10_000;

/** Hex digits of a job id (64 bits of the SHA-256). */
export const JOB_ID_LENGTH = 16;

/** A decoded grid: fixed fields, and the values of each axis in file order. */
export interface Grid {
  readonly config: RunConfigInput;
  readonly axes: readonly { readonly field: string; readonly values: readonly unknown[] }[];
}

/** One point of a grid, resolved: its id, the axis values that made it, and the configuration it runs. */
export interface GridJob {
  readonly id: string;
  readonly point: Readonly<Record<string, unknown>>;
  readonly config: RunConfig;
  /** A CPG job whose goals come from individual networks: the id of the individual run that holds them (it runs first; its validation accuracies are the goals). */
  readonly goalsFrom?: string;
  /** An individual run assembled from its goal-network jobs (one per task, `onlyTask`): their ids in task order. It trains nothing itself. */
  readonly parts?: readonly string[];
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

/** A decode error of a nested object, with the path it sits at. */
const under = (prefix: string) => (e: CpgError): CpgError => (e.tag === 'DecodeError' ? { ...e, field: e.field === '' || e.field === '(root)' ? prefix : `${prefix}.${e.field}` } : e);

/** The configuration fields a grid may name (those of `--config`). */
export const gridFields = (): readonly string[] => Object.keys(RunConfigInput.optional);

/** JSON with object keys sorted at every depth: equal values give equal texts, whatever their key order. */
export const canonicalJson = (u: unknown): string =>
  JSON.stringify(u, (_, v: unknown) => (isRecord(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v));

/** The number of points of a grid (the product of its axes' lengths; 1 with no axes). */
export const gridSize = (g: Pick<Grid, 'axes'>): number => g.axes.reduce((n, a) => n * a.values.length, 1);

/** Decode a grid file's JSON: unknown fields, bad values, an empty axis or more than `max` points are refused, naming the field. */
export const decodeGrid =
  (file: string | undefined, max = MAX_GRID_JOBS) =>
  (u: unknown): E.Either<CpgError, Grid> => {
    if (!isRecord(u)) return E.left(decodeError(file, '', 'a grid is an object {"config": {…}, "axes": {"field": [values…]}}'));
    const extra = Object.keys(u).find((k) => k !== 'config' && k !== 'axes');
    if (extra !== undefined) return E.left(decodeError(file, extra, `unknown field (a grid has "config" and "axes")`));
    const axesIn = u['axes'] ?? {};
    if (!isRecord(axesIn)) return E.left(decodeError(file, 'axes', 'expected an object {"field": [values…]}'));
    const known = gridFields();
    const axes: { field: string; values: unknown[] }[] = [];
    for (const [field, values] of Object.entries(axesIn)) {
      if (!known.includes(field)) return E.left(decodeError(file, `axes.${field}`, 'unknown field (axes are configuration fields, as in --config)'));
      if (!Array.isArray(values)) return E.left(decodeError(file, `axes.${field}`, 'expected a list of values'));
      if (values.length === 0) return E.left(decodeError(file, `axes.${field}`, 'an empty axis makes no jobs: give it at least one value'));
      for (let i = 0; i < values.length; i++) {
        const v = decodeWith(RunConfigInput, file)({ [field]: values[i] });
        if (E.isLeft(v)) return E.left(under('axes')(v.left.tag === 'DecodeError' ? { ...v.left, field: v.left.field.replace(field, `${field}[${i}]`) } : v.left));
      }
      axes.push({ field, values });
    }
    const size = gridSize({ axes });
    if (size > max) return E.left(decodeError(file, 'axes', `${size.toLocaleString('en-US')} jobs: a grid may make at most ${max.toLocaleString('en-US')}`));
    return pipe(
      decodeWith(RunConfigInput, file)(u['config'] ?? {}),
      E.mapLeft(under('config')),
      E.map((config) => ({ config, axes })),
    );
  };

/** The points of a grid: one record of axis values per job, the last axis varying fastest. */
export const gridPoints = (g: Pick<Grid, 'axes'>): readonly Readonly<Record<string, unknown>>[] =>
  g.axes.reduce<Record<string, unknown>[]>((points, axis) => points.flatMap((p) => axis.values.map((v) => ({ ...p, [axis.field]: v }))), [{}]);

/** A job's id: SHA-256 (the first 16 hex digits) of its resolved configuration without backend and thread count. */
export const jobIdOf = (config: RunConfig): string => {
  const { backend: _backend, threads: _threads, ...what } = config;
  return sha256OfText(canonicalJson(what)).slice(0, JOB_ID_LENGTH);
};

/** "method=cpg seed=2": the axis values of a point, as a label. */
export const pointLabel = (point: Readonly<Record<string, unknown>>): string =>
  Object.entries(point)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ') || '(the one point)';

/**
 * The jobs of a grid: each point's fields over the fixed ones, resolved by
 * `resolve` (presets and defaults), with its id. Points that resolve to the
 * same configuration are one job. A point that does not resolve is refused,
 * naming it.
 */
export const gridJobs =
  (resolve: (input: RunConfigInput) => E.Either<CpgError, RunConfig>, file: string | undefined) =>
  (g: Grid): E.Either<CpgError, readonly GridJob[]> => {
    const jobs: GridJob[] = [];
    const seen = new Set<string>();
    for (const point of gridPoints(g)) {
      const r = resolve({ ...g.config, ...point } as RunConfigInput);
      if (E.isLeft(r)) {
        const e = r.left;
        const at = ` (grid point ${pointLabel(point)})`;
        return E.left(
          e.tag === 'DecodeError'
            ? { ...e, file: e.file ?? file, message: `${e.message}${at}` }
            : e.tag === 'ConfigError'
              ? decodeError(file, e.field, `${e.message}${at}`)
              : e,
        );
      }
      const id = jobIdOf(r.right);
      if (seen.has(id)) continue;
      seen.add(id);
      jobs.push({ id, point, config: r.right });
    }
    return E.right(jobs);
  };

/** The method whose run trains one network per task alone: the goal networks. */
const GOAL_NETWORKS_METHOD = 'individual';

/**
 * The job that trains a CPG job's goal networks: the same configuration as
 * an `individual` run (null when the job's goals do not come from individual
 * networks). Distinct CPG configurations give distinct goal jobs.
 */
export const goalsJobOf =
  (traitsOf: TraitsOf) =>
  (config: RunConfig): RunConfig | null => {
    const m = traitsOf(config.method);
    return m !== undefined && m.model === 'shared' && m.goalNetworks(config) ? { ...config, method: GOAL_NETWORKS_METHOD } : null;
  };

/** How many tasks a configuration runs: its `tasks`, else its benchmark's default. */
export const taskCountOf = (config: RunConfig): number =>
  config.tasks ?? (isBenchmarkName(config.benchmark) ? benchmarkFacts[config.benchmark].defaultTasks : 1);

/**
 * The goal-network jobs of an individual run: one per task (`onlyTask`), each
 * a job of its own so that they train in parallel; the individual run is
 * assembled from their reports. None for a run that is one task's already.
 */
export const goalNetworkJobsOf =
  (traitsOf: TraitsOf) =>
  (job: GridJob): readonly GridJob[] => {
    if (traitsOf(job.config.method)?.model !== 'per-task' || job.config.onlyTask !== undefined) return [];
    return Array.from({ length: taskCountOf(job.config) }, (_, i) => {
      const config: RunConfig = { ...job.config, onlyTask: i + 1 };
      return { id: jobIdOf(config), point: { ...job.point, onlyTask: i + 1 }, config };
    });
  };

/** The jobs a job needs finished before it runs: its goal-network jobs, then its goal job. */
export const dependenciesOf = (job: Pick<GridJob, 'parts' | 'goalsFrom'>): readonly string[] => [...(job.parts ?? []), ...(job.goalsFrom !== undefined ? [job.goalsFrom] : [])];

/**
 * Jobs with their goal jobs. Each CPG job whose goals come from individual
 * networks names the individual run that holds them (`goalsFrom`), added
 * (with the point's method 'individual') when the grid did not make it
 * already. Each individual run is made of one job per goal network
 * (`parts`), placed before it. Every job is needed by at most one other, so
 * the jobs form trees (a BullMQ flow each).
 */
export const withGoalJobs = (traitsOf: TraitsOf) => (jobs: readonly GridJob[]): readonly GridJob[] => {
  const individual = (j: GridJob): readonly GridJob[] => {
    const parts = goalNetworkJobsOf(traitsOf)(j);
    return parts.length === 0 ? [j] : [...parts, { ...j, parts: parts.map((p) => p.id) }];
  };
  const gridOwn = new Map(jobs.map((j) => [j.id, j]));
  const placed = new Set<string>();
  const out: GridJob[] = [];
  const place = (js: readonly GridJob[]): void => {
    for (const x of js) {
      if (placed.has(x.id)) continue;
      placed.add(x.id);
      out.push(x);
    }
  };
  for (const j of jobs) {
    const g = goalsJobOf(traitsOf)(j.config);
    if (g === null) {
      place(individual(j));
      continue;
    }
    const id = jobIdOf(g);
    // The grid's own individual job of this configuration, when it has one, is the goal job (with its point).
    const goalJob = gridOwn.get(id) ?? { id, point: { ...j.point, method: GOAL_NETWORKS_METHOD }, config: g };
    place(individual(goalJob));
    place([{ ...j, goalsFrom: id }]);
  }
  return out;
};

/**
 * An individual run assembled from its goal-network jobs. A sweep trains an
 * individual run's networks as one job per task (`onlyTask`), in parallel;
 * each network depends only on the seed, its task's data and its own label,
 * so each part's result is the one a whole `cpg run --method individual`
 * gets for that task. The assembled directory holds what that run would
 * report (report.json, report.html), with the parts' times summed, and no
 * checkpoint: the networks stay in their parts' directories.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { RunReport } from '../../algebra/report.js';
import type { RunConfig } from '../../algebra/config.js';
import { decodeWith, parseJson } from '../../algebra/json.js';
import { type CpgError, configError } from '../../algebra/errors.js';
import { jobIdOf } from '../../algebra/grid.js';
import { type RunManifest, modelShape } from '../../algebra/manifest.js';
import { architectureFor } from '../../cpg/context.js';
import { describePolicy } from '../../cpg/model.js';
import { buildReport } from '../../cpg/report.js';
import { renderReportHtml } from '../../report/html.js';
import { fsStore } from '../stores/fs.js';
import { readRun } from '../runs.js';

const partsError = (message: string): CpgError => configError('parts', message);

const readReport = async (file: string): Promise<E.Either<CpgError, RunReport>> => {
  const text = await fs.readFile(file, 'utf8').catch(() => null);
  if (text === null) return E.left(partsError(`${file} is missing: its goal-network job has not finished`));
  return E.chain(decodeWith(RunReport, file))(parseJson(file)(text));
};

/** Whether an assembled run is there (its report is written last). */
export const isAssembled = (runDir: string): Promise<boolean> => readReport(path.join(runDir, 'report.json')).then(E.isRight);

/**
 * The report of the individual run `config` from its parts' run
 * directories (task k's network in `partDirs[k − 1]`), written into
 * `runDir` as report.json and report.html. Each part must be that task's
 * network alone, of this configuration, finished.
 */
export const assembleIndividual = async (config: RunConfig, runDir: string, partDirs: readonly string[]): Promise<E.Either<CpgError, RunReport>> => {
  const parts: { manifest: RunManifest; report: RunReport }[] = [];
  for (const [i, dir] of partDirs.entries()) {
    const m = await readRun(dir)();
    if (E.isLeft(m)) return m;
    if (m.right === null) return E.left(partsError(`${dir} holds no run: its goal-network job has not started`));
    const want = { ...config, onlyTask: i + 1 };
    if (jobIdOf(m.right.config) !== jobIdOf(want)) return E.left(partsError(`${dir} is not task ${i + 1}'s network of this run (its configuration differs)`));
    if (m.right.status !== 'finished' || m.right.individual.length !== 1) return E.left(partsError(`${dir}: task ${i + 1}'s network has not finished`));
    const r = await readReport(path.join(dir, 'report.json'));
    if (E.isLeft(r)) return r;
    parts.push({ manifest: m.right, report: r.right });
  }
  const first = parts[0];
  if (first === undefined) return E.left(partsError('an individual run needs at least one task'));
  const individual = parts.map((p) => p.manifest.individual[0]!);
  const merged: RunManifest = {
    ...first.manifest,
    config,
    individual,
    goals: Object.fromEntries(individual.map((r) => [r.name, r.valAccuracy])),
    elapsedSeconds: parts.reduce((s, p) => s + p.manifest.elapsedSeconds, 0),
    status: 'finished',
  };
  const base = architectureFor(config.net, modelShape(merged), config.benchmark);
  if (E.isLeft(base)) return E.left(partsError(base.left));
  const on = first.report;
  const report = buildReport(merged, undefined, {
    base: base.right,
    backend: on.backend,
    threads: on.threads ?? 1,
    simd: on.simd ?? false,
    device: on.device,
    maxLogitDrift: Math.max(...parts.map((p) => p.report.maxLogitDrift)),
    createdAt: new Date().toISOString(),
    capacityPolicy: describePolicy(merged, config, false),
    // Assembled from its goal networks: the individual baseline's networks, one per task.
    model: 'per-task',
  });
  if (E.isLeft(report)) return report;
  const store = fsStore(runDir);
  // The HTML first: report.json marks the assembly done.
  for (const [name, text] of [
    ['report.html', renderReportHtml(report.right)],
    ['report.json', `${JSON.stringify(report.right, null, 1)}\n`],
  ] as const) {
    const w = await store.writeReport(name, text)();
    if (E.isLeft(w)) return w;
  }
  return report;
};

/**
 * A sweep's jobs from a grid file's JSON: the grid decoded (algebra/grid.ts),
 * each point resolved as `cpg run` resolves its flags (the benchmark's
 * preset, then the reference defaults), with its id.
 */
import { builtInMethod, decodedMethod } from './methods/registry.js';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { type RunConfig, type RunConfigInput, decodeConfig } from '../algebra/config.js';
import { type CpgError, decodeError } from '../algebra/errors.js';
import { type GridJob, MAX_GRID_JOBS, decodeGrid, gridJobs, withGoalJobs } from '../algebra/grid.js';
import { withPreset } from './presets.js';

/** A grid point's configuration, as `cpg run` resolves it; its method a built-in one whose model fits it (onlyTask: a network per task). */
const jobConfig = (input: RunConfigInput): E.Either<CpgError, RunConfig> =>
  pipe(
    decodeConfig(undefined)(withPreset(input)),
    E.chainFirst((c) => decodedMethod(c)),
  );

/**
 * The jobs of the grid in `u` (the parsed JSON of `file`), or the one-line
 * refusal naming the field. A CPG job whose goals come from individual
 * networks gets its goal job (`withGoalJobs`): the individual run, made of
 * one job per goal network, which train in parallel; the CPG job runs after
 * them. The limit on jobs counts these too.
 */
export const sweepJobs =
  (file: string | undefined, max = MAX_GRID_JOBS) =>
  (u: unknown): E.Either<CpgError, readonly GridJob[]> =>
    pipe(
      decodeGrid(file, max)(u),
      E.chain(gridJobs(jobConfig, file)),
      E.map(withGoalJobs(builtInMethod)),
      E.chain((jobs) =>
        jobs.length > max
          ? E.left<CpgError, readonly GridJob[]>(
              decodeError(
                file,
                'axes',
                `${jobs.length.toLocaleString('en-US')} jobs with the goal networks (one job per task of each individual run): a sweep may have at most ${max.toLocaleString('en-US')}`,
              ),
            )
          : E.right(jobs),
      ),
    );

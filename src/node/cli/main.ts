#!/usr/bin/env node
/**
 * The `cpg` command line: thin — parse, subscribe to the run's event
 * stream, render. Exit codes: 0 done, 1 the run failed, 2 bad command line,
 * configuration or input file, 130 stopped by Ctrl-C (resumable).
 */
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Observable } from 'rxjs';
import { RunConfigInput } from '../../algebra/config.js';
import { decodeWith } from '../../algebra/json.js';
import { type CpgError, configError, describeError, exitCodeOf, resumeExitCodeOf } from '../../algebra/errors.js';
import type { RunEvent } from '../../cpg/events.js';
import { evaluateRun, runEvents } from '../runs.js';
import { asFlag, configFields, parseArgs } from './args.js';
import { drift, pct, renderer, table } from './render.js';
import { learnCommand } from './learn.js';
import { predictCommand } from './predict.js';
import { DEFAULT_TOLERANCE, type EvalRow } from '../../cpg/evalRun.js';
import { exportCommand } from './export.js';
import { resolveRunConfig } from './configFile.js';
import { shutdownBackend } from '../backend.js';
import { sweepCommand, workerCommand } from './sweep.js';
import { helpText } from './help.js';
import { onStopSignal } from './stop.js';
import { creatableDir } from '../dirs.js';

/** Errors in the user's words: config fields named as the flags that set them. */
const explain = (e: CpgError, fromFlags: boolean): string => {
  if (fromFlags && e.tag === 'DecodeError' && e.file === undefined) return `invalid value for ${asFlag(e.field)}: ${e.message}`;
  if (fromFlags && e.tag === 'ConfigError' && /^[a-z]/.test(e.field) && (configFields() as readonly string[]).includes(e.field.replace(/[[.].*$/, '')))
    return `invalid value for ${asFlag(e.field)}: ${e.message}`;
  return describeError(e);
};

const fail = (e: CpgError, fromFlags = false): number => {
  process.stderr.write(`cpg: ${explain(e, fromFlags)}\n`);
  if (e.tag === 'InternalError' && e.stack !== undefined && process.env['CPG_DEBUG'] !== undefined) process.stderr.write(`${e.stack}\n`);
  return exitCodeOf(e);
};

/** A command that only reads a run: a checkpoint it cannot read is bad input (a damaged run directory), exit 2. */
const failReading = (e: CpgError): number => {
  const code = fail(e);
  return e.tag === 'CheckpointError' ? 2 : code;
};

const timestamp = (): string => new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');

/**
 * A run started by a sweep or a worker (with an IPC channel to it) must not
 * outlive it: an orphan would write beside the job's next attempt. When the
 * channel closes or the process is re-parented, `stop` is called; if the run
 * has not ended 5 s later, the process exits (every checkpoint write is
 * atomic, so the last checkpoint stays valid either way).
 */
const orphanGuard = (stop: () => void): void => {
  if (process.channel === undefined) return;
  process.channel.unref();
  const parent = process.ppid;
  let gone = false;
  const onGone = () => {
    if (gone) return;
    gone = true;
    stop();
    setTimeout(() => process.exit(130), 5000).unref();
  };
  process.once('disconnect', onGone);
  setInterval(() => {
    if (process.ppid !== parent) onGone();
  }, 500).unref();
};

/**
 * Subscribe to a run and render it; resolves to the exit code (of an error:
 * `codeOf`, told whether the run had started). Ctrl-C (or SIGTERM) asks the
 * run to stop: it ends at its next step, releases the run directory, and the
 * stream completes with 'stopped' (exit 130); a second one, or a stop that
 * takes longer than the grace (stop.ts), ends the process at once.
 */
export const follow = (dir: string, start: (signal: AbortSignal) => Observable<RunEvent>, codeOf: (e: CpgError, started: boolean) => number = exitCodeOf): Promise<number> =>
  new Promise((resolve) => {
    const render = renderer(process.stdout);
    const stop = new AbortController();
    let stopped = false;
    let started = false;
    onStopSignal(() => stop.abort());
    orphanGuard(() => {
      process.stderr.write('cpg: the process that started this run is gone: stopping at the next step\n');
      stop.abort();
    });
    start(stop.signal).subscribe({
      next: (e) => {
        if (e.type === 'run-started') started = true;
        if (e.type === 'stopped') {
          stopped = true;
          process.stdout.write(`\ncpg: stopped. The last checkpoint in ${dir} is valid; continue with: cpg resume ${dir}\n`);
        } else render(e);
      },
      error: (e: CpgError) => {
        fail(e);
        resolve(codeOf(e, started));
      },
      complete: () => resolve(stopped ? 130 : 0),
    });
  });

const main = async (argv: readonly string[]): Promise<number> => {
  const parsed = parseArgs(argv);
  if (E.isLeft(parsed)) return fail(parsed.left, true);
  const cmd = parsed.right;
  switch (cmd.kind) {
    case 'help': {
      const text = await helpText(cmd.topic, cmd.argv);
      if (E.isLeft(text)) return fail(text.left, true);
      process.stdout.write(`${text.right}\n`);
      return 0;
    }
    case 'version':
      process.stdout.write('cpg 0.1.0\n');
      return 0;
    case 'run': {
      const config = await resolveRunConfig(cmd.configFile, cmd.flags);
      if (E.isLeft(config)) return fail(config.left, true);
      const c = config.right;
      if (c.benchmark === 'cifar100' && c.dataPath === undefined)
        return fail(configError('dataPath', 'CIFAR-100 cannot be downloaded here: give its binary directory with --data DIR (cifar-100-binary/ with train.bin and test.bin)'), true);
      if (c.benchmark === 'custom')
        return fail(configError('benchmark', "'custom' is a model learned from your own tasks: use `cpg learn RUN --task NAME --data DIR`"), true);
      const out = cmd.out ?? path.join('runs', `${c.benchmark}-${c.method}-${c.net}-${timestamp()}`);
      const where = await creatableDir(out, '--out');
      if (where !== undefined) return fail(where);
      return follow(out, (signal) => runEvents({ kind: 'new', dir: out, config: c, signal }));
    }
    case 'learn':
      return learnCommand(cmd, { fail, follow });
    case 'sweep':
      return sweepCommand(cmd.argv, (e) => fail(e, false));
    case 'worker':
      return workerCommand(cmd.argv, (e) => fail(e, false));
    case 'resume': {
      const backend = cmd.flags['backend'];
      const threads = cmd.flags['threads'];
      const o = decodeWith(RunConfigInput, undefined)({ ...(backend !== undefined ? { backend } : {}), ...(threads !== undefined ? { threads } : {}) });
      if (E.isLeft(o)) return fail(o.left, true);
      // No run in DIR, or a damaged checkpoint, is bad input (2); a failure once the run started is 1.
      return follow(
        cmd.dir,
        (signal) =>
          runEvents({
            kind: 'resume',
            dir: cmd.dir,
            signal,
            ...(o.right.backend !== undefined ? { backend: o.right.backend } : {}),
            ...(o.right.threads !== undefined ? { threads: o.right.threads } : {}),
          }),
        resumeExitCodeOf,
      );
    }
    case 'predict':
      return predictCommand(cmd, fail, failReading);
    case 'export':
      return exportCommand(cmd, fail, failReading);
    case 'eval': {
      const o = decodeWith(RunConfigInput, undefined)(cmd.flags);
      if (E.isLeft(o)) return fail(o.left, true);
      const tolerance = cmd.tolerance === undefined ? DEFAULT_TOLERANCE : Number(cmd.tolerance);
      if (!(Number.isFinite(tolerance) && tolerance >= 0))
        return fail(configError('--tolerance', `expected a logit drift ≥ 0 (like 1e-4), got '${cmd.tolerance}'`));
      const r = await evaluateRun(cmd.dir, {
        tolerance,
        ...(cmd.task !== undefined ? { task: cmd.task } : {}),
        ...(o.right.backend !== undefined ? { backend: o.right.backend } : {}),
        ...(o.right.threads !== undefined ? { threads: o.right.threads } : {}),
      })();
      if (E.isLeft(r)) return failReading(r.left);
      const rows = r.right.rows;
      const carried = rows.some((x) => x.testAccuracy === null);
      const checkOf = (x: EvalRow) => (x.check === 'bit-identical' ? 'bit-identical' : `≤ ${drift(tolerance)}`);
      process.stdout.write(
        `${table(
          ['task', 'test acc', 'val acc', 'recorded', 'logit drift', 'check'],
          rows.map((x) => [x.name, pct(x.testAccuracy), pct(x.valAccuracy), pct(x.recordedAccuracy), drift(x.logitDrift), `${checkOf(x)}${x.within ? '' : ' ✗'}`]),
        )}\nevaluated on ${r.right.backend}${rows.some((x) => x.check === 'tolerance') ? `\n≤ ${drift(tolerance)}: not the backend that recorded the task; another backend rounds floats differently, so its outputs are promised bit for bit only there (--tolerance sets the bound)` : ''}${carried ? "\n— : the task's data is not at hand (given in memory, or its folder is gone); its probe logits were checked" : ''}\n`,
      );
      const bad = rows.filter((x) => !x.within);
      if (bad.length === 0) return 0;
      const worst = bad.reduce((a, b) => (b.logitDrift > a.logitDrift ? b : a));
      process.stderr.write(
        `cpg: ${bad.length} task${bad.length === 1 ? '' : 's'} failed the check: '${worst.name}' drifted ${drift(worst.logitDrift)}${worst.check === 'bit-identical' ? ` on the backend that recorded it (${r.right.backend}), where its outputs must be bit-identical` : `, beyond the tolerance ${drift(tolerance)} on ${r.right.backend}`}\n`,
      );
      return 1;
    }
  }
};

main(process.argv.slice(2)).then(
  async (code) => {
    await shutdownBackend()();
    process.exit(code);
  },
  async (e: unknown) => {
    process.stderr.write(`cpg: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    await shutdownBackend()();
    process.exit(1);
  },
);

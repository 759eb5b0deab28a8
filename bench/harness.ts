/**
 * The timing harness behind `npm run bench:step`: runs a training step a few
 * times to warm up, then times several and reports the median, with the
 * tensor count checked to stay constant across steps (no leaks). A mode is a
 * `makeStep(net, batch)` returning the step as a thunk; 'plain' (raw tfjs ops)
 * lives in plain.ts, and other modes plug in the same way.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The networks the step benchmark knows (see src/algebra/architectures.ts). */
/** A `--name` or `--name=value` flag of this process: its value, '' when given bare, undefined when absent. */
export const flag = (name: string): string | undefined => {
  const hit = process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  return hit === undefined ? undefined : hit.includes('=') ? hit.slice(hit.indexOf('=') + 1) : '';
};
/** A comma-separated `--name=a,b` flag, or the fallback. */
export const list = (name: string, fallback: readonly string[]): string[] => flag(name)?.split(',').filter((s) => s !== '') ?? [...fallback];

export type BenchNet = 'mlp' | 'lenet' | 'vgg-small';
export const benchNets: readonly BenchNet[] = ['mlp', 'lenet', 'vgg-small'];

/**
 * Builds one training step for a net at a batch size; the thunk runs exactly
 * one step and resolves once its result is read back (asynchronously: a GPU
 * backend such as webgpu has no synchronous read in Node).
 */
export type MakeStep = (net: BenchNet, batch: number) => Promise<() => Promise<void>>;

/** How many steps to run. */
export interface TimingPlan {
  readonly warmup: number;
  readonly timed: number;
}

/** The JSON line printed per (net, mode, variant, backend, threads). */
export interface StepFigure {
  readonly net: BenchNet;
  readonly mode: string;
  readonly variant: string;
  readonly backend: string;
  readonly threads: number;
  readonly batch: number;
  readonly status: 'ok' | 'unsupported';
  readonly msPerStep?: number;
  readonly samplesPerSec?: number;
  /**
   * Median CPU time (user + system, all threads of the process) per step:
   * with one thread, a figure less sensitive than wall time to other
   * processes competing for the cores.
   */
  readonly cpuMsPerStep?: number;
  /** Every timed step, ms, in order. */
  readonly stepsMs?: readonly number[];
  readonly warmup?: number;
  /** Tensors alive after the timed steps minus before them: 0 means no leak. */
  readonly tensorGrowth?: number;
  readonly error?: string;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** Context a figure is printed with. */
export interface BenchContext {
  readonly mode: string;
  readonly variant: string;
  readonly backend: string;
  readonly threads: number;
}

/**
 * Builds the step, warms it up, times `plan.timed` steps and returns the
 * figure. A step that throws (e.g. a kernel the backend lacks) is reported as
 * 'unsupported' with the error's first line.
 */
export const timeStep = async (makeStep: MakeStep, net: BenchNet, batch: number, plan: TimingPlan, ctx: BenchContext): Promise<StepFigure> => {
  const base = { net, batch, ...ctx };
  let step: () => Promise<void>;
  try {
    step = await makeStep(net, batch);
    for (let i = 0; i < plan.warmup; i++) await step();
  } catch (e) {
    return { ...base, status: 'unsupported', error: (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '' };
  }
  const before = tf.memory().numTensors;
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < plan.timed; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const ms = median(times);
  return {
    ...base,
    status: 'ok',
    msPerStep: round(ms, 2),
    samplesPerSec: round((batch * 1000) / ms, 1),
    cpuMsPerStep: round(median(cpu), 2),
    stepsMs: times.map((t) => round(t, 1)),
    warmup: plan.warmup,
    tensorGrowth: tf.memory().numTensors - before,
  };
};

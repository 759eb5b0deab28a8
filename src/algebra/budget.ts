/**
 * Capacity as a budget: no task may starve the tasks after it.
 *
 * The room a task and the tasks after it can still use is the network's free
 * weights plus the growth still allowed (up to the maximum width). A task may
 * keep at most its share of that room:
 * - a known count of tasks: an equal share, room / (tasks left + 1) — so that
 *   every task still to come finds at least as much;
 * - an open-ended stream: (1 − reserve) × room.
 * The share becomes a floor on the task's compacting (the least sparsity its
 * own weights must reach), enforced whatever the goal and threshold rules say.
 * A task needs free, to start, its share up to a fair part of one network
 * (an equal part among the planned tasks, or 1 − reserve of it), and at least
 * MIN_SHARE of one network however little room is left; with fewer free
 * weights it grows the network first, where growth is allowed, else the model
 * has run out of room.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { CpgError } from './errors.js';
import { type Backbone, graphAt, sharableSpecs } from './backbone.js';
import { sharableSize } from './graph.js';
import type { BudgetConstraint, BudgetOutcome } from './report.js';
import { type CycleState, type TaskContext, budgetBound, finalValAcc, nextWidth } from './lifecycle.js';
import { totalCapacity } from './ownerMap.js';

/** Weights (cells of the sharable tensors) still usable, now and by growing. */
export interface Room {
  /** Free cells at the current width. */
  readonly free: number;
  /** Cells the growth still allowed would add. */
  readonly growth: number;
  /** Cells at the current width. */
  readonly size: number;
}

/** A task needs at least this share of one network (at width 1) free to start, however little room its share leaves. */
export const MIN_SHARE = 0.01;

/** How the tasks to come are counted: tasks left after this one, or a reserve of the room for an open-ended stream. */
export type Plan = { readonly tasksLeft: number } | { readonly reserve: number };

/** Sharable cells at width `multiplier`. */
export const cellsAt = (b: Backbone, multiplier: number): E.Either<CpgError, number> =>
  pipe(
    sharableSpecs(graphAt(b, multiplier)),
    E.map((specs) => sharableSize(specs)),
  );

/** The room in a backbone that may grow to `maxMultiplier`. */
export const roomOf = (b: Backbone, maxMultiplier: number): E.Either<CpgError, Room> =>
  pipe(
    E.Do,
    E.bind('now', () => cellsAt(b, b.multiplier)),
    E.bind('max', () => cellsAt(b, Math.max(maxMultiplier, b.multiplier))),
    E.map(({ now, max }) => ({ free: totalCapacity(b.owners.values()).free, growth: Math.max(0, max - now), size: now })),
  );

/** The most cells the task may keep. */
export const shareFor = (room: Room, plan: Plan): number => {
  const total = room.free + room.growth;
  return 'tasksLeft' in plan ? total / (Math.max(0, Math.floor(plan.tasksLeft)) + 1) : (1 - plan.reserve) * total;
};

/**
 * The free cells a task needs to start: its share, but no more than a fair
 * part of one network of `base` cells — an equal part among all the planned
 * tasks, or 1 − reserve of it for an open-ended stream (the last tasks' share
 * holds all the growth still allowed, which they may keep but do not need) —
 * and at least MIN_SHARE of one network.
 */
export const neededFor = (share: number, base: number, fair: { readonly tasksTotal: number } | { readonly reserve: number }): number =>
  Math.max(MIN_SHARE * base, Math.min(share, 'reserve' in fair ? (1 - fair.reserve) * base : base / Math.max(1, Math.floor(fair.tasksTotal))));

/**
 * The width to start a task at: the current one, or — when its free cells do
 * not cover what the task needs — the first grown width (step by step, up to
 * the maximum) whose free cells do. `covered` is false when even the maximum
 * width leaves the task short.
 */
export const startingWidth = (
  b: Backbone,
  room: Room,
  needed: number,
  growStep: number,
  maxMultiplier: number,
): E.Either<CpgError, { readonly multiplier: number; readonly free: number; readonly size: number; readonly covered: boolean }> => {
  const at = (m: number): E.Either<CpgError, { multiplier: number; free: number; size: number; covered: boolean }> =>
    pipe(
      cellsAt(b, m),
      E.chain((cells) => {
        // Growing frees every new cell: the free cells now, plus what the wider tensors add.
        const free = room.free + cells - room.size;
        if (free >= needed) return E.right({ multiplier: m, free, size: cells, covered: true });
        const next = nextWidth(m, growStep, maxMultiplier);
        return next > m ? at(next) : E.right({ multiplier: m, free, size: cells, covered: false });
      }),
    );
  return at(b.multiplier);
};

/** Its share bound its compacting and it ended under its goal (validation, within the allowed loss). */
export const endedShort = (s: CycleState): boolean => {
  const val = finalValAcc(s);
  return val !== null && budgetBound(s) && val + s.config.allowedLoss < s.ctx.goal - 1e-9;
};

/** A task's budget in figures, as its warnings and report state them: fractions of the network at the width it started at. */
export interface BudgetAccount {
  readonly constraint: BudgetConstraint;
  /** An open-ended stream: the share of the room kept for the tasks to come. */
  readonly reserve?: number;
  /** A planned count: this task and the tasks planned after it. */
  readonly plannedTasks?: number;
  /** Its share as a fraction of the room (free weights plus the growth still allowed). */
  readonly shareOfRoom: number;
  /** Its share: the most it may keep (at most the whole network). */
  readonly share: number;
  /** Free when it started. */
  readonly freeAtStart: number;
  /** What it needed free to start. */
  readonly needed: number;
  /** The width it started at (what the fractions are of). */
  readonly startWidth: number;
  /** The width it learned at. */
  readonly width: number;
  /** The widest the network may grow. */
  readonly maxWidth: number;
}

/** The budget's figures of a task with context `ctx`, at width `width` of at most `maxWidth` (undefined without a budget). */
export const accountOf = (ctx: TaskContext, width: number, maxWidth: number): BudgetAccount | undefined => {
  const b = ctx.budget;
  if (b === undefined || b.size === 0) return undefined;
  // The plan as budgetFor (cpg/learn.ts) made the share from it: a reserve, else an equal share among this task and those left.
  const tasks = Math.max(0, Math.floor(ctx.tasksTotal - ctx.task)) + 1;
  const plan = ctx.reserve !== undefined ? ({ constraint: 'reserve', reserve: ctx.reserve, shareOfRoom: 1 - ctx.reserve } as const) : ({ constraint: 'planned', plannedTasks: tasks, shareOfRoom: 1 / tasks } as const);
  return {
    ...plan,
    ...(b.free < b.needed ? { constraint: 'width' as const } : {}),
    share: Math.min(1, b.share / b.size),
    freeAtStart: b.free / b.size,
    needed: Math.min(1, b.needed / b.size),
    startWidth: ctx.startMultiplier ?? ctx.multiplier,
    width,
    maxWidth,
  };
};

/** The figures a report's budget outcome holds (undefined for a report from before they were kept, or with a figure not finite). */
export const accountOfOutcome = (o: BudgetOutcome): BudgetAccount | undefined => {
  const { constraint, shareOfRoom, needed, startWidth, width, maxWidth } = o;
  if (constraint === undefined || shareOfRoom === undefined || needed === undefined || startWidth === undefined || width === undefined || maxWidth === undefined) return undefined;
  if (![shareOfRoom, needed, startWidth, width, maxWidth, o.share, o.freeAtStart].every(Number.isFinite)) return undefined;
  return {
    constraint,
    ...(o.reserve !== undefined ? { reserve: o.reserve } : {}),
    ...(o.plannedTasks !== undefined ? { plannedTasks: o.plannedTasks } : {}),
    shareOfRoom,
    share: o.share,
    freeAtStart: o.freeAtStart,
    needed,
    startWidth,
    width,
    maxWidth,
  };
};

/** The sparsity the budget imposed beyond the requested targets: its floor, where it lies beyond the last of them (lifecycle's `targetsOf`). */
export const imposedSparsity = (floor: number, requested: readonly number[]): number | undefined => {
  const last = requested[requested.length - 1];
  return floor > 0 && last !== undefined && floor > last ? floor : undefined;
};

/** What a task's budget was and did, for its report (nothing without a budget). */
export const budgetOutcomeOf = (s: CycleState): { readonly budget?: BudgetOutcome } => {
  const b = s.ctx.budget;
  const a = accountOf(s.ctx, s.multiplier, s.config.maxMultiplier);
  if (b === undefined || a === undefined) return {};
  const floor = s.floor ?? 0;
  const imposed = imposedSparsity(floor, s.config.sparsities);
  return {
    budget: {
      share: a.share,
      freeAtStart: a.freeAtStart,
      floor,
      bound: budgetBound(s),
      ranOut: b.free < b.needed || endedShort(s),
      ...(s.ctx.startMultiplier !== undefined ? { grewFirstTo: s.ctx.startMultiplier } : {}),
      ...(s.claimed !== undefined ? { claimed: Math.min(1, s.claimed / b.size) } : {}),
      constraint: a.constraint,
      ...(a.reserve !== undefined ? { reserve: a.reserve } : {}),
      ...(a.plannedTasks !== undefined ? { plannedTasks: a.plannedTasks } : {}),
      shareOfRoom: a.shareOfRoom,
      needed: a.needed,
      startWidth: a.startWidth,
      width: a.width,
      maxWidth: a.maxWidth,
      requestedSparsities: s.config.sparsities,
      ...(imposed !== undefined ? { imposedSparsity: imposed } : {}),
    },
  };
};

/**
 * One task's life cycle (CPG-SPEC §3) as a pure state machine: claim + pick/train,
 * goal check, grow, compact (the gradual-pruning sweep), choose the ratio, retrain
 * the pick, done. Each transition takes what the effects layer measured and says
 * which phase to run next; no training happens here. A measurement that does not
 * fit the current phase is a Left, never a throw.
 *
 * The state is plain JSON data so that it can be checkpointed and resumed
 * (its codec is `CycleStateCodec` in cycleState.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import { type CpgError, configError, lifecycleError } from './errors.js';
import type { CycleConfig, CycleState, Growth, Measured, Phase, PruneRecord, TaskContext } from './cycleState.js';

// The life cycle's data is written once, as codecs, in cycleState.ts.
export type { CompactSearch, CycleConfig, CycleState, Growth, Measured, Phase, PruneRecord, RecordRule, TaskBudget, TaskContext } from './cycleState.js';

/**
 * Python's `round(x, 1)` for x ≥ 0: the double nearest to x rounded to one decimal,
 * ties (on the exact binary value) to even — the reference computes the prune cap with it.
 */
export const pyRound1 = (x: number): number => {
  // An exact tie k + 0.05 needs a finite binary expansion, i.e. x = m/4 with m odd.
  const quarters = x * 4;
  if (Number.isInteger(quarters) && quarters % 2 === 1) {
    const lo = Math.floor(x * 10);
    return (lo % 2 === 0 ? lo : lo + 1) / 10;
  }
  // toFixed rounds the exact value, so away from ties it agrees with Python.
  return Number(x.toFixed(1));
};

/**
 * The prune cap `must` for a task that missed its goal at the maximum width:
 * `1 − round(1 / (tasksLeft + 1), 1)`, tasksLeft = tasks after the current one
 * (a negative or fractional count is read as its floor, at least 0).
 */
export const pruneCap = (tasksLeft: number): number =>
  1 - pyRound1(1 / (Math.max(0, Math.floor(tasksLeft)) + 1));

/**
 * The least sparsity of a task's own weights that keeps it within `share`
 * cells when it owns `owned`: rounded up to 4 decimals (the budget holds), at
 * most MAX_FLOOR (sparsity 1 would leave it nothing to learn with).
 */
export const floorOf = (share: number, owned: number): number =>
  owned <= 0 || share >= owned ? 0 : Math.min(MAX_FLOOR, Math.ceil((1 - share / owned) * 1e4 - 1e-6) / 1e4);

/** The highest floor: a task keeps at least 1 % of what it claimed. */
export const MAX_FLOOR = 0.99;

/** Tasks after the current one. */
export const tasksLeft = (ctx: TaskContext): number => ctx.tasksTotal - ctx.task;

/** The compacting cap of a task that missed its goal at the maximum width: its reserve, else the reference's rule. */
export const capOf = (ctx: TaskContext): number => ctx.reserve ?? pruneCap(tasksLeft(ctx));

// Accuracies are counts over valSize and the tolerance is a decimal: a sum such as
// k/200 + 0.005 can land an ulp below (k+1)/200 and refuse a model exactly one image
// within the allowed loss. The bound is inclusive, so compare with a hair of slack.
const GOAL_SLACK = 1e-9;

export { GOAL_PRECISION, goalTolerance } from './goal.js';
import { GOAL_PRECISION } from './goal.js';

/**
 * Is a validation set of `valSize` images too small to test a goal with
 * tolerance `tolerance`: one image worth more than the tolerance, or than
 * GOAL_PRECISION where the tolerance is finer (fewer than 100 images)?
 */
export const validationTooSmall = (valSize: number, tolerance: number): boolean =>
  1 / Math.max(1, valSize) > Math.max(tolerance, GOAL_PRECISION) + GOAL_SLACK;

/** "8.33 points", "1 point": a fraction in points of accuracy. */
export const points = (x: number): string => {
  const p = (100 * x).toFixed(2).replace(/\.?0+$/, '');
  return `${p} point${p === '1' ? '' : 's'}`;
};

/** Why a validation set of `valSize` images cannot test a goal with tolerance `tolerance`, and what to do. */
export const validationSmallWords = (name: string, valSize: number, tolerance: number): string => {
  const precision = Math.max(tolerance, GOAL_PRECISION);
  return (
    `task '${name}' tests its goal on ${valSize} validation image${valSize === 1 ? '' : 's'}: one image is ${points(1 / Math.max(1, valSize))}, ` +
    `more than the ${points(precision)} its goal is tested to, so its goal is not tested at that precision; ` +
    `give it at least ${Math.ceil(1 / precision - GOAL_SLACK)} validation images (more images, or a larger --val-fraction)`
  );
};
const meetsGoal = (valAcc: number, ctx: TaskContext, config: CycleConfig): boolean =>
  valAcc + config.allowedLoss >= ctx.goal - GOAL_SLACK;

/**
 * The sparsity to keep (§3.6): the largest recorded one that meets the goal; when the
 * goal was missed at the maximum width, the largest recorded one; 0 (the unpruned
 * model) if none qualifies.
 */
export const chooseRatio = (
  s: Pick<CycleState, 'record' | 'goalMissedAtMax' | 'ctx' | 'config' | 'floor'>,
): number => {
  // Under a budget only targets at or above its floor may be kept; if none meets the goal, the least compacted of them.
  const floor = s.floor ?? 0;
  const allowed = s.record.filter((r) => r.sparsity >= floor);
  const largestFirst = [...allowed].sort((a, b) => b.sparsity - a.sparsity);
  const hit = largestFirst.find((r) => s.goalMissedAtMax || meetsGoal(r.valAcc, s.ctx, s.config));
  if (hit !== undefined) return hit.sparsity;
  return floor > 0 && largestFirst.length > 0 ? largestFirst[largestFirst.length - 1]!.sparsity : 0;
};

/** Did the budget change the choice (the rules alone would have kept less sparsity than its floor)? */
export const budgetBound = (s: Pick<CycleState, 'record' | 'goalMissedAtMax' | 'ctx' | 'config' | 'floor'>): boolean =>
  (s.floor ?? 0) > 0 && chooseRatio({ ...s, floor: 0, record: s.record.filter((r) => r.forced !== true) }) < (s.floor ?? 0);

/**
 * The compacting targets: the configured ones, and the budget's floor after
 * them when it lies beyond the last (a budget that does not bind leaves the
 * sweep exactly as the rules alone run it).
 */
export const targetsOf = (s: Pick<CycleState, 'config' | 'floor'>): readonly number[] => {
  const floor = s.floor ?? 0;
  const last = s.config.sparsities[s.config.sparsities.length - 1];
  return floor > 0 && last !== undefined && floor > last ? [...s.config.sparsities, floor] : s.config.sparsities;
};

/** Does the budget still demand compaction to its floor (nothing at or above it recorded yet)? */
export const floorDemanded = (s: Pick<CycleState, 'record' | 'floor'>): boolean => {
  const floor = s.floor ?? 0;
  return floor > 0 && !s.record.some((r) => r.sparsity >= floor);
};

/**
 * The target after `x`. While the budget forces the sweep on from below its
 * floor, never beyond the floor: a forced task keeps its whole share.
 */
export const nextTargetOf = (s: Pick<CycleState, 'config' | 'floor'>, x: number, forcing: boolean): number | undefined => {
  const next = targetsOf(s).find((t) => t > x);
  const floor = s.floor ?? 0;
  return forcing && x < floor ? Math.min(next ?? floor, floor) : next;
};

/** Validation accuracy of the model a chosen sparsity stands for (0: the unpruned one). */
const accuracyAt = (s: CycleState, chosen: number): number | null =>
  chosen === 0 ? s.unprunedValAcc : (s.record.find((r) => r.sparsity === chosen)?.valAcc ?? null);

/** The validation accuracy of the model the cycle keeps (null until it is done). */
export const finalValAcc = (s: CycleState): number | null =>
  s.phase.tag !== 'done'
    ? null
    : s.phase.keptRetrain && s.retrainedValAcc !== null
      ? s.retrainedValAcc
      : s.chosenValAcc;

/** Has the cycle finished? */
export const isDone = (s: CycleState): s is CycleState & { readonly phase: Extract<Phase, { tag: 'done' }> } =>
  s.phase.tag === 'done';

/** One line for reports: why a growth happened, in validation samples where it can. */
export const describeGrowth = (g: Growth): string => {
  const why =
    g.shortfallSamples !== null
      ? `validation accuracy ${g.valAcc} missed the goal ${g.goal} by ${g.shortfallSamples} sample${g.shortfallSamples === 1 ? '' : 's'}`
      : `validation met the goal ${g.goal}`;
  const train = g.trainAccFailed ? `training accuracy ${g.trainAcc} not above the threshold` : '';
  const joined = g.shortfallSamples !== null ? (train === '' ? why : `${why}; ${train}`) : `${train} (${why})`;
  return `grew ${g.from} → ${g.to}: ${joined}`;
};

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isInt = (x: unknown, min: number): x is number => Number.isSafeInteger(x) && (x as number) >= min;
const inUnit = (x: unknown): x is number => isNum(x) && x >= 0 && x <= 1;

const checkConfig = (c: CycleConfig): E.Either<CpgError, CycleConfig> => {
  if (!isNum(c.growStep) || c.growStep <= 0) return E.left(configError('growStep', `must be a number > 0, got ${c.growStep}`));
  if (!isNum(c.maxMultiplier) || c.maxMultiplier < 1)
    return E.left(configError('maxMultiplier', `must be a number ≥ 1, got ${c.maxMultiplier}`));
  if (!inUnit(c.trainAccThreshold))
    return E.left(configError('trainAccThreshold', `must be in [0, 1], got ${c.trainAccThreshold}`));
  if (!inUnit(c.allowedLoss)) return E.left(configError('allowedLoss', `must be in [0, 1], got ${c.allowedLoss}`));
  for (const [i, x] of c.sparsities.entries()) {
    if (!isNum(x) || x <= 0 || x >= 1) return E.left(configError(`sparsities[${i}]`, `must be in (0, 1), got ${x}`));
    const prev = c.sparsities[i - 1];
    if (prev !== undefined && x <= prev)
      return E.left(configError(`sparsities[${i}]`, `must be strictly increasing, got ${x} after ${prev}`));
  }
  return E.right(c);
};

const checkContext = (ctx: TaskContext, c: CycleConfig): E.Either<CpgError, TaskContext> => {
  if (!isInt(ctx.task, 1)) return E.left(lifecycleError(`task must be an integer ≥ 1, got ${ctx.task}`));
  if (!isInt(ctx.tasksTotal, ctx.task))
    return E.left(lifecycleError(`tasksTotal must be an integer ≥ task (${ctx.task}), got ${ctx.tasksTotal}`));
  if (!inUnit(ctx.goal)) return E.left(lifecycleError(`goal must be in [0, 1], got ${ctx.goal}`));
  if (!isInt(ctx.valSize, 1)) return E.left(lifecycleError(`valSize must be an integer ≥ 1, got ${ctx.valSize}`));
  if (ctx.reserve !== undefined && !(isNum(ctx.reserve) && ctx.reserve > 0 && ctx.reserve < 1))
    return E.left(lifecycleError(`reserve must be in (0, 1), got ${ctx.reserve}`));
  const b = ctx.budget;
  if (b !== undefined && !([b.share, b.needed, b.free, b.size].every((x) => isNum(x) && x >= 0) && b.free <= b.size))
    return E.left(lifecycleError(`the budget must hold numbers ≥ 0 with free ≤ size, got ${JSON.stringify(b)}`));
  if (ctx.startMultiplier !== undefined && !(isNum(ctx.startMultiplier) && ctx.startMultiplier >= ctx.multiplier && ctx.startMultiplier <= c.maxMultiplier))
    return E.left(lifecycleError(`the start multiplier must be in [${ctx.multiplier}, ${c.maxMultiplier}], got ${ctx.startMultiplier}`));
  if (!isNum(ctx.multiplier) || ctx.multiplier < 1 || ctx.multiplier > c.maxMultiplier)
    return E.left(
      lifecycleError(`the starting multiplier must be in [1, maxMultiplier = ${c.maxMultiplier}], got ${ctx.multiplier}`),
    );
  return E.right(ctx);
};

/** Start a task's cycle: validate the context and knobs, then train at the starting width. */
export const startCycle = (ctx: TaskContext, config: CycleConfig): E.Either<CpgError, CycleState> => {
  const c = checkConfig(config);
  if (E.isLeft(c)) return c;
  const k = checkContext(ctx, config);
  if (E.isLeft(k)) return k;
  return E.right({
    ctx,
    config,
    phase: { tag: 'train', multiplier: ctx.startMultiplier ?? ctx.multiplier },
    multiplier: ctx.startMultiplier ?? ctx.multiplier,
    unprunedValAcc: null,
    record: [],
    goalMissedAtMax: false,
    pruneCap: null,
    growths: [],
    chosenValAcc: null,
    retrainedValAcc: null,
  });
};

// A sum of decimal steps can land an ulp short of the maximum (the reference adds
// with bc, in decimal): snap to the maximum rather than grow once more by nothing.
const SNAP = 1e-9;
/** The width one growth step above `m` (at most the maximum). */
export const nextWidth = (m: number, growStep: number, maxMultiplier: number): number => {
  const next = Math.min(m + growStep, maxMultiplier);
  return maxMultiplier - next <= SNAP * maxMultiplier ? maxMultiplier : next;
};
const grown = (m: number, c: CycleConfig): number => nextWidth(m, c.growStep, c.maxMultiplier);

// Accuracies are counts over valSize; cancel the rounding of (goal − loss − acc)·n
// before the ceiling so that one sample short reads as 1, not 2.
const shortfall = (valAcc: number, ctx: TaskContext, c: CycleConfig): number =>
  Math.max(1, Math.ceil((ctx.goal - c.allowedLoss - valAcc) * ctx.valSize - SNAP * ctx.valSize));

const fmt = (x: number): string => String(Math.round(x * 1e4) / 1e4);

const explainChoice = (s: CycleState, chosen: number): string => {
  const rules = explainRules(s, chosen);
  return budgetBound(s)
    ? `${rules}; the budget bound: compacted to at least ${fmt(s.floor ?? 0)} so that the tasks to come find room`
    : rules;
};

const explainRules = (s: CycleState, chosen: number): string => {
  if (!s.config.prune) return 'compacting disabled: kept the unpruned model';
  if (s.goalMissedAtMax)
    return chosen === 0
      ? `goal missed at the maximum width; nothing recorded below the prune cap ${fmt(s.pruneCap ?? 0)}: kept the unpruned model`
      : `goal missed at the maximum width: kept the sparsest recorded model (${chosen}, cap ${fmt(s.pruneCap ?? 0)})`;
  if (chosen === 0) return 'no compacted model met the goal: kept the unpruned model';
  return meetsGoal(accuracyAt(s, chosen) ?? 0, s.ctx, s.config) ? `goal met at sparsity ${chosen}` : `no compacted model met the goal: kept sparsity ${chosen}`;
};

/** After choosing: retrain the pick (task > 1, if enabled) or finish. */
const afterChoice = (s: CycleState): CycleState => {
  const chosen = chooseRatio(s);
  const chosenValAcc = accuracyAt(s, chosen);
  const next = { ...s, chosenValAcc };
  // A retrained pick is kept only if it beats the chosen model: at 100 % on validation nothing can.
  // The reference's sweep (the faithful mode) retrains all the same.
  const retrains = s.config.retrainPick && s.ctx.task > 1;
  const unbeatable = s.config.search === 'bisect' && chosenValAcc === 1;
  if (retrains && !unbeatable) return { ...next, phase: { tag: 'retrainPick', chosen } };
  const reason = explainChoice(s, chosen);
  return { ...next, phase: { tag: 'done', chosen, keptRetrain: false, reason: retrains ? `${reason}; pick not retrained: 100% on validation cannot be beaten` : reason } };
};

/** Start the compacting sweep at the first target, unless it may not even start. */
const startCompacting = (s: CycleState): CycleState => {
  const first = targetsOf(s)[0];
  if (!s.config.prune || first === undefined || (s.pruneCap !== null && 0 >= Math.max(s.pruneCap, s.floor ?? 0))) return afterChoice(s);
  if (s.config.search === 'bisect') return probeNext(s);
  return { ...s, phase: { tag: 'prune', from: 0, to: first } };
};

/**
 * The targets a bisecting search may keep: those at or above the floor (the
 * floor itself first when it lies between two targets), and — when the goal
 * was missed at the maximum width — up to the first at or above the cap, as
 * far as the reference's sweep would go.
 */
export const probeTargets = (s: Pick<CycleState, 'config' | 'floor' | 'pruneCap'>): readonly number[] => {
  const floor = s.floor ?? 0;
  const above = targetsOf(s).filter((t) => t >= floor);
  const ts = floor > 0 && above[0] !== floor ? [floor, ...above] : above;
  if (s.pruneCap === null) return ts;
  const limit = Math.max(s.pruneCap, floor);
  const i = ts.findIndex((t) => t >= limit);
  return i < 0 ? ts : ts.slice(0, i + 1);
};

/** Does a recorded target pass: it met the goal, or — the goal missed at the maximum width — it was recorded at all? */
const passes = (s: CycleState, r: PruneRecord): boolean => r.forced !== true && (s.goalMissedAtMax || meetsGoal(r.valAcc, s.ctx, s.config));

/**
 * The bisection's bounds, as indices into `probeTargets`: the sparsest target
 * that passed (−1: none, the unpruned model) and the least that did not
 * (`ts.length`: none probed yet).
 */
export const bisectBounds = (s: CycleState): { readonly ts: readonly number[]; readonly passed: number; readonly missed: number } => {
  const ts = probeTargets(s);
  let passed = -1;
  let missed = ts.length;
  ts.forEach((t, i) => {
    if (s.record.some((r) => r.sparsity === t && passes(s, r))) passed = Math.max(passed, i);
    if ((s.missed ?? []).includes(t)) missed = Math.min(missed, i);
  });
  return { ts, passed, missed };
};

/** The next probe of the bisecting search (the highest target first), or the choice once the bounds meet. */
const probeNext = (s: CycleState): CycleState => {
  const { ts, passed, missed } = bisectBounds(s);
  const nothingProbed = s.record.length === 0 && (s.missed ?? []).length === 0;
  const at = nothingProbed ? ts.length - 1 : Math.floor((passed + missed) / 2);
  if (at < 0 || missed - passed <= 1 || at <= passed || at >= missed) return afterChoice(s);
  return { ...s, phase: { tag: 'prune', from: passed < 0 ? 0 : ts[passed]!, to: ts[at]! } };
};

/**
 * A probe measured: recorded as the reference records a target (forced when it
 * is the least the budget lets the task keep and the rules refuse it), marked
 * missed when it does not pass, then the next probe.
 */
const onProbed = (s: CycleState, phase: Extract<Phase, { tag: 'prune' }>, m: Extract<Measured, { tag: 'pruned' }>, recordable: boolean): CycleState => {
  const floor = s.floor ?? 0;
  // A stepping stone on the way to the floor (see `walkToFloor`): never kept, the walk goes on.
  if (phase.to < floor) return { ...s, phase: { tag: 'prune', from: phase.to, to: nextTargetOf(s, phase.to, true) ?? floor } };
  const least = probeTargets(s)[0] === phase.to && floor > 0;
  const passedNow = recordable && passes(s, { sparsity: phase.to, valAcc: m.valAcc });
  const walk = least && !passedNow ? walkToFloor(s, phase) : undefined;
  if (walk !== undefined) return walk;
  const record: readonly PruneRecord[] =
    recordable || least ? [...s.record, { sparsity: phase.to, valAcc: m.valAcc, ...(recordable ? {} : { forced: true }) }] : s.record;
  return probeNext({ ...s, record, ...(passedNow ? {} : { missed: [...(s.missed ?? []), phase.to] }) });
};

/**
 * The floor the budget forces, reached in one probe from further down, missed
 * the goal: so long a jump in one probe loses what gradual pruning keeps (a
 * task forced to 90 % sparsity from dense in three epochs). Walk there as the
 * reference's sweep does, through each configured target below the floor, and
 * measure the floor again from the last of them. That second probe is the one
 * kept; it walks no further. Undefined when no target lies on the way.
 */
const walkToFloor = (s: CycleState, phase: Extract<Phase, { tag: 'prune' }>): CycleState | undefined => {
  const first = targetsOf(s).find((t) => t > phase.from && t < phase.to);
  return first === undefined ? undefined : { ...s, phase: { tag: 'prune', from: phase.from, to: first } };
};

const checkAcc = (name: string, x: number): E.Either<CpgError, number> =>
  inUnit(x) ? E.right(x) : E.left(lifecycleError(`measured ${name} must be a number in [0, 1], got ${x}`));

const onTrained = (s: CycleState, m: Extract<Measured, { tag: 'trained' }>): E.Either<CpgError, CycleState> => {
  const accs = E.sequenceArray([checkAcc('trainAcc', m.trainAcc), checkAcc('valAcc', m.valAcc)]);
  if (E.isLeft(accs)) return accs;
  if (typeof m.ownsAny !== 'boolean') return E.left(lifecycleError(`measured ownsAny must be a boolean, got ${String(m.ownsAny)}`));
  if (m.owned !== undefined && !(isNum(m.owned) && m.owned >= 0)) return E.left(lifecycleError(`measured owned must be a number ≥ 0, got ${m.owned}`));
  const trainOk = m.trainAcc > s.config.trainAccThreshold;
  const valOk = meetsGoal(m.valAcc, s.ctx, s.config);
  const passed = valOk && (trainOk || s.config.recordRule === 'goal');
  if (!passed && s.multiplier < s.config.maxMultiplier) {
    const to = grown(s.multiplier, s.config);
    const growth: Growth = {
      from: s.multiplier,
      to,
      trainAcc: m.trainAcc,
      valAcc: m.valAcc,
      goal: s.ctx.goal,
      shortfallSamples: valOk ? null : shortfall(m.valAcc, s.ctx, s.config),
      trainAccFailed: !trainOk,
    };
    return E.right({ ...s, multiplier: to, phase: { tag: 'train', multiplier: to }, growths: [...s.growths, growth] });
  }
  const floor = s.ctx.budget !== undefined && m.owned !== undefined ? floorOf(s.ctx.budget.share, m.owned) : 0;
  const settled: CycleState = {
    ...s,
    unprunedValAcc: m.valAcc,
    goalMissedAtMax: !passed,
    pruneCap: passed ? null : capOf(s.ctx),
    ...(floor > 0 ? { floor } : {}),
    ...(s.ctx.budget !== undefined && m.owned !== undefined ? { claimed: m.owned } : {}),
  };
  if (!m.ownsAny)
    return E.right({
      ...settled,
      chosenValAcc: m.valAcc,
      phase: { tag: 'done', chosen: 0, keptRetrain: false, reason: 'the task owns no weights (nothing was free): nothing to compact' },
    });
  return E.right(startCompacting(settled));
};

const onPruned = (
  s: CycleState,
  phase: Extract<Phase, { tag: 'prune' }>,
  m: Extract<Measured, { tag: 'pruned' }>,
): E.Either<CpgError, CycleState> => {
  const accs = E.sequenceArray([checkAcc('trainAcc', m.trainAcc), checkAcc('valAcc', m.valAcc)]);
  if (E.isLeft(accs)) return accs;
  const floor = s.floor ?? 0;
  const demanded = floorDemanded(s);
  const recordable = m.trainAcc > s.config.trainAccThreshold || (s.config.recordRule === 'goal' && meetsGoal(m.valAcc, s.ctx, s.config));
  if (s.config.search === 'bisect') return E.right(onProbed(s, phase, m, recordable));
  if (!recordable) {
    // Below its floor the budget forces the sweep on towards it, target by target (pruning stays gradual), landing on the floor itself.
    if (demanded && phase.to < floor) return E.right({ ...s, phase: { tag: 'prune', from: phase.to, to: nextTargetOf(s, phase.to, true) ?? floor } });
    // At or above it, a target the rules refuse ends the sweep; it is recorded only if the budget still demands it.
    if (!demanded) return E.right(afterChoice(s));
  }
  const recorded: CycleState = { ...s, record: [...s.record, { sparsity: phase.to, valAcc: m.valAcc, ...(recordable ? {} : { forced: true }) }] };
  if (!recordable) return E.right(afterChoice(recorded));
  const cap = s.pruneCap;
  if (cap !== null && phase.to >= Math.max(cap, floor)) return E.right(afterChoice(recorded));
  const next = nextTargetOf(s, phase.to, crossesUnmet(recorded, phase.to));
  if (next === undefined) return E.right(afterChoice(recorded));
  return E.right({ ...recorded, phase: { tag: 'prune', from: phase.to, to: next } });
};

/**
 * About to step over the floor with the goal missed at this target: the
 * budget is likely to bind, so the sweep stops at the floor itself on the way
 * (the least compacted model the task may keep). Where this target met the
 * goal, or the goal was missed at the maximum width (the sparsest is kept),
 * the sweep runs as the rules alone run it.
 */
const crossesUnmet = (s: CycleState, at: number): boolean => {
  const here = s.record.find((r) => r.sparsity === at);
  return (s.floor ?? 0) > at && !s.goalMissedAtMax && here !== undefined && !meetsGoal(here.valAcc, s.ctx, s.config);
};

const onRetrained = (
  s: CycleState,
  phase: Extract<Phase, { tag: 'retrainPick' }>,
  m: Extract<Measured, { tag: 'retrained' }>,
): E.Either<CpgError, CycleState> => {
  const acc = checkAcc('valAcc', m.valAcc);
  if (E.isLeft(acc)) return acc;
  const before = s.chosenValAcc;
  // Keep the retrained pick only if it beats the model it started from (not its own reset score).
  const kept = before !== null && m.valAcc > before;
  const verdict = `pick retrained: ${fmt(m.valAcc)} ${kept ? '>' : '≤'} ${before === null ? 'unknown' : fmt(before)}, ${kept ? 'kept' : 'not kept'}`;
  return E.right({
    ...s,
    retrainedValAcc: m.valAcc,
    phase: { tag: 'done', chosen: phase.chosen, keptRetrain: kept, reason: `${explainChoice(s, phase.chosen)}; ${verdict}` },
  });
};

const mismatch = (p: Phase, m: Measured): E.Either<CpgError, CycleState> =>
  E.left(lifecycleError(`phase '${p.tag}' expects a '${expectedMeasurement[p.tag]}' measurement, got '${String(m.tag)}'`));

const expectedMeasurement: Record<Phase['tag'], string> = {
  train: 'trained',
  prune: 'pruned',
  retrainPick: 'retrained',
  done: 'nothing',
};

/** Feed what was measured after the current phase; get the next state (Left if it does not fit the phase). */
export const advance =
  (m: Measured) =>
  (s: CycleState): E.Either<CpgError, CycleState> => {
    const p = s.phase;
    if (p.tag === 'done')
      return E.left(lifecycleError(`the cycle of task ${s.ctx.task} is done; got a '${String(m.tag)}' measurement`));
    switch (m.tag) {
      case 'trained':
        return p.tag === 'train' ? onTrained(s, m) : mismatch(p, m);
      case 'pruned':
        return p.tag === 'prune' ? onPruned(s, p, m) : mismatch(p, m);
      case 'retrained':
        return p.tag === 'retrainPick' ? onRetrained(s, p, m) : mismatch(p, m);
      default:
        // Only reachable from untyped input.
        return mismatch(p, m);
    }
  };

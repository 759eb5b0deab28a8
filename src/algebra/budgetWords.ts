/**
 * What a task's budget says to people: its warnings and report lines name
 * the constraint that actually bound it, with its figures, and suggest only
 * the flags that would loosen that constraint. A larger maximum width is
 * suggested only where the width bound: a task that may keep a tenth of a
 * nearly empty network is bound by the open stream's reserve, not by room.
 */
import type { BudgetAccount } from './budget.js';

/** "13.1 %": a fraction of the network to one decimal. */
const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
/** "10 %", "33.3 %": a share of the room, as short as it is exact to a tenth. */
const share = (x: number): string => `${Number((100 * x).toFixed(1))} %`;
/** "×1.5". */
const times = (m: number): string => `×${Number(m.toFixed(4))}`;
/** A sparsity as the life cycle writes it (4 decimals at most). */
const sparsity = (x: number): string => String(Math.round(x * 1e4) / 1e4);

/** The constraint that bound, in words. */
export const constraintWords = (a: BudgetAccount): string => {
  switch (a.constraint) {
    case 'reserve':
      return `the open stream's reserve, which keeps ${share(a.reserve ?? 1 - a.shareOfRoom)} of the room for the tasks to come`;
    case 'planned': {
      const n = a.plannedTasks ?? Math.max(1, Math.round(1 / Math.max(a.shareOfRoom, 1e-9)));
      return `the equal share among the ${n} task${n === 1 ? '' : 's'} still planned (this one and ${n - 1} after it)`;
    }
    case 'width':
      return `the maximum width ${times(a.maxWidth)}, where fewer weights are free than the task needs`;
  }
};

/** Its figures: the share (of the network and of the room), what was free, the width and its limit. */
export const figuresWords = (a: BudgetAccount): string =>
  `it may keep ${pct(a.share)} of the network at ${times(a.startWidth)} (${share(a.shareOfRoom)} of the room: free weights plus the growth still allowed up to ${times(a.maxWidth)}), ` +
  `where ${pct(a.freeAtStart)} was free when it started; width ${times(a.width)}, maximum ${times(a.maxWidth)}`;

/** What would loosen the constraint that bound: only the width's suggests --max-multiplier. */
export const remedyWords = (a: BudgetAccount): string => {
  switch (a.constraint) {
    case 'reserve':
      return `a smaller --reserve (now ${a.reserve ?? 1 - a.shareOfRoom}) or --expected-tasks N (an equal share among N tasks) lets a task keep more; --capacity-budget none lifts the budget`;
    case 'planned':
      return 'fewer planned tasks (--expected-tasks; --tasks for a benchmark run) let a task keep more; --capacity-budget none lifts the budget';
    case 'width':
      return 'give the model room with a larger --max-multiplier';
  }
};

/** The warning of a task that starts with fewer free weights than it needs. */
export const startedShortMessage = (name: string, a: BudgetAccount): string =>
  `task '${name}' starts with ${pct(a.freeAtStart)} of the network free, less than the ${pct(a.needed)} it needs, at width ${times(a.startWidth)} (maximum ${times(a.maxWidth)}): ` +
  `bound by ${constraintWords(a)}; its share: ${pct(a.share)} of the network, ${share(a.shareOfRoom)} of the room; it learns mostly through the older weights it picks; ${remedyWords(a)}`;

/** The warning of a task whose share bound its compacting and that ended `under` (a fraction) below its goal. */
export const endedShortMessage = (name: string, under: number, floor: number, a: BudgetAccount): string =>
  `task '${name}' ended ${(100 * under).toFixed(1)} points under its goal (validation): its compacting was bound to sparsity ≥ ${sparsity(floor)} of its own weights by ${constraintWords(a)}: ` +
  `${figuresWords(a)}; ${remedyWords(a)}`;

/** The notice of a budget whose floor lies beyond the requested sparsity targets: the sweep goes on to it. */
export const floorBeyondMessage = (name: string, floor: number, requested: readonly number[], a: BudgetAccount): string =>
  `task '${name}' may keep ${pct(a.share)} of the network at ${times(a.startWidth)} (bound by ${constraintWords(a)}): its own weights must reach sparsity ≥ ${sparsity(floor)}, ` +
  `beyond the requested --sparsities ${requested.map(sparsity).join(',')}`;

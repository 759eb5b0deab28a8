/**
 * The pure half of `npm run bench:accuracy` and of `cpg sweep`'s tables: what one finished run says
 * (a RunSummary, built from its report), mean ± std over seeds per method,
 * forgetting and backward transfer from an accuracy matrix, CPG's tasks
 * against their goals, the verdict lines, and the table as text and as
 * Markdown. No training, no files: bench/accuracy.ts and src/node/cli/sweep.ts do the effects.
 *
 * Units: accuracies are fractions in the data and percentages on screen;
 * forgetting and backward transfer are shown in percentage points (pts).
 * The std is the sample standard deviation (n − 1), absent for one seed.
 */
import { builtInMethod } from '../../cpg/methods/registry.js';
import type { Method, RunConfig } from '../../algebra/config.js';
import type { RunReport } from '../../algebra/report.js';
import { bytes, table } from './render.js';

/** The methods in the order they run and are listed: individual first (CPG's goals come from it). */
export const benchMethods: readonly Method[] = ['individual', 'finetune', 'packnet', 'cpg'];

/** How far below its goal a CPG task may end (validation accuracy): half a point. */
export const GOAL_TOLERANCE = 0.005;

/** How a run's result was obtained in this invocation. */
export type RunSource = 'ran' | 'resumed' | 'reused';

/** One task of a finished run (the fields the table needs). */
export interface TaskSummary {
  readonly name: string;
  /** Final test accuracy. */
  readonly accuracy: number;
  readonly valAccuracy: number;
  readonly goal: number | null;
  readonly widthMultiplier: number;
  readonly sparsity: number;
  /** Each growth: widths, and by how many validation images the goal was missed (null: the training accuracy failed). */
  readonly growths: readonly { readonly from: number; readonly to: number; readonly shortfallSamples: number | null; readonly trainAccFailed: boolean }[];
  readonly note: string | null;
  /** The goal test's tolerance the task was learned with (0 when the report does not say). */
  readonly allowedLoss: number;
}

/** What one finished run (method × seed) contributes to the table. */
export interface RunSummary {
  readonly method: Method;
  readonly seed: number;
  readonly dir: string;
  readonly tasks: readonly TaskSummary[];
  readonly accuracyMatrix: readonly (readonly (number | null)[])[];
  readonly averageAccuracy: number;
  readonly forgetting: number;
  readonly backwardTransfer: number;
  readonly parameters: number;
  readonly relativeSize: number;
  readonly checkpointBytes: number;
  readonly wallSeconds: number;
  readonly maxLogitDrift: number;
  readonly backend: string;
  /** Threads of the backend (from the run's start event; null for a report reused without it). */
  readonly threads: number | null;
  readonly source: RunSource;
}

/** The budget every method of a table shares, in words (for the caption). */
export const budgetOf = (c: RunConfig, methods: readonly Method[]): string =>
  [
    `${c.trainEpochs} training epochs per task (individual networks: ${c.individualEpochs})`,
    ...(methods.includes('cpg') || methods.includes('packnet')
      ? [
          `compacting ${c.pruneEpochs} epochs per target (CPG targets ${c.sparsities.join('/')}, PackNet ${c.packnetSparsity})`,
          `CPG pick retraining ≤ ${c.retrainEpochs} epochs, growth +${c.growStep} up to ×${c.maxMultiplier}, allowed loss ${c.allowedLoss}${(c.allowedLossImages ?? 0) > 0 ? ` (at least ${c.allowedLossImages} validation image${c.allowedLossImages === 1 ? '' : 's'})` : ''}`,
        ]
      : []),
    `batch ${c.batchSize}, lr ${c.lr}`,
    c.limitPerTask !== undefined ? `≤ ${c.limitPerTask} training images per task` : 'all training images',
    c.tasks !== undefined ? `first ${c.tasks} tasks` : 'all tasks',
  ].join('; ');

/** A statistic over seeds. */
export interface Stat {
  readonly mean: number;
  /** Sample standard deviation (n − 1); null for fewer than two values. */
  readonly std: number | null;
  readonly n: number;
  readonly min: number;
  readonly max: number;
}

/** Mean, sample std (n − 1), min and max of some values (NaN mean for none). */
export const meanStd = (xs: readonly number[]): Stat => {
  const n = xs.length;
  if (n === 0) return { mean: Number.NaN, std: null, n: 0, min: Number.NaN, max: Number.NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n < 2 ? null : Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  return { mean, std, n, min: Math.min(...xs), max: Math.max(...xs) };
};

/** The last row of an accuracy matrix (the final accuracies), nulls as they are. */
const lastRow = (rows: readonly (readonly (number | null)[])[]): readonly (number | null)[] => rows[rows.length - 1] ?? [];

/**
 * Forgetting: for every task but the last, the best accuracy it ever had
 * (right after it was learned or later) minus its final accuracy, averaged.
 * 0 for fewer than two tasks. Exactly 0 when no accuracy ever changed.
 */
export const forgettingOf = (rows: readonly (readonly (number | null)[])[]): number => {
  const n = rows.length;
  if (n < 2) return 0;
  let sum = 0;
  for (let j = 0; j < n - 1; j++) {
    let best = -Infinity;
    for (let i = j; i < n; i++) {
      const a = rows[i]?.[j];
      if (a !== null && a !== undefined) best = Math.max(best, a);
    }
    const final = lastRow(rows)[j] ?? 0;
    sum += (best === -Infinity ? final : best) - final;
  }
  return sum / (n - 1);
};

/** Backward transfer: final accuracy minus the accuracy right after learning, averaged over all tasks but the last. */
export const backwardTransferOf = (rows: readonly (readonly (number | null)[])[]): number => {
  const n = rows.length;
  if (n < 2) return 0;
  let sum = 0;
  for (let j = 0; j < n - 1; j++) sum += (lastRow(rows)[j] ?? 0) - (rows[j]?.[j] ?? 0);
  return sum / (n - 1);
};

/** A finished run's report as a table entry (forgetting and BWT recomputed from its matrix). */
export const summarize = (report: RunReport, o: { readonly dir: string; readonly threads: number | null; readonly source: RunSource }): RunSummary => {
  const tasks = report.tasks.map((t) => ({
    name: t.name,
    accuracy: t.accuracy,
    valAccuracy: t.valAccuracy,
    goal: t.goal,
    widthMultiplier: t.widthMultiplier,
    sparsity: t.sparsity,
    growths: t.growths.map((g) => ({ from: g.from, to: g.to, shortfallSamples: g.shortfallSamples, trainAccFailed: g.trainAccFailed })),
    note: t.note,
    allowedLoss: t.allowedLoss ?? 0,
  }));
  return {
    method: report.method,
    seed: report.seed,
    dir: o.dir,
    tasks,
    accuracyMatrix: report.accuracyMatrix,
    averageAccuracy: tasks.length === 0 ? 0 : tasks.reduce((a, t) => a + t.accuracy, 0) / tasks.length,
    forgetting: forgettingOf(report.accuracyMatrix),
    backwardTransfer: backwardTransferOf(report.accuracyMatrix),
    parameters: report.modelSize.parameters,
    relativeSize: report.modelSize.relativeToOneNetwork,
    checkpointBytes: report.modelSize.checkpointBytes,
    wallSeconds: report.timing.totalSeconds,
    maxLogitDrift: report.maxLogitDrift,
    backend: report.backend,
    threads: o.threads,
    source: o.source,
  };
};

/** One method's line of the table: statistics over its seeds. */
export interface MethodRow {
  readonly method: Method;
  readonly seeds: readonly number[];
  /** Final test accuracy per task, in task order. */
  readonly perTask: readonly Stat[];
  readonly averageAccuracy: Stat;
  readonly forgetting: Stat;
  /** True when every seed's forgetting is exactly 0 (not merely rounds to 0). */
  readonly forgettingExactlyZero: boolean;
  readonly backwardTransfer: Stat;
  readonly relativeSize: Stat;
  readonly parameters: Stat;
  readonly checkpointBytes: Stat;
  readonly wallSeconds: Stat;
  /** The largest drift over the seeds. */
  readonly maxLogitDrift: number;
}

/** Rows of the table, one per method present, in benchMethods order; seeds in ascending order. */
export const aggregate = (runs: readonly RunSummary[]): MethodRow[] =>
  benchMethods.flatMap((method) => {
    const mine = runs.filter((r) => r.method === method).sort((a, b) => a.seed - b.seed);
    if (mine.length === 0) return [];
    const tasks = Math.max(...mine.map((r) => r.tasks.length));
    const stat = (f: (r: RunSummary) => number) => meanStd(mine.map(f));
    return [
      {
        method,
        seeds: mine.map((r) => r.seed),
        perTask: Array.from({ length: tasks }, (_, j) => meanStd(mine.flatMap((r) => (r.tasks[j] === undefined ? [] : [r.tasks[j]!.accuracy])))),
        averageAccuracy: stat((r) => r.averageAccuracy),
        forgetting: stat((r) => r.forgetting),
        forgettingExactlyZero: mine.every((r) => r.forgetting === 0),
        backwardTransfer: stat((r) => r.backwardTransfer),
        relativeSize: stat((r) => r.relativeSize),
        parameters: stat((r) => r.parameters),
        checkpointBytes: stat((r) => r.checkpointBytes),
        wallSeconds: stat((r) => r.wallSeconds),
        maxLogitDrift: Math.max(...mine.map((r) => r.maxLogitDrift)),
      },
    ];
  });

/** One CPG task against its goal (the individual network's validation accuracy), over seeds. */
export interface GoalRow {
  readonly task: string;
  readonly goal: Stat;
  readonly cpgVal: Stat;
  /** CPG validation accuracy minus the goal (negative: below it). */
  readonly gap: Stat;
  readonly cpgTest: Stat;
  readonly individualTest: Stat | null;
  readonly widthMultiplier: Stat;
  readonly sparsity: Stat;
  /** Every seed within the tolerance (or above the goal). */
  readonly within: boolean;
  /** Seeds that fell short by more than the tolerance. */
  readonly shortSeeds: readonly number[];
  /** Why the network grew for this task, per growth: "×1→×1.5: 2 val images short" (with the seed over several). */
  readonly growths: readonly string[];
  /** The tasks' notes (distinct, with the seeds they came from). */
  readonly notes: readonly string[];
  /** The notes of the seeds that fell short only. */
  readonly shortNotes: readonly string[];
}

/** CPG's tasks against their goals; tasks without a goal are left out. */
export const goalCheck = (runs: readonly RunSummary[], tolerance = GOAL_TOLERANCE): GoalRow[] => {
  const cpg = runs.filter((r) => builtInMethod(r.method)?.meetsGoals === true).sort((a, b) => a.seed - b.seed);
  const individual = runs.filter((r) => builtInMethod(r.method)?.model === 'per-task');
  const names = cpg[0]?.tasks.map((t) => t.name) ?? [];
  return names.flatMap((task) => {
    const entries = cpg.flatMap((r) => {
      const t = r.tasks.find((x) => x.name === task);
      return t === undefined || t.goal === null ? [] : [{ seed: r.seed, t, goal: t.goal }];
    });
    if (entries.length === 0) return [];
    const ind = individual.flatMap((r) => r.tasks.filter((t) => t.name === task).map((t) => t.accuracy));
    // Half a point, or the tolerance the run learned the task with where that is wider (one image of fewer than 200).
    const short = entries.filter((e) => e.t.valAccuracy - e.goal < -Math.max(tolerance, e.t.allowedLoss) - 1e-12).map((e) => e.seed);
    const notesOf = (es: typeof entries): string[] => {
      const notes = new Map<string, number[]>();
      for (const e of es) if (e.t.note !== null) notes.set(e.t.note, [...(notes.get(e.t.note) ?? []), e.seed]);
      return [...notes].map(([n, seeds]) => (cpg.length > 1 ? `seed ${seeds.join(',')}: ${n}` : n));
    };
    return [
      {
        task,
        goal: meanStd(entries.map((e) => e.goal)),
        cpgVal: meanStd(entries.map((e) => e.t.valAccuracy)),
        gap: meanStd(entries.map((e) => e.t.valAccuracy - e.goal)),
        cpgTest: meanStd(entries.map((e) => e.t.accuracy)),
        individualTest: ind.length === 0 ? null : meanStd(ind),
        widthMultiplier: meanStd(entries.map((e) => e.t.widthMultiplier)),
        sparsity: meanStd(entries.map((e) => e.t.sparsity)),
        within: short.length === 0,
        shortSeeds: short,
        growths: entries.flatMap((e) =>
          e.t.growths.map(
            (g) =>
              `${cpg.length > 1 ? `seed ${e.seed} ` : ''}×${g.from}→×${g.to}: ${
                g.shortfallSamples !== null ? `${g.shortfallSamples} val image${g.shortfallSamples === 1 ? '' : 's'} short` : ''
              }${g.trainAccFailed ? `${g.shortfallSamples !== null ? ', ' : ''}train acc below threshold` : ''}`,
          ),
        ),
        notes: notesOf(entries),
        shortNotes: notesOf(entries.filter((e) => short.includes(e.seed))),
      },
    ];
  });
};

// ---------------------------------------------------------------------------
// Formatting

/** Mean (± std when there are several seeds and they differ at all). */
const withStd = (s: Stat, f: (x: number) => string, fStd: (x: number) => string = f): string =>
  Number.isNaN(s.mean) ? '—' : s.std === null || s.std < 1e-12 ? f(s.mean) : `${f(s.mean)} ± ${fStd(s.std)}`;

/** A percentage: "98.76", or "98.76 ± 0.12" over seeds. */
export const fmtPct = (s: Stat): string => withStd(s, (x) => (100 * x).toFixed(2));

const signed = (x: number, digits: number): string => {
  const v = x.toFixed(digits);
  return Number(v) === 0 ? (0).toFixed(digits) : x > 0 ? `+${v}` : `−${v.slice(1)}`;
};

/** Percentage points with a sign: "+0.12", "−3.40" (± std unsigned). */
export const fmtSignedPts = (s: Stat): string => withStd(s, (x) => signed(100 * x, 2), (x) => (100 * x).toFixed(2));

/** Forgetting in points; exactly "0" when it is exactly 0 on every seed. */
export const fmtForgetting = (s: Stat, exactlyZero: boolean): string => (exactlyZero ? '0' : withStd(s, (x) => (100 * x).toFixed(2)));

/** A size relative to one network: "1.50×". */
export const fmtSize = (s: Stat): string => withStd(s, (x) => `${x.toFixed(2)}×`, (x) => x.toFixed(2));

/** Bytes: "412.3 KiB". */
export const fmtBytes = (s: Stat): string => (s.max === 0 ? '—' : withStd(s, (x) => bytes(Math.round(x))));

/** A duration: "42 s", "12.5 min", "1.2 h". */
export const duration = (s: number): string => (s < 90 ? `${s.toFixed(0)} s` : s < 5400 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(2)} h`);

/** A duration over seeds. */
export const fmtDuration = (s: Stat): string => withStd(s, duration);

/** The max logit drift: "0" exactly, else in exponent notation. */
export const fmtDrift = (d: number): string => (d === 0 ? '0' : d.toExponential(2));

/** A Markdown table; `align` per column ('l' or 'r'); '|' in cells escaped. */
export const markdownTable = (head: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string => {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const line = (cells: readonly string[]) => `| ${head.map((_, i) => cell(cells[i] ?? '')).join(' | ')} |`;
  const rule = `|${head.map((_, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'r' ? '---:' : ':---')).join('|')}|`;
  return [line(head), rule, ...rows.map(line)].join('\n');
};

/** Everything the table of one benchmark is made from. */
export interface BenchResult {
  readonly benchmark: string;
  readonly net: string;
  readonly seeds: readonly number[];
  readonly runs: readonly RunSummary[];
  /** The command line that produced it. */
  readonly command: string;
  /** The flags passed through to every run, as given (kebab case). */
  readonly passThrough: readonly string[];
  /** The budget that applies to every method (epochs, images), for the caption. */
  readonly budget: string;
  /** "wasm (2 threads), node v20 on 2 × CPU model". */
  readonly machine: string;
  readonly quick: boolean;
}

/** The main table's header and rows (cells as strings). */
export const mainTable = (rows: readonly MethodRow[]): { head: string[]; cells: string[][] } => {
  const tasks = Math.max(0, ...rows.map((r) => r.perTask.length));
  const head = [
    'method',
    ...Array.from({ length: tasks }, (_, j) => `t${j + 1}`),
    'avg acc',
    'forgetting',
    'BWT',
    'size',
    'checkpoint',
    'wall time',
    'max logit drift',
  ];
  const cells = rows.map((r) => [
    r.method,
    ...Array.from({ length: tasks }, (_, j) => (r.perTask[j] === undefined ? '—' : fmtPct(r.perTask[j]!))),
    fmtPct(r.averageAccuracy),
    fmtForgetting(r.forgetting, r.forgettingExactlyZero),
    fmtSignedPts(r.backwardTransfer),
    fmtSize(r.relativeSize),
    fmtBytes(r.checkpointBytes),
    fmtDuration(r.wallSeconds),
    builtInMethod(r.method)?.model === 'per-task' ? '—' : fmtDrift(r.maxLogitDrift),
  ]);
  return { head, cells };
};

/** The goal table's header and rows. */
export const goalTable = (goals: readonly GoalRow[]): { head: string[]; cells: string[][] } => ({
  head: ['task', 'goal (ind. val)', 'CPG val', 'Δ pts', 'CPG test', 'ind. test', 'width', 'sparsity', 'within', 'growth', 'note'],
  cells: goals.map((g) => [
    g.task,
    fmtPct(g.goal),
    fmtPct(g.cpgVal),
    fmtSignedPts(g.gap),
    fmtPct(g.cpgTest),
    g.individualTest === null ? '—' : fmtPct(g.individualTest),
    withStd(g.widthMultiplier, (x) => `×${x.toFixed(2)}`, (x) => x.toFixed(2)),
    withStd(g.sparsity, (x) => x.toFixed(2)),
    g.within ? 'yes' : `NO${g.shortSeeds.length > 0 && g.goal.n > 1 ? ` (seed ${g.shortSeeds.join(',')})` : ''}`,
    g.growths.length === 0 ? '—' : g.growths.join('; '),
    g.notes.join('; '),
  ]),
});

const row = (rows: readonly MethodRow[], m: Method): MethodRow | undefined => rows.find((r) => r.method === m);

/** The verdict on CPG in words: each claim checked, ✓ or ✗ with the numbers. */
export const verdict = (rows: readonly MethodRow[], goals: readonly GoalRow[]): string[] => {
  const cpg = row(rows, 'cpg');
  if (cpg === undefined) return ['no CPG run: nothing to judge'];
  const mark = (ok: boolean) => (ok ? '✓' : '✗');
  const avg = (r: MethodRow) => `${(100 * r.averageAccuracy.mean).toFixed(2)}%`;
  const out: string[] = [];
  for (const other of ['packnet', 'finetune', 'individual'] as const) {
    const o = row(rows, other);
    if (o === undefined) continue;
    const ok = cpg.averageAccuracy.mean >= o.averageAccuracy.mean;
    const diff = 100 * (cpg.averageAccuracy.mean - o.averageAccuracy.mean);
    out.push(`${mark(ok)} CPG average accuracy ${avg(cpg)} ${ok ? '≥' : '<'} ${other} ${avg(o)} (${signed(diff, 2)} pts)`);
  }
  out.push(
    cpg.forgettingExactlyZero && cpg.maxLogitDrift === 0
      ? `✓ CPG forgetting exactly 0 and max logit drift 0 (every finished task bit-identical)`
      : `✗ CPG forgetting ${fmtForgetting(cpg.forgetting, cpg.forgettingExactlyZero)} pts, max logit drift ${fmtDrift(cpg.maxLogitDrift)}`,
  );
  const size = cpg.relativeSize.max;
  out.push(`${mark(size <= 1.5 + 1e-9)} CPG size ${fmtSize(cpg.relativeSize)} of one network (${size <= 1.5 + 1e-9 ? '≤' : '>'} 1.5×)`);
  const short = goals.filter((g) => !g.within);
  out.push(
    short.length === 0
      ? `✓ every CPG task within ${(100 * GOAL_TOLERANCE).toFixed(1)} pts of its goal, or its run's wider tolerance (validation accuracy vs the individual network's)`
      : `✗ ${short.length} of ${goals.length} CPG tasks more than ${(100 * GOAL_TOLERANCE).toFixed(1)} pts (or their run's wider tolerance) below their goal: ${short
          .map((g) => `${g.task} ${fmtSignedPts(g.gap)} pts${g.shortNotes.length > 0 ? ` (${g.shortNotes.join('; ')})` : ''}`)
          .join('; ')}`,
  );
  // The time to a trained model, both measured in this invocation on the same machine and budget.
  // CPG's goals are the individual networks: with them, the time from nothing to CPG's model.
  const packnet = row(rows, 'packnet');
  const goalNets = row(rows, 'individual');
  if (packnet !== undefined && packnet.wallSeconds.mean > 0) {
    const ratio = (s: number) => `${(s / packnet.wallSeconds.mean).toFixed(2)}×`;
    const withGoals = goalNets === undefined ? '' : `; with its goal networks (the individual row) ${duration(cpg.wallSeconds.mean + goalNets.wallSeconds.mean)}, ${ratio(cpg.wallSeconds.mean + goalNets.wallSeconds.mean)}`;
    out.push(
      `CPG's wall time ${duration(cpg.wallSeconds.mean)} is ${ratio(cpg.wallSeconds.mean)} PackNet's ${duration(packnet.wallSeconds.mean)}${withGoals} (this invocation${cpg.wallSeconds.n > 1 ? `, means of ${cpg.wallSeconds.n} seeds` : ''})`,
    );
  }
  return out;
};

const taskLegend = (runs: readonly RunSummary[]): string => {
  const names = [...runs].sort((a, b) => b.tasks.length - a.tasks.length)[0]?.tasks.map((t) => t.name) ?? [];
  return names.map((n, j) => `t${j + 1} = ${n}`).join(', ');
};

const captionLines = (r: BenchResult): string[] => [
  `benchmark ${r.benchmark}, net ${r.net}, seed${r.seeds.length === 1 ? '' : 's'} ${r.seeds.join(', ')}${r.quick ? ' (--quick: a smoke test, not a result)' : ''}`,
  `budget (every method): ${r.budget}`,
  `machine: ${r.machine}`,
];

const footnotes = (r: BenchResult): string[] => [
  `Per-task columns: final test accuracy (%) after the last task; ${taskLegend(r.runs)}.`,
  `avg acc: mean of the per-task columns; forgetting: mean over all tasks but the last of (best accuracy the task ever had − final), in points; BWT: mean of (final − right after learning), in points.`,
  `size: parameters kept relative to one network (individual: one network per task); checkpoint: bytes of the final checkpoint (individual networks are not kept: —); wall time: the run's own time (CPG's goals come from the individual run, not counted again).`,
  ...(r.seeds.length > 1 ? [`Values are mean ± sample std (n − 1) over ${r.seeds.length} seeds.`] : []),
];

/** The whole report of one benchmark as plain text (for the terminal). */
export const renderText = (r: BenchResult): string => {
  const rows = aggregate(r.runs);
  const goals = goalCheck(r.runs);
  const main = mainTable(rows);
  const g = goalTable(goals);
  return [
    ...captionLines(r),
    '',
    table(main.head, main.cells),
    '',
    ...footnotes(r),
    ...(goals.length > 0
      ? [
          '',
          'CPG against its goals (validation accuracy of the individual networks):',
          table(g.head.slice(0, -2), g.cells.map((c) => c.slice(0, -2))),
          ...goals.filter((x) => x.growths.length > 0).map((x) => `  ${x.task} grew: ${x.growths.join('; ')}`),
          ...goals.filter((x) => x.notes.length > 0).map((x) => `  ${x.task}: ${x.notes.join('; ')}`),
        ]
      : []),
    '',
    ...verdict(rows, goals),
  ].join('\n');
};

/** The whole report of one benchmark as Markdown. */
export const renderMarkdown = (r: BenchResult): string => {
  const rows = aggregate(r.runs);
  const goals = goalCheck(r.runs);
  const main = mainTable(rows);
  const g = goalTable(goals);
  return [
    `## ${r.benchmark} — ${r.net}${r.quick ? ' (quick)' : ''}`,
    '',
    '```',
    r.command,
    '```',
    '',
    ...captionLines(r).map((l) => `${l}  `),
    '',
    markdownTable(main.head, main.cells),
    '',
    ...footnotes(r).map((l) => `${l}  `),
    ...(goals.length > 0 ? ['', '**CPG against its goals** (validation accuracy of the individual networks):', '', markdownTable(g.head, g.cells, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'l', 'l'])] : []),
    '',
    ...verdict(rows, goals).map((l) => `- ${l}`),
    '',
  ].join('\n');
};

/** The JSON written to accuracy.json. */
export const resultJson = (r: BenchResult) => {
  const rows = aggregate(r.runs);
  const goals = goalCheck(r.runs);
  return {
    benchmark: r.benchmark,
    net: r.net,
    seeds: r.seeds,
    quick: r.quick,
    command: r.command,
    passThrough: r.passThrough,
    budget: r.budget,
    machine: r.machine,
    rows,
    goals,
    verdict: verdict(rows, goals),
    runs: r.runs,
  };
};

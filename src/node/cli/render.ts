/**
 * Rendering run events for a terminal: one live progress line (rewritten in
 * place on a TTY, printed per epoch otherwise), a permanent line per stage
 * and task, and the final table.
 */
import stringWidth from 'string-width';
import { type RunReport, backendLabel } from '../../algebra/report.js';
import type { RunEvent } from '../../cpg/events.js';
import { accountOfOutcome } from '../../algebra/budget.js';
import { constraintWords, figuresWords, remedyWords } from '../../algebra/budgetWords.js';
import { GOAL_PRECISION, points } from '../../algebra/lifecycle.js';

export const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : `${(100 * x).toFixed(2)}%`);
/** A logit drift as people read it: 0, or two significant digits (6.7e-6). */
export const drift = (x: number): string => (x === 0 ? '0' : x.toExponential(1).replace('e-', 'e-').replace(/e\+?/, 'e'));
const secs = (s: number): string => (s < 90 ? `${s.toFixed(0)} s` : s < 5400 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`);
export const bytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`;

// Terminal columns, not UTF-16 code units: a CJK character or an emoji takes two, a combining mark none.
/** `s` padded with spaces on the right to `width` terminal columns. */
export const padEndColumns = (s: string, width: number): string => s + ' '.repeat(Math.max(0, width - stringWidth(s)));
/** `s` padded with spaces on the left to `width` terminal columns. */
export const padStartColumns = (s: string, width: number): string => ' '.repeat(Math.max(0, width - stringWidth(s))) + s;

/** The longest start of `s` that fits in `columns` terminal columns (whole characters, a combining mark kept with its base). */
export const fitColumns = (s: string, columns: number): string => {
  if (stringWidth(s) <= columns) return s;
  let out = '';
  let used = 0;
  for (const { segment } of new Intl.Segmenter().segment(s)) {
    used += stringWidth(segment);
    if (used > columns) break;
    out += segment;
  }
  return out;
};

/** A table with left-aligned first column and right-aligned others, aligned by display width. */
export const table = (head: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = head.map((h, i) => Math.max(stringWidth(h), ...rows.map((r) => stringWidth(r[i] ?? ''))));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? padEndColumns(c, widths[i]!) : padStartColumns(c, widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
};

const sparsities = (xs: readonly number[]): string => xs.map((x) => String(Math.round(x * 1e4) / 1e4)).join(',');

/**
 * Where the capacity budget bound a task or the model ran out of room, one
 * line each, naming the constraint that bound with its figures; only the
 * width's suggests --max-multiplier.
 */
export const budgetLines = (r: RunReport): string[] => {
  const bound = r.tasks.filter((t) => t.budget?.bound === true);
  const imposed = r.tasks.filter((t) => t.budget?.imposedSparsity !== undefined && t.budget.requestedSparsities !== undefined);
  const out = r.tasks.filter((t) => t.budget?.ranOut === true);
  const why = (t: RunReport['tasks'][number]): string => {
    const a = t.budget === undefined ? undefined : accountOfOutcome(t.budget);
    // A report from before the figures were kept: what it knew, without advice.
    return a === undefined ? `${t.name}` : `${t.name}: bound by ${constraintWords(a)}; ${figuresWords(a)}; ${remedyWords(a)}`;
  };
  return [
    ...(bound.length > 0 ? [`budget bound (compacted further to leave room for the tasks to come): ${bound.map((t) => `${t.name} to ${t.sparsity}`).join(', ')}`] : []),
    ...(imposed.length > 0
      ? [`sparsity imposed by the budget (beyond the requested targets): ${imposed.map((t) => `${t.name} ≥ ${t.budget!.imposedSparsity}, requested --sparsities ${sparsities(t.budget!.requestedSparsities!)}`).join('; ')}`]
      : []),
    ...out.map((t) =>
      t.budget?.constraint === 'width'
        ? `out of room (fewer free weights than it needed at the maximum width): ${why(t)}`
        : t.budget?.constraint !== undefined
          ? `under its goal, its compacting bound by its budget (not out of room): ${why(t)}`
          : `out of room or bound under its goal by its share: ${why(t)}`,
    ),
  ];
};

/** The report's summary table and headline figures. */
export const summary = (r: RunReport, dir: string): string => {
  const rows = r.tasks.map((t) => [
    t.name,
    pct(t.accuracy),
    pct(t.valAccuracy),
    pct(t.goal),
    `×${t.widthMultiplier.toFixed(2)}`,
    t.sparsity === 0 ? '0' : t.sparsity.toFixed(2),
    pct(t.ownedFraction),
    pct(t.pickedFraction),
    t.growths.length === 0 ? '' : `${t.growths.length}`,
  ]);
  const drift = r.maxLogitDrift === 0 ? '0 (every finished task bit-identical)' : `${r.maxLogitDrift} — FORGETTING DETECTED`;
  // Below the goal but inside the tolerance is a met goal (as the life cycle judged it); below the tolerance is not.
  const below = r.tasks.filter((t) => t.goal !== null && t.valAccuracy + 1e-12 < t.goal);
  const accepted = below.filter((t) => t.valAccuracy + (t.allowedLoss ?? 0) >= t.goal! - 1e-9);
  // "Within the allowed loss" only up to one point under the goal; a larger tolerance (an explicit
  // --allowed-loss, or a run from before images were capped) is named as what it is.
  const within = accepted.filter((t) => t.goal! - t.valAccuracy <= GOAL_PRECISION + 1e-9);
  const lenient = accepted.filter((t) => !within.includes(t));
  const missed = below.filter((t) => !accepted.includes(t));
  const small = r.tasks.filter((t) => t.validationTooSmall === true);
  const underGoal = (t: RunReport['tasks'][number]): string =>
    `${t.name} ${pct(t.valAccuracy)}, goal ${pct(t.goal)} − ${points(t.allowedLoss ?? 0)}${t.note !== null ? ` — ${t.note}` : ''}`;
  return [
    table(['task', 'test acc', 'val acc', 'goal', 'width', 'sparsity', 'owns', 'picked', 'growths'], rows),
    '',
    `average accuracy ${pct(r.averageAccuracy)}   forgetting ${r.forgetting.toFixed(4)}   backward transfer ${r.backwardTransfer.toFixed(4)}`,
    `max logit drift ${drift}`,
    `model ${r.modelSize.parameters.toLocaleString('en-US')} parameters = ${r.modelSize.relativeToOneNetwork.toFixed(2)}× one network; checkpoint ${bytes(r.modelSize.checkpointBytes)}`,
    `time ${secs(r.timing.totalSeconds)} on ${backendLabel(r)}`,
    ...(within.length > 0
      ? [`within the allowed loss (validation): ${within.map(underGoal).join('; ')}`]
      : []),
    ...(lenient.length > 0
      ? [
          `more than 1 point under the goal, accepted by a tolerance over 1 point (validation): ${lenient.map(underGoal).join('; ')}`,
        ]
      : []),
    ...(missed.length > 0
      ? [`goal not reached (validation): ${missed.map((t) => `${t.name} ${pct(t.valAccuracy)} < ${pct(t.goal)}${t.note !== null ? ` — ${t.note}` : ''}`).join('; ')}`]
      : r.tasks.some((t) => t.goal !== null) && accepted.length === 0
        ? ['every task reached its goal (validation accuracy ≥ goal)']
        : []),
    ...(small.length > 0
      ? [
          `validation too small to test the goal (one image is worth more than the allowed loss, or than ${points(GOAL_PRECISION)}): ${small
            .map((t) => `${t.name} (${t.validationImages} images: one is ${points(1 / (t.validationImages ?? 1))})`)
            .join(', ')}; give a task at least ${Math.round(1 / GOAL_PRECISION)} validation images`,
        ]
      : []),
    ...(r.capacityPolicy !== undefined ? [`capacity: ${r.capacityPolicy}`] : []),
    ...budgetLines(r),
    `report: ${dir}/report.json  ${dir}/report.html`,
  ].join('\n');
};

/** A renderer: feed it events; it writes to `out`. */
export const renderer = (out: NodeJS.WriteStream | { write: (s: string) => unknown; isTTY?: boolean }) => {
  const tty = out.isTTY === true;
  let live = false;
  let tasks = 0;
  let goalTasks = 0;
  let runStart = 0;
  let learnStart: number | undefined;
  let learned = 0;
  const clock = () => performance.now() / 1000;
  const permanent = (s: string) => {
    if (live && tty) out.write('\r\x1b[2K');
    live = false;
    out.write(`${s}\n`);
  };
  const transient = (s: string) => {
    if (tty) {
      out.write(`\r\x1b[2K${fitColumns(s, (process.stdout.columns ?? 120) - 1)}`);
      live = true;
    } else out.write(`${s}\n`);
  };
  const runEta = (): string => {
    if (learnStart === undefined || learned === 0 || tasks === 0) return '';
    const per = (clock() - learnStart) / learned;
    return `  run ETA ~${secs(per * (tasks - learned))}`;
  };
  return (e: RunEvent): void => {
    switch (e.type) {
      case 'run-started':
        tasks = e.planned ?? e.tasks.length;
        runStart = clock();
        permanent(
          e.planned !== null
            ? `cpg ${e.resumed ? 'resume' : 'run'}: ${e.method} on ${e.benchmark} (${e.planned} tasks), net ${e.net}, backend ${e.backend}${e.backend === 'wasm' ? ` (${e.threads} thread${e.threads === 1 ? '' : 's'})` : ''}${e.device !== undefined ? ` on ${e.device}` : ''} → ${e.dir}`
            : `cpg learn: ${e.method}, net ${e.net}, ${e.tasks.length === 0 ? 'a new model' : `a model of ${e.tasks.length} task${e.tasks.length === 1 ? '' : 's'}`}, backend ${e.backend}${e.backend === 'wasm' ? ` (${e.threads} thread${e.threads === 1 ? '' : 's'})` : ''}${e.device !== undefined ? ` on ${e.device}` : ''} → ${e.dir}`,
        );
        break;
      case 'data-loaded':
        permanent(`data: ${e.trainImages.toLocaleString('en-US')} training images in ${e.tasks} tasks, loaded in ${e.seconds.toFixed(1)} s`);
        break;
      case 'goals-started':
        goalTasks = e.tasks;
        permanent(`goals: training one network per task to set each task's accuracy goal (${e.tasks} network${e.tasks === 1 ? '' : 's'})`);
        break;
      case 'goals-ready':
        permanent(`goals (${e.source}): ${Object.entries(e.goals).map(([n, g]) => `${n} ${pct(g)}`).join(', ')}`);
        break;
      case 'task-started':
        if (e.purpose === 'learn' && learnStart === undefined) learnStart = clock();
        if (e.purpose === 'learn') permanent(`task ${e.task}${e.of !== null ? `/${e.of}` : ''} ${e.name}`);
        if (e.of === null) tasks = Math.max(tasks, e.task);
        break;
      case 'task-skipped':
        permanent(`task ${e.task} ${e.name}: ${e.message}`);
        break;
      case 'stage-started':
        if (e.stage === 'grow')
          permanent(
            e.why === 'capacity'
              ? `  grow the network to ×${e.multiplier} first: its free weights did not cover the task's share`
              : `  grow the network to ×${e.multiplier} (goal missed) and learn the task again`,
          );
        break;
      case 'capacity-low':
      case 'validation-small':
        permanent(`  warning: ${e.message}`);
        break;
      case 'budget-floor':
        permanent(`  budget: ${e.message}`);
        break;
      case 'epoch-ended': {
        const where = e.stage === 'individual' ? `goal ${e.task}/${Math.max(goalTasks, tasks, e.task)}` : `task ${e.task}/${Math.max(tasks, e.task)}`;
        const sp = e.stage === 'prune' ? `  sparsity ${e.sparsity.toFixed(3)}` : '';
        transient(
          `  [${where} ${e.name}] ${e.stage} epoch ${e.epoch}/${e.epochs}  loss ${e.loss.toFixed(4)}  train ${pct(e.trainAcc)}  val ${pct(e.valAcc)}${sp}  ${Math.round(e.samplesPerSec).toLocaleString('en-US')} img/s  stage ETA ${secs(e.stageEtaSeconds)}${runEta()}`,
        );
        break;
      }
      case 'stage-ended':
        permanent(`  ${e.stage}: train ${pct(e.trainAcc)}, val ${pct(e.valAcc)} → ${e.next}`);
        break;
      case 'task-finished':
        if (e.purpose === 'goal') permanent(`  goal ${e.task} ${e.name}: val ${pct(e.valAcc)}, test ${pct(e.accuracyRow[0])} (${secs(e.seconds)})`);
        else {
          learned += 1;
          permanent(
            `  done: test ${pct(e.accuracyRow[e.accuracyRow.length - 1])}${e.goal !== null ? ` (val ${pct(e.valAcc)}, goal ${pct(e.goal)})` : ''}, width ×${e.multiplier.toFixed(2)}, sparsity ${e.sparsity}, owns ${pct(e.ownedFraction)}, free ${pct(e.freeFraction)}; earlier tasks ${e.accuracyRow.length > 1 ? e.accuracyRow.slice(0, -1).map(pct).join(' ') : '—'}; logit drift ${e.maxLogitDrift} (${secs(e.seconds)})`,
          );
        }
        break;
      case 'run-finished':
        permanent('');
        permanent(summary(e.report, e.dir));
        permanent(`(${secs(clock() - runStart)} in this process)`);
        break;
      case 'checkpoint':
      case 'stopped':
        break;
    }
  };
};

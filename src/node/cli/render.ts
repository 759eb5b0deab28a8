/**
 * Rendering run events for a terminal: one live progress line (rewritten in
 * place on a TTY, printed per epoch otherwise), a permanent line per stage
 * and task, and the final table.
 */
import stringWidth from 'string-width';
import { type RunReport, backendLabel } from '../../algebra/codecs.js';
import type { RunEvent } from '../../cpg/events.js';

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

/** Where the capacity budget bound a task or the model ran out of room, one line each. */
const budgetLines = (r: RunReport): string[] => {
  const bound = r.tasks.filter((t) => t.budget?.bound === true);
  const out = r.tasks.filter((t) => t.budget?.ranOut === true);
  return [
    ...(bound.length > 0 ? [`budget bound (compacted further to leave room for the tasks to come): ${bound.map((t) => `${t.name} to ${t.sparsity}`).join(', ')}`] : []),
    ...(out.length > 0
      ? [`out of room (started short of free weights at the maximum width, or its share bound it under its goal; raise --max-multiplier): ${out.map((t) => t.name).join(', ')}`]
      : []),
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
  const within = below.filter((t) => t.valAccuracy + (t.allowedLoss ?? 0) >= t.goal! - 1e-9);
  const missed = below.filter((t) => !within.includes(t));
  const points = (x: number) => `${(100 * x).toFixed(2).replace(/\.?0+$/, '')} point${x === 0.01 ? '' : 's'}`;
  return [
    table(['task', 'test acc', 'val acc', 'goal', 'width', 'sparsity', 'owns', 'picked', 'growths'], rows),
    '',
    `average accuracy ${pct(r.averageAccuracy)}   forgetting ${r.forgetting.toFixed(4)}   backward transfer ${r.backwardTransfer.toFixed(4)}`,
    `max logit drift ${drift}`,
    `model ${r.modelSize.parameters.toLocaleString('en-US')} parameters = ${r.modelSize.relativeToOneNetwork.toFixed(2)}× one network; checkpoint ${bytes(r.modelSize.checkpointBytes)}`,
    `time ${secs(r.timing.totalSeconds)} on ${backendLabel(r)}`,
    ...(within.length > 0
      ? [`within the allowed loss (validation): ${within.map((t) => `${t.name} ${pct(t.valAccuracy)}, goal ${pct(t.goal)} − ${points(t.allowedLoss ?? 0)}${t.note !== null ? ` — ${t.note}` : ''}`).join('; ')}`]
      : []),
    ...(missed.length > 0
      ? [`goal not reached (validation): ${missed.map((t) => `${t.name} ${pct(t.valAccuracy)} < ${pct(t.goal)}${t.note !== null ? ` — ${t.note}` : ''}`).join('; ')}`]
      : r.tasks.some((t) => t.goal !== null) && within.length === 0
        ? ['every task reached its goal (validation accuracy ≥ goal)']
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
        permanent(`  warning: ${e.message}`);
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

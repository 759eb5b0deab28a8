/**
 * The run report as one self-contained HTML page: inline CSS and inline SVG, no
 * scripts, no fonts or images to fetch, nothing that reaches the network. Light and
 * dark colour schemes follow the reader's system setting.
 *
 * The page shows, top to bottom: what was run and the headline figures; the task
 * colours (the same everywhere on the page); the accuracy matrix as a heat map; how
 * every sharable layer is shared out (owned per task, free, and what each task
 * picked: a share of the older tasks' weights, as in the summary table); each
 * task's accuracy-versus-sparsity sweep with its goal and chosen sparsity; accuracy
 * against goal with the per-task details (width, sparsity, growths and why, notes);
 * and time per task.
 *
 * Every string taken from the report is escaped (task names can contain anything),
 * every number is checked finite before it is printed or placed.
 */
import { type LayerCapacity, type RunReport, type TaskReport, backendLabel } from '../algebra/report.js';
import { accountOfOutcome } from '../algebra/budget.js';
import { constraintWords, figuresWords, remedyWords } from '../algebra/budgetWords.js';
import { GOAL_PRECISION, points } from '../algebra/lifecycle.js';

type Growth = TaskReport['growths'][number];

// ---------------------------------------------------------------------------
// Text: escaping, abbreviations, numbers

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text safe inside an element or a quoted attribute. */
const esc = (s: string): string =>
  String(s)
    .replace(CONTROL, '\ufffd')
    .replace(LONE_SURROGATE, '\ufffd')
    .replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

/** At most `max` characters (code points), with an ellipsis when cut. */
const abbrev = (s: string, max: number): string => {
  const cps = Array.from(s);
  return cps.length <= max ? s : `${cps.slice(0, Math.max(1, max - 1)).join('')}…`;
};

const charCount = (s: string): number => Array.from(s).length;

/** Escaped text that may wrap after '_', '-', '/' and '.' (task names like large_man-made_outdoor_things). */
const breakable = (s: string): string => esc(s).replace(/([_\-/.])(?=.)/g, '$1<wbr>');

const fin = (x: number, fallback = 0): number => (typeof x === 'number' && Number.isFinite(x) ? x : fallback);
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, fin(x, lo)));

/** Fixed decimals, never "-0.0", never NaN. */
const fix = (x: number, digits: number): string => {
  const s = fin(x).toFixed(digits);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
};
/** A coordinate. */
const c = (x: number): string => fix(x, 1).replace(/\.0$/, '');
const pct = (x: number, digits = 1): string => `${fix(100 * x, digits)}%`;
/** A difference in percentage points, signed. */
const pp = (x: number, digits = 1): string => {
  const s = fix(100 * x, digits);
  return `${s.startsWith('-') || /^0(\.0*)?$/.test(s) ? s : `+${s}`} pp`;
};
const trim = (x: number, digits: number): string => fix(x, digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
const times = (m: number): string => `×${trim(m, 2)}`;
const group = (n: number): string => Math.round(fin(n)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

const count = (n: number): string => {
  const v = fin(n);
  if (v >= 1e9) return `${trim(v / 1e9, 2)} G`;
  if (v >= 1e6) return `${trim(v / 1e6, 2)} M`;
  if (v >= 1e4) return `${trim(v / 1e3, 1)} k`;
  return group(v);
};

const bytes = (n: number): string => {
  const v = fin(n);
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (v < 1024) return `${group(v)} B`;
  let x = v / 1024;
  let u = 0;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return `${x >= 100 ? fix(x, 0) : fix(x, 1)} ${units[u] ?? ''}`;
};

const duration = (seconds: number): string => {
  const s = Math.max(0, fin(seconds));
  if (s < 1) return `${fix(s * 1000, 0)} ms`;
  if (s < 60) return `${fix(s, 1)} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    return `${m} min ${String(Math.floor(s - m * 60)).padStart(2, '0')} s`;
  }
  const h = Math.floor(s / 3600);
  return `${h} h ${String(Math.floor((s - h * 3600) / 60)).padStart(2, '0')} min`;
};

const when = (createdAt: string): string => {
  const t = Date.parse(createdAt);
  if (!Number.isFinite(t)) return createdAt;
  const iso = new Date(t).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
};

const METHODS: Readonly<Record<string, string>> = {
  cpg: 'CPG',
  packnet: 'PackNet',
  finetune: 'Fine-tune',
  individual: 'Individual (scratch)',
};
const BENCHMARKS: Readonly<Record<string, string>> = {
  'split-mnist': 'Split MNIST',
  'permuted-mnist': 'Permuted MNIST',
  'split-fmnist': 'Split Fashion-MNIST',
  cifar100: 'CIFAR-100',
  custom: 'your own tasks',
};
const nameOf = (table: Readonly<Record<string, string>>, key: string): string =>
  Object.prototype.hasOwnProperty.call(table, key) ? (table[key] ?? key) : key;

// ---------------------------------------------------------------------------
// Colours

/** One colour per task, the same everywhere on the page (categorical, then generated). */
const TASK_COLOURS = [
  '#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#bcbd22',
  '#2c4f7c', '#a0cbe8', '#b35806', '#8cd17d', '#9e1b32', '#d4a6c8', '#2f6f6a', '#f1ce63', '#6b4c3b', '#d4508a',
];

const hslHex = (h: number, s: number, l: number): string => {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): string => {
    const k = (n + h / 30) % 12;
    const v = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(255 * v).toString(16).padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
};

const taskColour = (i: number): string =>
  TASK_COLOURS[i] ?? hslHex((i * 137.508) % 360, 0.55, i % 2 === 0 ? 0.45 : 0.62);

const rgbOf = (hex: string): [number, number, number] => {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
};

/** Dark or light ink for text on a background colour. */
const inkOn = (hex: string): string => {
  const lin = (u: number): number => {
    const x = u / 255;
    return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  };
  const [r, g, b] = rgbOf(hex);
  const lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  return lum > 0.32 ? '#111418' : '#ffffff';
};

/** Viridis (perceptually uniform), sampled at tenths. */
const VIRIDIS = ['#440154', '#482475', '#414487', '#355f8d', '#2a788e', '#21918c', '#22a884', '#44bf70', '#7ad151', '#bddf26', '#fde725'];

const viridis = (t: number): string => {
  const x = clamp(t, 0, 1) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = rgbOf(VIRIDIS[i] ?? '#440154');
  const b = rgbOf(VIRIDIS[i + 1] ?? '#fde725');
  const mix = (k: 0 | 1 | 2): string =>
    Math.round(a[k] + (b[k] - a[k]) * f)
      .toString(16)
      .padStart(2, '0');
  return `#${mix(0)}${mix(1)}${mix(2)}`;
};

// ---------------------------------------------------------------------------
// Scales

/** Round tick values covering [lo, hi], about `n` of them. */
const ticks = (lo: number, hi: number, n: number): number[] => {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return [lo];
  const raw = span / Math.max(1, n);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag);
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out.slice(0, 50);
};

/** Decimals a percentage tick needs, for ticks `step` apart (as fractions). */
const tickDigits = (ts: readonly number[]): number => {
  const a = ts[0];
  const b = ts[1];
  if (a === undefined || b === undefined) return 1;
  const step = Math.abs(b - a) * 100;
  return step >= 1 ? 0 : step >= 0.1 ? 1 : 2;
};

/** An accuracy domain around the values: [lo, hi] in [0, 1], at least `minSpan` wide, padded. */
const accDomain = (values: readonly number[], pad: number, minSpan: number): [number, number] => {
  const vs = values.filter((v) => Number.isFinite(v));
  if (vs.length === 0) return [0, 1];
  let lo = Math.max(0, Math.min(...vs) - pad);
  let hi = Math.min(1, Math.max(...vs) + pad);
  if (hi - lo < minSpan) {
    const mid = (lo + hi) / 2;
    lo = Math.max(0, mid - minSpan / 2);
    hi = Math.min(1, lo + minSpan);
    lo = Math.max(0, hi - minSpan);
  }
  return [lo, hi];
};

// ---------------------------------------------------------------------------
// Pieces

const displayName = (r: RunReport, i: number): string => {
  const n = r.tasks[i]?.name;
  return n === undefined || n.trim() === '' ? `task ${i + 1}` : n;
};

const taskCount = (r: RunReport): number =>
  Math.max(
    r.tasks.length,
    r.accuracyMatrix.length,
    0,
    ...r.accuracyMatrix.map((row) => row.length),
    ...r.capacity.map((l) => l.perTask.length),
  );

const swatch = (i: number): string => `<span class="sw" style="background:${taskColour(i)}"></span>`;

/** An SVG element scaled down to its container's width ('wide': not below 720 px, the container scrolls instead). */
const svg = (w: number, h: number, label: string, body: string, cls = ''): string =>
  `<svg viewBox="0 0 ${c(w)} ${c(h)}" width="${c(w)}" height="${c(h)}" role="img" aria-label="${esc(label)}"${cls === '' ? '' : ` class="${cls}"`}${
    cls === 'wide' ? ` style="min-width:${c(Math.min(w, 720))}px"` : ''
  }>${body}</svg>`;

const text = (x: number, y: number, content: string, attrs = ''): string =>
  `<text x="${c(x)}" y="${c(y)}"${attrs === '' ? '' : ` ${attrs}`}>${content}</text>`;

/** An SVG label cut to `max` characters, with the full text as tooltip. */
const svgLabel = (x: number, y: number, full: string, max: number, attrs = ''): string => {
  const shown = abbrev(full, max);
  return `<text x="${c(x)}" y="${c(y)}"${attrs === '' ? '' : ` ${attrs}`}>${shown === full ? '' : `<title>${esc(full)}</title>`}${esc(shown)}</text>`;
};

const empty = (message: string): string => `<p class="empty">${message}</p>`;

const section = (id: string, title: string, lede: string, body: string): string =>
  `<section id="${id}"><h2>${title}</h2>${lede === '' ? '' : `<p class="lede">${lede}</p>`}${body}</section>`;

// ---------------------------------------------------------------------------
// 1. Header and headline figures

const growthsOf = (r: RunReport): number => r.tasks.reduce((a, t) => a + t.growths.length, 0);
/** Tasks below their goal by more than the allowed loss (a task inside the tolerance met its goal, as the life cycle judged). */
const missedGoals = (r: RunReport): number => r.tasks.filter((t) => t.goal !== null && t.valAccuracy + (t.allowedLoss ?? 0) < t.goal - 1e-9).length;

const header = (r: RunReport): string => {
  const n = r.tasks.length;
  const facts: [string, string][] = [
    ['method', nameOf(METHODS, r.method)],
    ['benchmark', nameOf(BENCHMARKS, r.benchmark)],
    ['net', r.net],
    ['backend', backendLabel(r)],
    ['seed', String(r.seed)],
    ['date', when(r.createdAt)],
    ...(r.capacityPolicy !== undefined ? ([['capacity policy', r.capacityPolicy]] as [string, string][]) : []),
  ];
  const finalWidth = r.tasks.reduce((m, t) => Math.max(m, fin(t.widthMultiplier, 1)), 1);
  const g = growthsOf(r);
  const missed = missedGoals(r);
  const summary = [
    `${n} task${n === 1 ? '' : 's'}`,
    `${g} growth${g === 1 ? '' : 's'}`,
    `final width ${times(finalWidth)}`,
    r.tasks.some((t) => t.goal !== null) ? (missed === 0 ? 'every goal met on validation' : `${missed} goal${missed === 1 ? '' : 's'} missed on validation`) : 'no goals',
  ].join(' · ');
  return `<header>
<div class="kicker">Continual learning run report</div>
<h1>${esc(nameOf(METHODS, r.method))} <span class="on">on</span> ${esc(nameOf(BENCHMARKS, r.benchmark))}</h1>
<p class="summary">${esc(summary)}</p>
<dl class="facts">${facts.map(([k, v]) => `<div><dt>${k}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>
</header>`;
};

/** A headline value with its unit words set small ("34 min 53 s", "90.0 MiB"). */
const smallUnits = (s: string): string => esc(s).replace(/([A-Za-z]+)/g, '<small>$1</small>');

const tile = (label: string, value: string, sub: string, cls = ''): string =>
  `<div class="tile${cls === '' ? '' : ` ${cls}`}"><div class="tl">${label}</div><div class="tv">${value}</div><div class="ts">${sub}</div></div>`;

const headline = (r: RunReport): string => {
  const n = r.tasks.length;
  const drift = fin(r.maxLogitDrift, Number.NaN);
  const driftTile =
    drift === 0
      ? tile(
          'max logit drift',
          '0',
          `<span class="good">0 — every finished task's outputs are bit-identical</span>`,
          'ok',
        )
      : tile(
          'max logit drift',
          `<span class="bad">${Number.isFinite(drift) ? esc(drift >= 0.001 && drift < 1e6 ? drift.toPrecision(3) : drift.toExponential(2)) : 'unknown'}</span>`,
          `<span class="bad">finished tasks' outputs changed after they were finished</span>`,
          'alarm',
        );
  const forgetting = fin(r.forgetting);
  const forgetCls = forgetting <= 0 ? 'ok' : forgetting < 0.01 ? 'warnt' : 'alarm';
  return `<div class="tiles">
${tile('average accuracy', pct(r.averageAccuracy), `final test accuracy over ${n} task${n === 1 ? '' : 's'}`)}
${tile('forgetting', `<span class="${forgetting <= 0 ? 'good' : 'bad'}">${smallUnits(pp(forgetting, 2).replace('+', ''))}</span>`, `mean drop from each task's best · backward transfer ${esc(pp(r.backwardTransfer, 2))}`, forgetCls)}
${driftTile}
${tile('model size', `${esc(trim(r.modelSize.relativeToOneNetwork, 2))}<small>×</small>`, `${esc(count(r.modelSize.parameters))} parameters, relative to one network`)}
${tile('checkpoint', smallUnits(bytes(r.modelSize.checkpointBytes)), `${esc(group(r.modelSize.checkpointBytes))} bytes on disk`)}
${tile('total time', smallUnits(duration(r.timing.totalSeconds)), `${esc(fix(r.timing.totalSeconds, 0))} s wall clock`)}
</div>`;
};

const legend = (r: RunReport): string => {
  const n = taskCount(r);
  if (n === 0) return '';
  const items = Array.from({ length: n }, (_, i) => `<li title="${esc(displayName(r, i))}">${swatch(i)}<b>${i + 1}</b> ${esc(abbrev(displayName(r, i), 40))}</li>`);
  return `<div class="legend"><span class="lt">Tasks</span><ul>${items.join('')}</ul></div>`;
};

// ---------------------------------------------------------------------------
// 2. Accuracy matrix

const heatDomain = (vs: readonly number[]): [number, number] => {
  if (vs.length === 0) return [0, 1];
  let lo = Math.floor(Math.min(...vs) * 20 + 1e-9) / 20;
  let hi = Math.ceil(Math.max(...vs) * 20 - 1e-9) / 20;
  if (hi - lo < 0.05) lo = Math.max(0, hi - 0.05);
  if (hi - lo < 0.05) hi = Math.min(1, lo + 0.05);
  return [lo, hi];
};

/** Per column: how far the last row is below the best the task ever had (null: not learned by the last row). */
const drops = (rows: readonly (readonly (number | null)[])[], n: number): (number | null)[] => {
  const last = rows[rows.length - 1] ?? [];
  return Array.from({ length: n }, (_, j) => {
    const final = last[j] ?? null;
    if (final === null || !Number.isFinite(final)) return null;
    let best = final;
    for (const row of rows) {
      const v = row[j] ?? null;
      if (v !== null && Number.isFinite(v)) best = Math.max(best, v);
    }
    return best - final;
  });
};

const matrixSection = (r: RunReport): string => {
  const rows = r.accuracyMatrix;
  const n = Math.max(r.tasks.length, 0, ...rows.map((row) => row.length));
  if (n === 0 || rows.length === 0) return section('matrix', 'Accuracy matrix', '', empty('No accuracies recorded yet.'));
  const values = rows.flat().filter((v): v is number => v !== null && Number.isFinite(v));
  const [lo, hi] = heatDomain(values);
  const cell = Math.round(clamp(Math.floor(860 / n), 26, 84));
  const fs = cell >= 48 ? 13 : cell >= 36 ? 11 : 9.5;
  const digits = cell >= 36 ? 1 : 0;
  const maxChars = n <= 6 ? 28 : 22;
  const names = Array.from({ length: Math.max(n, rows.length) }, (_, i) => displayName(r, i));
  const rowLabels = rows.map((_, i) => `${i + 1} ${abbrev(names[i] ?? '', maxChars)}`);
  const charW = 6.9;
  const labW = 16 + Math.max(16, ...rowLabels.map(charCount)) * charW;
  const colLabels = names.slice(0, n).map((nm, j) => `${j + 1} ${abbrev(nm, maxChars)}`);
  const longest = Math.max(0, ...colLabels.map(charCount)) * charW;
  const rotate = longest + 8 > cell;
  const topH = rotate ? 34 + longest * 0.71 : 46;
  const x0 = labW + 8;
  const y0 = topH;
  const gridW = n * cell;
  const showDrops = rows.length >= 2;
  const dropY = y0 + rows.length * cell + 6;
  const legendY = dropY + (showDrops ? 28 : 0) + 18;
  const legendNote = 'test accuracy (%) · outlined: accuracy right after learning the task';
  const W = Math.max(x0 + gridW + (rotate ? longest * 0.71 + 8 : 24), x0 + 252 + legendNote.length * 6.3, 420);
  const H = legendY + 40;
  const parts: string[] = [];
  parts.push(text(x0, 14, 'accuracy on task →', 'class="axt"'));
  parts.push(text(labW, y0 - 8, 'after learning ↓', 'class="axt" text-anchor="end"'));
  names.slice(0, n).forEach((nm, j) => {
    const cx = x0 + j * cell + cell / 2;
    const label = colLabels[j] ?? '';
    const full = `${j + 1} ${nm}`;
    const tip = label === full ? '' : `<title>${esc(full)}</title>`;
    parts.push(
      rotate
        ? `<text transform="translate(${c(cx - 2)} ${c(y0 - 8)}) rotate(-45)" class="lab">${tip}${esc(label)}</text>`
        : text(cx, y0 - 10, `${tip}${esc(label)}`, 'class="lab" text-anchor="middle"'),
    );
  });
  rows.forEach((row, i) => {
    const y = y0 + i * cell;
    parts.push(svgLabel(labW, y + cell / 2 + 4, `${i + 1} ${names[i] ?? ''}`, maxChars + 3, 'class="lab" text-anchor="end"'));
    for (let j = 0; j < n; j++) {
      const v = row[j] ?? null;
      const x = x0 + j * cell;
      if (v === null || !Number.isFinite(v)) {
        if (j <= i) parts.push(`<rect x="${c(x + 1)}" y="${c(y + 1)}" width="${c(cell - 2)}" height="${c(cell - 2)}" rx="3" class="nocell"/>`);
        continue;
      }
      const fill = viridis((v - lo) / (hi - lo));
      const tip = `after task ${i + 1} (${names[i] ?? ''}): ${pct(v, 2)} on task ${j + 1} (${names[j] ?? ''})`;
      parts.push(
        `<g><title>${esc(tip)}</title><rect x="${c(x + 1)}" y="${c(y + 1)}" width="${c(cell - 2)}" height="${c(cell - 2)}" rx="3" fill="${fill}"${i === j ? ' class="diag"' : ''}/>` +
          text(x + cell / 2, y + cell / 2 + fs * 0.36, fix(100 * v, digits), `text-anchor="middle" style="font-size:${fs}px;fill:${inkOn(fill)}"`) +
          '</g>',
      );
    }
  });
  if (showDrops) {
    parts.push(text(labW, dropY + 15, 'drop since best (pp)', 'class="axt" text-anchor="end"'));
    drops(rows, n).forEach((d, j) => {
      if (d === null) return;
      const shown = fix(100 * d, digits);
      const zero = /^0(\.0*)?$/.test(shown);
      parts.push(
        `<g><title>${esc(`task ${j + 1} (${names[j] ?? ''}): ${zero ? 'nothing forgotten' : `${pct(d, 2)} below its best`}`)}</title>` +
          text(x0 + j * cell + cell / 2, dropY + 15, zero ? '0' : `−${shown}`, `text-anchor="middle" style="font-size:${Math.min(fs, 11.5)}px" class="${zero ? 'goodt' : 'badt'}"`) +
          '</g>',
      );
    });
  }
  // Colour legend.
  const lgW = 240;
  const stops = VIRIDIS.map((col, k) => `<stop offset="${fix(k / (VIRIDIS.length - 1), 2)}" stop-color="${col}"/>`).join('');
  parts.push(`<defs><linearGradient id="cpg-viridis">${stops}</linearGradient></defs>`);
  parts.push(`<rect x="${c(x0)}" y="${c(legendY)}" width="${lgW}" height="10" rx="2" fill="url(#cpg-viridis)"/>`);
  const lts = ticks(lo, hi, 5);
  const ld = tickDigits(lts);
  for (const t of lts) {
    const lx = x0 + ((t - lo) / (hi - lo)) * lgW;
    parts.push(`<line x1="${c(lx)}" x2="${c(lx)}" y1="${c(legendY + 10)}" y2="${c(legendY + 14)}" class="tick"/>`);
    parts.push(text(lx, legendY + 26, pct(t, ld), 'class="tk" text-anchor="middle"'));
  }
  parts.push(text(x0 + lgW + 12, legendY + 9, legendNote, 'class="tk"'));
  const lede =
    'Row <i>i</i>: test accuracy on every task learned so far, right after learning task <i>i</i>. ' +
    'A method that never forgets keeps each column one colour all the way down.';
  return section('matrix', 'Accuracy matrix', lede, `<div class="fig">${svg(W, H, 'accuracy matrix heat map', parts.join(''), 'wide')}</div>`);
};

// ---------------------------------------------------------------------------
// 3. Capacity per layer and task

/**
 * "Picked", as everywhere (the summary table, the task table): the share of
 * the older tasks' weights that task k's pick mask reuses, here within one
 * layer. The report keeps the picked weights as a share of the layer; the
 * older tasks own Σ owned of the tasks before k (all within k's width, since
 * the network only grows).
 */
const pickedOfOlder = (l: LayerCapacity, k: number): { readonly picked: number; readonly weights: number; readonly older: number } => {
  const older = l.perTask.slice(0, k).reduce((a, q) => a + fin(q.owned), 0);
  const weights = fin(l.perTask[k]?.picked ?? 0);
  return { picked: older <= 0 ? 0 : clamp(weights / older, 0, 1), weights: weights * fin(l.size), older: older * fin(l.size) };
};

const capacitySection = (r: RunReport): string => {
  const layers = r.capacity;
  const title = 'Capacity per layer';
  if (layers.length === 0) return section('capacity', title, '', empty('No sharable layers were recorded (no shared network, or the run has not finished a task).'));
  const n = Math.max(r.tasks.length, ...layers.map((l) => l.perTask.length));
  const totalSize = layers.reduce((a, l) => a + fin(l.size), 0);
  const overall: LayerCapacity | null =
    layers.length > 1 && totalSize > 0
      ? {
          name: 'all sharable weights',
          size: totalSize,
          perTask: Array.from({ length: n }, (_, k) => ({
            owned: layers.reduce((a, l) => a + fin(l.perTask[k]?.owned ?? 0) * fin(l.size), 0) / totalSize,
            picked: layers.reduce((a, l) => a + fin(l.perTask[k]?.picked ?? 0) * fin(l.size), 0) / totalSize,
          })),
          free: layers.reduce((a, l) => a + fin(l.free) * fin(l.size), 0) / totalSize,
        }
      : null;
  const all = overall === null ? layers : [overall, ...layers];
  const labChars = 24;
  const labW = 8 + Math.max(10, ...all.map((l) => charCount(abbrev(l.name, labChars)))) * 6.9;
  const pickCell = n === 0 ? 0 : clamp(Math.floor(440 / n), 22, 40);
  const pickW = n * pickCell;
  const freeW = 70;
  const gap = 28;
  const W = Math.max(1080, labW + 300 + freeW + gap + pickW);
  const barX = labW + 12;
  const barW = W - barX - freeW - gap - pickW;
  const pickX = barX + barW + freeW + gap;
  const rowH = 40;
  const barH = 20;
  const top = 50;
  const maxPicked = Math.max(0.05, ...all.flatMap((l) => l.perTask.map((_p, k) => pickedOfOlder(l, k).picked)));
  const parts: string[] = [];
  parts.push(text(barX, 16, 'owned by task (colour) · free (grey)', 'class="axt"'));
  parts.push(text(pickX + pickW, 16, 'picked (% of older tasks\u2019 weights) by task', 'class="axt" text-anchor="end"'));
  for (let k = 0; k < n; k++) {
    const x = pickX + k * pickCell;
    parts.push(`<rect x="${c(x + 2)}" y="${c(top - 8)}" width="${c(pickCell - 4)}" height="4" rx="1" fill="${taskColour(k)}"/>`);
    parts.push(`<g><title>${esc(`${k + 1} ${displayName(r, k)}`)}</title>${text(x + pickCell / 2, top - 13, String(k + 1), 'class="tk" text-anchor="middle"')}</g>`);
  }
  all.forEach((l, li) => {
    const y = top + li * rowH + (overall !== null && li > 0 ? 10 : 0);
    const by = y + (rowH - barH) / 2 - 3;
    const bold = overall !== null && li === 0;
    parts.push(svgLabel(labW, by + 13, l.name, labChars, `class="lab${bold ? ' strong' : ''}" text-anchor="end"`));
    parts.push(text(labW, by + 27, `${esc(count(l.size))} weights`, 'class="tk" text-anchor="end"'));
    parts.push(`<rect x="${c(barX)}" y="${c(by)}" width="${c(barW)}" height="${barH}" rx="3" class="track"/>`);
    let cursor = 0;
    l.perTask.forEach((p, k) => {
      const w = clamp(p.owned, 0, 1) * barW;
      if (w <= 0 || cursor >= barW) return;
      const ww = Math.min(w, barW - cursor);
      const fill = taskColour(k);
      const tip = `${l.name} — task ${k + 1} (${displayName(r, k)}) owns ${pct(p.owned, 2)} (${count(p.owned * l.size)} weights)${k === 0 ? '' : ` and picked ${pct(pickedOfOlder(l, k).picked, 2)} of the older tasks\u2019 weights`}`;
      parts.push(
        `<g><title>${esc(tip)}</title><rect x="${c(barX + cursor)}" y="${c(by)}" width="${c(ww)}" height="${barH}" fill="${fill}"/>` +
          (ww >= 34 ? text(barX + cursor + ww / 2, by + 14, pct(p.owned, 0), `text-anchor="middle" style="font-size:10.5px;fill:${inkOn(fill)}"`) : '') +
          '</g>',
      );
      cursor += ww;
    });
    const freeW2 = Math.min(clamp(l.free, 0, 1) * barW, barW - cursor);
    if (freeW2 > 0)
      parts.push(
        `<g><title>${esc(`${l.name}: ${pct(l.free, 2)} free (${count(l.free * l.size)} weights)`)}</title><rect x="${c(barX + cursor)}" y="${c(by)}" width="${c(freeW2)}" height="${barH}" class="free"/></g>`,
      );
    parts.push(`<rect x="${c(barX)}" y="${c(by)}" width="${c(barW)}" height="${barH}" rx="3" class="outline"/>`);
    parts.push(text(barX + barW + 8, by + 14, `${pct(l.free, 0)} free`, 'class="tk"'));
    for (let k = 0; k < n; k++) {
      const p = l.perTask[k];
      const x = pickX + k * pickCell;
      if (p === undefined) continue;
      const { picked: f, weights, older } = pickedOfOlder(l, k);
      const op = f <= 0 ? 0 : 0.12 + 0.88 * Math.min(1, f / maxPicked);
      const tip =
        k === 0
          ? `${l.name} — task 1 (${displayName(r, k)}) has no older tasks to pick from`
          : `${l.name} — task ${k + 1} (${displayName(r, k)}) picked ${pct(f, 2)} of the older tasks\u2019 weights (${count(weights)} of the ${count(older)} weights tasks 1–${k} own)`;
      parts.push(
        `<g><title>${esc(tip)}</title><rect x="${c(x + 1)}" y="${c(by)}" width="${c(pickCell - 2)}" height="${barH}" rx="2" class="pcell"/>` +
          (op > 0 ? `<rect x="${c(x + 1)}" y="${c(by)}" width="${c(pickCell - 2)}" height="${barH}" rx="2" fill="#3d6fb0" fill-opacity="${fix(op, 2)}"/>` : '') +
          (f > 0 ? text(x + pickCell / 2, by + 14, fix(100 * f, 0), `text-anchor="middle" style="font-size:${pickCell >= 30 ? 10.5 : 9.5}px" class="${op > 0.5 ? 'onink' : 'lab'}"`) : '') +
          '</g>',
      );
    }
  });
  const H = top + all.length * rowH + (overall !== null ? 10 : 0) + 8;
  const lede =
    'How each sharable layer is shared out: the weights each task owns (and froze when it finished), and what is still free for later tasks. ' +
    'On the right, picked: the share of the older tasks\u2019 weights in the layer that each task reuses (as in the task table below); darker is more.';
  return section('capacity', title, lede, `<div class="fig">${svg(W, H, 'capacity per layer and task', parts.join(''), 'wide')}</div>`);
};

// ---------------------------------------------------------------------------
// 4. Accuracy versus sparsity (small multiples)

// What a 10.5px label stands above and below its baseline.
const labelAscent = 9;
const labelDescent = 3;

/**
 * The baseline of a goal's label in a plot from `top` to `bottom`: just above
 * its line, or just below it where above would leave the plot (a goal near
 * 100 %); never in the bottom row, where the chosen sparsity is labelled (a
 * goal near 0 %).
 */
const goalLabelY = (lineY: number, top: number, bottom: number): number => {
  const above = lineY - 4;
  const y = above - labelAscent >= top ? above : lineY + 4 + labelAscent;
  return clamp(y, top + labelAscent, bottom - labelDescent - 14);
};

const curvePanel = (t: TaskReport, i: number): string => {
  const W = 260;
  const H = 168;
  const m = { l: 42, r: 10, t: 10, b: 30 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const curve = [...t.pruneCurve].filter((p) => Number.isFinite(p.sparsity) && Number.isFinite(p.valAcc)).sort((a, b) => a.sparsity - b.sparsity);
  const ys = [...curve.map((p) => p.valAcc), ...(t.goal === null ? [] : [t.goal])];
  const [lo, hi] = accDomain(ys.length === 0 ? [t.valAccuracy] : ys, 0.01, 0.04);
  const X = (s: number): number => m.l + clamp(s, 0, 1) * pw;
  const Y = (a: number): number => m.t + (1 - (clamp(a, lo, hi) - lo) / (hi - lo)) * ph;
  const col = taskColour(i);
  const parts: string[] = [];
  const yt = ticks(lo, hi, 4);
  const yd = tickDigits(yt);
  for (const v of yt) {
    parts.push(`<line x1="${m.l}" x2="${c(m.l + pw)}" y1="${c(Y(v))}" y2="${c(Y(v))}" class="grid"/>`);
    parts.push(text(m.l - 5, Y(v) + 3.5, pct(v, yd), 'class="tk" text-anchor="end"'));
  }
  for (const s of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${c(X(s))}" x2="${c(X(s))}" y1="${c(m.t + ph)}" y2="${c(m.t + ph + 4)}" class="tick"/>`);
    parts.push(text(X(s), m.t + ph + 15, fix(100 * s, 0), `class="tk" text-anchor="${s === 1 ? 'end' : 'middle'}"`));
  }
  parts.push(`<line x1="${m.l}" x2="${c(m.l + pw)}" y1="${c(m.t + ph)}" y2="${c(m.t + ph)}" class="axis"/>`);
  parts.push(text(m.l + pw, H - 2, 'sparsity (%) →', 'class="tk" text-anchor="end"'));
  if (t.goal !== null) {
    parts.push(`<line x1="${m.l}" x2="${c(m.l + pw)}" y1="${c(Y(t.goal))}" y2="${c(Y(t.goal))}" class="goal"/>`);
    const leftSide = clamp(t.sparsity, 0, 1) > 0.55;
    parts.push(text(leftSide ? m.l + 3 : m.l + pw - 2, goalLabelY(Y(t.goal), m.t, m.t + ph), `goal ${pct(t.goal, 1)}`, `class="goalt halo" text-anchor="${leftSide ? 'start' : 'end'}"`));
  }
  const chosen = clamp(t.sparsity, 0, 1);
  parts.push(`<line x1="${c(X(chosen))}" x2="${c(X(chosen))}" y1="${m.t}" y2="${c(m.t + ph)}" stroke="${col}" stroke-width="1.5" stroke-opacity="0.7"/>`);
  const right = chosen >= 0.3;
  parts.push(text(X(chosen) + (right ? -4 : 4), m.t + ph - 5, `chosen ${pct(chosen, 0)}`, `class="chosen halo" text-anchor="${right ? 'end' : 'start'}"`));
  if (curve.length === 0) {
    parts.push(text(m.l + pw / 2, m.t + 14, 'no compacting sweep recorded', 'class="tk halo" text-anchor="middle"'));
  } else {
    const pts = curve.map((p) => `${c(X(p.sparsity))},${c(Y(p.valAcc))}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${col}" stroke-width="2" stroke-linejoin="round"/>`);
    for (const p of curve) {
      const met = t.goal === null || p.valAcc >= t.goal;
      parts.push(
        `<circle cx="${c(X(p.sparsity))}" cy="${c(Y(p.valAcc))}" r="3" fill="${met ? col : 'none'}" stroke="${col}" stroke-width="1.5"><title>${esc(`sparsity ${pct(p.sparsity, 0)}: validation ${pct(p.valAcc, 2)}`)}</title></circle>`,
      );
    }
    const at = curve.find((p) => Math.abs(p.sparsity - chosen) < 1e-9);
    if (at !== undefined) parts.push(`<circle cx="${c(X(at.sparsity))}" cy="${c(Y(at.valAcc))}" r="7" fill="none" class="ring"/>`);
  }
  const name = `${i + 1} ${t.name.trim() === '' ? `task ${i + 1}` : t.name}`;
  return `<figure class="panel"><figcaption title="${esc(name)}">${swatch(i)}${esc(abbrev(name, 40))}</figcaption>${svg(W, H, `accuracy versus sparsity, task ${i + 1}`, parts.join(''))}</figure>`;
};

const curvesSection = (r: RunReport): string => {
  if (r.tasks.length === 0) return section('sweep', 'Accuracy versus sparsity', '', empty('No task has finished yet.'));
  if (r.tasks.every((t) => t.pruneCurve.length === 0))
    return section('sweep', 'Accuracy versus sparsity', '', empty(`No compacting sweep was recorded in this run (${esc(nameOf(METHODS, r.method))}).`));
  const lede =
    'Validation accuracy of each task along its compacting sweep (filled: meets the goal, hollow: below it). ' +
    'Dashed: the goal. The vertical line marks the sparsity kept.';
  return section('sweep', 'Accuracy versus sparsity', lede, `<div class="panels">${r.tasks.map(curvePanel).join('')}</div>`);
};

// ---------------------------------------------------------------------------
// 5. Accuracy against goal, and the per-task table

const goalPlot = (r: RunReport): string => {
  const tasks = r.tasks;
  const vals = tasks.flatMap((t) => [t.accuracy, t.valAccuracy, ...(t.goal === null ? [] : [t.goal])]);
  const [lo0, hi0] = accDomain(vals, 0.01, 0.05);
  const lo = Math.max(0, Math.floor(lo0 * 50 + 1e-9) / 50);
  const hi = Math.min(1, Math.ceil(hi0 * 50 - 1e-9) / 50);
  const n = tasks.length;
  const labChars = 26;
  const labW = 12 + Math.max(8, ...tasks.map((_t, i) => charCount(abbrev(`${i + 1} ${displayName(r, i)}`, labChars)))) * 6.8;
  const W = 1080;
  const rightW = 190;
  const x0 = labW + 14;
  const pw = W - x0 - rightW;
  const rowH = n > 12 ? 22 : 28;
  const top = 30;
  const H = top + n * rowH + 34;
  const X = (a: number): number => x0 + ((clamp(a, lo, hi) - lo) / (hi - lo)) * pw;
  const parts: string[] = [];
  const ts = ticks(lo, hi, 8);
  const td = tickDigits(ts);
  for (const v of ts) {
    parts.push(`<line x1="${c(X(v))}" x2="${c(X(v))}" y1="${top - 6}" y2="${c(top + n * rowH)}" class="grid"/>`);
    parts.push(text(X(v), top + n * rowH + 16, pct(v, td), 'class="tk" text-anchor="middle"'));
  }
  // Legend.
  const ly = 12;
  parts.push(`<circle cx="${c(x0 + 6)}" cy="${ly}" r="5" class="dotfill"/>`, text(x0 + 16, ly + 4, 'test', 'class="tk"'));
  parts.push(`<circle cx="${c(x0 + 64)}" cy="${ly}" r="4.5" class="dothollow"/>`, text(x0 + 74, ly + 4, 'validation', 'class="tk"'));
  parts.push(`<line x1="${c(x0 + 148)}" x2="${c(x0 + 148)}" y1="${ly - 7}" y2="${ly + 7}" class="goaltick"/>`, text(x0 + 156, ly + 4, 'goal', 'class="tk"'));
  parts.push(text(x0 + pw + 16, ly + 4, 'test · validation − goal', 'class="tk"'));
  tasks.forEach((t, i) => {
    const cy = top + i * rowH + rowH / 2;
    const col = taskColour(i);
    if (i % 2 === 0) parts.push(`<rect x="0" y="${c(cy - rowH / 2)}" width="${W}" height="${rowH}" class="band"/>`);
    parts.push(svgLabel(labW, cy + 4, `${i + 1} ${displayName(r, i)}`, labChars, 'class="lab" text-anchor="end"'));
    parts.push(`<rect x="${c(labW + 4)}" y="${c(cy - 5)}" width="6" height="10" rx="1.5" fill="${col}"/>`);
    if (t.goal !== null) {
      const met = t.valAccuracy >= t.goal;
      parts.push(`<line x1="${c(X(t.goal))}" x2="${c(X(t.valAccuracy))}" y1="${c(cy)}" y2="${c(cy)}" class="${met ? 'gapok' : 'gapbad'}"/>`);
      parts.push(`<g><title>${esc(`goal ${pct(t.goal, 2)}`)}</title><line x1="${c(X(t.goal))}" x2="${c(X(t.goal))}" y1="${c(cy - 8)}" y2="${c(cy + 8)}" class="goaltick"/></g>`);
    }
    parts.push(`<circle cx="${c(X(t.valAccuracy))}" cy="${c(cy)}" r="4.5" class="dothollow"><title>${esc(`validation ${pct(t.valAccuracy, 2)}`)}</title></circle>`);
    parts.push(`<circle cx="${c(X(t.accuracy))}" cy="${c(cy)}" r="5.5" fill="${col}" class="dotedge"><title>${esc(`test ${pct(t.accuracy, 2)}`)}</title></circle>`);
    const diff = t.goal === null ? null : t.valAccuracy - t.goal;
    parts.push(text(x0 + pw + 16, cy + 4, `<tspan class="strong">${pct(t.accuracy, 1)}</tspan>`, 'class="lab"'));
    parts.push(
      text(
        x0 + pw + 70,
        cy + 4,
        diff === null ? 'no goal' : esc(pp(diff, 2)),
        `class="${diff === null ? 'tk' : diff >= 0 ? 'goodt' : 'badt'}"`,
      ),
    );
  });
  return `<div class="fig">${svg(W, H, 'accuracy against goal per task', parts.join(''), 'wide')}</div>`;
};

const growthReason = (g: Growth): string => {
  const reasons: string[] = [];
  if (g.trainAccFailed) reasons.push(`training accuracy ${pct(g.trainAcc, 1)} not above the threshold`);
  if (g.shortfallSamples !== null) {
    const k = g.shortfallSamples;
    reasons.push(`missed the goal by ${k} sample${k === 1 ? '' : 's'} (validation ${pct(g.valAcc, 2)} vs goal ${pct(g.goal, 2)})`);
  } else if (!g.trainAccFailed && g.valAcc < g.goal) reasons.push(`validation ${pct(g.valAcc, 2)} below goal ${pct(g.goal, 2)}`);
  return reasons.length === 0 ? 'goal not met' : reasons.join('; ');
};

const growthCell = (t: TaskReport): string => {
  if (t.growths.length === 0) return '<div class="dim">no growth</div>';
  return `<ul class="growths">${t.growths
    .map((g) => {
      const marginal = !g.trainAccFailed && g.shortfallSamples !== null && g.shortfallSamples <= 2;
      return `<li><b>${esc(times(g.from))} → ${esc(times(g.to))}</b> ${esc(growthReason(g))}${marginal ? ' <span class="badge warn" title="growth triggered by a margin of one or two validation samples">marginal</span>' : ''}</li>`;
    })
    .join('')}</ul>`;
};

/** What the task's budget did: a badge where it bound or the model ran out of room, naming the constraint that bound with its figures. */
const budgetCell = (t: TaskReport): string => {
  const b = t.budget;
  if (b === undefined) return '';
  const a = accountOfOutcome(b);
  const outOfRoom = b.constraint === undefined || b.constraint === 'width';
  const parts = [
    ...(b.ranOut && outOfRoom
      ? [`<span class="badge bad" title="it started with fewer free weights than it needed at the widest the network may grow">out of room</span> started with ${pct(b.freeAtStart, 1)} free`]
      : []),
    ...(b.ranOut && !outOfRoom
      ? [`<span class="badge bad" title="its share bound its compacting and it ended under its goal: what bound was the plan for the tasks to come, not the width">under goal by its budget</span> started with ${pct(b.freeAtStart, 1)} free`]
      : []),
    ...(b.grewFirstTo !== undefined ? [`grew to ${esc(times(b.grewFirstTo))} first: its free weights did not cover its share`] : []),
    ...(b.claimed !== undefined && b.claimed < b.freeAtStart - 1e-9
      ? [`<span class="badge info" title="compacting all the free weights to its share would have gone beyond the sweep's last target: it trained a random part of them instead (the 'share' claim rule)">partial claim</span> trained on ${pct(b.claimed, 1)}`]
      : []),
    ...(b.bound ? [`<span class="badge warn" title="the rules alone would have kept more of its weights">budget bound</span> compacted to at least ${pct(b.floor, 1)}`] : []),
    ...(b.imposedSparsity !== undefined && b.requestedSparsities !== undefined
      ? [`sparsities requested ${esc(b.requestedSparsities.map((x) => pct(x, 0)).join(', '))}; the budget imposed ≥ ${pct(b.imposedSparsity, 2)}`]
      : []),
  ];
  // Where it bound or ended short: which constraint did, and its figures (only the width's advice is a larger --max-multiplier).
  const bound = a !== undefined && (b.bound || b.ranOut) ? `<div class="note">bound by ${esc(constraintWords(a))}: ${esc(figuresWords(a))}; ${esc(remedyWords(a))}</div>` : '';
  return `<div class="note">share ${pct(b.share, 1)} of the network${parts.length > 0 ? ` · ${parts.join(' · ')}` : ''}</div>${bound}`;
};

/** A goal its validation set is too small to test: how many images, what one is worth. */
const validationCell = (t: TaskReport): string =>
  t.validationTooSmall === true && t.validationImages !== undefined
    ? `<div class="note"><span class="badge warn" title="one validation image is worth more than the allowed loss, or than one point: the goal is not tested at that precision">small validation</span> ${t.validationImages} images: one is ${esc(points(1 / t.validationImages))}; give it at least ${Math.round(1 / GOAL_PRECISION)}</div>`
    : '';

const taskTable = (r: RunReport): string => {
  const head = ['#', 'task', 'test', 'val', 'goal', 'val − goal', 'width', 'sparsity', 'owned', 'picked', 'retrain', 'growths · note'];
  const rows = r.tasks.map((t, i) => {
    const diff = t.goal === null ? null : t.valAccuracy - t.goal;
    return `<tr>
<td class="num">${swatch(i)}${i + 1}</td>
<td class="name">${breakable(t.name)}</td>
<td class="num strong">${pct(t.accuracy, 2)}</td>
<td class="num">${pct(t.valAccuracy, 2)}</td>
<td class="num">${t.goal === null ? '<span class="dim">none</span>' : pct(t.goal, 2)}</td>
<td class="num ${diff === null ? 'dim' : diff >= 0 ? 'good' : 'bad'}">${diff === null ? '—' : esc(pp(diff, 2))}</td>
<td class="num">${esc(times(t.widthMultiplier))}</td>
<td class="num">${pct(t.sparsity, 0)}</td>
<td class="num">${pct(t.ownedFraction, 1)}</td>
<td class="num">${pct(t.pickedFraction, 1)}</td>
<td class="num">${t.retrainKept ? 'kept' : '<span class="dim">no</span>'}</td>
<td class="growth">${growthCell(t)}${t.note === null ? '' : `<div class="note">${esc(t.note)}</div>`}${budgetCell(t)}${validationCell(t)}</td>
</tr>`;
  });
  const titles: Readonly<Record<string, string>> = {
    owned: 'the share of the network the task owns (froze when it finished)',
    picked: 'the share of the older tasks\u2019 weights the task picked (reuses, frozen)',
  };
  const th = (h: string) => (titles[h] !== undefined ? `<th title="${esc(titles[h])}">${h}</th>` : `<th>${h}</th>`);
  return `<div class="tablewrap"><table><thead><tr>${head.map(th).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
};

const goalsSection = (r: RunReport): string => {
  if (r.tasks.length === 0) return section('goals', 'Accuracy against goal', '', empty('No task has finished yet.'));
  const lede =
    'Each task\u2019s final test and validation accuracy against its goal (what an individually trained network reaches). ' +
    'The goal is checked on validation: green when met, red when missed.';
  return section('goals', 'Accuracy against goal', lede, goalPlot(r) + taskTable(r));
};

// ---------------------------------------------------------------------------
// 6. Timing

const timingSection = (r: RunReport): string => {
  const per = r.timing.perTask;
  const total = fin(r.timing.totalSeconds);
  const sum = per.reduce((a, p) => a + fin(p.seconds), 0);
  const other = total - sum;
  const rows: { label: string; full: string; seconds: number; colour: string; idx: string }[] = per.map((p, i) => {
    const k = r.tasks.findIndex((t) => t.name === p.name);
    const idx = k >= 0 ? k : i;
    const nm = p.name.trim() === '' ? `task ${i + 1}` : p.name;
    return { label: abbrev(nm, 40), full: nm, seconds: fin(p.seconds), colour: taskColour(idx), idx: String(idx + 1) };
  });
  if (other > Math.max(1, 0.01 * total))
    rows.push({ label: 'everything else', full: 'goals, setup, evaluation and checkpoints outside the tasks', seconds: other, colour: '', idx: '' });
  if (rows.length === 0) return section('timing', 'Time per task', '', empty(`No per-task timings recorded · total ${esc(duration(total))}.`));
  const max = Math.max(1e-9, ...rows.map((x) => x.seconds));
  const denom = Math.max(total, sum, 1e-9);
  const body = rows
    .map(
      (x) => `<div class="trow" title="${esc(x.full)}">
<div class="tname">${x.colour === '' ? '<span class="sw free-sw"></span>' : `<span class="sw" style="background:${x.colour}"></span>`}${x.idx === '' ? '' : `<b>${x.idx}</b> `}${esc(x.label)}</div>
<div class="tbar"><div style="width:${fix((100 * x.seconds) / max, 2)}%;${x.colour === '' ? '' : `background:${x.colour}`}"${x.colour === '' ? ' class="free-sw"' : ''}></div></div>
<div class="tval">${esc(duration(x.seconds))} <span class="dim">${fix((100 * x.seconds) / denom, 0)}%</span></div>
</div>`,
    )
    .join('');
  return section('timing', 'Time per task', `Wall-clock time of each task\u2019s whole cycle (train, grow, compact, retrain the pick); total ${esc(duration(total))}.`, `<div class="timing">${body}</div>`);
};

// ---------------------------------------------------------------------------
// The page

const CSS = `
:root{--bg:#f4f6f9;--card:#ffffff;--fg:#1b2129;--muted:#5f6b78;--line:#cfd6de;--grid:#e6eaef;--band:#f6f8fa;--free:#dde2e8;--good:#17834a;--bad:#c9302c;--warn:#a86a00;--goodbg:#e8f6ee;--badbg:#fdecec;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0e1217;--card:#171d24;--fg:#e4e9ef;--muted:#98a4b1;--line:#394350;--grid:#26303b;--band:#1b222a;--free:#2b343f;--good:#44d07f;--bad:#ff6e66;--warn:#f2b33d;--goodbg:#143222;--badbg:#3a1a1a}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"DejaVu Sans",sans-serif}
main{max-width:1180px;margin:0 auto;padding:28px 24px 48px}
header{margin-bottom:18px}
.kicker{text-transform:uppercase;letter-spacing:.12em;font-size:12px;color:var(--muted);font-weight:600}
h1{font-size:32px;margin:4px 0 2px;line-height:1.2}
h1 .on{color:var(--muted);font-weight:400}
.summary{margin:0 0 12px;color:var(--muted);font-size:15px}
.facts{display:flex;flex-wrap:wrap;gap:8px;margin:0}
.facts div{background:var(--card);border:1px solid var(--line);border-radius:999px;padding:3px 12px;display:flex;gap:6px;align-items:baseline}
.facts dt{color:var(--muted);font-size:12px}
.facts dd{margin:0;font-weight:600}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin:18px 0}
.tile{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px 16px;border-top:4px solid var(--line)}
.tile.ok{border-top-color:var(--good)}.tile.alarm{border-top-color:var(--bad)}.tile.warnt{border-top-color:var(--warn)}
.tl{font-size:12px;text-transform:uppercase;letter-spacing:.08em;color:var(--muted);font-weight:600}
.tv{font-size:31px;font-weight:700;line-height:1.15;margin:4px 0;font-variant-numeric:tabular-nums;white-space:nowrap}
.tv small{font-size:.6em;font-weight:600;margin:0 1px}
.ts{font-size:12.5px;color:var(--muted);line-height:1.35}
.good{color:var(--good)}.bad{color:var(--bad)}.dim{color:var(--muted)}
.tile.ok .ts .good{font-weight:600}
.legend{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:10px 14px;display:flex;gap:12px;align-items:flex-start;margin-bottom:18px}
.legend .lt{font-weight:700;padding-top:2px}
.legend ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px}
.legend li{white-space:nowrap;font-size:13px}
.sw{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:6px;vertical-align:-1px}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px 20px 20px;margin-bottom:18px}
h2{font-size:19px;margin:0 0 4px}
.lede{margin:0 0 14px;color:var(--muted);max-width:900px}
.fig{overflow-x:auto}
svg{max-width:100%;height:auto;display:block;font-family:inherit}
svg text{fill:var(--fg);font-size:12px}
svg .lab{fill:var(--fg);font-size:12px}
svg .strong{font-weight:700}
svg .tk{fill:var(--muted);font-size:11px}
svg .axt{fill:var(--muted);font-size:12px;font-style:italic}
svg .onink{fill:#fff}
svg .goodt{fill:var(--good);font-size:12px;font-weight:600}
svg .badt{fill:var(--bad);font-size:12px;font-weight:600}
svg .goalt{fill:var(--muted);font-size:10.5px}
svg .chosen{fill:var(--fg);font-size:10.5px;font-weight:600}
svg .halo{paint-order:stroke;stroke:var(--card);stroke-width:3px;stroke-linejoin:round}
svg .grid{stroke:var(--grid);stroke-width:1}
svg .axis,svg .tick{stroke:var(--line);stroke-width:1}
svg .goal{stroke:var(--fg);stroke-width:1.3;stroke-dasharray:5 4;opacity:.75}
svg .ring{stroke:var(--fg);stroke-width:1.5}
svg .diag{stroke:var(--fg);stroke-width:2}
svg .nocell{fill:var(--free)}
svg .track{fill:var(--free)}
svg .free{fill:var(--free)}
svg .outline{fill:none;stroke:var(--line)}
svg .pcell{fill:var(--band);stroke:var(--grid)}
svg .band{fill:var(--band)}
svg .dotfill{fill:var(--muted)}
svg .dothollow{fill:var(--card);stroke:var(--muted);stroke-width:2}
svg .dotedge{stroke:var(--card);stroke-width:1.5}
svg .goaltick{stroke:var(--fg);stroke-width:3;stroke-linecap:round}
svg .gapok{stroke:var(--good);stroke-width:3;opacity:.55}
svg .gapbad{stroke:var(--bad);stroke-width:3;opacity:.7}
.panels{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:12px}
.panel{margin:0;border:1px solid var(--grid);border-radius:10px;padding:8px 8px 4px}
.panel figcaption{font-size:13px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;margin:0 0 4px 4px}
.tablewrap{overflow-x:auto;margin-top:14px}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th{text-align:right;font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);border-bottom:2px solid var(--line);padding:6px 7px;white-space:nowrap}
th:nth-child(-n+2),th:last-child{text-align:left}
td{border-bottom:1px solid var(--grid);padding:6px 7px;vertical-align:top}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.num:first-child{text-align:left}
td.name{font-weight:600;overflow-wrap:anywhere;min-width:120px}
td.strong{font-weight:700}
td.growth{min-width:230px;overflow-wrap:anywhere}
td .note{color:var(--muted);font-size:12px;margin-top:2px}
tbody tr:hover{background:var(--band)}
ul.growths{margin:0;padding:0;list-style:none}
ul.growths li+li{margin-top:4px}
.badge{display:inline-block;font-size:10.5px;font-weight:700;text-transform:uppercase;letter-spacing:.05em;padding:0 6px;border-radius:999px}
.badge.warn{background:var(--warn);color:var(--card)}
.badge.bad{background:var(--bad);color:var(--card)}
.badge.info{background:var(--muted);color:var(--card)}
.timing{display:grid;gap:5px}
.trow{display:grid;grid-template-columns:minmax(140px,260px) 1fr 150px;gap:12px;align-items:center;font-size:13px}
.tname{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.tbar{background:var(--band);border-radius:4px;height:16px;overflow:hidden}
.tbar div{height:100%;border-radius:4px}
.free-sw{background:var(--free);background-image:repeating-linear-gradient(45deg,transparent 0 4px,var(--line) 4px 6px)}
.tval{font-variant-numeric:tabular-nums;white-space:nowrap}
.empty{color:var(--muted);font-style:italic;margin:6px 0}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:8px}
@media print{body{background:#fff}section,.tile,.legend{break-inside:avoid}}
`;

/** One self-contained HTML page (no network access: inline CSS and inline SVG, no scripts needed) for a run report. */
export const renderReportHtml = (r: RunReport): string => {
  const title = `${nameOf(METHODS, r.method)} · ${nameOf(BENCHMARKS, r.benchmark)} · ${r.net} — run report`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${header(r)}
${headline(r)}
${legend(r)}
${matrixSection(r)}
${capacitySection(r)}
${curvesSection(r)}
${goalsSection(r)}
${timingSection(r)}
<footer>cpg run report · ${esc(r.createdAt)}</footer>
</main>
</body>
</html>
`;
};

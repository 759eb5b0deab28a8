/**
 * The browser example: learns digits 0/1 then 2/3 with CPG on tfjs's webgl
 * backend (wasm, then cpu, where WebGL is missing), keeps the model in
 * IndexedDB, resumes after a reload, and predicts a digit drawn on a canvas.
 * Built by build.mjs into dist/ (open dist/index.html through any static
 * server).
 *
 * Query parameters: `auto=1` starts learning at once; `epochs=N` the train
 * epochs [3]; `backend=auto|webgl|wasm|cpu` [auto]; `db=NAME` the IndexedDB
 * database [cpg-digits].
 *
 * `window.cpgStatus` says what happened, for people and tests: the backend
 * that runs (tf.getBackend()), the tasks finished and the report's figures.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { share, tap } from 'rxjs';
import {
  decodeConfig,
  describeError,
  finalReport,
  indexedDbStore,
  learner,
  openModel,
  progress,
  selectBackend,
  taskFromArrays,
  withPreset,
} from '../../dist/src/browser/index.js';

// tfjs's wasm backend fetches its .wasm files; build.mjs puts them beside the page.
setWasmPaths(new URL('./', document.baseURI).href);

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const pick = (name, allowed, fallback) => {
  const v = params.get(name);
  return v !== null && allowed.includes(v) ? v : fallback;
};
$('backend').value = pick('backend', ['auto', 'webgl', 'wasm', 'cpu'], 'auto');
$('epochs').value = pick('epochs', ['1', '2', '3', '5'], '3');
if (![...$('epochs').options].some((o) => o.value === $('epochs').value)) $('epochs').add(new Option($('epochs').value));
const dbName = params.get('db') ?? 'cpg-digits';

/** What the page did, for people and tests (polled by test/browser/app.test.ts). */
const status = {
  phase: 'loading',
  backend: null,
  backendDetail: null,
  resumed: null,
  events: 0,
  stagesEnded: {},
  tasksFinished: [],
  tasksSkipped: [],
  modelTasks: [],
  report: null,
  prediction: null,
  seconds: null,
  error: null,
};
window.cpgStatus = status;

const log = (line) => {
  const el = $('log');
  el.textContent += `${line}\n`;
  el.scrollTop = el.scrollHeight;
};
const say = (text, isError = false) => {
  $('status').textContent = text;
  $('status').className = isError ? 'err' : '';
};
const fail = (message) => {
  status.phase = 'error';
  status.error = message;
  say(message, true);
  log(`error: ${message}`);
};
const pct = (a) => `${(100 * a).toFixed(1)} %`;

// ---- the digits: a static asset, as two tasks ------------------------------

const loadDigits = async () => {
  const [meta, bytes] = await Promise.all([
    fetch('digits.json').then((r) => r.json()),
    fetch('digits.bin').then((r) => r.arrayBuffer()).then((b) => new Uint8Array(b)),
  ]);
  const size = meta.height * meta.width;
  if (bytes.length !== meta.digits.length * meta.perDigit * size) throw new Error(`digits.bin holds ${bytes.length} bytes, not ${meta.digits.length} × ${meta.perDigit} images`);
  /** Images `from`..`from+n` of digit d, as pixels in [0, 1]. */
  const images = (d, from, n) => {
    const at = (meta.digits.indexOf(d) * meta.perDigit + from) * size;
    return Float32Array.from(bytes.subarray(at, at + n * size), (b) => b / 255);
  };
  return { meta, images };
};

/** 200 training, 50 validation and 50 test images of each of digits a and b. */
const taskOf = (digits, a, b, normalise) => {
  const split = (from, n) => {
    const x = new Float32Array(2 * n * 784);
    x.set(digits.images(a, from, n), 0);
    x.set(digits.images(b, from, n), n * 784);
    return { x, y: Int32Array.from({ length: 2 * n }, (_, i) => (i < n ? 0 : 1)) };
  };
  const t = taskFromArrays({ name: `digits-${a}-${b}`, classNames: [String(a), String(b)], inputShape: [28, 28, 1], train: split(0, 200), val: split(200, 50), test: split(250, 50), normalise });
  return t._tag === 'Left' ? { error: describeError(t.left) } : { task: t.right };
};

// ---- the model: learned into IndexedDB, opened for predictions --------------

const store = indexedDbStore(dbName);
let model = null;
let digits = null;

const showTasks = () => {
  const rows = new Map();
  for (const name of ['digits-0-1', 'digits-2-3']) rows.set(name, { state: 'to learn', accuracy: '' });
  for (const t of model?.tasks ?? []) rows.set(t.name, { state: 'finished', accuracy: pct(t.accuracy) });
  for (const t of status.report?.tasks ?? []) rows.set(t.name, { state: 'finished', accuracy: pct(t.accuracy) });
  const table = $('tasks');
  while (table.rows.length > 1) table.deleteRow(1);
  for (const [name, r] of rows) {
    const row = table.insertRow();
    for (const text of [name, r.state, r.accuracy]) row.insertCell().textContent = text;
  }
  const select = $('task');
  const chosen = select.value;
  select.replaceChildren(...(model?.tasks ?? []).map((t) => new Option(`${t.name} (${t.classNames.join(' or ')})`, t.name)));
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
};

/** Opens what the store holds (after learning, or at start-up when a model is there). */
const reopen = async () => {
  model?.dispose();
  model = null;
  const m = await openModel(store, { backend: status.backend ?? 'auto' })();
  if (m._tag === 'Left') {
    // An empty store is no error: nothing has been learned yet.
    if (!/no model here|no finished task yet/.test(describeError(m.left))) log(`open: ${describeError(m.left)}`);
  } else model = m.right;
  status.modelTasks = (model?.tasks ?? []).map((t) => t.name);
  showTasks();
};

const chooseBackend = async (prefer) => {
  const b = await selectBackend({ prefer })();
  if (b._tag === 'Left') return describeError(b.left);
  if (status.backend !== tf.getBackend()) log(`backend: ${tf.getBackend()} (${b.right.detail})`);
  status.backend = tf.getBackend(); // what tfjs actually runs, read off tfjs
  status.backendDetail = b.right.detail;
  return null;
};

let learning = false;
const learn = async () => {
  if (learning) return;
  learning = true;
  $('learn').disabled = true;
  try {
    const err = await chooseBackend($('backend').value);
    if (err !== null) return fail(err);
    const first = taskOf(digits, 0, 1, 'fit'); // the first task's pixels set the model's normalisation
    if (first.error !== undefined) return fail(first.error);
    const second = taskOf(digits, 2, 3, first.task.normalisation);
    if (second.error !== undefined) return fail(second.error);
    const epochs = Number($('epochs').value);
    const config = decodeConfig(undefined)(withPreset({ net: 'mlp', trainEpochs: epochs, individualEpochs: epochs, pruneEpochs: 1, sparsities: [0.5, 0.8], retrainEpochs: 1, backend: status.backend }));
    if (config._tag === 'Left') return fail(describeError(config.left));
    model?.dispose(); // the learner writes the store: the open model would be stale
    model = null;
    status.phase = 'learning';
    const started = performance.now();
    // share(): one run for the status, the progress bar and the report.
    const events = learner({ store, config: config.right })([first.task, second.task]).pipe(
      tap((e) => {
        status.events += 1;
        if (e.type === 'run-started') {
          status.resumed = e.resumed;
          log(`${e.resumed ? 'resuming' : 'starting'} a model of ${e.tasks.length} task(s) on ${e.backend}`);
        } else if (e.type === 'stage-ended') {
          status.stagesEnded[e.name] = [...(status.stagesEnded[e.name] ?? []), e.stage];
          log(`${e.name} ${e.stage}: train ${pct(e.trainAcc)}, val ${pct(e.valAcc)}; ${e.next}`);
        } else if (e.type === 'task-finished' && e.purpose === 'learn') {
          status.tasksFinished.push(e.name);
          log(`${e.name} finished: test ${pct(e.accuracyRow[e.accuracyRow.length - 1])}, drift ${e.maxLogitDrift}`);
        } else if (e.type === 'task-skipped') {
          status.tasksSkipped.push(e.name);
          log(`${e.name}: already learned, skipped`);
        }
      }),
      share(),
    );
    events.pipe(progress()).subscribe((p) => {
      say(`learning ${p.name} (${p.tasksDone}/${p.tasks} done): ${p.stage} epoch ${p.epoch}/${p.epochs}`);
      $('bar').value = p.epochs > 0 ? (p.tasksDone + Math.min(1, p.epoch / p.epochs) / 2) / Math.max(1, p.tasks) : p.tasksDone / Math.max(1, p.tasks);
    }, () => undefined);
    await new Promise((resolve) => {
      events.pipe(finalReport()).subscribe({
        next: (r) => {
          status.report = {
            backend: r.backend,
            maxLogitDrift: r.maxLogitDrift,
            averageAccuracy: r.averageAccuracy,
            accuracies: Object.fromEntries(r.tasks.map((t) => [t.name, t.accuracy])),
            tasks: r.tasks.map((t) => ({ name: t.name, accuracy: t.accuracy })),
          };
          status.seconds = (performance.now() - started) / 1000;
        },
        error: (e) => {
          fail(describeError(e));
          resolve();
        },
        complete: resolve,
      });
    });
    if (status.report === null) return;
    await reopen();
    status.phase = 'done';
    $('bar').value = 1;
    say(`done on ${status.backend}: average test accuracy ${pct(status.report.averageAccuracy)}, drift ${status.report.maxLogitDrift} (${status.seconds.toFixed(1)} s)`);
    $('figures').textContent = `Every finished task's outputs are recomputed from the checkpoint after each later task: largest logit drift ${status.report.maxLogitDrift}.`;
  } finally {
    learning = false;
    $('learn').disabled = false;
  }
};

// ---- drawing and predicting --------------------------------------------------

const pad = $('pad');
const ink = pad.getContext('2d', { willReadFrequently: true });
const clearPad = () => {
  ink.fillStyle = '#000';
  ink.fillRect(0, 0, pad.width, pad.height);
};
clearPad();
let drawing = false;
const at = (e) => {
  const r = pad.getBoundingClientRect();
  return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
};
pad.addEventListener('pointerdown', (e) => {
  drawing = true;
  ink.strokeStyle = '#fff';
  ink.lineWidth = 22;
  ink.lineCap = 'round';
  ink.lineJoin = 'round';
  ink.beginPath();
  ink.moveTo(...at(e));
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  ink.lineTo(...at(e));
  ink.stroke();
});
addEventListener('pointerup', () => {
  if (drawing) {
    drawing = false;
    void predict();
  }
});

/**
 * The pad as MNIST's digits were made: the ink's bounding box scaled into
 * 20×20, then centred by its centre of mass in 28×28.
 */
const padPixels = () => {
  const { data, width, height } = ink.getImageData(0, 0, pad.width, pad.height);
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (data[(y * width + x) * 4] > 20) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  if (x1 < 0) return null;
  const box = Math.max(x1 - x0 + 1, y1 - y0 + 1);
  const small = document.createElement('canvas');
  small.width = small.height = 28;
  const s = small.getContext('2d', { willReadFrequently: true });
  s.fillStyle = '#000';
  s.fillRect(0, 0, 28, 28);
  s.imageSmoothingQuality = 'high';
  const w = (20 * (x1 - x0 + 1)) / box;
  const h = (20 * (y1 - y0 + 1)) / box;
  s.drawImage(pad, x0, y0, x1 - x0 + 1, y1 - y0 + 1, (28 - w) / 2, (28 - h) / 2, w, h);
  const rgba = s.getImageData(0, 0, 28, 28).data;
  const grey = Float32Array.from({ length: 784 }, (_, i) => rgba[i * 4] / 255);
  let [mass, cx, cy] = [0, 0, 0];
  grey.forEach((v, i) => ((mass += v), (cx += v * (i % 28)), (cy += v * Math.floor(i / 28))));
  const dx = Math.round(13.5 - cx / mass);
  const dy = Math.round(13.5 - cy / mass);
  const out = new Float32Array(784);
  for (let y = 0; y < 28; y++)
    for (let x = 0; x < 28; x++) {
      const [sx, sy] = [x - dx, y - dy];
      if (sx >= 0 && sx < 28 && sy >= 0 && sy < 28) out[y * 28 + x] = grey[sy * 28 + sx];
    }
  return out;
};

const showSeen = (pixels) => {
  const seen = $('seen').getContext('2d');
  const img = seen.createImageData(28, 28);
  pixels.forEach((v, i) => img.data.set([v * 255, v * 255, v * 255, 255], i * 4));
  seen.putImageData(img, 0, 0);
};

/** Predicts the pad's digit with the chosen task; the result also lands in status.prediction. */
const predict = async () => {
  if (model === null) return say('nothing learned yet: press Learn first');
  const task = $('task').value;
  const pixels = padPixels();
  if (pixels === null) return say('the pad is empty: draw a digit');
  showSeen(pixels);
  const p = model.predict(task, pixels);
  if (p._tag === 'Left') return fail(describeError(p.left));
  const [first] = p.right;
  status.prediction = { task, label: first.label, confidence: first.confidence };
  $('prediction').textContent = `${first.label} (${pct(first.confidence)})`;
  $('top').textContent = first.top.map((r) => `${r.label}: ${pct(r.confidence)}`).join(' · ');
  return status.prediction;
};

/** Paints test image i of digit d (never trained on) onto the pad, 10× enlarged. */
const paintTestDigit = (d, i) => {
  const pixels = digits.images(d, 250 + (i % 50), 1);
  const img = ink.createImageData(pad.width, pad.height);
  for (let y = 0; y < pad.height; y++)
    for (let x = 0; x < pad.width; x++) {
      const v = pixels[Math.floor(y / 10) * 28 + Math.floor(x / 10)] * 255;
      img.data.set([v, v, v, 255], (y * pad.width + x) * 4);
    }
  ink.putImageData(img, 0, 0);
};

$('clear').addEventListener('click', () => {
  clearPad();
  $('prediction').textContent = '';
  $('top').textContent = '';
});
$('sample').addEventListener('click', () => {
  const task = model?.tasks.find((t) => t.name === $('task').value);
  const choices = task?.classNames.map(Number) ?? [0, 1, 2, 3];
  paintTestDigit(choices[Math.floor(Math.random() * choices.length)], Math.floor(Math.random() * 50));
  void predict();
});
$('predict').addEventListener('click', () => void predict());
$('task').addEventListener('change', () => void predict());
$('learn').addEventListener('click', () => void learn());
$('forget').addEventListener('click', async () => {
  model?.dispose();
  model = null;
  store.close();
  await new Promise((resolve) => {
    const r = indexedDB.deleteDatabase(dbName);
    r.onsuccess = r.onerror = r.onblocked = resolve;
  });
  location.search = '';
});

/** For tests and the console: what a person can do with the page. */
window.cpgApp = {
  learn,
  predict,
  clear: clearPad,
  paintTestDigit,
  chooseTask: (name) => ($('task').value = name),
};

// ---- start -------------------------------------------------------------------

const start = async () => {
  digits = await loadDigits();
  const err = await chooseBackend($('backend').value);
  if (err !== null) return fail(err);
  await reopen();
  status.phase = 'ready';
  say(model === null ? `ready on ${status.backend}: press Learn` : `a model of ${model.tasks.length} finished task(s) on ${status.backend}: draw a digit, or Learn to finish the rest`);
  if (params.get('auto') === '1') await learn();
};
start().catch((e) => fail(e instanceof Error ? e.message : String(e)));

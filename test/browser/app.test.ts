/**
 * The browser example in headless Chromium (Debian's `chromium`, driven by
 * puppeteer-core): builds examples/browser, serves it from a local port,
 * learns two small tasks in the page, reloads it in the middle of the second
 * and lets it resume, then asserts from the page which tfjs backend ran,
 * that both tasks finished, drift 0, test accuracy above a floor, and that a
 * digit painted or drawn on the canvas is predicted. A screenshot is saved as
 * evidence (it is not the check).
 *
 * Chromium is installed with apt when it is missing and we are root; else the
 * test fails with what to install. It never skips. CHROMIUM_PATH names
 * another binary.
 */
import { systemPackage } from '../helpers/systemPackage.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, copyFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Page } from 'puppeteer-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const app = path.join(root, 'examples', 'browser', 'dist');

/** Test accuracy floors (100 test digits a task): measured 1.00 (0/1) and 0.95 (2/3) with 2 epochs on webgl, the same in every run here; the margin is for other GPUs' rounding. */
const FLOORS: Readonly<Record<string, number>> = { 'digits-0-1': 0.95, 'digits-2-3': 0.88 };
const EPOCHS = 2;

/** The system Chromium, installed with apt when missing and we may; else an Error saying what to do. */
const chromium = (): string => {
  const given = process.env['CHROMIUM_PATH'];
  if (given !== undefined && given !== '') {
    if (!existsSync(given)) throw new Error(`CHROMIUM_PATH=${given} does not exist`);
    return given;
  }
  return systemPackage(['chromium'], ['/usr/bin/chromium', '/usr/bin/chromium-browser'], 'the browser test needs Chromium (or set CHROMIUM_PATH)');
};

const types: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

/** Serves `dir` on a free local port. */
const serve = (dir: string): Promise<{ readonly server: Server; readonly url: string }> =>
  new Promise((resolve) => {
    const server = createServer((req, res) => {
      const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
      const file = path.join(dir, path.normalize(name));
      if (!file.startsWith(dir + path.sep) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    });
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` }));
  });

interface Status {
  readonly phase: string;
  readonly backend: string | null;
  readonly backendDetail: string | null;
  readonly resumed: boolean | null;
  readonly stagesEnded: Readonly<Record<string, readonly string[]>>;
  readonly tasksFinished: readonly string[];
  readonly tasksSkipped: readonly string[];
  readonly modelTasks: readonly string[];
  readonly report: { readonly backend: string; readonly maxLogitDrift: number; readonly averageAccuracy: number; readonly accuracies: Readonly<Record<string, number>> } | null;
  readonly prediction: { readonly task: string; readonly label: string; readonly confidence: number } | null;
  readonly seconds: number | null;
  readonly error: string | null;
}

const statusOf = (page: Page): Promise<Status> => page.evaluate('window.cpgStatus') as Promise<Status>;

/** Polls the page's status until `done` holds (or the page reports an error). */
const until = async (page: Page, what: string, done: (s: Status) => boolean, timeoutMs: number): Promise<Status> => {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await statusOf(page).catch(() => undefined);
    if (s !== undefined && s.error !== null) assert.fail(`the page failed while waiting for ${what}: ${s.error}`);
    if (s !== undefined && done(s)) return s;
    if (Date.now() > end) assert.fail(`no ${what} after ${timeoutMs / 1000} s: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

test('the browser example learns on webgl, resumes after a reload, keeps drift 0, predicts a drawn digit, and falls back to wasm without WebGL', { timeout: 900_000 }, async () => {
  const executablePath = chromium();
  const built = spawnSync(process.execPath, [path.join(root, 'examples', 'browser', 'build.mjs')], { cwd: root, encoding: 'utf8' });
  assert.equal(built.status, 0, `examples/browser/build.mjs failed: ${built.stderr}`);
  const { server, url } = await serve(app);
  const profile = mkdtempSync(path.join(tmpdir(), 'cpg-browser-profile-'));
  const evidence = mkdtempSync(path.join(tmpdir(), 'cpg-browser-'));
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    userDataDir: profile,
    args: ['--no-sandbox', '--headless=new', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'],
  });
  const pageErrors: string[] = [];
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') pageErrors.push(`console.${m.type()}: ${m.text()}`);
    });
    await page.setViewport({ width: 1100, height: 1000 });
    const t0 = Date.now();
    await page.goto(`${url}index.html?auto=1&epochs=${EPOCHS}`);

    // Mid-task: after the first learning stage of task 2 ended (its individual network, for the goal, comes before).
    const mid = await until(page, 'a finished stage of digits-2-3', (s) => (s.stagesEnded['digits-2-3'] ?? []).some((st) => st !== 'individual'), 600_000);
    const firstPart = (Date.now() - t0) / 1000;
    assert.deepEqual(mid.tasksFinished, ['digits-0-1'], 'task 1 finished before the reload');
    assert.equal(mid.phase, 'learning');
    console.log(`# reloading mid-task after ${firstPart.toFixed(1)} s: digits-2-3 stages ended: ${mid.stagesEnded['digits-2-3']?.join(', ')}`);
    await page.reload();

    const s = await until(page, 'the end of learning', (x) => x.phase === 'done', 600_000);
    const total = (Date.now() - t0) / 1000;
    console.log(`# backend that ran: ${s.backend} (${s.backendDetail}); report backend ${s.report?.backend}`);
    console.log(`# accuracies ${JSON.stringify(s.report?.accuracies)}, drift ${s.report?.maxLogitDrift}; first page ${firstPart.toFixed(1)} s, after the reload ${s.seconds?.toFixed(1)} s, all ${total.toFixed(1)} s`);
    assert.equal(s.backend, 'webgl', 'tfjs ran on webgl (SwiftShader), not a silent fallback');
    assert.equal(s.report?.backend, 'webgl');
    assert.equal(s.resumed, true, 'the reloaded page resumed the model in IndexedDB');
    assert.deepEqual(s.tasksSkipped, ['digits-0-1'], 'the finished task is not learned again');
    assert.deepEqual(s.tasksFinished, ['digits-2-3'], 'the unfinished task was finished after the reload');
    assert.deepEqual(s.modelTasks, ['digits-0-1', 'digits-2-3']);
    assert.equal(s.report?.maxLogitDrift, 0, 'no finished task moved by a bit');
    for (const [task, floor] of Object.entries(FLOORS)) assert.ok((s.report?.accuracies[task] ?? 0) >= floor, `${task}: test accuracy ${s.report?.accuracies[task]} < ${floor}`);

    // Test digits painted on the pad: the page's whole path (canvas, crop, centring, predict).
    let right = 0;
    for (const [task, d] of [['digits-0-1', 0], ['digits-0-1', 1], ['digits-2-3', 2], ['digits-2-3', 3]] as const)
      for (let i = 0; i < 5; i++) {
        const p = (await page.evaluate(`cpgApp.chooseTask(${JSON.stringify(task)}); cpgApp.paintTestDigit(${d}, ${i * 7}); cpgApp.predict()`)) as Status['prediction'];
        assert.ok(p !== null && p !== undefined && p.task === task, `a prediction for ${task}`);
        if (p.label === String(d)) right += 1;
      }
    console.log(`# painted test digits predicted right: ${right}/20`);
    assert.ok(right >= 17, `only ${right} of 20 painted test digits predicted right`);

    // A person's stroke: a vertical line is a 1 for the 0/1 task.
    await page.evaluate('cpgApp.clear(); cpgApp.chooseTask("digits-0-1")');
    const pad = await page.$('#pad');
    const box = await pad?.boundingBox();
    assert.ok(box !== null && box !== undefined);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.2);
    await page.mouse.down();
    for (let k = 1; k <= 10; k++) await page.mouse.move(box.x + box.width / 2 + k * 0.8, box.y + box.height * (0.2 + 0.06 * k));
    await page.mouse.up();
    const drawn = await until(page, 'a prediction of the drawn stroke', (x) => x.prediction?.task === 'digits-0-1' && x.prediction.confidence > 0, 30_000);
    console.log(`# drawn stroke predicted: ${drawn.prediction?.label} (${drawn.prediction?.confidence.toFixed(3)})`);
    assert.equal(drawn.prediction?.label, '1');

    const shot = path.join(evidence, 'cpg-browser-app.png');
    await page.screenshot({ path: shot, fullPage: true });
    copyFileSync(shot, path.join(app, 'screenshot.png'));
    console.log(`# screenshot: ${shot} (and examples/browser/dist/screenshot.png)`);

    // The wasm fallback: its .wasm files are served beside the page, and the model in IndexedDB opens there too.
    await page.goto(`${url}index.html?backend=wasm`);
    const onWasm = await until(page, 'the page ready on wasm', (x) => x.phase === 'ready', 120_000);
    assert.equal(onWasm.backend, 'wasm');
    assert.deepEqual(onWasm.modelTasks, ['digits-0-1', 'digits-2-3']);
    const p = (await page.evaluate('cpgApp.chooseTask("digits-2-3"); cpgApp.paintTestDigit(3, 0); cpgApp.predict()')) as Status['prediction'];
    console.log(`# on wasm (${onWasm.backendDetail}): a test 3 predicted ${p?.label}`);
    assert.equal(p?.label, '3');
    assert.deepEqual(pageErrors, [], 'the page logged no error');

    // A page without WebGL (no context for webgl or webgl2): auto falls back to wasm, and the model opens there.
    const noGl = await browser.newPage();
    await noGl.evaluateOnNewDocument(`
      for (const C of [HTMLCanvasElement, globalThis.OffscreenCanvas].filter(Boolean)) {
        const get = C.prototype.getContext;
        C.prototype.getContext = function (kind, ...rest) { return /webgl/.test(kind) ? null : get.call(this, kind, ...rest); };
      }`);
    await noGl.goto(`${url}index.html`);
    const fallback = await until(noGl, 'the page ready without WebGL', (x) => x.phase === 'ready', 120_000);
    console.log(`# without WebGL, auto ran: ${fallback.backend} (${fallback.backendDetail})`);
    assert.equal(fallback.backend, 'wasm');
    assert.deepEqual(fallback.modelTasks, ['digits-0-1', 'digits-2-3']);
    // Asked for by name, webgl is no silent fallback: the page shows the one-line reason.
    await noGl.goto(`${url}index.html?backend=webgl`);
    await noGl.waitForFunction('window.cpgStatus?.phase === "error"', { timeout: 60_000 });
    const refused = await statusOf(noGl);
    console.log(`# without WebGL, backend=webgl: ${refused.error}`);
    assert.match(refused.error ?? '', /^backend 'webgl': the WebGL context did not initialise .*choose wasm or cpu$/);
  } finally {
    await browser.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

/**
 * "Picked" means one thing everywhere: the share of the older tasks' weights
 * a task's pick mask reuses. On a real run, report.html's capacity panel
 * shows, over all sharable weights, the same figure the summary table and
 * the task table show (pickedFraction), and no label uses the word for a
 * share of the layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { memoryStore } from '../../src/effects/stores/memory.js';
import { learner } from '../../src/node/defaults.js';
import { summary } from '../../src/node/cli/render.js';
import { renderReportHtml } from '../../src/report/html.js';
import { eventsOrError, tinyConfig, tinyTask } from '../helpers/tinyTasks.js';

process.env['CPG_BACKEND'] ??= 'wasm';

const unescape = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

test("report.html's capacity panel and the summary table give one 'picked': a share of the older tasks' weights", { timeout: 120_000 }, async () => {
  const r = await eventsOrError(learner({ store: memoryStore(), config: tinyConfig() })([tinyTask('one', 1), tinyTask('two', 2), tinyTask('three', 3)]));
  assert.ok(E.isRight(r), JSON.stringify(E.isLeft(r) ? r.left : ''));
  const end = r.right[r.right.length - 1];
  assert.ok(end?.type === 'run-finished');
  const report = end.report;
  assert.ok(report.capacity.length > 1, 'more than one sharable layer: the panel has its "all sharable weights" row');
  assert.ok(report.tasks.slice(1).some((t) => t.pickedFraction > 0), 'a later task picked something');
  const html = renderReportHtml(report);
  const titles = [...html.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => unescape(m[1]!));
  report.tasks.forEach((t, k) => {
    if (k === 0) return;
    const cell = titles.find((s) => s.startsWith(`all sharable weights — task ${k + 1} (${t.name}) picked `));
    assert.ok(cell !== undefined, `the panel's cell for task ${k + 1}`);
    const shown = Number(/picked ([\d.]+)% of the older tasks’ weights/.exec(cell)![1]);
    assert.ok(Math.abs(shown - 100 * t.pickedFraction) <= 0.005 + 1e-9, `${cell} — the summary's picked is ${100 * t.pickedFraction}%`);
    // The summary table shows the same figure under "picked".
    assert.match(summary(report, 'dir'), new RegExp(`^${t.name}\\s.*\\s${(100 * t.pickedFraction).toFixed(2)}%\\s`, 'm'));
  });
  assert.match(html, /picked \(% of older tasks’ weights\)/, "the panel's heading says what picked is a share of");
  assert.doesNotMatch(html, /pick(ed|s)?\b[^<]{0,60}of the layer/, 'no "picked … of the layer"');
});

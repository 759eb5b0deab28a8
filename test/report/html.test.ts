import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunReport } from '../../src/algebra/report.js';
import { renderReportHtml } from '../../src/report/html.js';
import { cifarNames, syntheticReport } from './fixtures.js';

const occurrences = (s: string, re: RegExp): number => (s.match(re) ?? []).length;

/** Checks every rendered page must pass. */
const wellFormed = (html: string): void => {
  assert.equal(occurrences(html, /<html[\s>]/g), 1, 'one <html>');
  assert.equal(occurrences(html, /<\/html>/g), 1, 'one </html>');
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.equal(occurrences(html, /<svg[\s>]/g), occurrences(html, /<\/svg>/g), 'balanced <svg>');
  assert.equal(occurrences(html, /<section[\s>]/g), occurrences(html, /<\/section>/g), 'balanced <section>');
  assert.equal(occurrences(html, /<g>/g), occurrences(html, /<\/g>/g), 'balanced <g>');
  assert.equal(occurrences(html, /<text[\s>]/g), occurrences(html, /<\/text>/g), 'balanced <text>');
  // Self-contained: nothing to load, nothing to run.
  assert.doesNotMatch(html, /https?:\/\//, 'no network address');
  assert.doesNotMatch(html, /<script/i, 'no script');
  assert.doesNotMatch(html, /<(link|img|iframe|object|embed)[\s>]/i, 'no external resource elements');
  assert.doesNotMatch(html, /<[^>]*\s(src|href)\s*=/i, 'no src/href attributes');
  assert.doesNotMatch(html, /@import|url\((?!#)/i, 'no CSS loads');
  assert.doesNotMatch(html, /NaN|Infinity|undefined|\[object/, 'no broken numbers or values');
};

test('the report decodes (fixtures are valid reports)', () => {
  for (const r of [syntheticReport({ tasks: 5 }), syntheticReport({ tasks: 20, names: cifarNames }), syntheticReport({ tasks: 1 })])
    assert.ok(RunReport.is(r));
});

test('a small report: header, headline figures, every task and every matrix value', () => {
  const r = syntheticReport({ tasks: 5 });
  const html = renderReportHtml(r);
  wellFormed(html);
  for (const t of r.tasks) assert.ok(html.includes(t.name), `task name ${t.name}`);
  for (const row of r.accuracyMatrix)
    for (const v of row) if (v !== null) assert.ok(html.includes(`>${(100 * v).toFixed(1)}</text>`), `matrix value ${v}`);
  assert.ok(html.includes("0 — every finished task's outputs are bit-identical"));
  assert.ok(html.includes('Split MNIST') && html.includes('CPG') && html.includes('tensorflow (16 threads)'));
  assert.ok(html.includes(`${(100 * r.averageAccuracy).toFixed(1)}%`), 'average accuracy');
  assert.ok(html.includes('missed the goal by 1 sample'), 'growth reason');
  assert.ok(html.includes('marginal'), 'a one-sample growth is flagged');
  for (const l of r.capacity) assert.ok(html.includes(l.name), `layer ${l.name}`);
  assert.match(html, /\d+(\.\d)? <small>(KiB|MiB)<\/small>/, 'checkpoint size in human units');
});

test('20 tasks with long names: labels abbreviated with the full name as tooltip', () => {
  const r = syntheticReport({ tasks: 20, names: cifarNames, benchmark: 'cifar100', net: 'vgg16', forgets: true, seed: 3 });
  const html = renderReportHtml(r);
  wellFormed(html);
  for (const name of cifarNames) assert.ok(html.includes(name), name);
  assert.ok(html.includes('<title>20 vehicles_2</title>') || html.includes('>20 vehicles_2<'));
  assert.ok(html.includes('<title>10 large_man-made_outdoor_things</title>'), 'long name has a tooltip');
  assert.ok(html.includes('…'), 'some label abbreviated');
  assert.equal(occurrences(html, /class="panel"/g), 20, 'one sweep panel per task');
  for (const row of r.accuracyMatrix)
    for (const v of row) if (v !== null) assert.ok(html.includes(`>${(100 * v).toFixed(1)}</text>`), `matrix value ${v}`);
});

test('names are escaped: a script in a task name stays inert', () => {
  const evil = '<script>alert(1)</script>';
  const r = syntheticReport({ tasks: 3, names: [evil, 'a "quoted" & \'odd\' name', 'x<y>z'] });
  const html = renderReportHtml({ ...r, createdAt: '<img src=x onerror=alert(2)>', timing: { ...r.timing, perTask: [{ name: evil, seconds: 3 }] } });
  wellFormed(html);
  assert.ok(!html.includes('<script'), 'no script element');
  assert.ok(!html.includes('<img'), 'no img element');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('a &quot;quoted&quot; &amp; &#39;odd&#39; name'));
  assert.ok(html.includes('x&lt;y&gt;z'));
});

test('edge cases: one task, no goals, empty sweeps, no capacity, drift, zero tasks', () => {
  const one = syntheticReport({ tasks: 1, noGoal: [0], growAt: null });
  const h1 = renderReportHtml(one);
  wellFormed(h1);
  assert.ok(h1.includes('no goal'));
  assert.equal(occurrences(h1, /class="panel"/g), 1);

  const someEmpty = renderReportHtml(syntheticReport({ tasks: 3, noCurve: [1] }));
  wellFormed(someEmpty);
  assert.ok(someEmpty.includes('no compacting sweep recorded'));

  const allEmpty = renderReportHtml(syntheticReport({ tasks: 2, method: 'individual', noCurve: [0, 1], growAt: null }));
  wellFormed(allEmpty);
  assert.ok(allEmpty.includes('No compacting sweep was recorded'));
  assert.equal(occurrences(allEmpty, /class="panel"/g), 0);

  const r3 = syntheticReport({ tasks: 2, growAt: null });
  const failedTrain = { from: 1, to: 1.5, trainAcc: 0.9, valAcc: 0.97, goal: 0.96, shortfallSamples: null, trainAccFailed: true };
  const grown = renderReportHtml({ ...r3, tasks: r3.tasks.map((t, i) => (i === 1 ? { ...t, growths: [failedTrain] } : t)) });
  wellFormed(grown);
  assert.ok(grown.includes('training accuracy 90.0% not above the threshold'));
  assert.ok(!grown.includes('>marginal<'));

  const bare = renderReportHtml({ ...syntheticReport({ tasks: 4, noGoal: [0, 1, 2, 3], noCurve: [1, 3] }), capacity: [], maxLogitDrift: 3.2e-7 });
  wellFormed(bare);
  assert.ok(bare.includes('3.20e-7'), 'drift shown');
  assert.ok(bare.includes('class="bad"'), 'drift in red');
  assert.ok(!bare.includes('bit-identical'));
  assert.ok(bare.includes('No sharable layers'));

  const none = syntheticReport({ tasks: 0 });
  const h0 = renderReportHtml({ ...none, accuracyMatrix: [], capacity: [], timing: { totalSeconds: 0, perTask: [] } });
  wellFormed(h0);
  assert.ok(h0.includes('No accuracies recorded yet'));

  // Degenerate values: all accuracies equal, zero-size layers, empty names.
  const flat = syntheticReport({ tasks: 3 });
  const degenerate: RunReport = {
    ...flat,
    tasks: flat.tasks.map((t) => ({ ...t, name: '', accuracy: 1, valAccuracy: 1, goal: 1, pruneCurve: [{ sparsity: 0.5, valAcc: 1 }] })),
    accuracyMatrix: [[1, null, null], [1, 1, null], [1, 1, 1]],
    capacity: [{ name: 'conv1/kernel', size: 0, perTask: [], free: 0 }],
    timing: { totalSeconds: 0, perTask: [] },
  };
  const hd = renderReportHtml(degenerate);
  wellFormed(hd);
  assert.ok(hd.includes('task 2'));
});

test("a task's budget names the constraint that bound with its figures; only the width's advice is --max-multiplier; a small validation set is marked", () => {
  const base = syntheticReport({ tasks: 2 });
  const budget = { share: 0.1314, freeAtStart: 1, floor: 0.8686, bound: true, ranOut: true, shareOfRoom: 0.1, needed: 0.1, startWidth: 1, width: 1, maxWidth: 1.5 };
  const reserve = { ...budget, constraint: 'reserve' as const, reserve: 0.9, requestedSparsities: [0.5, 0.8], imposedSparsity: 0.8686 };
  const width = { ...budget, freeAtStart: 0, needed: 0.01, bound: false, constraint: 'width' as const, plannedTasks: 3, shareOfRoom: 1 / 3, width: 1.5 };
  const r = {
    ...base,
    tasks: [
      { ...base.tasks[0]!, budget: reserve, validationImages: 40, validationTooSmall: true },
      { ...base.tasks[1]!, budget: width, validationImages: 400, validationTooSmall: false },
    ],
  };
  assert.ok(RunReport.is(r));
  const html = renderReportHtml(r);
  wellFormed(html);
  const [first, second] = html.split('<tr>').filter((row) => row.includes('class="growth"'));
  assert.ok(first !== undefined && second !== undefined);
  assert.match(first, /under goal by its budget<\/span>/);
  assert.match(first, /bound by the open stream&#39;s reserve, which keeps 90 % of the room for the tasks to come: it may keep 13\.1 % of the network at ×1 \(10 % of the room/);
  assert.match(first, /sparsities requested 50%, 80%; the budget imposed ≥ 86\.86%/);
  assert.match(first, /--reserve \(now 0\.9\)/);
  assert.doesNotMatch(first, /out of room|max-multiplier/);
  assert.match(first, /small validation<\/span> 40 images: one is 2\.5 points; give it at least 100/);
  assert.match(second, /out of room<\/span> started with 0\.0% free/);
  assert.match(second, /bound by the maximum width ×1\.5, where fewer weights are free than the task needs.*a larger --max-multiplier/);
  assert.doesNotMatch(second, /small validation|imposed/);
});

test('the goal label stays inside its accuracy-versus-sparsity plot for goals of 100 % and 0 %, on either side', () => {
  const base = syntheticReport({ tasks: 1, growAt: null });
  for (const goal of [1, 0.999, 0, 0.001])
    for (const sparsity of [0.2, 0.9]) {
      const high = goal > 0.5;
      const curve = [0.1, 0.5, 0.9].map((s) => ({ sparsity: s, valAcc: high ? 1 - 0.02 * s : 0.9 - 0.1 * s }));
      const r: RunReport = { ...base, tasks: base.tasks.map((t) => ({ ...t, goal, sparsity, valAccuracy: curve[0]!.valAcc, pruneCurve: curve })) };
      const html = renderReportHtml(r);
      wellFormed(html);
      const panel = /<figure class="panel">[\s\S]*?<\/figure>/.exec(html)?.[0] ?? '';
      // The plot area: from the top of the chosen-sparsity line to the x axis.
      const bottom = Number(/y1="([\d.]+)" y2="[\d.]+" class="axis"/.exec(panel)![1]);
      const top = Number(/y1="([\d.]+)" y2="[\d.]+" stroke="[^"]+" stroke-width="1\.5"/.exec(panel)![1]);
      const line = Number(/y1="([\d.]+)" y2="[\d.]+" class="goal"/.exec(panel)![1]);
      const label = /<text x="[\d.]+" y="([\d.]+)"[^>]*class="goalt[^"]*"[^>]*>goal ([\d.]+)%<\/text>/.exec(panel);
      assert.ok(label !== null, `goal ${goal}: a label`);
      const y = Number(label[1]);
      assert.equal(Number(label[2]), Number((100 * goal).toFixed(1)));
      // A 10.5px label: about 9px above its baseline, 3px below.
      assert.ok(y - 9 >= top && y + 3 <= bottom, `goal ${goal}, sparsity ${sparsity}: baseline ${y} leaves the plot ${top}–${bottom}`);
      assert.ok(Math.abs(y - line) <= 20, `goal ${goal}: the label sits by its line (${line})`);
    }
});

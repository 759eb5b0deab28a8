/**
 * A run directory written by the main before manifest version 2 (stopped
 * after its first task of two) loads and resumes, and ends exactly where
 * that older release's uninterrupted run of the same configuration ended:
 * the same weights, owner maps, pick masks, private tensors, probe logits and
 * figures. The resumed run is written as version 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import * as E from 'fp-ts/lib/Either.js';
import { lastValueFrom, toArray } from 'rxjs';
import { readRun, runEvents } from '../../src/node/runs.js';

const fixture = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/v1-run');

interface Expected {
  readonly state: { readonly sharable: string[]; readonly owners: string[]; readonly finished: unknown[]; readonly privates: unknown[] };
  readonly probes: unknown[];
  readonly accuracyMatrix: unknown;
  readonly averageAccuracy: number;
  readonly tasks: { name: string; accuracy: number; valAccuracy: number; sparsity: number; widthMultiplier: number }[];
}

test('a version-1 run directory from the previous release resumes to exactly the end that release reached', { timeout: 120_000 }, async () => {
  process.env['CPG_BACKEND'] ??= 'wasm';
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'cpg-v1-')), 'run');
  mkdirSync(path.join(dir, 'blobs'), { recursive: true });
  writeFileSync(path.join(dir, 'run.json'), readFileSync(path.join(fixture, 'run.json')));
  for (const f of readdirSync(path.join(fixture, 'blobs')))
    writeFileSync(path.join(dir, 'blobs', f.replace(/\.gz$/, '')), gunzipSync(readFileSync(path.join(fixture, 'blobs', f))));
  const before = await readRun(dir)();
  assert.ok(E.isRight(before) && before.right !== null, 'the version-1 manifest loads');
  assert.deepEqual(before.right.inputShape, [28, 28, 1], "its benchmark gives the input shape");
  assert.equal(before.right.finished.length, 1);

  const events = await lastValueFrom(runEvents({ kind: 'resume', dir, threads: 2 }).pipe(toArray()));
  const end = events[events.length - 1];
  assert.equal(end?.type, 'run-finished');
  const expected = JSON.parse(readFileSync(path.join(fixture, 'expected.json'), 'utf8')) as Expected;
  const m = JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8')) as {
    version: number;
    state: { sharable: { blob: { sha256: string } }[]; owners: { blob: { sha256: string } }[]; finished: unknown[]; privates: unknown[] };
    finished: { probe: unknown }[];
    tasks: { dataHash?: string; probeInputs?: unknown; classNames?: string[] }[];
  };
  assert.equal(m.version, 2, 'written as version 2');
  assert.ok(m.tasks.every((t) => t.dataHash !== undefined && t.probeInputs !== undefined && t.classNames !== undefined), 'every task now has its facts');
  assert.deepEqual(m.state.sharable.map((e) => e.blob.sha256), expected.state.sharable, 'identical weights');
  assert.deepEqual(m.state.owners.map((e) => e.blob.sha256), expected.state.owners, 'identical owner maps');
  assert.deepEqual(m.state.finished, expected.state.finished, 'identical pick masks');
  assert.deepEqual(m.state.privates, expected.state.privates, 'identical private tensors');
  assert.deepEqual(m.finished.map((f) => f.probe), expected.probes, 'identical probe logits');
  if (end?.type === 'run-finished') {
    assert.equal(end.report.maxLogitDrift, 0);
    assert.deepEqual(end.report.accuracyMatrix, expected.accuracyMatrix);
    assert.equal(end.report.averageAccuracy, expected.averageAccuracy);
    assert.deepEqual(
      end.report.tasks.map((t) => ({ name: t.name, accuracy: t.accuracy, valAccuracy: t.valAccuracy, sparsity: t.sparsity, widthMultiplier: t.widthMultiplier })),
      expected.tasks,
    );
  }
});

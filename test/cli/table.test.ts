/**
 * Tables line up in a terminal whatever the names hold: columns are measured
 * in display columns (a CJK character or an emoji takes two, a combining
 * mark none), not in UTF-16 code units. The table helper on hand-written
 * cases, the live progress line cut to the terminal, and then the tables
 * `cpg learn` and `cpg predict` print for a task whose classes are named
 * '靴 ブーツ', 'café' (with a combining accent) and '👟'.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import stringWidth from 'string-width';
import { fitColumns, renderer, table } from '../../src/node/cli/render.js';
import { writeDigitFolders } from '../helpers/digitFolders.js';

test('table pads by display width: wide, combining and emoji cells line up', () => {
  const out = table(
    ['name', 'n'],
    [
      ['靴 ブーツ', '1'],
      ['cafe\u0301', '22'],
      ['👟', '3'],
      ['👩‍👩‍👧', '4'],
      ['plain', '靴'],
    ],
  );
  // Written out by hand: the first column 9 columns wide (靴 ブーツ), the second 2 (22, 靴).
  assert.deepEqual(out.split('\n'), [
    `name${' '.repeat(5)}  ${' '}n`,
    `${'─'.repeat(9)}  ──`,
    '靴 ブーツ   1',
    `cafe\u0301${' '.repeat(5)}  22`,
    `👟${' '.repeat(7)}   3`,
    `👩‍👩‍👧${' '.repeat(7)}   4`,
    `plain${' '.repeat(4)}  靴`,
  ]);
});

test('the live progress line is cut to the terminal by display width, never inside a character', () => {
  let written = '';
  const render = renderer({ write: (s: string) => (written += s), isTTY: true });
  const name = '靴'.repeat(100);
  render({ type: 'epoch-ended', task: 1, name, stage: 'train', epoch: 1, epochs: 2, loss: 0.5, trainAcc: 0.5, valAcc: 0.5, sparsity: 0, samplesPerSec: 100, stageEtaSeconds: 1 } as Parameters<typeof render>[0]);
  const line = written.replace('\r\x1b[2K', '');
  assert.ok(stringWidth(line) <= (process.stdout.columns ?? 120) - 1, `${stringWidth(line)} columns`);
  assert.ok(line.endsWith('靴'), 'whole characters only');
  assert.equal(fitColumns('ab靴c', 3), 'ab', 'a wide character that does not fit is left out whole');
  assert.equal(fitColumns('cafe\u0301s', 4), 'cafe\u0301', 'a combining mark stays with its letter');
});

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/node/cli/main.js');
const env = { ...process.env, CPG_BACKEND: process.env['CPG_BACKEND'] ?? 'wasm' };
const work = mkdtempSync(path.join(tmpdir(), 'cpg-table-'));
const run = path.join(work, 'run');
const data = path.join(work, 'data');
const classes = ['靴 ブーツ', 'cafe\u0301', '👟'];
const quick = ['--train-epochs', '1', '--prune-epochs', '1', '--prune-ramp-epochs', '1', '--sparsities', '0.5', '--retrain-epochs', '1', '--goal', 'none', '--seed', '3', '--threads', '1'];
const cpg = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 120_000 });
let learned = '';

before(async () => {
  for (const [split, n, offset] of [['train', 12, 0], ['val', 10, 12], ['test', 3, 22]] as const) {
    await writeDigitFolders(path.join(data, split), { a: 3, b: 5, c: 7 }, n, offset);
    for (const [i, c] of ['a', 'b', 'c'].entries()) renameSync(path.join(data, split, c), path.join(data, split, classes[i]!));
  }
  const r = cpg('learn', run, '--task', '靴とブーツ', '--data', data, ...quick);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  learned = r.stdout;
});

/** The lines of the table that starts with `head`: every one as wide as the head, in display columns. */
const tableLines = (stdout: string, head: RegExp): string[] => {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => head.test(l));
  assert.ok(start !== -1, `no table ${head} in:\n${stdout}`);
  const end = lines.findIndex((l, i) => i > start && l.trim() === '');
  return lines.slice(start, end === -1 ? undefined : end);
};

test("cpg learn's summary and cpg predict's table line up with wide, combining and emoji names", { timeout: 60_000 }, () => {
  const summary = tableLines(learned, /^task\s+test acc/);
  assert.ok(summary.some((l) => l.startsWith('靴とブーツ')));
  for (const l of summary) assert.equal(stringWidth(l), stringWidth(summary[0]!), `summary line '${l}'`);

  const images = classes.map((c) => path.join(data, 'test', c));
  const p = cpg('predict', run, '--task', '靴とブーツ', ...images);
  assert.equal(p.status, 0, p.stderr);
  const rows = tableLines(p.stdout, /^file\s+label\s+confidence\s+top 3/);
  assert.equal(rows.length, 2 + 9, 'head, rule and nine images');
  assert.ok(rows.slice(2).some((l) => classes.some((c) => l.includes(` ${c} `))), 'labels in the table');
  // Every column right of the file ends where its heading ends: the confidence column, measured on each line.
  const confEnd = (l: string): number => {
    const m = /\d+\.\d%/.exec(l.slice(l.indexOf(' ', l.indexOf('.png'))));
    return m === null ? -1 : stringWidth(l.slice(0, l.indexOf(m[0], l.indexOf('.png')) + m[0].length));
  };
  const headEnd = stringWidth(rows[0]!.slice(0, rows[0]!.indexOf('confidence') + 'confidence'.length));
  for (const l of rows.slice(2)) {
    assert.equal(stringWidth(l), stringWidth(rows[0]!), `line '${l}'`);
    assert.equal(confEnd(l), headEnd, `confidence column of '${l}'`);
  }
});

/**
 * `npm run fingerprint` refuses bad input at once, in one line, exit 2,
 * before it runs anything or writes into a folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const tool = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tools/fingerprint.js');
const run = (...args: string[]) => spawnSync(process.execPath, [tool, ...args], { encoding: 'utf8' });

test('fingerprint: no folder, an unknown case, a missing baseline or a folder with files are refused in one line, exit 2, nothing written', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'cpg-fp-'));
  writeFileSync(path.join(work, 'keep.txt'), 'mine');
  const cases: [string[], RegExp][] = [
    [[], /^usage: node dist\/tools\/fingerprint\.js OUT/],
    [[path.join(work, 'a'), '--only', 'start,nope'], /^fingerprint: --only: no case named 'nope' \(cases: start, /],
    [[path.join(work, 'b'), '--compare', path.join(work, 'missing.json')], /^fingerprint: --compare: .*missing\.json does not exist/],
    [[work], /^fingerprint: .* is not empty: give a new folder$/],
  ];
  for (const [args, says] of cases) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), says);
  }
  assert.deepEqual(readdirSync(work), ['keep.txt'], 'nothing was created');
});

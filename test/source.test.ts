/**
 * Rules of the source tree that a reviewer would otherwise have to check by
 * eye: one error channel (no exceptions as control flow: `throw` only in the
 * boundary adapters listed here), no module-level mutable state, no test
 * hooks in the library.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });

/** Where `throw` is allowed, and why. */
const throwAllowed: Readonly<Record<string, string>> = {
  'node/stores/fs.ts': 'rethrows inside TE.tryCatch around Node fs calls',
  'node/dirs.ts': "mkdir -p as fs.mkdir is: rejects with Node's error, which its callers take in TE.tryCatch or a try",
  'effects/kernels/index.ts': 'a tfjs kernel callback: tfjs expects kernels to throw',
  'effects/kernels/conv.ts': 'a tfjs kernel callback',
  'effects/kernels/wasm-calls.ts': 'called from tfjs kernel callbacks',
  'effects/simd/arena.ts': "the arena's capacity guard: sized exactly, so it fires only on a bug",
  'node/sweep/queue.ts': 'a BullMQ processor fails its job by throwing (UnrecoverableError: fail for good; Error: retry)',
};

const code = (text: string): string =>
  text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
    .replace(/`(?:[^`\\]|\\.)*`|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''");

test('one error channel: no must(), no CpgFailure, and throw only in the listed boundary adapters', () => {
  const offending: string[] = [];
  for (const f of files(src)) {
    const rel = path.relative(src, f).split(path.sep).join('/');
    const text = code(readFileSync(f, 'utf8'));
    if (/\bmust\(|\bCpgFailure\b/.test(text)) offending.push(`${rel}: must/CpgFailure`);
    if (/\bthrow\b/.test(text) && throwAllowed[rel] === undefined) offending.push(`${rel}: throw`);
  }
  assert.deepEqual(offending, []);
});

test('Node built-ins only in src/node and the command line: the rest of src is the browser-safe core', () => {
  const offending: string[] = [];
  for (const f of files(src)) {
    const rel = path.relative(src, f).split(path.sep).join('/');
    if (rel.startsWith('node/') || rel.startsWith('cli/')) continue;
    const text = readFileSync(f, 'utf8');
    const m = /(?:from|import\()\s*'(node:[^']+|fs|os|path|module|crypto|url|child_process|worker_threads)'/.exec(text);
    if (m !== null) offending.push(`${rel}: ${m[1]}`);
  }
  assert.deepEqual(offending, []);
});

test('no module-level mutable state and no test hooks in the library', () => {
  const offending: string[] = [];
  for (const f of files(src)) {
    const rel = path.relative(src, f).split(path.sep).join('/');
    const text = code(readFileSync(f, 'utf8'));
    if (/^(export\s+)?(let|var)\s/m.test(text)) offending.push(`${rel}: module-level let/var`);
    if (/setWriteFault|console\.(warn|log|error)\s*=/.test(text)) offending.push(`${rel}: a test hook or a patched console`);
  }
  assert.deepEqual(offending, []);
});

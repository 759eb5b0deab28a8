/**
 * Opening a model needs no training code: the modules `openModel` loads (its
 * static import graph, followed through the compiled output) include neither
 * the trainer, its fused update loops, the life cycle's stages nor the
 * learner. (The wasm backend's kernel set comes with the backend: it also
 * fixes forward convolutions.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every module of ours reachable from `entry` by runtime imports (`import type` is erased by tsc). */
const reachable = (entry: string): Set<string> => {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gm)) visit(path.resolve(path.dirname(file), m[1]!));
    for (const m of code.matchAll(/^import\s+'(\.{1,2}\/[^']+)'/gm)) visit(path.resolve(path.dirname(file), m[1]!));
  };
  visit(entry);
  return new Set([...seen].map((f) => path.relative(src, f)));
};

test('openModel and export load no training code', () => {
  const modules = reachable(path.join(src, 'cpg/predict.js'));
  assert.ok(modules.has('effects/snapshot.js') && modules.has('effects/evaluate.js') && modules.has('effects/export/onnx.js'), [...modules].join(', '));
  for (const training of ['effects/trainer.js', 'cpg/stages/', 'cpg/learn.js', 'cpg/learner.js', 'cpg/run.js', 'effects/simd', 'algebra/lifecycle.js', 'streams/'])
    assert.ok(![...modules].some((m) => m.startsWith(training)), `${training} is loaded: ${[...modules].filter((m) => m.startsWith(training)).join(', ')}`);
});

/**
 * `npm run check:cifar-recipe`: the documented CIFAR-100 recipe (the paper's
 * 20 tasks on VGG16-BN with the reference defaults) started on a generated
 * file in the official binary format, shortened to one task with one-epoch
 * stages so it finishes here. Prints the command it ran and the report's
 * headline. Slow on the wasm backend (VGG16 steps take seconds): not part of
 * npm test.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { cliPath as cli, writeCifar } from './faultlib.js';

const root = mkdtempSync(path.join(tmpdir(), 'cpg-cifar-recipe-'));
const data = writeCifar(root, 6, 2);
const out = path.join(root, 'run');
/** The recipe as README documents it … */
const recipe = ['run', '--benchmark', 'cifar100', '--data', data, '--net', 'vgg16', '--out', out];
/** … shortened: one task, one epoch per stage, one compacting target. */
const short = ['--tasks', '1', '--train-epochs', '1', '--individual-epochs', '1', '--prune-epochs', '1', '--prune-ramp-epochs', '1', '--sparsities', '0.5', '--batch-size', '8'];
console.log(`cpg ${[...recipe, ...short].join(' ')}`);
const t0 = Date.now();
const r = spawnSync(process.execPath, [cli, ...recipe, ...short], { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) {
  console.error(`the CIFAR-100 recipe failed (exit ${r.status})`);
  process.exit(1);
}
const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as { net: string; backend: string; tasks: { name: string; widthMultiplier: number }[]; maxLogitDrift: number };
console.log(`ok: ${report.net} on ${report.backend}, task ${report.tasks[0]?.name}, ${((Date.now() - t0) / 1000).toFixed(0)} s, drift ${report.maxLogitDrift}`);

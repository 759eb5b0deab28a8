/**
 * `cpg help COMMAND` lists every flag the command's parser accepts, each
 * with the default the command would use: for `run` the benchmark's preset
 * (chosen by --benchmark given with the help), for `learn` the preset for
 * your own data or the model in RUN. The defaults are checked against a
 * configuration decoded here, as the command decodes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { BenchmarkName } from '../../src/algebra/benchmarks.js';
import { type RunConfig, decodeConfig } from '../../src/algebra/config.js';
import type { CpgError } from '../../src/algebra/errors.js';
import { MAX_WASM_THREADS } from '../../src/algebra/threads.js';
import { DEFAULT_TOLERANCE } from '../../src/cpg/evalRun.js';
import { withPreset, withPresetFor } from '../../src/cpg/presets.js';
import { readManifest } from '../../src/effects/checkpoint.js';
import { type CommandName, commandFlags, commandNames, configFields, intFlag, kebab, parseArgs, scanCommand } from '../../src/node/cli/args.js';
import { helpText, shownValue } from '../../src/node/cli/help.js';
import { fsStore } from '../../src/node/stores/fs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../src/node/cli/main.js');
const fixture = path.resolve(here, '../../../test/fixtures/v1-run');
const env = { ...process.env, CPG_BACKEND: process.env['CPG_BACKEND'] ?? 'wasm' };
const cpg = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 60_000 });

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Prose as one line (help wraps it). */
const flat = (s: string) => s.replace(/\s+/g, ' ');

const help = async (topic: CommandName, argv: readonly string[] = []): Promise<string> => {
  const r = await helpText(topic, argv);
  assert.ok(E.isRight(r), `help ${topic} ${argv.join(' ')}: ${JSON.stringify(E.isLeft(r) ? r.left : null)}`);
  return r.right;
};

/** The default help shows for --name: what follows the name and its value on the flag's line (or on its own, when long). */
const shownDefault = (text: string, name: string): string | undefined => {
  const m = new RegExp(`^  --${escape(name)}(?: \\S+)?  +(\\S.*?)(?:  +\\S.*)?$`, 'm').exec(text);
  return m?.[1];
};

/** Positionals each command needs before its flags parse. */
const positionals: Readonly<Record<CommandName, readonly string[]>> = {
  run: [],
  learn: ['RUN'],
  resume: ['RUN'],
  eval: ['RUN'],
  predict: ['RUN', 'IMG'],
  export: ['RUN'],
  sweep: [],
  worker: [],
};

/** Whether the command's parser takes --name (with a value, or as a switch): parseArgs for the commands it parses whole, the scanner sweep and worker use. */
const accepts = (command: CommandName, name: string): boolean => {
  for (const flag of [[`--${name}`, '1'], [`--${name}`]]) {
    const argv = [...positionals[command], ...flag, ...(command === 'predict' || command === 'export' ? ['--task', 'all'] : []), ...(command === 'export' ? ['--out', 'X'] : [])];
    const r: E.Either<CpgError, unknown> = command === 'sweep' || command === 'worker' ? scanCommand(command, argv) : parseArgs([command, ...argv]);
    if (E.isRight(r) || !/unknown flag|is a switch/.test(r.left.message)) return true;
  }
  return false;
};

test('every flag a command accepts is in its help, with a default', async () => {
  // Candidates: every configuration field's flag and every flag any command has, plus some that none has.
  const candidates = new Set([...configFields().map(kebab), ...commandNames.flatMap((c) => commandFlags[c].map((f) => f.name)), 'epochs', 'help-me', 'goalz']);
  for (const command of commandNames) {
    const text = await help(command);
    const taken = [...candidates].filter((name) => accepts(command, name));
    assert.ok(taken.length >= 2, `${command} takes flags`);
    for (const name of taken) {
      const d = shownDefault(text, name);
      assert.ok(d !== undefined && d !== '', `cpg help ${command} lists --${name} with its default:\n${text}`);
    }
    // And help lists nothing the parser refuses.
    for (const m of text.matchAll(/^  --([a-z][a-z-]*)/gm)) assert.ok(accepts(command, m[1]!), `cpg ${command} accepts --${m[1]} that its help lists`);
  }
});

test("cpg help run shows the defaults a run would use: its benchmark's preset over the reference's", async () => {
  for (const benchmark of [undefined, ...BenchmarkName.values]) {
    const text = await help('run', benchmark === undefined ? [] : ['--benchmark', benchmark]);
    const config = decodeConfig(undefined)(withPreset(benchmark === undefined ? {} : { benchmark }));
    assert.ok(E.isRight(config));
    const b = config.right.benchmark;
    assert.match(flat(text), new RegExp(`defaults for --benchmark ${b}: its preset \\(`), 'the preset is named');
    // Every field the decoded configuration holds (the optional ones it leaves out say what that means).
    for (const [field, value] of Object.entries(config.right)) assert.equal(shownDefault(text, kebab(field)), shownValue(value), `${b}: --${kebab(field)}`);
  }
  // The figures themselves, as a user reads them.
  const mnist = await help('run');
  assert.equal(shownDefault(mnist, 'train-epochs'), '8');
  assert.equal(shownDefault(mnist, 'tasks'), 'all 5');
  assert.equal(shownDefault(mnist, 'allowed-loss'), '0.005');
  assert.equal(shownDefault(mnist, 'threads')?.startsWith(`every core, at most ${MAX_WASM_THREADS}`), true);
  assert.equal(shownDefault(await help('run', ['--benchmark', 'permuted-mnist']), 'tasks'), '10');
  const cifar = await help('run', ['--benchmark', 'cifar100']);
  assert.equal(shownDefault(cifar, 'train-epochs'), '100');
  assert.equal(shownDefault(cifar, 'net'), 'vgg16');
  assert.equal(shownDefault(cifar, 'data'), 'required');
  assert.equal(shownDefault(cifar, 'sparsities'), '0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.95');
  assert.equal(shownDefault(await help('run', ['--benchmark', 'split-fmnist']), 'allowed-loss'), '0');
  // Flags given with the help are applied, as the command would.
  assert.equal(shownDefault(await help('run', ['--benchmark', 'cifar100', '--train-epochs', '7']), 'individual-epochs'), '7');
});

test("cpg help learn shows the preset for your own data, by name and figures, or the configuration of the model in RUN", async () => {
  const text = await help('learn');
  const config = decodeConfig(undefined)(withPresetFor('custom', {}));
  assert.ok(E.isRight(config));
  assert.match(flat(text), /a new model learned from your own data: the 'custom' preset \(--net mlp .*--train-epochs 8 --prune-epochs 3 .*--retrain-epochs 6/);
  for (const f of commandFlags.learn) {
    if (f.field === undefined) continue;
    const v: unknown = config.right[f.field as keyof RunConfig];
    if (v !== undefined) assert.equal(shownDefault(text, f.name), shownValue(v), `--${f.name}`);
  }
  assert.equal(shownDefault(text, 'train-epochs'), '8');
  assert.equal(shownDefault(text, 'prune-epochs'), '3');
  assert.equal(shownDefault(text, 'retrain-epochs'), '6');
  assert.equal(shownDefault(text, 'goal'), 'individual');
  // A RUN that holds a model: its own configuration (this one learned 2-epoch stages).
  const m = await readManifest(fsStore(fixture))();
  assert.ok(E.isRight(m) && m.right !== null);
  const mine = await help('learn', [fixture]);
  assert.match(flat(mine), new RegExp(`the defaults of the model in ${escape(fixture)}: its own configuration`));
  assert.equal(shownDefault(mine, 'train-epochs'), String(m.right.config.trainEpochs));
  assert.equal(m.right.config.trainEpochs, 2);
});

test('the own flags of every command: help shows the default the command uses', async () => {
  assert.equal(shownDefault(await help('eval'), 'tolerance'), String(DEFAULT_TOLERANCE));
  assert.equal(shownDefault(await help('export'), 'format'), 'tfjs');
  for (const [command, name] of [['sweep', 'concurrency'], ['sweep', 'attempts'], ['worker', 'concurrency'], ['worker', 'lock-duration'], ['worker', 'stall-interval']] as const) {
    const used = intFlag(command, {}, name);
    assert.ok(E.isRight(used));
    assert.equal(shownDefault(await help(command), name), String(used.right), `${command} --${name}`);
  }
});

test('cpg COMMAND --help and cpg help COMMAND print the same; a bad flag with it is refused', () => {
  const a = cpg('run', '--benchmark', 'cifar100', '--help');
  const b = cpg('help', 'run', '--benchmark', 'cifar100');
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
  assert.match(a.stdout, /^ {2}--train-epochs N +100 /m);
  const learn = cpg('learn', '--help');
  assert.equal(learn.status, 0, learn.stderr);
  assert.match(flat(learn.stdout), /'custom' preset/);
  const overview = cpg('--help');
  assert.equal(overview.status, 0);
  assert.match(overview.stdout, /cpg help \[COMMAND \[flags\]\] +every flag of COMMAND, with the defaults it would use/);
  const bad = cpg('help', 'run', '--benchmark', 'imagenet');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--benchmark/);
});

/**
 * `npm run bench:vs-torch`: our training step against PyTorch's on the same
 * nets (MLP, LeNet, VGG-small) at the same batch, side by side.
 *
 * For each thread count (1 and 2 where the machine has 2 cores) it runs, one
 * after the other and never at the same time:
 * - ours: 'cpg' (the library's task-3 session, bench/cpgStep.ts) and 'plain'
 *   (raw tfjs ops, bench/plain.ts) on the wasm backend with our kernels,
 *   timed by bench/harness.ts in a child process (the wasm thread count is
 *   fixed when the module loads, as in bench/step.ts);
 * - PyTorch: bench/torch_step.py at that thread count, 'cpg' being the
 *   official code's SharableConv2d/SharableLinear step (piggymask, owner
 *   maps, hand weight decay, Nesterov SGD + Adam) and 'plain' an ordinary one.
 *
 * Prints the raw JSON lines of both sides as they come (stderr), then a table
 * per net × mode × threads — our samples/s, torch's, our/torch — in wall time
 * and in CPU time (user + system of the process, all threads; steadier than
 * wall time on a loaded machine, but at 2 threads it also counts threads
 * spinning while they wait), and one JSON line per row on stdout.
 *
 * Flags: --quick, --nets=mlp,lenet,vgg-small, --threads=1,2, --batch=64,
 * --python=/usr/bin/python3 (or CPG_PYTHON). A benchmark only: not part of
 * npm test.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { describeError } from '../src/algebra/errors.js';
import { coreCount, selectBackend } from '../src/node/backend.js';
import { benchNets, flag, list, timeStep, type BenchNet, type MakeStep, type TimingPlan } from './harness.js';
import { makePlainStep } from './plain.js';
import { makeCpgStep } from './cpgStep.js';

const modes: Record<string, MakeStep> = { cpg: makeCpgStep, plain: makePlainStep };
const modeNames = Object.keys(modes);

const quick = flag('quick') !== undefined;
const batch = Number(flag('batch') ?? 64);
const nets = list('nets', benchNets) as BenchNet[];
for (const n of nets) if (!benchNets.includes(n)) throw new Error(`unknown net '${n}' (known: ${benchNets.join(', ')})`);

/** Steps per net, the same on both sides (torch_step.py has the same table). */
const plans: Record<BenchNet, TimingPlan> = quick
  ? { mlp: { warmup: 3, timed: 5 }, lenet: { warmup: 2, timed: 3 }, 'vgg-small': { warmup: 1, timed: 2 } }
  : { mlp: { warmup: 10, timed: 30 }, lenet: { warmup: 3, timed: 10 }, 'vgg-small': { warmup: 2, timed: 5 } };

/** Our side in this process: one thread count, every net and mode, a JSON line each. */
const runChild = async (): Promise<void> => {
  const threads = Number(flag('threads') ?? 1);
  const loaded = await selectBackend({ prefer: 'wasm', threads })();
  if (E.isLeft(loaded)) {
    console.log(JSON.stringify({ threads, status: 'unsupported', error: describeError(loaded.left) }));
    return;
  }
  const info = loaded.right;
  for (const net of nets)
    for (const mode of modeNames)
      console.log(JSON.stringify(await timeStep(modes[mode]!, net, batch, plans[net], { mode, variant: 'cpg-kernels', backend: info.name, threads: info.threads })));
};

/** Runs a command, echoing its stdout to stderr and passing its stderr through; resolves with the JSON lines it printed. */
const collect = (cmd: string, args: readonly string[]): Promise<{ lines: Record<string, unknown>[]; error?: string }> =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      process.stderr.write(d);
    });
    const parse = (): Record<string, unknown>[] =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        });
    child.on('error', (e) => resolve({ lines: parse(), error: `${cmd}: ${e.message}` }));
    child.on('exit', (code, signal) => resolve(code === 0 ? { lines: parse() } : { lines: parse(), error: `${cmd} exited with ${code ?? signal}` }));
  });

interface Side {
  readonly msPerStep?: number;
  readonly samplesPerSec?: number;
  readonly cpuMsPerStep?: number;
  readonly threads?: number;
  readonly status: string;
  readonly error?: string;
}

const sideOf = (fig: Record<string, unknown> | undefined, missing: string | undefined): Side => {
  if (fig === undefined) return { status: 'missing', ...(missing !== undefined ? { error: missing } : {}) };
  const num = (k: string): number | undefined => (typeof fig[k] === 'number' ? (fig[k] as number) : undefined);
  const pick = <K extends string>(k: K, v: number | undefined) => (v === undefined ? {} : { [k]: v });
  return {
    status: typeof fig['status'] === 'string' ? (fig['status'] as string) : 'ok',
    ...pick('msPerStep', num('msPerStep')),
    ...pick('samplesPerSec', num('samplesPerSec')),
    ...pick('cpuMsPerStep', num('cpuMsPerStep')),
    ...pick('threads', num('threads')),
    ...(typeof fig['error'] === 'string' ? { error: fig['error'] as string } : {}),
  };
};

const fixed = (x: number | undefined, d: number): string => (x === undefined ? '—' : x.toFixed(d));
const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined || b === 0 ? undefined : Number((a / b).toFixed(3)));
const loadavg = (): number[] => os.loadavg().map((x) => Number(x.toFixed(2)));

const runParent = async (): Promise<void> => {
  const self = fileURLToPath(import.meta.url);
  const script = fileURLToPath(new URL('../../bench/torch_step.py', import.meta.url));
  const python = flag('python') ?? process.env['CPG_PYTHON'] ?? '/usr/bin/python3';
  const threadCounts = list('threads', coreCount() > 1 ? ['1', '2'] : ['1']).map(Number);
  const shared = [`--nets=${nets.join(',')}`, `--batch=${batch}`, ...(quick ? ['--quick'] : [])];
  const loadBefore = loadavg();
  process.stderr.write(`load average before: ${loadBefore.join(' ')} (${coreCount()} cores)\n`);

  const rows: Record<string, unknown>[] = [];
  let torchVersion: string | undefined;
  for (const threads of threadCounts) {
    const ours = await collect(process.execPath, [self, '--child', `--threads=${threads}`, ...shared]);
    const torch = await collect(python, [script, `--threads=${threads}`, `--modes=${modeNames.join(',')}`, ...shared]);
    for (const net of nets)
      for (const mode of modeNames) {
        const find = (lines: Record<string, unknown>[]) => lines.find((l) => l['net'] === net && l['mode'] === mode);
        const tf = find(ours.lines);
        const pt = find(torch.lines);
        if (typeof pt?.['torch'] === 'string') torchVersion = pt['torch'] as string;
        const a = sideOf(tf, ours.error);
        const b = sideOf(pt, torch.error);
        rows.push({
          net,
          mode,
          threads,
          batch,
          ours: a,
          torch: b,
          // our throughput over torch's: < 1 means we are slower
          ratioWall: ratio(a.samplesPerSec, b.samplesPerSec),
          // the same per CPU-second: torch's CPU ms per step over ours
          ratioCpu: ratio(b.cpuMsPerStep, a.cpuMsPerStep),
        });
      }
  }
  const loadAfter = loadavg();

  const header = ['net', 'mode', 'thr', 'ours smp/s', 'torch smp/s', 'ours/torch', 'ours cpu ms', 'torch cpu ms', 'ours/torch (cpu)'];
  const body = rows.map((r) => {
    const a = r['ours'] as Side;
    const b = r['torch'] as Side;
    const threadsNote = a.threads !== undefined && a.threads !== r['threads'] ? `${String(r['threads'])} (ours ${a.threads})` : String(r['threads']);
    return [
      String(r['net']),
      String(r['mode']),
      threadsNote,
      a.status === 'ok' ? fixed(a.samplesPerSec, 1) : a.status,
      b.status === 'ok' ? fixed(b.samplesPerSec, 1) : b.status,
      fixed(r['ratioWall'] as number | undefined, 3),
      fixed(a.cpuMsPerStep, 1),
      fixed(b.cpuMsPerStep, 1),
      fixed(r['ratioCpu'] as number | undefined, 3),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => '| ' + cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  console.log(`\nours: tfjs wasm + our kernels; torch: ${torchVersion ?? 'unavailable'} (${python}); batch ${batch}; load average ${loadBefore.join(' ')} → ${loadAfter.join(' ')} on ${coreCount()} cores`);
  console.log(line(header));
  console.log('|' + widths.map((w, i) => (i < 3 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
  for (const row of body) console.log(line(row));
  console.log('');
  for (const r of rows) console.log(JSON.stringify({ ...r, torchVersion: torchVersion ?? null, loadavg: { before: loadBefore, after: loadAfter } }));
};

await (flag('child') !== undefined ? runChild() : runParent());

/**
 * What the queue tests share: the `cpg` command as a child process (in the
 * foreground or the background, its output collected), a throwaway Redis
 * (Debian's `redis-server` on a free port, without persistence; installed
 * with apt when missing and we are root, else an Error saying what to
 * install), and the tiny real runs their grids are made of. Each test file
 * calls `after(stopAll)` so nothing it started outlives it.
 */
import { systemPackage } from './systemPackage.js';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/node/cli/main.js');
export const env = { ...process.env, CPG_BACKEND: process.env['CPG_BACKEND'] ?? 'wasm' };
export const cpg = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 120_000 });

/** Tiny real runs: Split MNIST, 64 images a task, one epoch a stage, one thread. */
export const tiny = { benchmark: 'split-mnist', limitPerTask: 64, trainEpochs: 1, individualEpochs: 1, pruneEpochs: 1, sparsities: [0.5], retrainEpochs: 1, threads: 1 };

/** A grid file `name` in `dir`. */
export const gridFileIn = (dir: string, name: string, grid: unknown): string => {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(grid));
  return file;
};

const redisServer = (): string =>
  systemPackage(['redis-server'], ['/usr/bin/redis-server', '/usr/local/bin/redis-server'], 'the queue tests need Redis');

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

const started: ChildProcess[] = [];

/** SIGKILL every process these helpers started that is still running (redis-servers, background `cpg`s). */
export const stopAll = (): void => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
};

/** A throwaway Redis (no persistence) on a free port; resolves once it accepts connections. */
export const startRedis = async (extra: string[] = []): Promise<number> => {
  const port = await freePort();
  const server = spawn(redisServer(), ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(server);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 15_000);
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    server.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
  });
  return port;
};

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A `cpg` process in the background, its output collected. */
export const background = (args: string[]): { proc: ChildProcess; out: () => string; exited: Promise<number | null> } => {
  const proc = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': the pipes are drained by then, so out() holds everything the process wrote.
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  return { proc, out: () => out, exited };
};

/** A run's manifest (run.json), or null before it has one. */
export const manifestOf = (runDir: string): { finished: unknown[]; status: string } | null => {
  try {
    return JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { finished: unknown[]; status: string };
  } catch {
    return null;
  }
};

/** A report without what depends on when and how fast it ran. */
export const comparable = (file: string): unknown => {
  const r = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete r['timing'];
  delete r['createdAt'];
  return r;
};

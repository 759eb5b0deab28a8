/**
 * A sweep's directory: `sweep.json` (what the sweep is — its grid, its jobs
 * with their resolved configurations, where it was queued — and, once every
 * job has ended, how each ended), `runs/<job id>/` per job, and the tables.
 * Written atomically; a second `cpg sweep` of the same grid into the same
 * directory finds it and skips the finished jobs.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { RunConfig } from '../../algebra/config.js';
import { parseJson } from '../../algebra/json.js';
import { type CpgError, configError } from '../../algebra/errors.js';
import { fsStore } from '../stores/fs.js';

export const SWEEP_FILE = 'sweep.json';

/** Where a sweep's jobs were queued (the URL without its password; the full URL is in `.redis-url`, readable by its owner only). */
export interface QueueInfo {
  readonly redis: string;
  readonly queue: string;
  /** The tag of this sweep's jobs in the shared queue (their BullMQ job ids are `<tag>-<job id>`). */
  readonly tag: string;
}

/** How one job ended. */
export interface JobResult {
  readonly id: string;
  readonly status: 'done' | 'failed' | 'cancelled';
  readonly error: string | null;
  readonly attempts: number;
}

export interface SweepFile {
  readonly format: 'cpg-sweep';
  readonly version: 1;
  readonly grid: string;
  readonly created: string;
  readonly queue: QueueInfo | null;
  readonly jobs: readonly { readonly id: string; readonly point: Readonly<Record<string, unknown>>; readonly config: RunConfig; readonly goalsFrom?: string; readonly parts?: readonly string[] }[];
  /** Set when every job has ended. */
  readonly ended?: string;
  readonly results?: readonly JobResult[];
}

const sweepError = (dir: string, message: string): CpgError => configError(path.join(dir, SWEEP_FILE), message);

/** The sweep in `dir` (null when there is none). */
export const readSweep = async (dir: string): Promise<E.Either<CpgError, SweepFile | null>> => {
  const file = path.join(dir, SWEEP_FILE);
  const text = await fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : e));
  if (text === null) return E.right(null);
  if (typeof text !== 'string') return E.left(sweepError(dir, `cannot read: ${text.code ?? text.message}`));
  return E.chain((parsed: unknown) => {
    const u = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Partial<SweepFile>;
    return u.format !== 'cpg-sweep' || u.version !== 1 || !Array.isArray(u.jobs) ? E.left(sweepError(dir, 'not a cpg sweep file (format cpg-sweep, version 1)')) : E.right(u as SweepFile);
  })(parseJson(file)(text));
};

/** Write sweep.json atomically. */
export const writeSweep = async (dir: string, s: SweepFile): Promise<E.Either<CpgError, string>> => fsStore(dir).writeReport(SWEEP_FILE, `${JSON.stringify(s, null, 1)}\n`)();

/** Write a text file of the sweep's directory atomically (tables). */
export const writeSweepText = async (dir: string, name: string, text: string): Promise<E.Either<CpgError, string>> => fsStore(dir).writeReport(name, text)();

/** A Redis URL without its password, for files and messages. */
export const redactUrl = (url: string): string => url.replace(/^(rediss?:\/\/)([^@/]*)@/, (_, scheme: string, auth: string) => `${scheme}${auth.includes(':') ? `${auth.slice(0, auth.indexOf(':'))}:***` : '***'}@`);

const URL_FILE = '.redis-url';

/** Keep the full Redis URL beside the sweep for --status and --cancel (mode 0600). */
export const saveRedisUrl = async (dir: string, url: string): Promise<void> => {
  const target = path.join(dir, URL_FILE);
  const tmp = `${target}.${process.pid}.tmp`;
  await fs.writeFile(tmp, `${url}\n`, { mode: 0o600 });
  await fs.rename(tmp, target);
};

/** The full Redis URL of a queued sweep (null when it was not saved). */
export const savedRedisUrl = async (dir: string): Promise<string | null> =>
  fs.readFile(path.join(dir, URL_FILE), 'utf8').then(
    (t) => t.trim(),
    () => null,
  );

const CANCEL_FILE = 'cancelled';

/** Mark a sweep cancelled: workers stop its running jobs and skip its queued ones. */
export const markCancelled = async (dir: string): Promise<void> => fs.writeFile(path.join(dir, CANCEL_FILE), `${new Date().toISOString()}\n`);

/** Whether a sweep was cancelled. */
export const isCancelled = async (dir: string): Promise<boolean> => fs.stat(path.join(dir, CANCEL_FILE)).then(
  () => true,
  () => false,
);

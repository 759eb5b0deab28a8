/**
 * Command-line parsing (pure): commands, flags, and the mapping of flags to
 * run-configuration fields. Every configuration field is a flag in kebab
 * case (`trainEpochs` → `--train-epochs`); values are coerced by the field's
 * codec and then decoded with it, so a bad value names its flag.
 */
import * as E from 'fp-ts/lib/Either.js';
import { RunConfigInput, type RunConfigInput as Input } from '../../algebra/codecs.js';
import type { CpgError } from '../../algebra/errors.js';

export type Command =
  | { readonly kind: 'run'; readonly flags: Flags; readonly configFile: string | undefined; readonly out: string | undefined }
  | {
      readonly kind: 'learn';
      readonly dir: string;
      readonly flags: Flags;
      readonly configFile: string | undefined;
      /** The task's name (--task), its image folder (--data), its goal (--goal: a fraction, 'individual' or 'none'). */
      readonly task: string | undefined;
      readonly data: string | undefined;
      readonly goal: string | undefined;
    }
  | { readonly kind: 'resume'; readonly dir: string; readonly flags: Flags }
  | { readonly kind: 'eval'; readonly dir: string; readonly task: string | undefined; readonly tolerance: string | undefined; readonly flags: Flags }
  /** Images (files and folders) to classify with finished task `task` ('all': every one); `json`: one object per line. */
  /** Finished task `task` ('all': every one) written to `out` as `format` ('tfjs' unless given). */
  | { readonly kind: 'export'; readonly dir: string; readonly task: string; readonly out: string; readonly format: string | undefined; readonly flags: Flags }
  | { readonly kind: 'predict'; readonly dir: string; readonly task: string; readonly inputs: readonly string[]; readonly json: boolean; readonly flags: Flags }
  /** `cpg sweep` and `cpg worker` parse their own flags (src/node/cli/sweep.ts). */
  | { readonly kind: 'sweep' | 'worker'; readonly argv: readonly string[] }
  | { readonly kind: 'help'; readonly topic: string | undefined }
  | { readonly kind: 'version' };

/** Configuration fields given as flags (already coerced, not yet decoded). */
export type Flags = Readonly<Record<string, unknown>>;

const usage = (message: string, field = 'command line'): CpgError => ({ tag: 'ConfigError', field, message });

export const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Flags that are not configuration fields, or that are shorthands for one. */
const aliases: Readonly<Record<string, string>> = { data: 'dataPath' };

/** Every configuration field a flag can set. */
export const configFields = (): readonly string[] => Object.keys(RunConfigInput.optional);

/** The configuration fields `cpg learn` takes: all but those naming a benchmark's data. */
export const learnFields = (): readonly string[] => configFields().filter((f) => !['benchmark', 'tasks', 'dataPath'].includes(f));

const commands = ['run', 'learn', 'resume', 'eval', 'predict', 'export', 'sweep', 'worker'] as const;

/** Flags that take no value. */
const switches: Readonly<Record<string, readonly string[]>> = { predict: ['json'] };

const codecOf = (field: string): { readonly _tag?: string; readonly of?: { readonly _tag?: string } } | undefined =>
  (RunConfigInput.optional as Record<string, { _tag?: string; of?: { _tag?: string } }>)[field];

/** Turn a flag's text into the JSON value its field expects; decoding checks it afterwards. */
export const coerce = (field: string, text: string): unknown => {
  if (field === 'goals') return text === 'individual' ? { kind: 'individual' } : { kind: 'file', path: text };
  const codec = codecOf(field);
  const tag = codec?._tag;
  if (tag === 'NumberRangeType' || tag === 'LenientNumberType') return text.trim() === '' ? text : Number.isNaN(Number(text)) ? text : Number(text);
  if (tag === 'ListType') {
    const inner = codec?.of?._tag;
    if (inner === 'NumberRangeType') return text.split(',').map((x) => (Number.isNaN(Number(x)) || x.trim() === '' ? x : Number(x)));
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  if (tag === 'PrimitiveType' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
};

/** Levenshtein distance, for "did you mean" hints. */
const distance = (a: string, b: string): number => {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
};

const suggest = (flag: string, known: readonly string[]): string => {
  const best = [...known].sort((x, y) => distance(flag, x) - distance(flag, y))[0];
  return best !== undefined && distance(flag, best) <= Math.max(2, Math.floor(flag.length / 3)) ? ` (did you mean --${best}?)` : '';
};

/** Flags as given: values by name (in the order given), switches, positionals. */
export interface ScannedFlags {
  readonly values: Readonly<Record<string, string>>;
  readonly switches: ReadonlySet<string>;
  readonly positional: readonly string[];
}

/** The flags a command takes. */
export interface FlagSpec {
  /** Flags that take a value: `--name value` or `--name=value`. */
  readonly valued: readonly string[];
  /** Flags that take none. */
  readonly switches: readonly string[];
  /** The message for a flag in neither list. */
  readonly unknown: (name: string) => string;
  /** What a flag sets, when two names set one thing (giving both is giving it twice); the flag's name by default. */
  readonly sameAs?: (name: string) => string;
}

/**
 * The shared core of every command's argv: long flags with values
 * (`--name value`, `--name=value`), switches, positionals; an unknown flag,
 * a short option, a missing value, a valued switch and a flag given twice
 * are each a one-line ConfigError naming the flag.
 */
export const scanFlags = (argv: readonly string[], spec: FlagSpec): E.Either<CpgError, ScannedFlags> => {
  const values: Record<string, string> = {};
  const on = new Set<string>();
  const positional: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg.length > 1) return E.left(usage(`unknown option '${arg}' (options are long: --name value)`, arg));
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const isSwitch = spec.switches.includes(name);
    if (!isSwitch && !spec.valued.includes(name)) return E.left(usage(spec.unknown(name), `--${name}`));
    if (isSwitch) {
      if (eq !== -1) return E.left(usage(`--${name} is a switch: it takes no value`, `--${name}`));
      if (on.has(name)) return E.left(usage(`--${name} is given twice`, `--${name}`));
      on.add(name);
      continue;
    }
    let value = eq === -1 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) return E.left(usage(`--${name} needs a value`, `--${name}`));
      value = next;
      i += 1;
    }
    const key = spec.sameAs?.(name) ?? name;
    if (seen.has(key)) return E.left(usage(`--${name} is given twice`, `--${name}`));
    seen.add(key);
    values[name] = value;
  }
  return E.right({ values, switches: on, positional });
};

/** Parse argv (without node and the script). */
export const parseArgs = (argv: readonly string[]): E.Either<CpgError, Command> => {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h')
    return E.right({ kind: 'help', topic: command === 'help' ? rest[0] : undefined });
  if (command === '--version' || command === 'version') return E.right({ kind: 'version' });
  if (!(commands as readonly string[]).includes(command))
    return E.left(usage(`unknown command '${command}' (commands: ${commands.join(', ')}, help)${suggest(command, [...commands, 'help'])}`));
  if (command === 'sweep' || command === 'worker') return E.right({ kind: command, argv: rest });
  if (rest.includes('--help') || rest.includes('-h')) return E.right({ kind: 'help', topic: command });

  const extra =
    command === 'run' ? ['out', 'config', 'data'] : command === 'learn' ? ['config', 'task', 'data', 'goal'] : command === 'eval' ? ['task', 'tolerance', 'backend', 'threads'] : command === 'predict' ? ['task', 'json', 'backend', 'threads'] : command === 'export' ? ['task', 'out', 'format', 'backend', 'threads'] : ['backend', 'threads'];
  const knownFlags = command === 'run' ? [...configFields().map(kebab), ...extra] : command === 'learn' ? [...learnFields().map(kebab), ...extra] : extra;
  // Flags the command keeps for itself; the others set configuration fields.
  const own = ['out', 'config', 'task', 'goal', 'format', 'tolerance', ...(command === 'learn' ? ['data'] : [])];
  const scanned = scanFlags(rest, {
    valued: knownFlags.filter((f) => !(switches[command] ?? []).includes(f)),
    switches: switches[command] ?? [],
    unknown: (name) => `unknown flag --${name} for \`cpg ${command}\`${suggest(name, knownFlags)}; see \`cpg ${command} --help\``,
    // A configuration field set twice, under two names (--data and --data-path), is given twice.
    sameAs: (name) => (own.includes(name) ? `--${name}` : (aliases[name] ?? camel(name))),
  });
  if (E.isLeft(scanned)) return scanned;
  const { values, positional } = scanned.right;
  const json = scanned.right.switches.has('json');
  const { out, config: configFile, task, goal, format, tolerance } = values;
  const data = command === 'learn' ? values['data'] : undefined;
  const flags: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    if (own.includes(name)) continue;
    const field = aliases[name] ?? camel(name);
    flags[field] = coerce(field, value);
  }
  switch (command) {
    case 'run':
      if (positional.length > 0) return E.left(usage(`unexpected argument '${positional[0]}' (flags look like --benchmark split-mnist)`));
      return E.right({ kind: 'run', flags, configFile, out });
    case 'learn':
      if (positional.length !== 1)
        return E.left(usage(positional.length === 0 ? '`cpg learn` needs the run directory: cpg learn RUN --task NAME --data DIR' : `\`cpg learn\` takes one run directory, got ${positional.length}`));
      return E.right({ kind: 'learn', dir: positional[0]!, flags, configFile, task, data, goal });
    case 'export':
      if (positional.length !== 1)
        return E.left(usage(positional.length === 0 ? '`cpg export` needs the run directory: cpg export RUN --task NAME --out DIR [--format tfjs|onnx]' : `\`cpg export\` takes one run directory, got ${positional.length}`));
      if (task === undefined) return E.left(usage('`cpg export` needs --task NAME (a finished task, or all)', '--task'));
      if (out === undefined) return E.left(usage('`cpg export` needs --out DIR (a folder that does not exist yet, or is empty)', '--out'));
      return E.right({ kind: 'export', dir: positional[0]!, task, out, format, flags });
    case 'predict':
      if (positional.length === 0) return E.left(usage('`cpg predict` needs the run directory and images: cpg predict RUN --task NAME FILE|DIR...'));
      if (task === undefined) return E.left(usage('`cpg predict` needs --task NAME (a finished task, or all)', '--task'));
      if (positional.length === 1) return E.left(usage('`cpg predict` needs at least one image file or folder after the run directory'));
      return E.right({ kind: 'predict', dir: positional[0]!, task, inputs: positional.slice(1), json, flags });
    case 'resume':
    case 'eval': {
      if (positional.length !== 1)
        return E.left(usage(positional.length === 0 ? `\`cpg ${command}\` needs the run directory: cpg ${command} DIR` : `\`cpg ${command}\` takes one run directory, got ${positional.length}`));
      const dir = positional[0]!;
      return E.right(command === 'resume' ? { kind: 'resume', dir, flags } : { kind: 'eval', dir, task, tolerance, flags });
    }
  }
  return E.left(usage(`unknown command '${command}'`));
};

/** Field names in errors, in the words the user typed them: `trainEpochs` → `--train-epochs`. */
export const asFlag = (field: string): string => {
  const head = /^[A-Za-z]+/.exec(field)?.[0] ?? field;
  const name = head === 'dataPath' ? 'data' : kebab(head);
  return `--${name}${field.slice(head.length)}`;
};

export type { Input as RunConfigInput };

/**
 * The error values every layer returns instead of throwing. Each names what
 * went wrong in words a user can act on, and where (file, field, node).
 */

export type CpgError =
  /** A graph that does not describe a runnable network. */
  | { readonly tag: 'GraphError'; readonly node: string | undefined; readonly message: string }
  /** A file or value that failed to decode: names the file (if any) and the field path. */
  | { readonly tag: 'DecodeError'; readonly file: string | undefined; readonly field: string; readonly message: string }
  /** An owner-map or pick-mask transition that would break an invariant. */
  | { readonly tag: 'OwnershipError'; readonly tensor: string | undefined; readonly message: string }
  /** A life-cycle transition that is not allowed from the current phase. */
  | { readonly tag: 'LifecycleError'; readonly message: string }
  /** A configuration value or command-line flag that is not acceptable. */
  | { readonly tag: 'ConfigError'; readonly field: string; readonly message: string }
  /** A dataset file that is missing, truncated or malformed. */
  | { readonly tag: 'DataError'; readonly file: string | undefined; readonly message: string }
  /** A backend that cannot be loaded, or a kernel it lacks. */
  | { readonly tag: 'BackendError'; readonly backend: string; readonly message: string }
  /** A checkpoint or run directory that is corrupt, foreign or cannot be written. */
  | { readonly tag: 'CheckpointError'; readonly file: string | undefined; readonly message: string }
  /** A non-finite loss or weight. */
  | { readonly tag: 'NumericError'; readonly message: string }
  /** A task that cannot be learned as given: names the task and the field (`train.y[12]`, `classNames`). */
  | { readonly tag: 'TaskError'; readonly task: string; readonly field: string; readonly message: string }
  /** A run directory another process is working on. */
  | { readonly tag: 'LockError'; readonly file: string; readonly message: string }
  /** An optional package a command needs (the job queue's, a benchmark's data) is not installed: the message names it and how to install it. */
  | { readonly tag: 'MissingPackage'; readonly packages: readonly string[]; readonly message: string }
  /** A run stopped on request (unsubscribe, signal). */
  | { readonly tag: 'Cancelled'; readonly message: string }
  /** A failure nothing above expected (a bug, or a library that threw): never a checkpoint or configuration problem. */
  | { readonly tag: 'InternalError'; readonly message: string; readonly stack?: string };

export type CpgErrorTag = CpgError['tag'];

/** The member of `CpgError` with this tag. */
export type ErrorOf<T extends CpgErrorTag> = Extract<CpgError, { readonly tag: T }>;

/*
 * One constructor per member, named for its tag: the only place an error
 * value is written out. Each returns its member, so a caller that needs the
 * narrow type keeps it.
 */

export const graphError = (node: string | undefined, message: string): ErrorOf<'GraphError'> => ({ tag: 'GraphError', node, message });

export const decodeError = (file: string | undefined, field: string, message: string): ErrorOf<'DecodeError'> => ({ tag: 'DecodeError', file, field, message });

export const ownershipError = (tensor: string | undefined, message: string): ErrorOf<'OwnershipError'> => ({ tag: 'OwnershipError', tensor, message });

export const lifecycleError = (message: string): ErrorOf<'LifecycleError'> => ({ tag: 'LifecycleError', message });

export const configError = (field: string, message: string): ErrorOf<'ConfigError'> => ({ tag: 'ConfigError', field, message });

export const dataError = (file: string | undefined, message: string): ErrorOf<'DataError'> => ({ tag: 'DataError', file, message });

export const backendError = (backend: string, message: string): ErrorOf<'BackendError'> => ({ tag: 'BackendError', backend, message });

export const checkpointError = (file: string | undefined, message: string): ErrorOf<'CheckpointError'> => ({ tag: 'CheckpointError', file, message });

export const numericError = (message: string): ErrorOf<'NumericError'> => ({ tag: 'NumericError', message });

export const taskError = (task: string, field: string, message: string): ErrorOf<'TaskError'> => ({ tag: 'TaskError', task, field, message });

export const lockError = (file: string, message: string): ErrorOf<'LockError'> => ({ tag: 'LockError', file, message });

export const cancelled = (message: string): ErrorOf<'Cancelled'> => ({ tag: 'Cancelled', message });

/**
 * An unexpected failure as a value: what was thrown (or a message), with its
 * stack kept for a debug flag. `context` says what failed, before the cause.
 */
export const internalError = (e: unknown, context?: string): ErrorOf<'InternalError'> => {
  const cause = e instanceof Error ? e.message : typeof e === 'object' && e !== null && 'message' in e ? String((e as { message: unknown }).message) : String(e);
  const message = context === undefined ? cause : `${context}: ${cause}`;
  return e instanceof Error && e.stack !== undefined ? { tag: 'InternalError', message, stack: e.stack } : { tag: 'InternalError', message };
};

/** One line for a user: what and where, no stack. */
export const describeError = (e: CpgError): string => {
  switch (e.tag) {
    case 'GraphError':
      return `ill-formed graph${e.node !== undefined ? ` at node '${e.node}'` : ''}: ${e.message}`;
    case 'DecodeError':
      return `${e.file !== undefined ? `${e.file}: ` : ''}invalid value at '${e.field}': ${e.message}`;
    case 'OwnershipError':
      return `ownership${e.tensor !== undefined ? ` of '${e.tensor}'` : ''}: ${e.message}`;
    case 'LifecycleError':
      return `task life cycle: ${e.message}`;
    case 'ConfigError':
      return `configuration '${e.field}': ${e.message}`;
    case 'DataError':
      return `${e.file !== undefined ? `${e.file}: ` : 'data: '}${e.message}`;
    case 'BackendError':
      return `backend '${e.backend}': ${e.message}`;
    case 'CheckpointError':
      return `${e.file !== undefined ? `${e.file}: ` : 'checkpoint: '}${e.message}`;
    case 'NumericError':
      return `numerical fault: ${e.message}`;
    case 'TaskError':
      return `task '${e.task}': ${e.field}: ${e.message}`;
    case 'LockError':
      return `${e.file}: ${e.message}`;
    case 'MissingPackage':
      return e.message;
    case 'Cancelled':
      return `cancelled: ${e.message}`;
    case 'InternalError':
      return `internal error: ${e.message}`;
  }
};

/** What the command line exits with for an error: 2 for input it refused (nothing changed), 130 when stopped, else 1. */
export const exitCodeOf = (e: CpgError): number => {
  switch (e.tag) {
    case 'ConfigError':
    case 'DecodeError':
    case 'GraphError':
    case 'DataError':
    case 'TaskError':
    case 'LockError':
    case 'MissingPackage':
      return 2;
    case 'Cancelled':
      return 130;
    default:
      return 1;
  }
};

/**
 * What `cpg resume` exits with for an error, given whether its run had
 * started (its 'run-started' event): a resume checks its whole checkpoint and
 * writes nothing before it starts, so a checkpoint error before then is the
 * checkpoint refused (no run there, or a damaged one), with nothing changed:
 * 2, as eval, predict and export say it. After the start, a checkpoint error
 * is the work failing (a full disk, a write error): 1.
 */
export const resumeExitCodeOf = (e: CpgError, started: boolean): number => (e.tag === 'CheckpointError' && !started ? 2 : exitCodeOf(e));

/** Packages a command needs and cannot find, in one line that says how to install them. */
export const missingPackage = (packages: readonly string[], message: string): ErrorOf<'MissingPackage'> => ({ tag: 'MissingPackage', packages, message });

/** Whether an unknown value is one of our error values (an error that travelled through a stream). */
export const isCpgError = (u: unknown): u is CpgError =>
  typeof u === 'object' && u !== null && typeof (u as { tag?: unknown }).tag === 'string' && typeof (u as { message?: unknown }).message === 'string';

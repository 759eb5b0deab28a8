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
  /** A run stopped on request (unsubscribe, signal). */
  | { readonly tag: 'Cancelled'; readonly message: string };

export type CpgErrorTag = CpgError['tag'];

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
    case 'Cancelled':
      return `cancelled: ${e.message}`;
  }
};

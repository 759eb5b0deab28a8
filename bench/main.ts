/**
 * How a run-level benchmark ends: its code as the exit status after the
 * backend is shut down (its threads released); an escaped error is one line.
 */
import { describeError, isCpgError } from '../src/algebra/errors.js';
import { shutdownBackend } from '../src/node/backend.js';

export const runBench = (name: string, main: () => Promise<number>): void => {
  const exit = async (code: number): Promise<never> => {
    await shutdownBackend()();
    process.exit(code);
  };
  main().then(exit, (e: unknown) => {
    process.stderr.write(`${name}: ${e instanceof Error ? e.message : isCpgError(e) ? describeError(e) : String(e)}\n`);
    return exit(1);
  });
};
